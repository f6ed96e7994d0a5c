package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/siltdb/silt/types"
)

// The reference decoders: the map-based implementations of the built-in
// JSON formats (every object unmarshalled into map[string]json.RawMessage)
// kept verbatim, so that the differential and fuzz tests can check that the
// one-pass decoders accept, reject and decode exactly as they did.

type refDebezium struct {
	c *rowCodec
	d *debeziumJSON // its envelope cache, as the old decoder had
}
type refAppend struct{ c *rowCodec }
type refUpsert struct{ c *rowCodec }

// refFormat returns the reference decoder of a built-in format.
func refFormat(name string, s *types.Schema, opts FormatOptions) Format {
	opts, _ = opts.Normalize()
	c := newRowCodec(s, opts)
	switch name {
	case "debezium-json":
		return refDebezium{c, &debeziumJSON{c: c, envs: map[string]cachedEnvelope{}}}
	case "json":
		return refAppend{c}
	case "upsert-json":
		return refUpsert{c}
	}
	panic("no reference for " + name)
}

func (f refDebezium) Decode(dst []Change, _, value []byte) ([]Change, error) {
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
				env, _ := f.d.envelope(s)
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
		row, err := refRow(f.c, obj, hints, add)
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

func (f refAppend) Decode(dst []Change, _, value []byte) ([]Change, error) {
	if value == nil {
		return dst, badRecord(ReasonUnparseable, "null value (tombstone) in a json topic: nothing to append")
	}
	obj, err := parseObject("the value", value)
	if err != nil {
		return dst, err
	}
	row, err := refRow(f.c, obj, nil, true)
	if err != nil {
		return dst, err
	}
	return append(dst, Change{Kind: types.Insert, Row: row}), nil
}

func (f refUpsert) Decode(dst []Change, key, value []byte) ([]Change, error) {
	kobj, err := f.c.keyObject(key)
	if err != nil {
		return dst, err
	}
	krow, err := f.c.keyRow(kobj)
	if err != nil {
		return dst, err
	}
	if value == nil {
		return append(dst, Change{Kind: types.Delete, Row: krow}), nil
	}
	obj, err := parseObject("the value", value)
	if err != nil {
		return dst, err
	}
	row := make(types.Row, len(f.c.schema.Fields))
	// Fill the key first so that a value without key columns is complete.
	for _, k := range f.c.keyIdx {
		row[k] = krow[k]
	}
	vrow, err := refRow(f.c, obj, nil, false)
	if err != nil && ReasonOf(err) != ReasonMissingKey {
		return dst, err
	}
	for i, v := range vrow {
		if v == nil {
			continue
		}
		if f.c.isKey(i) && !types.Equal(v, krow[i]) {
			return dst, badRecord(ReasonSchema, "key column %q is %s in the Kafka key but %s in the value",
				f.c.schema.Fields[i].Name, types.FormatValue(krow[i], f.c.schema.Fields[i].Type), types.FormatValue(v, f.c.schema.Fields[i].Type))
		}
		row[i] = v
	}
	if err := f.c.check(row, true); err != nil {
		return dst, err
	}
	return append(dst, Change{Kind: types.UpdateAfter, Row: row}), nil
}

// refRow is the map-based row conversion the formats used before the
// token-level decoder (format_scan.go); it is the reference of the
// differential tests. refRow converts a JSON object to a row. add says the row adds state (+I/+U):
// then NOT NULL columns must be set; for retractions (-U/-D) only the key
// must. hints may be nil.
func refRow(c *rowCodec, obj map[string]json.RawMessage, hints map[string]fieldHint, add bool) (types.Row, error) {
	row := make(types.Row, len(c.schema.Fields))
	for name, raw := range obj {
		lname := strings.ToLower(name)
		idx, ok := c.names[lname]
		if !ok {
			if c.opts.UnknownFields == "reject" {
				return nil, schemaRecordError(name, RuleUnknownField, "field %q is not a column of the table", name)
			}
			continue
		}
		v, err := c.columnValue(raw, idx, hints[lname])
		if err != nil {
			if ReasonOf(err) != "" {
				return nil, err // an unknown nested field (unknown-fields reject)
			}
			return nil, &RecordError{Reason: ReasonWrongType, Err: fmt.Errorf("column %q: %w", c.schema.Fields[idx].Name, err)}
		}
		row[idx] = v
	}
	return row, c.check(row, add)
}
