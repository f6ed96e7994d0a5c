package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/stream"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"go.yaml.in/yaml/v3"
)

// Config is the validated configuration of one `silt serve` process.
//
//	warehouse: s3://silt/warehouse
//	listen: ":9090"
//	log-format: json
//	shutdown-timeout: 30s
//	compact-interval: 30s
//	compact-tables: [shop.orders]     # or "*"; default: the sinks' tables
//	maintain-interval: 1h
//	sinks:                            # as in `silt sink --config`
//	  - table: shop.orders
//	    ...
type Config struct {
	Warehouse, CacheDir, CacheSize, ColdURI string
	// Iceberg publishes the Iceberg view of tables that do not set
	// metadata.iceberg.enabled.
	Iceberg                          bool
	Listen                           string
	LogFormat, LogLevel              string
	ShutdownTimeout, RefreshInterval time.Duration
	// CompactInterval and MaintainInterval are 0 when disabled.
	CompactInterval, MaintainInterval time.Duration
	// CompactTables and MaintainTables are "db.table" names; nil means the
	// default (see Settings), AllTables every table of the warehouse.
	CompactTables, MaintainTables []string
	// S3 holds the s3-* settings that were given, by environment variable
	// name (SILT_S3_ENDPOINT, …): cmd/silt reads the S3 client settings
	// from the environment, and these fill in what it lacks.
	S3    map[string]string
	Sinks []stream.SinkConfig
}

// AllTables in a table list selects every table of the warehouse.
const AllTables = "*"

// Sources are where a configuration comes from, in increasing precedence:
// the defaults, the config file, the environment, the flags.
type Sources struct {
	// File names the config file ("" = none) and Data is its text.
	File string
	Data []byte
	// Env looks up environment variables (nil = none).
	Env func(string) string
	// Flags are the flags given on the command line, by key (without
	// "--").
	Flags map[string]string
}

// maxConfigBytes bounds a config file.
const maxConfigBytes = 4 << 20

// value is one setting's raw text and where it came from (for errors).
type value struct {
	text, from string
}

// Load merges and validates the sources. Errors name the line and key of
// the config file, the environment variable or the flag that was wrong.
func Load(src Sources) (*Config, error) {
	vals := map[string]value{}
	for _, s := range Settings() {
		vals[s.Key] = value{text: s.Default, from: "default of " + s.Key}
	}
	var sinks []stream.SinkConfig
	if src.File != "" {
		fileVals, fileSinks, err := parseFile(src.File, src.Data)
		if err != nil {
			return nil, err
		}
		for k, v := range fileVals {
			vals[k] = v
		}
		sinks = fileSinks
	}
	if src.Env != nil {
		for _, s := range Settings() {
			if v := src.Env(s.Env()); v != "" {
				vals[s.Key] = value{text: v, from: "environment " + s.Env()}
			}
		}
	}
	for k, v := range src.Flags {
		s, ok := SettingByKey(k)
		if !ok || s.EnvOnly {
			return nil, fmt.Errorf("%w: unknown flag --%s", types.ErrInvalid, k)
		}
		vals[k] = value{text: v, from: "flag --" + k}
	}
	c := &Config{Sinks: sinks, S3: map[string]string{}}
	if err := c.set(vals); err != nil {
		return nil, err
	}
	return c, nil
}

// set parses every value into c.
func (c *Config) set(vals map[string]value) error {
	str := func(key string) string { return strings.TrimSpace(vals[key].text) }
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", types.ErrInvalid, vals[key].from, fmt.Sprintf(format, args...))
	}
	c.Warehouse, c.CacheDir, c.ColdURI = str("warehouse"), str("cache-dir"), str("cold-uri")
	if c.CacheSize = str("cache-size"); c.CacheSize != "" {
		if _, err := table.ParseSize("cache-size", c.CacheSize); err != nil {
			return bad("cache-size", "%v", err)
		}
	}
	ice, ok := parseBool(str("iceberg"))
	if !ok {
		return bad("iceberg", "%q: want true or false", str("iceberg"))
	}
	c.Iceberg = ice
	c.Listen = str("listen")
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen", "%q is not host:port (e.g. :9090 or 127.0.0.1:9090)", c.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad("listen", "port %q is not a number in 0..65535", port)
	}
	c.LogFormat = strings.ToLower(str("log-format"))
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return bad("log-format", "%q: want json or text", c.LogFormat)
	}
	c.LogLevel = strings.ToLower(str("log-level"))
	if _, err := ParseLevel(c.LogLevel); err != nil {
		return bad("log-level", "%v", err)
	}
	for _, d := range []struct {
		key      string
		dst      *time.Duration
		positive bool
	}{
		{"shutdown-timeout", &c.ShutdownTimeout, true},
		{"refresh-interval", &c.RefreshInterval, true},
		{"compact-interval", &c.CompactInterval, false},
		{"maintain-interval", &c.MaintainInterval, false},
	} {
		v, err := time.ParseDuration(str(d.key))
		switch {
		case err != nil:
			return bad(d.key, "%q is not a duration (e.g. 30s, 5m)", str(d.key))
		case v < 0 || (d.positive && v == 0):
			return bad(d.key, "%q must be positive", str(d.key))
		}
		*d.dst = v
	}
	var err error
	if c.CompactTables, err = tableList(str("compact-tables")); err != nil {
		return bad("compact-tables", "%v", err)
	}
	if c.MaintainTables, err = tableList(str("maintain-tables")); err != nil {
		return bad("maintain-tables", "%v", err)
	}
	for _, s := range Settings() {
		if !s.EnvOnly || str(s.Key) == "" {
			continue
		}
		v := str(s.Key)
		switch s.Key {
		case "s3-endpoint", "s3-region", "s3-request-timeout", "s3-min-throughput", "s3-max-attempts",
			"s3-sse-kms-key-id", "s3-sse-kms-context", "cold-s3-endpoint":
			// free-form; the S3 client checks them when it is built
		case "s3-sse":
			if _, err := objstore.ParseSSE("s3-sse", v); err != nil {
				return bad(s.Key, "%q: want s3 or kms", v)
			}
		default:
			if _, ok := parseBool(v); !ok {
				return bad(s.Key, "%q: want true or false", v)
			}
		}
		c.S3[s.Env()] = v
	}
	return nil
}

// tableList parses "db.t,t2,*" ("" = nil: the default).
func tableList(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p != AllTables {
			db, t, err := SplitTableName(p)
			if err != nil {
				return nil, err
			}
			p = db + "." + t
		}
		if !seen[p] {
			out = append(out, p)
			seen[p] = true
		}
	}
	if seen[AllTables] && len(out) > 1 {
		return nil, fmt.Errorf("%q selects every table: list no other tables with it", AllTables)
	}
	return out, nil
}

// SplitTableName splits "db.t" or "t" (in the default database).
func SplitTableName(name string) (string, string, error) {
	db, t, ok := strings.Cut(name, ".")
	if !ok {
		db, t = catalog.DefaultDatabase, name
	}
	if err := types.ValidateIdentifier("database", db); err != nil {
		return "", "", err
	}
	if err := types.ValidateIdentifier("table", t); err != nil {
		return "", "", err
	}
	return db, t, nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off", "":
		return false, true
	}
	return false, false
}

// parseFile reads the settings and sinks of a YAML (or JSON, a subset of
// YAML) config file.
func parseFile(name string, data []byte) (map[string]value, []stream.SinkConfig, error) {
	fail := func(line int, format string, args ...any) error {
		where := "config " + name
		if line > 0 {
			where += fmt.Sprintf(": line %d", line)
		}
		return fmt.Errorf("%w: %s: %s", types.ErrInvalid, where, fmt.Sprintf(format, args...))
	}
	if len(data) > maxConfigBytes {
		return nil, nil, fail(0, "larger than %d bytes", maxConfigBytes)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]value{}, nil, nil // an empty file: every default
		}
		return nil, nil, fail(0, "%s", yamlError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, nil, fail(extra.Line, "a second YAML document: a config file holds one")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return map[string]value{}, nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, fail(root.Line, "the file must be a mapping of keys to values (e.g. listen: \":9090\")")
	}
	vals := map[string]value{}
	firstLine := map[string]int{}
	var sinks []stream.SinkConfig
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if prev, dup := firstLine[key]; dup {
			return nil, nil, fail(k.Line, "key %q given twice (first on line %d)", key, prev)
		}
		firstLine[key] = k.Line
		if key == sinksKey {
			var err error
			if sinks, err = parseSinks(v, fail); err != nil {
				return nil, nil, err
			}
			continue
		}
		s, ok := SettingByKey(key)
		if !ok {
			return nil, nil, fail(k.Line, "unknown key %q (known: %s)", key, strings.Join(knownKeys(), ", "))
		}
		text, err := scalarText(v, s.List)
		if err != nil {
			return nil, nil, fail(v.Line, "key %q: %v", key, err)
		}
		vals[key] = value{text: text, from: fmt.Sprintf("config %s: line %d: key %q", name, v.Line, key)}
	}
	return vals, sinks, nil
}

// yamlError shortens yaml.v3's messages ("yaml: line 3: …").
func yamlError(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// scalarText returns a setting's text: a scalar, or for a list a sequence
// of scalars joined by commas.
func scalarText(v *yaml.Node, list bool) (string, error) {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return "", nil
	case v.Kind == yaml.ScalarNode:
		return v.Value, nil
	case list && v.Kind == yaml.SequenceNode:
		parts := make([]string, 0, len(v.Content))
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("line %d: list elements must be plain values", e.Line)
			}
			if strings.Contains(e.Value, ",") {
				return "", fmt.Errorf("line %d: %q: a table name has no ','", e.Line, e.Value)
			}
			parts = append(parts, e.Value)
		}
		return strings.Join(parts, ","), nil
	case list:
		return "", fmt.Errorf("want a list (e.g. [db.t1, db.t2]) or a comma-separated string")
	}
	return "", fmt.Errorf("want a single value, not a %s", kindName(v.Kind))
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// parseSinks decodes the sinks list, checking keys by line.
func parseSinks(v *yaml.Node, fail func(int, string, ...any) error) ([]stream.SinkConfig, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, fail(v.Line, "key %q: want a list of sinks", sinksKey)
	}
	allowed := sinkKeys()
	out := make([]stream.SinkConfig, 0, len(v.Content))
	for i, item := range v.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fail(item.Line, "sinks[%d]: want a mapping of sink keys (table, brokers, …)", i)
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k := item.Content[j]
			if !allowed[k.Value] {
				return nil, fail(k.Line, "sinks[%d]: unknown key %q (known: %s)", i, k.Value, strings.Join(sortedKeys(allowed), ", "))
			}
		}
		var sc stream.SinkConfig
		if err := item.Decode(&sc); err != nil {
			return nil, fail(item.Line, "sinks[%d]: %s", i, yamlError(err))
		}
		if err := sc.Validate(); err != nil {
			return nil, fail(item.Line, "sinks[%d] (%s): %v", i, sc.DisplayName(), err)
		}
		out = append(out, sc)
	}
	if len(out) > 0 {
		if err := (&stream.Config{Sinks: out}).Validate(); err != nil {
			return nil, fail(v.Line, "sinks: %v", err)
		}
	}
	return out, nil
}

// sinkKeys are the YAML keys of stream.SinkConfig.
func sinkKeys() map[string]bool {
	out := map[string]bool{}
	for _, k := range stream.SinkConfigKeys() {
		out[k] = true
	}
	return out
}

func knownKeys() []string {
	keys := []string{sinksKey}
	for _, s := range Settings() {
		keys = append(keys, s.Key)
	}
	sort.Strings(keys)
	return keys
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
