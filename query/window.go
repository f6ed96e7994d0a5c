package query

import (
	"context"
	"iter"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/types"
)

// Window functions: ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD, FIRST_VALUE,
// LAST_VALUE, and the aggregates (with FILTER) over PARTITION BY …
// ORDER BY … with a ROWS or RANGE frame. They run after WHERE, GROUP BY
// and HAVING, on the rows those produce (input rows, or aggregate rows),
// and before DISTINCT, ORDER BY and LIMIT: each window function becomes
// one more column of those rows, which the select list and ORDER BY then
// read (window_eval.go computes them).
//
// The default frame is the SQL standard's and DuckDB's: with ORDER BY,
// RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (up to the current
// row's last peer); without, the whole partition. RANGE frames take
// UNBOUNDED and CURRENT ROW bounds only.

// windowStage is the window functions of a query.
type windowStage struct {
	base  int // width of the rows before the window columns
	calls []*windowCall
	index *exprIndex // calls by expression, so a repeated call is computed once
}

// windowCall is one window function, bound over the rows it runs on.
type windowCall struct {
	name      string
	text      string
	args      []bexpr // LAG/LEAD/FIRST_VALUE/LAST_VALUE: value[, offset, default]
	offset    int64   // LAG and LEAD
	agg       *aggCall
	partition []bexpr
	order     []sortKey // k.e bound; out unused
	frame     windowFrame
	t         types.DataType
}

// winRefB reads window column j of a row.
type winRefB struct {
	st *windowStage
	j  int
	t  types.DataType
}

func (e *winRefB) Type() types.DataType { return e.t }
func (e *winRefB) Eval(r types.Row) (types.Value, error) {
	i := e.st.base + e.j
	if i >= len(r) {
		return nil, errf(types.ErrInvalid, "internal: window column %d out of range", i)
	}
	return r[i], nil
}

// planWindows makes outB bind window calls (select list and ORDER BY),
// and, in a query without aggregates, select-list aliases inside ORDER BY
// expressions (aggregate queries bind those in planGroups).
func (p *selectPlan) planWindows(ctx context.Context, outB *binder, now time.Time, items []outItem) {
	ws := &windowStage{index: newExprIndex(newExprKeys(outB.sc))}
	prev := outB.hook
	var aliases *aliasBinder
	if prev == nil {
		aliases = &aliasBinder{items: items, sc: outB.sc, b: &binder{ctx: ctx, sc: outB.sc, now: now, clause: "ORDER BY"}}
	}
	argB := &binder{ctx: ctx, sc: outB.sc, now: now, clause: "a window function's arguments (window functions cannot be nested)", hook: prev}
	outB.hook = func(x expr) (bexpr, bool, error) {
		if f, ok := x.(*funcCall); ok && f.over != nil {
			if outB.clause != "SELECT" && outB.clause != "ORDER BY" {
				return nil, true, errWindowPlace(f, outB.clause)
			}
			if j, ok := ws.index.find(f); ok {
				return &winRefB{st: ws, j: j, t: ws.calls[j].t}, true, nil
			}
			c, err := bindWindowCall(f, argB)
			if err != nil {
				return nil, true, err
			}
			ws.index.add(f, len(ws.calls))
			ws.calls = append(ws.calls, c)
			return &winRefB{st: ws, j: len(ws.calls) - 1, t: c.t}, true, nil
		}
		if prev != nil {
			return prev(x)
		}
		if c, ok := x.(*columnRef); ok && outB.clause == "ORDER BY" {
			return aliases.bind(c)
		}
		return nil, false, nil
	}
	if aliases != nil {
		aliases.b.hook = outB.hook
	}
	p.win = ws
}

// finishWindows fixes where the window columns start, once every
// aggregate is known; a query without window functions has no stage.
func (p *selectPlan) finishWindows() {
	ws := p.win
	if ws == nil || len(ws.calls) == 0 {
		p.win = nil
		return
	}
	if p.agg {
		ws.base = len(p.groupBy) + len(p.aggs)
	} else if p.rel != nil {
		ws.base = len(p.rel.scope("").cols)
	}
}

func bindWindowCall(f *funcCall, argB *binder) (*windowCall, error) {
	w := f.over
	c := &windowCall{name: f.name, text: f.String()}
	for _, e := range w.partition {
		v, err := argB.bind(e)
		if err != nil {
			return nil, err
		}
		c.partition = append(c.partition, v)
	}
	for _, o := range w.order {
		v, err := argB.bind(o.expr)
		if err != nil {
			return nil, err
		}
		k := sortKey{out: -1, e: v, desc: o.desc, nullsFirst: !o.desc}
		if o.nulls != 0 {
			k.nullsFirst = o.nulls == 1
		}
		c.order = append(c.order, k)
	}
	if err := c.resolveFrame(w); err != nil {
		return nil, err
	}
	bindArgs := func(lo, hi int) error {
		if f.star || f.distinct {
			return errf(types.ErrInvalid, "%s takes neither * nor DISTINCT", f.name)
		}
		if f.filter != nil {
			return errf(types.ErrInvalid, "FILTER is only valid for aggregate window functions, not %s", f.name)
		}
		if len(f.args) < lo || len(f.args) > hi {
			return argCount(f, make([]bexpr, len(f.args)), lo, hi)
		}
		for _, a := range f.args {
			v, err := argB.bind(a)
			if err != nil {
				return err
			}
			c.args = append(c.args, v)
		}
		return nil
	}
	switch f.name {
	case "ROW_NUMBER", "RANK", "DENSE_RANK":
		if err := bindArgs(0, 0); err != nil {
			return nil, err
		}
		c.t = types.TBigInt
	case "FIRST_VALUE", "LAST_VALUE":
		if err := bindArgs(1, 1); err != nil {
			return nil, err
		}
		c.t = c.args[0].Type()
	case "LAG", "LEAD":
		if err := bindArgs(1, 3); err != nil {
			return nil, err
		}
		c.offset = 1
		if len(c.args) >= 2 {
			k, ok := c.args[1].(*constB)
			n, isInt := int64(0), false
			if ok {
				n, isInt = asInt64(k.v)
			}
			if !isInt || n < 0 {
				return nil, errf(types.ErrInvalid, "%s: the offset must be a non-negative integer constant, got %s", f.name, f.args[1])
			}
			c.offset = n
		}
		if len(c.args) == 3 {
			vals := []bexpr{c.args[0], c.args[2]}
			t, err := unify(vals, []expr{f.args[0], f.args[2]}, f.name)
			if err != nil {
				return nil, err
			}
			c.args[0], c.args[2] = vals[0], vals[1]
			c.t = t
		} else {
			c.t = c.args[0].Type()
		}
	default:
		if !isAggregate(f.name) {
			return nil, errf(types.ErrInvalid, "%s is not a window function (use ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD, FIRST_VALUE, LAST_VALUE or an aggregate)", f.name)
		}
		a, err := bindAggCall(f, argB)
		if err != nil {
			return nil, err
		}
		c.agg, c.t = a, a.t
	}
	if c.t.Kind == types.KindInvalid {
		c.t = types.TString // an untyped NULL, as in the select list
	}
	return c, nil
}

// resolveFrame sets the frame, the default one when none is written.
func (c *windowCall) resolveFrame(w *windowSpec) error {
	switch {
	case w.frame == nil && len(w.order) > 0:
		c.frame = windowFrame{start: frameBound{kind: boundUnboundedPreceding}, end: frameBound{kind: boundCurrent}}
	case w.frame == nil:
		c.frame = windowFrame{start: frameBound{kind: boundUnboundedPreceding}, end: frameBound{kind: boundUnboundedFollowing}}
	default:
		c.frame = *w.frame
	}
	if !c.frame.rows {
		for _, b := range []frameBound{c.frame.start, c.frame.end} {
			if b.kind == boundPreceding || b.kind == boundFollowing {
				return errf(types.ErrInvalid, "RANGE frames with an offset (%s) are not supported; use ROWS BETWEEN", b)
			}
		}
	}
	return nil
}

// runWindowed runs a SELECT with window functions: the rows before the
// window stage (filtered input rows, or aggregate rows; WHERE and
// aggregates on batches when the plan compiles), then the window columns,
// then the select list, DISTINCT, ORDER BY and LIMIT as usual.
func (e *Engine) runWindowed(ctx context.Context, p *selectPlan) (*Result, error) {
	var pre []types.Row
	collect := func(r types.Row) (bool, error) {
		pre = append(pre, slices.Clone(r))
		return false, nil
	}
	var snap int64
	if vp := e.compileSelect(p); vp != nil {
		s, batches, err := e.openBatches(ctx, vp)
		if err != nil {
			return nil, err
		}
		snap = s
		if p.agg {
			err = p.aggregateVec(ctx, vp, batches, collect)
		} else {
			err = vp.filterRows(ctx, batches, collect)
		}
		if err != nil {
			return nil, err
		}
	} else {
		s, rows, err := e.open(ctx, p)
		if err != nil {
			return nil, err
		}
		snap = s
		if p.agg {
			if err := p.aggregate(ctx, rows, collect); err != nil {
				return nil, err
			}
		} else {
			n := 0
			for row, err := range rows {
				if err != nil {
					return nil, err
				}
				if n++; n%p.every == 0 {
					if err := ctx.Err(); err != nil {
						return nil, err
					}
				}
				ok, err := passes(p.where, row)
				if err != nil {
					return nil, err
				}
				p.stats.filtered(1, ok)
				if ok {
					collect(row)
				}
			}
		}
	}
	for i, r := range pre {
		if len(r) < p.win.base {
			r = append(r, make(types.Row, p.win.base-len(r))...)
		}
		pre[i] = r[:p.win.base:p.win.base]
	}
	start := p.stats.now()
	if err := p.win.compute(ctx, pre); err != nil {
		return nil, err
	}
	p.stats.windowed(len(pre), start)
	c := newCollector(p)
	for _, r := range pre {
		if _, err := c.emit(r); err != nil {
			return nil, err
		}
	}
	return c.result(snap), nil
}

// filterRows hands the rows of the batches that pass WHERE to collect,
// WHERE evaluated on batches; a batch whose evaluation fails is filtered
// row by row, which reports the row path's error (or, should the rows
// show none, collects them).
func (vp *vecPlan) filterRows(ctx context.Context, in iter.Seq2[arrow.Record, error], collect func(types.Row) (bool, error)) error {
	for b, err := range in {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sel, err := vp.selectRows(ctx, b)
		if err != nil {
			if isCtxErr(ctx, err) {
				return err
			}
			for _, row := range types.RecordRows(b) {
				ok, err := passes(vp.p.where, row)
				if err != nil {
					return err
				}
				if ok {
					collect(row)
				}
			}
			continue
		}
		for _, row := range types.RecordRows(sel) {
			collect(row)
		}
		sel.Release()
	}
	return nil
}
