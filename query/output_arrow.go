package query

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// arrowType maps a column type to its Arrow type: BOOLEAN→bool, INT→int32,
// BIGINT→int64, FLOAT→float32, DOUBLE→float64, DECIMAL(p,s)→decimal128(p,s),
// STRING→utf8, BYTES→binary, DATE→date32, TIMESTAMP→timestamp[us, UTC].
func arrowType(t types.DataType) (arrow.DataType, error) {
	switch t.Kind {
	case types.Boolean:
		return arrow.FixedWidthTypes.Boolean, nil
	case types.Int:
		return arrow.PrimitiveTypes.Int32, nil
	case types.BigInt:
		return arrow.PrimitiveTypes.Int64, nil
	case types.Float:
		return arrow.PrimitiveTypes.Float32, nil
	case types.Double:
		return arrow.PrimitiveTypes.Float64, nil
	case types.DecimalKind:
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, nil
	case types.String:
		return arrow.BinaryTypes.String, nil
	case types.Bytes:
		return arrow.BinaryTypes.Binary, nil
	case types.DateKind:
		return arrow.FixedWidthTypes.Date32, nil
	case types.TimestampKind:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	}
	return nil, errf(types.ErrInvalid, "no Arrow type for %s", t)
}

// arrowBatchRows is the most rows one Arrow record batch holds.
const arrowBatchRows = 64 << 10

// writeArrow writes r as an Arrow IPC stream, a record batch per
// arrowBatchRows rows as they fill (one, possibly empty, batch when r has
// fewer rows).
func writeArrow(w io.Writer, r *Result) error {
	if isMessageOnly(r) {
		return nil
	}
	fields := make([]arrow.Field, len(r.Columns))
	for j, c := range r.Columns {
		at, err := arrowType(c.Type)
		if err != nil {
			return err
		}
		fields[j] = arrow.Field{Name: c.Name, Type: at, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	mem := memory.NewGoAllocator()
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	iw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	pending, batches := 0, 0
	flush := func() error {
		rec := rb.NewRecord()
		defer rec.Release()
		pending = 0
		batches++
		return iw.Write(rec)
	}
	for row, err := range r.All() {
		if err != nil {
			_ = iw.Close()
			return err
		}
		for j := range r.Columns {
			var v types.Value
			if j < len(row) {
				v = row[j]
			}
			if err := appendArrow(rb.Field(j), v); err != nil {
				_ = iw.Close()
				return errf(types.ErrInvalid, "column %q: %s", r.Columns[j].Name, errText(err))
			}
		}
		if pending++; pending == arrowBatchRows {
			if err := flush(); err != nil {
				_ = iw.Close()
				return err
			}
		}
	}
	if pending > 0 || batches == 0 {
		if err := flush(); err != nil {
			_ = iw.Close()
			return err
		}
	}
	return iw.Close()
}

func appendArrow(b array.Builder, v types.Value) error {
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
		var x types.Decimal
		if x, ok = v.(types.Decimal); ok {
			bb.Append(decimal128.FromI64(int64(x)))
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
		var x types.Date
		if x, ok = v.(types.Date); ok {
			bb.Append(arrow.Date32(x))
		}
	case *array.TimestampBuilder:
		var x types.Timestamp
		if x, ok = v.(types.Timestamp); ok {
			bb.Append(arrow.Timestamp(x))
		}
	}
	if !ok {
		return errf(types.ErrInvalid, "value of Go type %T does not match the column type", v)
	}
	return nil
}
