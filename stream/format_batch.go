package stream

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// The sink decodes a poll straight into Arrow builders of the table's
// change-batch schema (types.ArrowSchema with the row-kind column), one
// builder set per decoding goroutine, and hands the batches to the table
// writer. A built-in JSON format converts a record's values into typed
// scratch cells (no types.Value per cell) and appends them to the builders
// only once the whole record is known to be good, so a bad record leaves
// nothing behind. Whatever the fast path does not handle with certainty
// (an escaped string, a value that needs a conversion rule beyond the
// common ones, and every bad record) is decoded by the format's Decode,
// whose rows and errors are the definition: the fast path only ever
// accepts records Decode accepts, with the same rows.

// batchDecoder is a Format with a fast path into a changeBuilder.
type batchDecoder interface {
	// decodeFast appends the rows of one record to b and returns their
	// number, or ok=false (b unchanged) when the record needs Decode:
	// a bad record, or one the fast path does not handle.
	decodeFast(b *changeBuilder, key, value []byte) (rows int, ok bool)
	// codec is the row codec the format decodes with (its schema).
	codec() *rowCodec
}

// cell is one decoded value in the scratch row of a record.
type cell struct {
	valid bool        // false: NULL
	i     int64       // BOOLEAN (0/1), INT, BIGINT, DECIMAL (unscaled), DATE, TIMESTAMP, TIMESTAMP_LTZ, TIME (µs)
	f     float64     // FLOAT (a float32, widened), DOUBLE
	b     []byte      // STRING, BYTES, UUID (owned by the record or the builder's scratch)
	v     types.Value // ARRAY, MAP, ROW: the List, Map or Struct (checked)
}

// colBuilder is the typed builder of one column.
type colBuilder struct {
	kind types.Kind
	b    array.Builder
	bo   *array.BooleanBuilder
	i32  *array.Int32Builder
	i64  *array.Int64Builder
	f32  *array.Float32Builder
	f64  *array.Float64Builder
	dec  *array.Decimal128Builder
	bin  *array.BinaryBuilder // STRING and BYTES
	d32  *array.Date32Builder
	ts   *array.TimestampBuilder // TIMESTAMP and TIMESTAMP_LTZ
	t64  *array.Time64Builder
	fsb  *array.FixedSizeBinaryBuilder // UUID
}

// changeBuilder accumulates the rows of many records as one change batch.
// It is used by one goroutine at a time.
type changeBuilder struct {
	schema *types.Schema
	arrow  *arrow.Schema
	rb     *array.RecordBuilder
	cols   []colBuilder
	kinds  *array.Int8Builder

	// Scratch of the record being decoded: up to two rows (an update's
	// before and after images) and the bytes decoded values need.
	scratch [2][]cell
	buf     []byte
	memo    keyMemo // member keys → columns, by position
}

// newChangeBuilder returns a builder of change batches of s.
func newChangeBuilder(s *types.Schema) (*changeBuilder, error) {
	as, err := types.ArrowSchema(s, true)
	if err != nil {
		return nil, err
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, as)
	n := len(s.Fields)
	b := &changeBuilder{schema: s, arrow: as, rb: rb, cols: make([]colBuilder, n)}
	for i, f := range s.Fields {
		c := colBuilder{kind: f.Type.Kind, b: rb.Field(i)}
		if f.Type.IsNested() {
			b.cols[i] = c // appended as values (types.AppendValue)
			continue
		}
		switch x := c.b.(type) {
		case *array.BooleanBuilder:
			c.bo = x
		case *array.Int32Builder:
			c.i32 = x
		case *array.Int64Builder:
			c.i64 = x
		case *array.Float32Builder:
			c.f32 = x
		case *array.Float64Builder:
			c.f64 = x
		case *array.Decimal128Builder:
			c.dec = x
		case *array.StringBuilder:
			c.bin = x.BinaryBuilder
		case *array.BinaryBuilder:
			c.bin = x
		case *array.Date32Builder:
			c.d32 = x
		case *array.TimestampBuilder:
			c.ts = x
		case *array.Time64Builder:
			c.t64 = x
		case *array.FixedSizeBinaryBuilder:
			c.fsb = x
		default:
			rb.Release()
			return nil, fmt.Errorf("%w: column %q: no builder for %s", types.ErrInvalid, f.Name, f.Type)
		}
		b.cols[i] = c
	}
	b.kinds = rb.Field(n).(*array.Int8Builder)
	b.scratch[0] = make([]cell, n)
	b.scratch[1] = make([]cell, n)
	return b, nil
}

// Len is the number of rows appended since the last NewRecord.
func (b *changeBuilder) Len() int { return b.kinds.Len() }

// NewRecord returns the rows appended so far as a change batch and resets
// the builder. The caller releases the record.
func (b *changeBuilder) NewRecord() arrow.Record { return b.rb.NewRecord() }

// Release frees the builder.
func (b *changeBuilder) Release() { b.rb.Release() }

// reset prepares the scratch for a new record.
func (b *changeBuilder) reset() { b.buf = b.buf[:0] }

// commit appends scratch row slot as a row of kind k.
func (b *changeBuilder) commit(slot int, k types.RowKind) {
	row := b.scratch[slot]
	for i := range b.cols {
		c, v := &b.cols[i], &row[i]
		if !v.valid {
			c.b.AppendNull()
			continue
		}
		switch c.kind {
		case types.Boolean:
			c.bo.Append(v.i != 0)
		case types.Int:
			c.i32.Append(int32(v.i))
		case types.BigInt:
			c.i64.Append(v.i)
		case types.Float:
			c.f32.Append(float32(v.f))
		case types.Double:
			c.f64.Append(v.f)
		case types.DecimalKind:
			c.dec.Append(decimal128.FromI64(v.i))
		case types.String, types.Bytes:
			c.bin.Append(v.b)
		case types.DateKind:
			c.d32.Append(arrow.Date32(v.i))
		case types.TimestampKind, types.TimestampLTZKind:
			c.ts.Append(arrow.Timestamp(v.i))
		case types.TimeKind:
			c.t64.Append(arrow.Time64(v.i))
		case types.UUIDKind:
			c.fsb.Append(v.b)
		case types.ArrayKind, types.MapKind, types.StructKind:
			if err := types.AppendValue(c.b, v.v); err != nil {
				// valueCell checked the value against the column type.
				panic(fmt.Sprintf("stream: a checked nested value does not append: %v", err))
			}
		}
	}
	b.kinds.Append(int8(k))
}

// appendChanges appends rows a Format decoded (already validated against
// the schema, so every value has its column's Go type). On an error
// nothing is appended.
func (b *changeBuilder) appendChanges(changes []Change) error {
	for _, c := range changes {
		if len(c.Row) != len(b.cols) {
			return badRecord(ReasonSchema, "row has %d values, table has %d columns", len(c.Row), len(b.cols))
		}
		for i, v := range c.Row {
			if err := types.CheckValue(v, b.schema.Fields[i].Type); err != nil {
				return &RecordError{Reason: ReasonWrongType, Err: fmt.Errorf("column %q: %w", b.schema.Fields[i].Name, err)}
			}
		}
	}
	for _, c := range changes {
		for i, v := range c.Row {
			if err := types.AppendValue(b.cols[i].b, v); err != nil {
				// CheckValue and AppendValue agree on the Go types.
				panic(fmt.Sprintf("stream: a checked value does not append: %v", err))
			}
		}
		b.kinds.Append(int8(c.Kind))
	}
	return nil
}

// sameSchema says whether a format decoding with schema f produces rows of
// schema s (the same columns, types, NOT NULL and primary key).
func sameSchema(f, s *types.Schema) bool {
	if f == s {
		return true
	}
	if len(f.Fields) != len(s.Fields) || len(f.PrimaryKeys) != len(s.PrimaryKeys) {
		return false
	}
	for i := range f.Fields {
		a, b := f.Fields[i], s.Fields[i]
		if !a.Type.Equal(b.Type) || a.NotNull != b.NotNull {
			return false
		}
	}
	for i := range f.PrimaryKeys {
		if f.PrimaryKeys[i] != s.PrimaryKeys[i] {
			return false
		}
	}
	return true
}
