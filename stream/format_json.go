package stream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// rowCodec converts JSON objects into rows of one schema, following the
// column types: every built-in JSON format shares it.
type rowCodec struct {
	schema *types.Schema
	names  map[string]int // lower-case column name → position
	keyIdx []int
	opts   FormatOptions
}

func newRowCodec(s *types.Schema, opts FormatOptions) *rowCodec {
	c := &rowCodec{schema: s, names: make(map[string]int, len(s.Fields)), keyIdx: s.KeyIndexes(), opts: opts}
	for i, f := range s.Fields {
		c.names[strings.ToLower(f.Name)] = i
	}
	return c
}

// fieldHint is what a Debezium / Kafka Connect schema says about a field:
// its logical type name and, for decimals, the scale.
type fieldHint struct {
	logical string
	scale   int
	sub     *nestedHint // an array's items, a map's keys and values, a struct's fields
}

// maxRecordBytes bounds the size of one JSON value a format accepts; a
// larger record is unparseable rather than a memory hazard.
const maxRecordBytes = 64 << 20

// parseObject parses a JSON object into its raw fields.
func parseObject(what string, data []byte) (map[string]json.RawMessage, error) {
	if len(data) > maxRecordBytes {
		return nil, badRecord(ReasonUnparseable, "%s is %d bytes, more than the %d allowed", what, len(data), maxRecordBytes)
	}
	if !utf8.Valid(data) {
		// encoding/json would replace the bad bytes with U+FFFD silently.
		return nil, badRecord(ReasonUnparseable, "%s is not valid UTF-8 (JSON text must be UTF-8)", what)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, badRecord(ReasonUnparseable, "%s is not a JSON object", what)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, badRecord(ReasonUnparseable, "%s is not valid JSON: %v", what, err)
	}
	return obj, nil
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// check verifies the key and, for rows that add state, NOT NULL columns.
func (c *rowCodec) check(row types.Row, add bool) error {
	for _, k := range c.keyIdx {
		if row[k] == nil {
			return badRecord(ReasonMissingKey, "primary-key column %q is missing or null", c.schema.Fields[k].Name)
		}
	}
	if !add {
		return nil
	}
	for i, f := range c.schema.Fields {
		if f.NotNull && row[i] == nil {
			return schemaRecordError(f.Name, RuleNotNull, "column %q is NOT NULL but the record has no value for it", f.Name)
		}
	}
	if err := c.schema.CheckRow(row); err != nil {
		return &RecordError{Reason: ReasonWrongType, Err: err}
	}
	return nil
}

// value converts one JSON value to the column type t.
func (c *rowCodec) value(raw json.RawMessage, t types.DataType, h fieldHint) (types.Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		str, err := jsonString(raw)
		if err != nil {
			return nil, err
		}
		return c.fromString(str, t, h)
	case 't', 'f':
		if t.Kind != types.Boolean {
			return nil, fmt.Errorf("%w: a JSON boolean cannot be a %s", types.ErrInvalid, t)
		}
		return string(raw) == "true", nil
	case '{', '[':
		if t.IsNested() {
			return c.nestedValue(raw, t, h, "")
		}
		if t.Kind == types.DecimalKind && raw[0] == '{' && (h.logical == logicalVariableScaleDecimal || isVariableScaleDecimal(raw)) {
			return variableScaleDecimal(raw, t)
		}
		return nil, fmt.Errorf("%w: a nested JSON value cannot be a %s", types.ErrInvalid, t)
	}
	return c.fromNumber(string(raw), t, h)
}

// jsonString decodes a JSON string that an enclosing json.Unmarshal has
// already validated; the common case without escapes is a plain copy.
func jsonString(raw json.RawMessage) (string, error) {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw[1:len(raw)-1]) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: bad JSON string", types.ErrInvalid)
	}
	return s, nil
}

func (c *rowCodec) fromString(s string, t types.DataType, h fieldHint) (types.Value, error) {
	switch t.Kind {
	case types.String:
		return s, nil
	case types.Bytes:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: BYTES must be base64: %v", types.ErrInvalid, err)
		}
		return b, nil
	case types.DecimalKind:
		if h.logical == "org.apache.kafka.connect.data.Decimal" {
			return connectDecimal(s, h.scale, t)
		}
	case types.TimeKind:
		return parseTimeText(s)
	}
	return types.ParseText(s, t)
}

// connectDecimal decodes Kafka Connect's Decimal: base64 of the unscaled
// value as big-endian two's complement, at the schema's scale.
func connectDecimal(s string, scale int, t types.DataType) (types.Value, error) {
	n, ok := unscaledOf(s)
	if !ok {
		return nil, fmt.Errorf("%w: bad Connect Decimal %q", types.ErrInvalid, s)
	}
	if scale < 0 || scale > 38 {
		return nil, fmt.Errorf("%w: Connect Decimal scale %d out of range", types.ErrInvalid, scale)
	}
	return types.ParseText(decimalText(n, scale), t)
}

func (c *rowCodec) fromNumber(text string, t types.DataType, h fieldHint) (types.Value, error) {
	switch t.Kind {
	case types.Int, types.BigInt:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return types.Coerce(n, t)
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad JSON number %q", types.ErrInvalid, text)
		}
		return types.Coerce(f, t)
	case types.Float, types.Double:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad number %q for %s", types.ErrInvalid, text, t)
		}
		return types.Coerce(f, t)
	case types.DecimalKind:
		if d, err := types.ParseText(text, t); err == nil {
			return d, nil
		}
		if !strings.ContainsAny(text, "eE") {
			return types.ParseText(text, t) // its error names the problem
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad number %q for %s", types.ErrInvalid, text, t)
		}
		return types.Coerce(f, t)
	case types.DateKind:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: a DATE number must be whole days since 1970-01-01, got %q", types.ErrInvalid, text)
		}
		return types.Coerce(n, t)
	case types.TimestampKind:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: a TIMESTAMP number must be an integer, got %q", types.ErrInvalid, text)
		}
		return scaleTimestamp(n, c.unitOf(h))
	}
	if v, handled, err := c.fromNumberTemporal(text, t, h); handled {
		return v, err
	}
	return nil, fmt.Errorf("%w: a JSON number cannot be a %s", types.ErrInvalid, t)
}

func (c *rowCodec) unitOf(h fieldHint) string {
	switch h.logical {
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
		return "ms"
	case "io.debezium.time.MicroTimestamp":
		return "us"
	case "io.debezium.time.NanoTimestamp":
		return "ns"
	}
	return c.opts.TimestampUnit
}

// scaleTimestamp converts an epoch number in unit to microseconds.
func scaleTimestamp(n int64, unit string) (types.Value, error) {
	switch unit {
	case "ms":
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return nil, fmt.Errorf("%w: timestamp %d ms out of range", types.ErrInvalid, n)
		}
		return types.Timestamp(n * 1000), nil
	case "ns":
		q := n / 1000
		if n%1000 < 0 {
			q-- // floor, so that -1 ns is before the epoch
		}
		return types.Timestamp(q), nil
	}
	return types.Timestamp(n), nil
}

// keyObject parses a Kafka key that holds the primary key: a JSON object of
// key columns, or, for a one-column key, a bare JSON scalar. A Debezium
// schema envelope ({"schema":…, "payload":…}) around it is unwrapped.
func (c *rowCodec) keyObject(key []byte) (map[string]json.RawMessage, error) {
	key = bytes.TrimSpace(key)
	if len(key) == 0 {
		return nil, badRecord(ReasonMissingKey, "the record has no Kafka key")
	}
	if len(key) > maxRecordBytes {
		return nil, badRecord(ReasonUnparseable, "the Kafka key is %d bytes, more than the %d allowed", len(key), maxRecordBytes)
	}
	if key[0] != '{' {
		if !json.Valid(key) {
			return nil, badRecord(ReasonUnparseable, "the Kafka key is not valid JSON")
		}
		if len(c.keyIdx) != 1 {
			return nil, badRecord(ReasonUnparseable, "the Kafka key is a bare JSON value but the primary key has %d columns", len(c.keyIdx))
		}
		return map[string]json.RawMessage{c.schema.Fields[c.keyIdx[0]].Name: json.RawMessage(key)}, nil
	}
	obj, err := parseObject("the Kafka key", key)
	if err != nil {
		return nil, err
	}
	if p, ok := obj["payload"]; ok && len(obj) <= 2 {
		if _, hasSchema := obj["schema"]; hasSchema || len(obj) == 1 {
			if isNull(p) {
				return nil, badRecord(ReasonMissingKey, "the Kafka key's payload is null")
			}
			return c.keyObject(p)
		}
	}
	return obj, nil
}

// keyRow converts a key object to a row holding only the key columns.
func (c *rowCodec) keyRow(obj map[string]json.RawMessage) (types.Row, error) {
	row := make(types.Row, len(c.schema.Fields))
	for name, raw := range obj {
		idx, ok := c.names[strings.ToLower(name)]
		if !ok {
			if c.opts.UnknownFields == "reject" {
				return nil, schemaRecordError(name, RuleUnknownField, "key field %q is not a column of the table", name)
			}
			continue
		}
		if !c.isKey(idx) {
			continue
		}
		v, err := c.value(raw, c.schema.Fields[idx].Type, fieldHint{})
		if err != nil {
			return nil, &RecordError{Reason: ReasonWrongType, Err: fmt.Errorf("key column %q: %w", c.schema.Fields[idx].Name, err)}
		}
		row[idx] = v
	}
	return row, c.check(row, false)
}

func (c *rowCodec) isKey(idx int) bool {
	for _, k := range c.keyIdx {
		if k == idx {
			return true
		}
	}
	return false
}

// appendJSON is the "json" format: every record's value is a JSON object
// appended as an insert (+I).
type appendJSON struct{ c *rowCodec }

func newAppendJSON(s *types.Schema, o FormatOptions) (Format, error) {
	if err := noEvolution("json", o); err != nil {
		return nil, err
	}
	return &appendJSON{c: newRowCodec(s, o)}, nil
}

// ForSchema implements SchemaBinder.
func (f *appendJSON) ForSchema(s *types.Schema) (Format, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return newAppendJSON(s, f.c.opts)
}

// noEvolution rejects add-columns for formats whose records carry no types.
func noEvolution(format string, o FormatOptions) error {
	if o.SchemaEvolution == EvolutionAddColumns {
		return fmt.Errorf("%w: schema-evolution add-columns needs typed records (debezium-json with the schema envelope); %s has none", types.ErrInvalid, format)
	}
	return nil
}

func (f *appendJSON) Decode(dst []Change, _, value []byte) ([]Change, error) {
	if value == nil {
		return dst, badRecord(ReasonUnparseable, "null value (tombstone) in a json topic: nothing to append")
	}
	row, err := f.c.rowJSON("the value", value, true)
	if err != nil {
		return dst, err
	}
	return append(dst, Change{Kind: types.Insert, Row: row}), nil
}

// upsertJSON is the "upsert-json" format: the Kafka key holds the primary
// key, the value the row (+U), and a null value deletes the key (-D).
type upsertJSON struct{ c *rowCodec }

func newUpsertJSON(s *types.Schema, o FormatOptions) (Format, error) {
	if err := noEvolution("upsert-json", o); err != nil {
		return nil, err
	}
	return &upsertJSON{c: newRowCodec(s, o)}, nil
}

// ForSchema implements SchemaBinder.
func (f *upsertJSON) ForSchema(s *types.Schema) (Format, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return newUpsertJSON(s, f.c.opts)
}

func (f *upsertJSON) Decode(dst []Change, key, value []byte) ([]Change, error) {
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
	vrow, err := f.c.rowJSON("the value", value, false)
	if err != nil && ReasonOf(err) != ReasonMissingKey {
		return dst, err
	}
	row := make(types.Row, len(f.c.schema.Fields))
	// Fill the key first so that a value without key columns is complete.
	for _, k := range f.c.keyIdx {
		row[k] = krow[k]
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
