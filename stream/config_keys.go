package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/siltdb/silt/types"
	"go.yaml.in/yaml/v3"
)

// ConfigKeys are the top-level keys of a sinks config file.
func ConfigKeys() []string { return yamlKeys(reflect.TypeFor[Config]()) }

// SinkConfigKeys are the keys of one sink in a config file (the items of
// sinks:), sorted. silt serve's config checks its sinks: list with them.
func SinkConfigKeys() []string { return yamlKeys(reflect.TypeFor[SinkConfig]()) }

// yamlKeys returns the sorted YAML keys of struct type rt, descending
// into inline fields.
func yamlKeys(rt reflect.Type) []string {
	var out []string
	var add func(rt reflect.Type)
	add = func(rt reflect.Type) {
		for i := range rt.NumField() {
			tag, opts, _ := strings.Cut(rt.Field(i).Tag.Get("yaml"), ",")
			switch {
			case tag == "" && opts == "inline":
				add(rt.Field(i).Type)
			case tag != "" && tag != "-":
				out = append(out, tag)
			}
		}
	}
	add(rt)
	sort.Strings(out)
	return out
}

// unknownKey is the one-line error for a key that is not in known, worded
// like silt serve's: where, the key, and the known keys.
func unknownKey(name string, line int, within, key string, known []string) error {
	where := "config " + name
	if line > 0 {
		where += fmt.Sprintf(": line %d", line)
	}
	if within != "" {
		where += ": " + within
	}
	return fmt.Errorf("%w: %s: unknown key %q (known: %s)", types.ErrInvalid, where, key, strings.Join(known, ", "))
}

func contains(keys []string, k string) bool {
	i := sort.SearchStrings(keys, k)
	return i < len(keys) && keys[i] == k
}

// checkYAMLKeys reports the first unknown key of a YAML config, by line.
// Shapes it does not expect are left to the decoder.
func checkYAMLKeys(name string, doc *yaml.Node) error {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	top, sinkKeys := ConfigKeys(), SinkConfigKeys()
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !contains(top, k.Value) {
			return unknownKey(name, k.Line, "", k.Value, top)
		}
		if k.Value != "sinks" || v.Kind != yaml.SequenceNode {
			continue
		}
		for n, item := range v.Content {
			if item.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(item.Content); j += 2 {
				if sk := item.Content[j]; !contains(sinkKeys, sk.Value) {
					return unknownKey(name, sk.Line, fmt.Sprintf("sinks[%d]", n), sk.Value, sinkKeys)
				}
			}
		}
	}
	return nil
}

// checkJSONKeys reports the first unknown key of a JSON config (JSON
// decoding gives no lines). Shapes it does not expect are left to the
// decoder.
func checkJSONKeys(name string, data []byte) error {
	var root map[string]json.RawMessage
	if json.Unmarshal(data, &root) != nil {
		return nil
	}
	top, sinkKeys := ConfigKeys(), SinkConfigKeys()
	for _, k := range sortedMapKeys(root) {
		if !contains(top, k) {
			return unknownKey(name, 0, "", k, top)
		}
	}
	var sinks []map[string]json.RawMessage
	if raw, ok := root["sinks"]; !ok || json.Unmarshal(bytes.TrimSpace(raw), &sinks) != nil {
		return nil
	}
	for n, item := range sinks {
		for _, k := range sortedMapKeys(item) {
			if !contains(sinkKeys, k) {
				return unknownKey(name, 0, fmt.Sprintf("sinks[%d]", n), k, sinkKeys)
			}
		}
	}
	return nil
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// oneLineYAML joins yaml.v3's multi-line type errors into one line.
func oneLineYAML(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	parts := strings.Split(msg, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; ")
}
