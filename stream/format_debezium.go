package stream

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"

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

	mu   sync.RWMutex
	envs map[string]cachedEnvelope // analyses of the envelope schemas seen (bounded)

	// last is the most recent envelope schema and its analysis: a record
	// whose schema member is the same bytes skips it with a comparison
	// instead of a validating scan (every event of a topic repeats it).
	last atomic.Pointer[knownSchema]
}

// knownSchema is an envelope schema already validated and analysed.
type knownSchema struct {
	raw []byte // a complete JSON object (self-delimiting)
	cachedEnvelope
}

// maxEnvelopes bounds the cached envelope analyses of one format.
const maxEnvelopes = 16

func newDebeziumJSON(s *types.Schema, o FormatOptions) (Format, error) {
	return &debeziumJSON{c: newRowCodec(s, o), envs: map[string]cachedEnvelope{}}, nil
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
	// One validating pass over the record finds the members the format
	// reads (a repeated key keeps its last value, as a map would); the
	// payload and images are then walked in place.
	top, err := objectScan("the value", value)
	if err != nil {
		return dst, err
	}
	var m, pm dbzMembers // the record's members, the payload's
	m.known = f.last.Load()
	if err := m.read(&top, &pm); err != nil {
		return dst, syntaxError("the value", top.data, err)
	}
	var hints []fieldHint
	if m.payload != nil && m.op == nil {
		if isNullValue(m.payload) {
			return dst, nil // an enveloped tombstone
		}
		if m.payload[0] != '{' {
			return dst, badRecord(ReasonUnparseable, "the payload is not a JSON object")
		}
		schema, known, schemaKnown := m.schema, m.known, m.schemaKnown
		m = pm
		if schema != nil && !isNullValue(schema) {
			var env *envelope
			var cols []fieldHint
			if schemaKnown {
				env, cols = known.env, known.cols
			} else {
				env, cols = f.envelope(schema)
				if schema[0] == '{' {
					f.last.Store(&knownSchema{bytes.Clone(schema), cachedEnvelope{env, cols}})
				}
			}
			if env.problem != nil {
				return dst, env.problem
			}
			if len(env.newCols) > 0 {
				nc := &NewColumnsError{Columns: env.newCols}
				return dst, &RecordError{Reason: ReasonSchema, Column: nc.Columns[0].Name, Rule: RuleUnknownField, Err: nc}
			}
			hints = cols
		}
	}
	op, ok := debeziumOp(m.op)
	if !ok {
		return dst, badRecord(ReasonUnparseable, "not a Debezium event: no string field \"op\"")
	}
	image := func(name string, raw []byte, add bool) (types.Row, bool, error) {
		if isNullValue(raw) {
			return nil, false, nil
		}
		is, err := innerScan("the "+name+" image", raw)
		if err != nil {
			return nil, false, err
		}
		row, err := f.c.rowFrom("the "+name+" image", &is, hints, add)
		return row, err == nil, err
	}
	switch op {
	case "c", "r":
		after, ok, err := image("after", m.after, true)
		if err != nil {
			return dst, err
		}
		if !ok {
			return dst, badRecord(ReasonUnparseable, "Debezium op %q without an after image", op)
		}
		return append(dst, Change{Kind: types.Insert, Row: after}), nil
	case "u":
		before, hasBefore, err := image("before", m.before, false)
		if err != nil {
			return dst, err
		}
		after, ok, err := image("after", m.after, true)
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
		before, ok, err := image("before", m.before, false)
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

// dbzMembers are the members of a Debezium event (or of its envelope) the
// format reads, as byte ranges of the record; nil when absent.
type dbzMembers struct {
	payload, schema, op, before, after []byte

	known       *knownSchema // a schema to recognise by its bytes (top level)
	schemaKnown bool         // the (last) schema member is known.raw
}

// read walks the whole record, validating it, and keeps the members the
// format reads; an object under "payload" is walked in the same pass into
// pm (the last one, if the key repeats). The error is a syntax error.
func (m *dbzMembers) read(s *jsonScan, pm *dbzMembers) error {
	if err := s.open(); err != nil {
		return err
	}
	key, esc, ok, err := s.key(true)
	for ; ok && err == nil; key, esc, ok, err = s.key(false) {
		if esc {
			key = []byte(unquoteKey(key))
		}
		start := s.pos
		name := string(key)
		known := false
		if name == "schema" && m.known != nil && bytes.HasPrefix(s.data[s.pos:], m.known.raw) {
			// The same bytes as a schema already validated: an object
			// ends at its closing brace, so this is exactly that value.
			s.pos += len(m.known.raw)
			known = true
		} else if pm != nil && name == "payload" && s.pos < len(s.data) && s.data[s.pos] == '{' {
			*pm = dbzMembers{}
			if err = pm.read(s, nil); err != nil {
				return err
			}
		} else if err = s.value(); err != nil {
			return err
		}
		val := s.data[start:s.pos]
		switch name {
		case "op":
			m.op = val
		case "before":
			m.before = val
		case "after":
			m.after = val
		case "payload":
			m.payload = val
		case "schema":
			m.schema, m.schemaKnown = val, known
		}
		if err = s.after(); err != nil {
			return err
		}
	}
	if err == nil && pm != nil {
		err = s.end()
	}
	return err
}

// debeziumOp decodes the op member as json.Unmarshal into a string would:
// null is "", anything but a string is not an op.
func debeziumOp(raw []byte) (string, bool) {
	switch {
	case raw == nil:
		return "", false
	case string(raw) == "null":
		return "", true
	case raw[0] != '"':
		return "", false
	case bytes.IndexByte(raw, '\\') < 0:
		return string(raw[1 : len(raw)-1]), true
	}
	var op string
	if json.Unmarshal(raw, &op) != nil {
		return "", false
	}
	return op, true
}

// envelope returns the analysis of an envelope schema; analyses are cached
// because every event of a topic repeats the same schema.
func (f *debeziumJSON) envelope(raw []byte) (*envelope, []fieldHint) {
	f.mu.RLock()
	ce, ok := f.envs[string(raw)]
	f.mu.RUnlock()
	if ok {
		return ce.env, ce.cols
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	env := f.c.analyzeEnvelope(raw, f.c.opts.SchemaEvolution == EvolutionAddColumns)
	ce = cachedEnvelope{env, f.c.hintsByColumn(env.hints)}
	if len(f.envs) >= maxEnvelopes {
		clear(f.envs)
	}
	f.envs[string(raw)] = ce
	return ce.env, ce.cols
}

// cachedEnvelope is an envelope analysis with its hints ordered by column.
type cachedEnvelope struct {
	env  *envelope
	cols []fieldHint
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
	Items      *connectSchema    `json:"items"`  // array
	Keys       *connectSchema    `json:"keys"`   // map
	Values     *connectSchema    `json:"values"` // map
}

// hintsByColumn orders an envelope's hints by column; nil when there are
// none.
func (c *rowCodec) hintsByColumn(hints map[string]fieldHint) []fieldHint {
	if len(hints) == 0 {
		return nil
	}
	out := make([]fieldHint, len(c.schema.Fields))
	for i, f := range c.schema.Fields {
		out[i] = hints[strings.ToLower(f.Name)]
	}
	return out
}
