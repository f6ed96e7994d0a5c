package query

import (
	"context"
	"fmt"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// The pipeline's source: a table scan's batches in the relation's current
// schema, checked as relation.scan checks rows.

// vecRowsPerBatch is the size of batches adapted from the rows of a scan
// without batches.
const vecRowsPerBatch = 4096

// openBatches opens the scan of vp and returns the snapshot read and its
// batches in the relation's current column order (what relation.remap
// does for rows), checked: a BatchScan's batches must have the schema's
// Arrow types, a row scan's rows pass checkRow before they are batched.
func (e *Engine) openBatches(ctx context.Context, vp *vecPlan) (int64, iter.Seq2[arrow.Record, error], error) {
	if src := vp.p.src; src != nil && src.batch != nil {
		return src.batch.open(ctx)
	}
	return vp.p.rel.scanBatches(ctx, vp.p.spec, vp.in)
}

// scanBatches scans r with spec and returns the snapshot read and its
// batches with the Arrow schema want (r's current columns, or those spec
// projects): a BatchScan's batches remapped, or a row scan's rows checked
// and batched.
func (r *relation) scanBatches(ctx context.Context, spec ScanSpec, want *arrow.Schema) (int64, iter.Seq2[arrow.Record, error], error) {
	sc, err := r.t.Scan(ctx, spec)
	if err != nil {
		return 0, nil, r.scanErr(spec, err)
	}
	if bs, ok := sc.(BatchScan); ok {
		return sc.SnapshotID(), r.remapBatches(ctx, sc, bs, want), nil
	}
	remap := r.remap(sc)
	return sc.SnapshotID(), func(yield func(arrow.Record, error) bool) {
		rows := make([]types.Row, 0, vecRowsPerBatch)
		emit := func() bool {
			rec, err := types.BuildRecord(nil, want, rows)
			rows = rows[:0]
			if err != nil {
				return yield(nil, errf(types.ErrCorruption, "table %s returned a bad row: %s", r, errText(err)))
			}
			defer rec.Release()
			return yield(rec, nil)
		}
		for row, err := range sc.Rows(ctx) {
			if err == nil {
				if remap != nil {
					row = remap(row)
				}
				err = r.checkRow(row)
			} else {
				err = fmt.Errorf("reading %s: %w", r, err)
			}
			if err != nil {
				// The rows before the bad one come first, as on the row path.
				if len(rows) > 0 && !emit() {
					return
				}
				yield(nil, err)
				return
			}
			rows = append(rows, row)
			if len(rows) == vecRowsPerBatch && !emit() {
				return
			}
		}
		if len(rows) > 0 {
			emit()
		}
	}, nil
}

// remapBatches yields the batches of bs in the relation's current schema:
// columns of an older snapshot schema are reordered by field id, columns
// added since are all NULL. A batch whose column types differ from the
// schema's is corrupt.
func (r *relation) remapBatches(ctx context.Context, sc Scan, bs BatchScan, want *arrow.Schema) iter.Seq2[arrow.Record, error] {
	var pos []int // nil: the scan's schema is the relation's
	src := want
	if ss, ok := sc.(interface{ Schema() *types.Schema }); ok {
		if old := ss.Schema(); old != nil && !sameFields(old, r.schema) {
			pos = make([]int, len(r.schema.Fields))
			for i, f := range r.schema.Fields {
				pos[i] = old.FieldByID(f.ID)
			}
			var err error
			if src, err = types.ArrowSchema(old, false); err != nil {
				return func(yield func(arrow.Record, error) bool) { yield(nil, fmt.Errorf("reading %s: %w", r, err)) }
			}
		}
	}
	return func(yield func(arrow.Record, error) bool) {
		for b, err := range bs.Batches(ctx) {
			if err != nil {
				yield(nil, fmt.Errorf("reading %s: %w", r, err))
				return
			}
			if err := r.checkBatch(b, src); err != nil {
				yield(nil, err)
				return
			}
			if bad, err := r.badValue(b, pos); err != nil {
				// The rows before the bad one come first, as on the row path.
				if bad > 0 {
					b = b.NewSlice(0, int64(bad))
					defer b.Release()
				}
				if bad > 0 && pos != nil {
					b = remapRecord(b, pos, want)
					defer b.Release()
				}
				if bad == 0 || yield(b, nil) {
					yield(nil, err)
				}
				return
			}
			if pos == nil {
				if !yield(b, nil) {
					return
				}
				continue
			}
			rec := remapRecord(b, pos, want)
			ok := yield(rec, nil)
			rec.Release()
			if !ok {
				return
			}
		}
	}
}

// remapRecord returns b with its columns at positions pos (-1: all NULL)
// under schema want.
func remapRecord(b arrow.Record, pos []int, want *arrow.Schema) arrow.Record {
	cols := make([]arrow.Array, len(pos))
	n := int(b.NumRows())
	for i, p := range pos {
		// A column whose type changed holds only NULLs here (badValue).
		if p >= 0 && p < int(b.NumCols()) && arrow.TypeEqual(b.Column(p).DataType(), want.Field(i).Type) {
			cols[i] = b.Column(p)
			cols[i].Retain()
		} else {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, want.Field(i).Type, n)
		}
	}
	rec := array.NewRecord(want, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// badValue is the value check of checkRow on a batch of the scan's
// schema, with pos mapping the relation's columns to the batch's (nil:
// the same): a column whose Arrow type differs from the relation's (a
// type changed since the scan's schema) holds bad values, and a DECIMAL
// must fit its precision (and an int64), which its Arrow type does not
// imply. It returns the first bad row and, for its first bad column in
// the relation's order, checkRow's error; nil when all are good.
func (r *relation) badValue(b arrow.Record, pos []int) (int, error) {
	bad, badCol := int(b.NumRows()), -1
	for i, c := range r.cols {
		p := i
		if pos != nil {
			p = pos[i]
		}
		if p < 0 || p >= int(b.NumCols()) {
			continue
		}
		want, err := types.ArrowType(c.Type)
		if err != nil {
			continue
		}
		col := b.Column(p)
		if col.NullN() == col.Len() {
			continue // a column the scan did not read, or all NULL
		}
		nulls := col.NullN() > 0
		if !arrow.TypeEqual(col.DataType(), want) {
			for j := 0; j < min(bad, col.Len()); j++ {
				if !nulls || !col.IsNull(j) {
					bad, badCol = j, i
					break
				}
			}
			continue
		}
		x, ok := col.(*array.Decimal128)
		if !ok {
			continue
		}
		if c.Type.Is128() {
			if j := firstDecimalOutside(x, int32(c.Type.Precision), bad); j >= 0 {
				bad, badCol = j, i
			}
			continue
		}
		limit := int64(1)
		for k := 0; k < c.Type.Precision; k++ {
			limit *= 10
		}
		for j, v := range x.Values()[:min(bad, x.Len())] {
			lo := int64(v.LowBits())
			if (lo > -limit && lo < limit && v.HighBits() == lo>>63) || (nulls && x.IsNull(j)) {
				continue
			}
			bad, badCol = j, i
			break
		}
	}
	if badCol < 0 {
		return 0, nil
	}
	c := r.cols[badCol]
	p := badCol
	if pos != nil {
		p = pos[badCol]
	}
	col := b.Column(p)
	if x, ok := col.(*array.Decimal128); ok && !c.Type.Is128() && x.Value(bad).HighBits() != int64(x.Value(bad).LowBits())>>63 {
		return bad, errf(types.ErrCorruption, "table %s returned a bad value for column %q: a DECIMAL beyond 64 bits", r, c.Name)
	}
	err := types.CheckValue(types.ValueAt(col, bad), c.Type)
	if err == nil { // cannot happen: the loop above found it bad
		return bad, errf(types.ErrCorruption, "table %s returned a bad value for column %q", r, c.Name)
	}
	return bad, r.badValueErr(c, err)
}

// checkBatch guards the executor against batches that do not match the
// scan's schema (the batch form of checkRow).
func (r *relation) checkBatch(b arrow.Record, want *arrow.Schema) error {
	if int(b.NumCols()) != want.NumFields() {
		return errf(types.ErrCorruption, "table %s returned a batch of %d columns, want %d", r, b.NumCols(), want.NumFields())
	}
	for i, f := range want.Fields() {
		if c := b.Column(i); !arrow.TypeEqual(c.DataType(), f.Type) || c.Len() != int(b.NumRows()) {
			return errf(types.ErrCorruption, "table %s returned a bad column %q: %s of %d rows, want %s", r, f.Name, c.DataType(), c.Len(), f.Type)
		}
	}
	return nil
}
