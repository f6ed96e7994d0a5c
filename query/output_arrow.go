package query

import (
	"io"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// arrowType maps a column type to its Arrow type (types.ArrowType).
func arrowType(t types.DataType) (arrow.DataType, error) { return types.ArrowType(t) }

// arrowBatchRows is the most rows one Arrow record batch holds.
const arrowBatchRows = 64 << 10

// writeArrow writes r as an Arrow IPC stream, a record batch per
// arrowBatchRows rows as they fill (one, possibly empty, batch when r has
// fewer rows); a streaming result of the vectorized pipeline as the
// batches it produces. An error mid-stream ends the stream after the rows
// before it.
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
	if r.batches != nil {
		return writeArrowBatches(iw, schema, r.batches)
	}
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
			// The rows before the error are written, as the other
			// formats do.
			if pending > 0 {
				_ = flush()
			}
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

func appendArrow(b array.Builder, v types.Value) error { return types.AppendValue(b, v) }

// writeArrowBatches writes the batches of a vectorized streaming result as
// they are (one empty batch when there are none), under the result's
// schema.
func writeArrowBatches(iw *ipc.Writer, schema *arrow.Schema, batches iter.Seq2[arrow.Record, error]) error {
	n := 0
	for b, err := range batches {
		if err == nil && b.NumRows() == 0 {
			continue
		}
		if err == nil {
			rec := array.NewRecord(schema, b.Columns(), b.NumRows())
			err = iw.Write(rec)
			rec.Release()
			n++
		}
		if err != nil {
			_ = iw.Close()
			return err
		}
	}
	if n == 0 {
		rec := array.NewRecord(schema, emptyColumns(schema), 0)
		err := iw.Write(rec)
		rec.Release()
		if err != nil {
			_ = iw.Close()
			return err
		}
	}
	return iw.Close()
}

func emptyColumns(schema *arrow.Schema) []arrow.Array {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
	}
	return cols
}
