package query

import (
	"context"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/types"
)

// A table in a join as a batch source: its scan's batches in the
// relation's current schema (checked as the vectorized SELECT's scan
// checks them), filtered by the conditions pushed down to it.

// tableBatches returns the batch form of ts, or nil when its rows stay
// rows (the row engine, system tables, nested columns).
func (e *Engine) tableBatches(ts *tableSource) *batchSource {
	r := ts.rel
	if e.rowEngine || r.system != "" || r.schema == nil || len(r.cols) != len(r.schema.Fields) {
		return nil
	}
	schema, err := types.ArrowSchema(r.schema, false)
	if err != nil {
		return nil
	}
	for _, f := range schema.Fields() {
		if !vecTakeable(f.Type) {
			return nil
		}
	}
	return &batchSource{schema: schema, estimate: ts.estimate, open: func(ctx context.Context) (int64, iter.Seq2[arrow.Record, error], error) {
		snap, batches, err := ts.scanBatches(ctx, schema)
		if err != nil {
			return 0, nil, err
		}
		if ts.filter != nil {
			batches = ts.filterBatches(ctx, schema, batches)
		}
		return snap, measureBatches(ctx, ts.m, batches), nil
	}}
}

// estimate is the number of records in the files of the table's
// snapshot (deletions and updates included), -1 when unknown.
func (ts *tableSource) estimate(ctx context.Context) int64 {
	_, files, err := ts.rel.t.Files(ctx, ts.spec)
	if err != nil {
		return -1
	}
	var n int64
	for _, f := range files {
		n += f.RecordCount
	}
	return n
}

// scanBatches opens the scan: a BatchScan's batches remapped to the
// current schema, or a row scan's checked rows batched.
func (ts *tableSource) scanBatches(ctx context.Context, schema *arrow.Schema) (int64, iter.Seq2[arrow.Record, error], error) {
	return ts.rel.scanBatches(ctx, ts.spec, schema)
}

// filterBatches keeps the rows the pushed-down filter passes. The filter
// reads the table's columns at offset ts.off of its parent's row: the
// batches get that many NULL columns in front.
func (ts *tableSource) filterBatches(ctx context.Context, schema *arrow.Schema, in iter.Seq2[arrow.Record, error]) iter.Seq2[arrow.Record, error] {
	padded := arrow.NewSchema(append(padFields(ts.off), schema.Fields()...), nil)
	cond := checkedVec{v: compileVecCol(ts.filter), want: arrow.FixedWidthTypes.Boolean}
	return func(yield func(arrow.Record, error) bool) {
		for b, err := range in {
			if err != nil {
				yield(nil, err)
				return
			}
			pb := padRecord(padded, ts.off, b)
			a, err := cond.eval(ctx, pb)
			pb.Release()
			if err != nil {
				yield(nil, err)
				return
			}
			c := a.(*array.Boolean)
			idx := make([]int32, 0, c.Len())
			for i := 0; i < c.Len(); i++ {
				if c.IsValid(i) && c.Value(i) {
					idx = append(idx, int32(i))
				}
			}
			a.Release()
			if len(idx) == 0 {
				continue
			}
			if len(idx) == int(b.NumRows()) {
				if !yield(b, nil) {
					return
				}
				continue
			}
			kept := takeRecord(b, idx)
			ok := yield(kept, nil)
			kept.Release()
			if !ok {
				return
			}
		}
	}
}
