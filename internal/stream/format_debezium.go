package stream

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"

	"github.com/siltdb/silt/internal/types"
)

// debeziumJSON is the "debezium-json" format: Debezium change events with
// or without the Kafka Connect schema envelope ({"schema":…, "payload":…}).
//
//	op c, r   after        → +I
//	op u      before, after → -U (when the before image is present), +U
//	op d      before       → -D
//	null value (tombstone)  → nothing (it only serves Kafka log compaction)
//
// With the envelope, the schema of the before/after structs names logical
// types (io.debezium.time.MicroTimestamp, Connect Decimal, …) that decide
// how numbers and strings convert.
type debeziumJSON struct {
	c *rowCodec

	mu        sync.Mutex
	lastRaw   []byte               // the schema JSON last seen
	lastHints map[string]fieldHint // its hints
}

func newDebeziumJSON(s *types.Schema, o FormatOptions) (Format, error) {
	return &debeziumJSON{c: newRowCodec(s, o)}, nil
}

func (f *debeziumJSON) Decode(dst []Change, _, value []byte) ([]Change, error) {
	if value == nil || len(bytes.TrimSpace(value)) == 0 {
		return dst, nil // tombstone
	}
	top, err := parseObject("the value", value)
	if err != nil {
		return dst, err
	}
	payload := top
	var hints map[string]fieldHint
	if p, ok := top["payload"]; ok {
		if _, hasOp := top["op"]; !hasOp {
			if isNull(p) {
				return dst, nil // an enveloped tombstone
			}
			if payload, err = parseObject("the payload", p); err != nil {
				return dst, err
			}
			if s, ok := top["schema"]; ok && !isNull(s) {
				hints = f.hints(s)
			}
		}
	}
	var op string
	if raw, ok := payload["op"]; !ok || json.Unmarshal(raw, &op) != nil {
		return dst, badRecord(ReasonUnparseable, "not a Debezium event: no string field \"op\"")
	}
	image := func(name string, add bool) (types.Row, bool, error) {
		raw, ok := payload[name]
		if !ok || isNull(raw) {
			return nil, false, nil
		}
		obj, err := parseObject("the "+name+" image", raw)
		if err != nil {
			return nil, false, err
		}
		row, err := f.c.row(obj, hints, add)
		return row, err == nil, err
	}
	switch op {
	case "c", "r":
		after, ok, err := image("after", true)
		if err != nil {
			return dst, err
		}
		if !ok {
			return dst, badRecord(ReasonUnparseable, "Debezium op %q without an after image", op)
		}
		return append(dst, Change{Kind: types.Insert, Row: after}), nil
	case "u":
		before, hasBefore, err := image("before", false)
		if err != nil {
			return dst, err
		}
		after, ok, err := image("after", true)
		if err != nil {
			return dst, err
		}
		if !ok {
			return dst, badRecord(ReasonUnparseable, "Debezium op \"u\" without an after image")
		}
		if hasBefore {
			dst = append(dst, Change{Kind: types.UpdateBefore, Row: before})
		}
		return append(dst, Change{Kind: types.UpdateAfter, Row: after}), nil
	case "d":
		before, ok, err := image("before", false)
		if err != nil {
			return dst, err
		}
		if !ok {
			return dst, badRecord(ReasonMissingKey, "Debezium op \"d\" without a before image: the deleted key is unknown")
		}
		return append(dst, Change{Kind: types.Delete, Row: before}), nil
	case "t":
		return dst, badRecord(ReasonUnparseable, "Debezium op \"t\" (truncate) is not supported by the sink")
	}
	return dst, badRecord(ReasonUnparseable, "unknown Debezium op %q (want c, r, u or d)", op)
}

// hints returns the field hints of an envelope schema; the last one is
// cached because every event of a topic repeats the same schema.
func (f *debeziumJSON) hints(raw json.RawMessage) map[string]fieldHint {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lastHints != nil && bytes.Equal(raw, f.lastRaw) {
		return f.lastHints
	}
	h := parseConnectHints(raw)
	f.lastRaw, f.lastHints = append(f.lastRaw[:0], raw...), h
	return h
}

// connectSchema is the subset of a Kafka Connect JSON schema the hints need.
type connectSchema struct {
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Field      string            `json:"field"`
	Parameters map[string]string `json:"parameters"`
	Fields     []connectSchema   `json:"fields"`
}

// parseConnectHints collects the logical types of the fields of the before
// and after structs. A schema that does not parse gives no hints (values
// then convert by the table's types alone).
func parseConnectHints(raw json.RawMessage) map[string]fieldHint {
	var s connectSchema
	if json.Unmarshal(raw, &s) != nil {
		return map[string]fieldHint{}
	}
	out := map[string]fieldHint{}
	for _, img := range s.Fields {
		if img.Field != "before" && img.Field != "after" {
			continue
		}
		for _, fld := range img.Fields {
			if fld.Name == "" {
				continue
			}
			h := fieldHint{logical: fld.Name}
			if sc, ok := fld.Parameters["scale"]; ok {
				var n int
				if json.Unmarshal([]byte(sc), &n) == nil {
					h.scale = n
				}
			}
			out[strings.ToLower(fld.Field)] = h
		}
	}
	return out
}
