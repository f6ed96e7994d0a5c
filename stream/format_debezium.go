package stream

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/siltdb/silt/types"
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
//
// With SchemaEvolution add-columns the envelope is also compared with the
// table (see analyzeEnvelope): fields the table lacks make the record a
// *NewColumnsError, fields a column cannot hold and missing key fields
// make it schema-incompatible.
type debeziumJSON struct {
	c *rowCodec

	mu   sync.Mutex
	envs map[string]*envelope // analyses of the envelope schemas seen (bounded)
}

// maxEnvelopes bounds the cached envelope analyses of one format.
const maxEnvelopes = 16

func newDebeziumJSON(s *types.Schema, o FormatOptions) (Format, error) {
	return &debeziumJSON{c: newRowCodec(s, o), envs: map[string]*envelope{}}, nil
}

// ForSchema implements SchemaBinder.
func (f *debeziumJSON) ForSchema(s *types.Schema) (Format, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return newDebeziumJSON(s, f.c.opts)
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
				env := f.envelope(s)
				if env.problem != nil {
					return dst, env.problem
				}
				if len(env.newCols) > 0 {
					nc := &NewColumnsError{Columns: env.newCols}
					return dst, &RecordError{Reason: ReasonSchema, Column: nc.Columns[0].Name, Rule: RuleUnknownField, Err: nc}
				}
				hints = env.hints
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

// envelope returns the analysis of an envelope schema; analyses are cached
// because every event of a topic repeats the same schema.
func (f *debeziumJSON) envelope(raw json.RawMessage) *envelope {
	f.mu.Lock()
	defer f.mu.Unlock()
	if env, ok := f.envs[string(raw)]; ok {
		return env
	}
	env := f.c.analyzeEnvelope(raw, f.c.opts.SchemaEvolution == EvolutionAddColumns)
	if len(f.envs) >= maxEnvelopes {
		clear(f.envs)
	}
	f.envs[string(raw)] = env
	return env
}

// connectSchema is the subset of a Kafka Connect JSON schema the format
// needs.
type connectSchema struct {
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Field      string            `json:"field"`
	Optional   bool              `json:"optional"`
	Parameters map[string]string `json:"parameters"`
	Fields     []connectSchema   `json:"fields"`
}
