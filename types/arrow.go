package types

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Arrow record batches are the in-memory form of data between silt's
// layers (scans, the executor, writers, the sink). A batch of a schema has
// one column per field, in field order, with the Arrow type ArrowType
// gives; a NULL is an Arrow null. Rows ([]Value) remain only at the edges:
// single-row APIs and SQL literals, as adapters over batches (RecordRows,
// BuildRecord).

// RowKindColumn is the name of the extra last column of a change batch
// (a batch handed to a writer): the row's RowKind as an int8.
const RowKindColumn = "_row_kind"

// ArrowType maps a column type to its Arrow type: BOOLEAN→bool, INT→int32,
// BIGINT→int64, FLOAT→float32, DOUBLE→float64, DECIMAL(p,s)→decimal128(p,s),
// STRING→utf8, BYTES→binary, DATE→date32, TIMESTAMP→timestamp[us] (no
// zone: a wall-clock time), TIMESTAMP_LTZ→timestamp[us, UTC] (an instant),
// TIME→time64[us], UUID→fixed_size_binary(16), ARRAY→list, MAP→map,
// ROW→struct (children nullable unless NOT NULL).
func ArrowType(t DataType) (arrow.DataType, error) {
	switch t.Kind {
	case Boolean:
		return arrow.FixedWidthTypes.Boolean, nil
	case Int:
		return arrow.PrimitiveTypes.Int32, nil
	case BigInt:
		return arrow.PrimitiveTypes.Int64, nil
	case Float:
		return arrow.PrimitiveTypes.Float32, nil
	case Double:
		return arrow.PrimitiveTypes.Float64, nil
	case DecimalKind:
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, nil
	case String:
		return arrow.BinaryTypes.String, nil
	case Bytes:
		return arrow.BinaryTypes.Binary, nil
	case DateKind:
		return arrow.FixedWidthTypes.Date32, nil
	case TimestampKind:
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	case TimestampLTZKind:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case TimeKind:
		return arrow.FixedWidthTypes.Time64us, nil
	case UUIDKind:
		return &arrow.FixedSizeBinaryType{ByteWidth: 16}, nil
	case ArrayKind:
		if len(t.Fields) != 1 {
			break
		}
		et, err := ArrowType(t.Fields[0].Type)
		if err != nil {
			return nil, err
		}
		return arrow.ListOfField(arrow.Field{Name: ElementFieldName, Type: et, Nullable: !t.Fields[0].NotNull}), nil
	case MapKind:
		if len(t.Fields) != 2 {
			break
		}
		kt, err := ArrowType(t.Fields[0].Type)
		if err != nil {
			return nil, err
		}
		vt, err := ArrowType(t.Fields[1].Type)
		if err != nil {
			return nil, err
		}
		m := arrow.MapOf(kt, vt)
		m.SetItemNullable(!t.Fields[1].NotNull)
		return m, nil
	case StructKind:
		fs := make([]arrow.Field, len(t.Fields))
		for i, f := range t.Fields {
			ft, err := ArrowType(f.Type)
			if err != nil {
				return nil, err
			}
			fs[i] = arrow.Field{Name: f.Name, Type: ft, Nullable: !f.NotNull}
		}
		return arrow.StructOf(fs...), nil
	}
	return nil, fmt.Errorf("%w: no Arrow type for %s", ErrInvalid, t)
}

// ArrowSchema is the Arrow schema of batches of s: every field, in order,
// nullable (the NOT NULL rule is checked by writers, not by the type).
// With withKind the change-batch column RowKindColumn (int8) is appended.
func ArrowSchema(s *Schema, withKind bool) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(s.Fields)+1)
	for _, f := range s.Fields {
		at, err := ArrowType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		fields = append(fields, arrow.Field{Name: f.Name, Type: at, Nullable: true})
	}
	if withKind {
		fields = append(fields, arrow.Field{Name: RowKindColumn, Type: arrow.PrimitiveTypes.Int8})
	}
	return arrow.NewSchema(fields, nil), nil
}

// AppendValue appends v (a Value of the builder's column type, or nil for
// NULL) to b. A value of another Go type is an ErrInvalid error.
func AppendValue(b array.Builder, v Value) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	ok := false
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		var x bool
		if x, ok = v.(bool); ok {
			bb.Append(x)
		}
	case *array.Int8Builder:
		var x RowKind
		if x, ok = v.(RowKind); ok {
			bb.Append(int8(x))
		}
	case *array.Int32Builder:
		var x int32
		if x, ok = v.(int32); ok {
			bb.Append(x)
		}
	case *array.Int64Builder:
		var x int64
		if x, ok = v.(int64); ok {
			bb.Append(x)
		}
	case *array.Float32Builder:
		var x float32
		if x, ok = v.(float32); ok {
			bb.Append(x)
		}
	case *array.Float64Builder:
		var x float64
		if x, ok = v.(float64); ok {
			bb.Append(x)
		}
	case *array.Decimal128Builder:
		switch x := v.(type) {
		case Decimal:
			bb.Append(decimal128.FromI64(int64(x)))
			ok = true
		case Decimal128:
			bb.Append(x.Num())
			ok = true
		}
	case *array.StringBuilder:
		var x string
		if x, ok = v.(string); ok {
			bb.Append(x)
		}
	case *array.BinaryBuilder:
		var x []byte
		if x, ok = v.([]byte); ok {
			bb.Append(x)
		}
	case *array.Date32Builder:
		var x Date
		if x, ok = v.(Date); ok {
			bb.Append(arrow.Date32(x))
		}
	case *array.TimestampBuilder:
		switch x := v.(type) {
		case Timestamp:
			bb.Append(arrow.Timestamp(x))
			ok = true
		case TimestampLTZ:
			bb.Append(arrow.Timestamp(x))
			ok = true
		}
	case *array.Time64Builder:
		var x TimeOfDay
		if x, ok = v.(TimeOfDay); ok {
			bb.Append(arrow.Time64(x))
		}
	case *array.FixedSizeBinaryBuilder:
		var x UUID
		if x, ok = v.(UUID); ok {
			bb.Append(x[:])
		}
	default:
		return appendNested(b, v)
	}
	if !ok {
		return fmt.Errorf("%w: value of Go type %T does not match the column type", ErrInvalid, v)
	}
	return nil
}

// ValueAt returns row i of a (an array of a type ArrowType gives, or the
// int8 row-kind column) as a Value; nil for NULL. BYTES values are copied;
// STRING values share nothing with the array.
func ValueAt(a arrow.Array, i int) Value {
	if a.IsNull(i) {
		return nil
	}
	switch x := a.(type) {
	case *array.Boolean:
		return x.Value(i)
	case *array.Int8:
		return RowKind(x.Value(i))
	case *array.Int32:
		return x.Value(i)
	case *array.Int64:
		return x.Value(i)
	case *array.Float32:
		return x.Value(i)
	case *array.Float64:
		return x.Value(i)
	case *array.Decimal128:
		if x.DataType().(*arrow.Decimal128Type).Precision > MaxDecimal64Precision {
			return Decimal128(x.Value(i))
		}
		return Decimal(int64(x.Value(i).LowBits()))
	case *array.String:
		// Value aliases the array's buffer, which a batch's producer may
		// reuse once the batch is released.
		return strings.Clone(x.Value(i))
	case *array.Binary:
		return append([]byte{}, x.Value(i)...)
	case *array.Date32:
		return Date(x.Value(i))
	case *array.Timestamp:
		if x.DataType().(*arrow.TimestampType).TimeZone != "" {
			return TimestampLTZ(x.Value(i))
		}
		return Timestamp(x.Value(i))
	case *array.Time64:
		return TimeOfDay(x.Value(i))
	case *array.FixedSizeBinary:
		var u UUID
		copy(u[:], x.Value(i))
		return u
	case *array.List, *array.Map, *array.Struct:
		return nestedValueAt(a, i)
	}
	panic(fmt.Sprintf("types.ValueAt: unsupported Arrow array %T", a))
}

// RecordRows converts the rows of rec to Rows (one Value per column, in
// column order; a change batch's row-kind column is included as a RowKind).
func RecordRows(rec arrow.Record) []Row {
	n, w := int(rec.NumRows()), int(rec.NumCols())
	slab := make([]Value, n*w)
	rows := make([]Row, n)
	for r := range rows {
		rows[r] = slab[r*w : (r+1)*w : (r+1)*w]
	}
	for c := 0; c < w; c++ {
		col := rec.Column(c)
		for r := range rows {
			rows[r][c] = ValueAt(col, r)
		}
	}
	return rows
}

// BuildRecord builds one batch of schema (see ArrowSchema) from rows;
// each row has one Value per schema field. mem nil uses the Go allocator.
func BuildRecord(mem memory.Allocator, schema *arrow.Schema, rows []Row) (arrow.Record, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	n := len(schema.Fields())
	for ri, row := range rows {
		if len(row) != n {
			return nil, fmt.Errorf("%w: row %d has %d values, the batch %d columns", ErrInvalid, ri, len(row), n)
		}
		for c, v := range row {
			if err := AppendValue(rb.Field(c), v); err != nil {
				return nil, fmt.Errorf("row %d column %q: %w", ri, schema.Field(c).Name, err)
			}
		}
	}
	return rb.NewRecord(), nil
}
