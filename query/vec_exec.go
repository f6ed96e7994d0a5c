package query

import (
	"context"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/types"
)

// The vectorized SELECT pipeline: a SELECT over a table runs on Arrow
// record batches end to end — scan → (remap to the current schema) → WHERE
// as a selection → GROUP BY/aggregates (vec_agg.go) or projection →
// ORDER BY (vec_sort.go) → OFFSET/LIMIT — and its result is a stream of
// batches (Result.All adapts them to rows).
//
// What stays on the row path (decided per statement by compileSelect):
// statements without FROM, system tables and table functions (their rows
// are few and built as rows), and statements with an expression whose
// type is the untyped NULL (it has no Arrow type). The row path also
// stays selectable as a whole (Engine.rowEngine): it is the reference the
// differential test compares the pipeline with.
//
// Errors: a batch is evaluated expression by expression, the row path row
// by row, so when an expression fails somewhere in a batch, the first
// error in row order may belong to another expression or row (or to a row
// after LIMIT, which the row path never evaluates). The pipeline then
// replays that one batch through the row path, which reports exactly the
// row path's error (and rows).

// vecPlan is a selectPlan compiled for batches.
type vecPlan struct {
	p     *selectPlan
	where vecExpr // nil: none
	// outputs and orderKeys (nil where the key is an output) are over the
	// input batch; unused by aggregate plans, whose outputs run on
	// aggregate rows.
	outputs   []vecExpr
	orderKeys []vecExpr
	groupBy   []vecExpr
	args      []vecExpr // per aggregate; nil for COUNT(*)
	in        *arrow.Schema
	out       *arrow.Schema
}

// compileSelect compiles p for batches, or returns nil when p runs on the
// row path (see above).
func (e *Engine) compileSelect(p *selectPlan) *vecPlan {
	var in *arrow.Schema
	if p.src != nil && p.src.batch != nil && p.win == nil && !e.rowEngine {
		in = p.src.batch.schema // a vectorized join (vec_join.go)
	} else {
		if e.rowEngine || p.rel == nil || p.rel.system != "" || p.rel.schema == nil {
			return nil
		}
		var err error
		in, err = types.ArrowSchema(p.rel.schema, false)
		if err != nil || len(p.rel.cols) != len(p.rel.schema.Fields) {
			return nil
		}
	}
	vp := &vecPlan{p: p, in: in}
	ok := true
	comp := func(b bexpr) vecExpr {
		if b == nil {
			return nil
		}
		at, err := types.ArrowType(b.Type())
		if err != nil {
			ok = false
			return nil
		}
		return checkedVec{v: compileVecCol(b), want: at}
	}
	vp.where = comp(p.where)
	if p.agg {
		for _, g := range p.groupBy {
			vp.groupBy = append(vp.groupBy, comp(g))
		}
		for _, a := range p.aggs {
			var v vecExpr
			if a.arg != nil {
				v = comp(a.arg)
			}
			vp.args = append(vp.args, v)
		}
	} else {
		fields := make([]arrow.Field, len(p.outputs))
		for i, o := range p.outputs {
			vp.outputs = append(vp.outputs, comp(o))
			at, err := types.ArrowType(p.cols[i].Type)
			if err != nil {
				return nil
			}
			fields[i] = arrow.Field{Name: p.cols[i].Name, Type: at, Nullable: true}
		}
		vp.out = arrow.NewSchema(fields, nil)
		for _, k := range p.order {
			var v vecExpr
			if k.out < 0 {
				v = comp(k.e)
			}
			vp.orderKeys = append(vp.orderKeys, v)
		}
	}
	if !ok {
		return nil
	}
	return vp
}

// compileVecCol is compileVec with a column reference taken straight from
// the batch.
func compileVecCol(b bexpr) vecExpr {
	if c, ok := b.(*colB); ok {
		return colVec{idx: c.idx}
	}
	return compileVec(b)
}

// checkedVec checks that an expression's array has the type and length
// its bound form promises: an array that does not is an internal error,
// which (like any failed batch) sends the batch down the row path instead
// of into typed code that would misread it.
type checkedVec struct {
	v    vecExpr
	want arrow.DataType
}

func (c checkedVec) eval(ctx context.Context, b arrow.Record) (arrow.Array, error) {
	a, err := c.v.eval(ctx, b)
	if err != nil {
		return nil, err
	}
	if !arrow.TypeEqual(a.DataType(), c.want) || a.Len() != int(b.NumRows()) {
		defer a.Release()
		return nil, errf(types.ErrInvalid, "internal: an expression evaluated to %d values of %s, want %d of %s", a.Len(), a.DataType(), b.NumRows(), c.want)
	}
	return a, nil
}

// colVec is a column of the input batch.
type colVec struct{ idx int }

func (c colVec) eval(_ context.Context, b arrow.Record) (arrow.Array, error) {
	if c.idx >= int(b.NumCols()) {
		return nil, errf(types.ErrInvalid, "internal: column %d out of range", c.idx)
	}
	a := b.Column(c.idx)
	a.Retain()
	return a, nil
}

// selectRows evaluates the WHERE condition of vp over b and returns the
// batch of the rows it keeps (TRUE, not NULL); b itself (retained) when
// it keeps every row.
func (vp *vecPlan) selectRows(ctx context.Context, b arrow.Record) (arrow.Record, error) {
	if vp.where == nil {
		b.Retain()
		return b, nil
	}
	if st := vp.p.stats; st != nil {
		defer st.timeFilter(st.now())
	}
	a, err := vp.where.eval(ctx, b)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	cond, ok := a.(*array.Boolean)
	if !ok || cond.Len() != int(b.NumRows()) {
		return nil, errf(types.ErrInvalid, "internal: WHERE evaluated to %s", a.DataType())
	}
	n := cond.Len()
	idx := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		if cond.IsValid(i) && cond.Value(i) {
			idx = append(idx, int32(i))
		}
	}
	vp.p.stats.filteredBatch(int64(n), int64(len(idx)))
	if len(idx) == n {
		b.Retain()
		return b, nil
	}
	return takeRecord(b, idx), nil
}

// evalAll evaluates exprs over b; the caller releases the arrays.
func evalAll(ctx context.Context, exprs []vecExpr, b arrow.Record) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(exprs))
	for i, x := range exprs {
		if x == nil {
			continue
		}
		a, err := x.eval(ctx, b)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// isCtxErr reports whether err is the context's own error (which the
// pipeline returns as is instead of replaying the batch).
func isCtxErr(ctx context.Context, err error) bool {
	return ctx.Err() != nil && err == ctx.Err()
}

// plainBatches is the pipeline of a plain SELECT (no aggregates, DISTINCT
// or ORDER BY): the output batches, OFFSET and LIMIT applied, as the scan
// produces them.
func (vp *vecPlan) plainBatches(ctx context.Context, in iter.Seq2[arrow.Record, error]) iter.Seq2[arrow.Record, error] {
	p := vp.p
	return func(yield func(arrow.Record, error) bool) {
		if p.limit == 0 {
			return
		}
		var skipped, emitted int64
		for b, err := range in {
			if err != nil {
				yield(nil, err)
				return
			}
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			out, err := vp.project(ctx, b)
			if err != nil {
				if isCtxErr(ctx, err) {
					yield(nil, err)
					return
				}
				if !vp.replayPlain(b, &skipped, &emitted, yield) {
					return
				}
				continue
			}
			n := out.NumRows()
			lo := min(n, p.offset-skipped)
			skipped += lo
			hi := n
			if p.limit >= 0 {
				hi = lo + min(n-lo, p.limit-emitted)
			}
			emitted += hi - lo
			if hi > lo {
				var part arrow.Record
				if lo == 0 && hi == n {
					part = out
				} else {
					part = out.NewSlice(lo, hi)
					out.Release()
				}
				ok := yield(part, nil)
				part.Release()
				if !ok {
					return
				}
			} else {
				out.Release()
			}
			if p.limit >= 0 && emitted >= p.limit {
				return
			}
		}
	}
}

// project filters b by WHERE and evaluates the outputs over what is left.
func (vp *vecPlan) project(ctx context.Context, b arrow.Record) (arrow.Record, error) {
	sel, err := vp.selectRows(ctx, b)
	if err != nil {
		return nil, err
	}
	defer sel.Release()
	start := vp.p.stats.now()
	cols, err := evalAll(ctx, vp.outputs, sel)
	if err != nil {
		return nil, err
	}
	rec := array.NewRecord(vp.out, cols, sel.NumRows())
	releaseAll(cols)
	vp.p.stats.projected(sel.NumRows(), start)
	return rec, nil
}

// replayPlain runs batch b through the row path of a plain SELECT after
// its batch evaluation failed: it yields the rows the row path yields
// before its first error, then that error. It reports whether the
// pipeline goes on (the rows of b showed no error and LIMIT is not
// reached: the row path is the reference).
func (vp *vecPlan) replayPlain(b arrow.Record, skipped, emitted *int64, yield func(arrow.Record, error) bool) bool {
	p := vp.p
	var rows []types.Row
	flush := func() bool {
		if len(rows) == 0 {
			return true
		}
		rec, err := types.BuildRecord(nil, vp.out, rows)
		if err != nil {
			yield(nil, err)
			return false
		}
		defer rec.Release()
		return yield(rec, nil)
	}
	fail := func(err error) bool {
		if flush() {
			yield(nil, err)
		}
		return false
	}
	for _, row := range types.RecordRows(b) {
		ok, err := passes(p.where, row)
		if err != nil {
			return fail(err)
		}
		if !ok {
			continue
		}
		out := make(types.Row, len(p.outputs))
		for i, o := range p.outputs {
			if out[i], err = o.Eval(row); err != nil {
				return fail(err)
			}
		}
		if *skipped < p.offset {
			*skipped++
			continue
		}
		rows = append(rows, out)
		if *emitted++; p.limit >= 0 && *emitted >= p.limit {
			flush()
			return false
		}
	}
	return flush()
}

// batchRows adapts batches to rows.
func batchRows(batches iter.Seq2[arrow.Record, error]) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		for b, err := range batches {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, row := range types.RecordRows(b) {
				if !yield(row, nil) {
					return
				}
			}
		}
	}
}
