package query

import (
	"bytes"
	"cmp"
	"context"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/types"
)

// runSelectVec runs a compiled SELECT to a collected Result.
func (e *Engine) runSelectVec(ctx context.Context, vp *vecPlan) (*Result, error) {
	p := vp.p
	snap, batches, err := e.openBatches(ctx, vp)
	if err != nil {
		return nil, err
	}
	if !p.agg && len(p.order) == 0 && !p.distinct {
		res := &Result{Columns: slices.Clone(p.cols), SnapshotID: snap}
		for row, err := range batchRows(vp.plainBatches(ctx, batches)) {
			if err != nil {
				return nil, err
			}
			res.Rows = append(res.Rows, row)
		}
		if res.Rows == nil {
			res.Rows = []types.Row{}
		}
		res.Message = "SELECT " + strconv.Itoa(len(res.Rows))
		return res, nil
	}
	c := newCollector(p)
	if c.streaming && p.limit == 0 {
		// As on the row path, LIMIT 0 reads nothing (not even for an
		// aggregate, whose one row it drops anyway).
		batches = func(func(arrow.Record, error) bool) {}
	}
	if p.agg {
		err = p.aggregateVec(ctx, vp, batches, c.emit)
	} else {
		err = vp.collectRows(ctx, batches, c)
	}
	if err != nil {
		return nil, err
	}
	return c.result(snap), nil
}

// collectRows evaluates the outputs and sort keys of a SELECT with ORDER
// BY or DISTINCT batch by batch and hands the rows to c, which sorts (or
// keeps the top OFFSET+LIMIT of) them and removes duplicates.
func (vp *vecPlan) collectRows(ctx context.Context, in iter.Seq2[arrow.Record, error], c *collector) error {
	p := vp.p
	for b, err := range in {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := vp.collectBatch(ctx, b, c); err != nil {
			if isCtxErr(ctx, err) {
				return err
			}
			// The row path on this batch reports the row path's error (or,
			// should the rows show none, collects them).
			for _, row := range types.RecordRows(b) {
				ok, err := passes(p.where, row)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if _, err := c.emit(row); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// collectBatch evaluates b's rows that pass WHERE and hands them to c; on
// an error it has handed over none.
func (vp *vecPlan) collectBatch(ctx context.Context, b arrow.Record, c *collector) error {
	p := vp.p
	sel, err := vp.selectRows(ctx, b)
	if err != nil {
		return err
	}
	defer sel.Release()
	outs, err := evalAll(ctx, vp.outputs, sel)
	if err != nil {
		return err
	}
	defer releaseAll(outs)
	keys, err := evalAll(ctx, vp.orderKeys, sel)
	if err != nil {
		return err
	}
	defer releaseAll(keys)
	n := int(sel.NumRows())
	w := len(outs)
	keyArrs := make([]arrow.Array, len(p.order))
	for j, k := range p.order {
		if k.out >= 0 {
			keyArrs[j] = outs[k.out]
		} else {
			keyArrs[j] = keys[j]
		}
	}
	for i := 0; i < n; i++ {
		// With LIMIT, a row that sorts after the last one the top-k keeps
		// (ties included: it arrived later) is dropped before anything of
		// it is boxed.
		if c.top != nil && c.top.full() && compareArrayKeys(keyArrs, i, c.top.rows[0].keys, p.order) >= 0 {
			c.seq++
			continue
		}
		ks := make([]types.Value, len(p.order))
		for j := range p.order {
			ks[j] = types.ValueAt(keyArrs[j], i)
		}
		vals := make(types.Row, w)
		for col, a := range outs {
			vals[col] = types.ValueAt(a, i)
		}
		c.add(vals, ks)
	}
	return nil
}

// compareArrayKeys is compareKeys of row i of the key arrays against the
// boxed keys b, reading the arrays' values in place.
func compareArrayKeys(arrs []arrow.Array, i int, b []types.Value, order []sortKey) int {
	for j, k := range order {
		if c := compareArrayKey(arrs[j], i, b[j], k); c != 0 {
			return c
		}
	}
	return 0
}

// compareArrayKey is compareKey of row i of a against v (a value of the
// same column).
func compareArrayKey(a arrow.Array, i int, v types.Value, k sortKey) int {
	if a.IsNull(i) || v == nil {
		return compareKey(types.ValueAt(a, i), v, k)
	}
	c, ok := 0, true
	switch x := a.(type) {
	case *array.Int32:
		var y int32
		if y, ok = v.(int32); ok {
			c = cmp.Compare(x.Value(i), y)
		}
	case *array.Int64:
		var y int64
		if y, ok = v.(int64); ok {
			c = cmp.Compare(x.Value(i), y)
		}
	case *array.Float32:
		var y float32
		if y, ok = v.(float32); ok {
			c = cmp.Compare(x.Value(i), y)
		}
	case *array.Float64:
		var y float64
		if y, ok = v.(float64); ok {
			c = cmp.Compare(x.Value(i), y)
		}
	case *array.Decimal128:
		switch y := v.(type) {
		case types.Decimal:
			c = cmp.Compare(int64(x.Value(i).LowBits()), int64(y))
		case types.Decimal128:
			c = cmp128(x.Value(i), y.Num())
		default:
			ok = false
		}
	case *array.Date32:
		var y types.Date
		if y, ok = v.(types.Date); ok {
			c = cmp.Compare(int32(x.Value(i)), int32(y))
		}
	case *array.Timestamp:
		var y types.Timestamp
		if y, ok = v.(types.Timestamp); ok {
			c = cmp.Compare(int64(x.Value(i)), int64(y))
		}
	case *array.String:
		var y string
		if y, ok = v.(string); ok {
			c = strings.Compare(x.Value(i), y)
		}
	case *array.Binary:
		var y []byte
		if y, ok = v.([]byte); ok {
			c = bytes.Compare(x.Value(i), y)
		}
	default:
		ok = false
	}
	if !ok {
		return compareKey(types.ValueAt(a, i), v, k)
	}
	if k.desc {
		return -c
	}
	return c
}

// compareKeys orders two rows' ORDER BY keys (compareRows without the
// arrival tie-break).
func compareKeys(a, b []types.Value, order []sortKey) int {
	for i, k := range order {
		if c := compareKey(a[i], b[i], k); c != 0 {
			return c
		}
	}
	return 0
}
