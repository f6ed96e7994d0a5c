package query

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// UNNEST in FROM: UNNEST(e, …) [WITH ORDINALITY] [[AS] alias [(cols)]]
// turns each ARRAY or MAP argument into rows. It may read the columns of
// the FROM items before it (it is lateral, as in DuckDB, Postgres and
// Trino): FROM t, UNNEST(t.a), FROM t CROSS JOIN UNNEST(t.a), FROM t
// [LEFT] JOIN UNNEST(t.a) ON cond. A row whose arrays are all NULL or
// empty gives no rows (a LEFT JOIN keeps it, padded with NULLs).
//
// Columns, as Trino makes them: an ARRAY gives one column of its elements
// ("unnest", "unnest_2" for the second argument, …), an ARRAY of ROWs one
// column per field of the ROW (named as the fields), a MAP two columns
// (key, value). Several arguments are zipped: row i holds element i of
// each, NULL where an argument is shorter. WITH ORDINALITY adds a BIGINT
// column "ordinality" numbering the rows from 1. AS u(c, …) renames the
// columns in order.

// unnestRef is UNNEST(args) in FROM.
type unnestRef struct {
	pos        position
	args       []expr
	ordinality bool
	// flat: made of the unnest() calls of a select list (unnest_select.go):
	// each argument is one ARRAY column, its elements as they are (an
	// ARRAY of ROWs gives ROWs, as in DuckDB and Postgres).
	flat bool
}

func (u *unnestRef) String() string {
	return "UNNEST(" + exprList(u.args) + ")" + ifStr(u.ordinality, " WITH ORDINALITY")
}

// isUnnestStart reports whether [LATERAL] UNNEST( is next.
func (p *parser) isUnnestStart() bool {
	n := 0
	if p.isKw("LATERAL") {
		n = 1
	}
	t := p.peekN(n + 1)
	return isKwTok(p.peekN(n), "UNNEST") && t.kind == tOp && t.text == "("
}

// unnestItem parses [LATERAL] UNNEST(e, …) [WITH ORDINALITY] [[AS] alias [(cols)]].
func (p *parser) unnestItem() (*tableRef, error) {
	p.acceptKw("LATERAL")
	t := p.next() // UNNEST
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	if p.isOp(")") {
		return nil, syntaxErr(p.peek(), "UNNEST needs at least one ARRAY or MAP argument")
	}
	args, err := p.exprList()
	if err != nil {
		return nil, err
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	u := &unnestRef{pos: t.pos, args: args, ordinality: p.acceptKw("WITH", "ORDINALITY")}
	r := &tableRef{name: tableName{pos: t.pos}, unnest: u}
	if p.acceptKw("AS") || p.isAliasStart() {
		a, _, err := p.ident("alias of UNNEST")
		if err != nil {
			return nil, err
		}
		r.alias = strings.ToLower(a)
		if p.isOp("(") {
			ids, err := p.identList("column name")
			if err != nil {
				return nil, err
			}
			r.colAliases = names(ids)
		}
	}
	if p.isTimeTravel() {
		return nil, syntaxErr(p.peek(), "time travel applies to a table, not to UNNEST")
	}
	return r, nil
}

// unnestArg says how one argument becomes columns.
type unnestArg struct {
	x      bexpr
	width  int  // columns it gives
	fields bool // an ARRAY of ROWs: one column per field
	isMap  bool // a MAP: key, value
}

// unnestPlan is a bound UNNEST: its arguments over the row of the FROM
// items before it.
type unnestPlan struct {
	args  []unnestArg
	ord   bool
	width int
}

// bindUnnest binds r's UNNEST over the scope of the items before it and
// returns the plan and the columns it gives.
func (e *Engine) bindUnnest(ctx context.Context, r *tableRef, left *scope, now time.Time) (*unnestPlan, *scope, error) {
	u := r.unnest
	if err := e.resolveSubqueries(ctx, left, u.args...); err != nil {
		return nil, nil, err
	}
	b := &binder{ctx: ctx, sc: left, now: now, clause: "UNNEST", rand: e.rand}
	up := &unnestPlan{ord: u.ordinality}
	quals := []string{}
	if r.alias != "" {
		quals = []string{r.alias}
	}
	sc := &scope{where: "in " + derivedWhere(r.alias), quals: quals}
	add := func(name string, t types.DataType) {
		sc.cols = append(sc.cols, scopeCol{name: name, t: t})
	}
	for k, a := range u.args {
		x, err := b.bind(a)
		if err != nil && len(left.cols) == 0 && errors.Is(err, types.ErrInvalid) && strings.Contains(err.Error(), "unknown") {
			return nil, nil, errf(types.ErrInvalid, "%s (UNNEST reads the columns of the FROM items before it: FROM t, UNNEST(t.a))", errText(err))
		}
		if err != nil {
			return nil, nil, err
		}
		ua := unnestArg{x: x, width: 1}
		t := x.Type()
		elemName := "unnest"
		if k > 0 {
			elemName += "_" + strconv.Itoa(k+1)
		}
		switch {
		case t.Kind == types.ArrayKind && t.Fields[0].Type.Kind == types.StructKind && !u.flat:
			ua.fields, ua.width = true, len(t.Fields[0].Type.Fields)
			for _, f := range t.Fields[0].Type.Fields {
				add(f.Name, f.Type)
			}
		case t.Kind == types.ArrayKind:
			add(elemName, t.Fields[0].Type)
		case t.Kind == types.MapKind && !u.flat:
			ua.isMap, ua.width = true, 2
			add("key", t.Fields[0].Type)
			add("value", t.Fields[1].Type)
		case t.Kind == types.KindInvalid: // NULL: no rows
			add(elemName, types.TString)
		default:
			return nil, nil, errUnnestArg(a, t, u.flat)
		}
		up.args = append(up.args, ua)
	}
	if up.ord {
		add("ordinality", types.TBigInt)
	}
	up.width = len(sc.cols)
	if len(r.colAliases) > len(sc.cols) {
		return nil, nil, errf(types.ErrInvalid, "%s gives %d column(s) but %d names are given in %s(…); give at most %d", u, len(sc.cols), len(r.colAliases), quoteIdent(r.alias), len(sc.cols))
	}
	for i, n := range r.colAliases {
		sc.cols[i].name = n
	}
	sc.star = []int{}
	sc.ext = make([]colExt, len(sc.cols))
	for i := range sc.cols {
		// The columns of a select list's unnest() calls are its own: *
		// and bare names do not see them.
		sc.ext[i] = colExt{quals: quals, hidden: u.flat}
		if !u.flat {
			sc.star = append(sc.star, i)
		}
	}
	return up, sc, nil
}

// errUnnestArg is the error for an argument that is not a collection.
func errUnnestArg(a expr, t types.DataType, flat bool) error {
	what := "an ARRAY or a MAP"
	if flat {
		what = "an ARRAY (a MAP unnests in FROM: FROM t, UNNEST(t.m) AS u(k, v))"
	}
	if c, ok := a.(*columnRef); ok {
		return errf(types.ErrInvalid, "cannot UNNEST column %s of type %s: UNNEST takes %s", c, typeName(t), what)
	}
	return errf(types.ErrInvalid, "cannot UNNEST %s of type %s: UNNEST takes %s", a, typeName(t), what)
}

// rows returns the rows UNNEST gives for one row of the items before it.
func (up *unnestPlan) rows(in types.Row) ([]types.Row, error) {
	vals := make([]types.Value, len(up.args))
	n := 0
	for k, a := range up.args {
		v, err := a.x.Eval(in)
		if err != nil {
			return nil, err
		}
		vals[k] = v
		switch x := v.(type) {
		case types.List:
			n = max(n, len(x))
		case types.Map:
			n = max(n, len(x))
		}
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]types.Row, n)
	cells := make([]types.Value, n*up.width)
	for i := range out {
		out[i] = cells[i*up.width : (i+1)*up.width : (i+1)*up.width]
	}
	col := 0
	for k, a := range up.args {
		switch x := vals[k].(type) {
		case types.List:
			for i, el := range x {
				if !a.fields {
					out[i][col] = el
					continue
				}
				if s, ok := el.(types.Struct); ok {
					copy(out[i][col:col+a.width], s)
				}
			}
		case types.Map:
			for i, ent := range x {
				out[i][col], out[i][col+1] = ent.Key, ent.Value
			}
		}
		col += a.width
	}
	if up.ord {
		for i := range out {
			out[i][col] = int64(i + 1)
		}
	}
	return out, nil
}

// lateralPlan is a FROM item followed by an UNNEST that reads its rows:
// each row of l, then each row UNNEST gives for it.
type lateralPlan struct {
	kind joinKind // joinCross, joinInner or joinLeft
	l    *fromSource
	u    *unnestPlan
	nl   int
	on   bexpr        // over the joined row; nil = none
	text string       // UNNEST(…) as written, for EXPLAIN
	m    *nodeMeasure // EXPLAIN ANALYZE
}

// planUnnest plans UNNEST alone in FROM (its arguments constants).
func (e *Engine) planUnnest(ctx context.Context, r *tableRef, now time.Time) (*fromSource, error) {
	one := &fromSource{sc: &scope{where: "in the arguments of UNNEST", quals: []string{}, star: []int{}},
		open: func(context.Context) (int64, iter.Seq2[types.Row, error], error) {
			return 0, rowsOf([]types.Row{{}}), nil
		},
		explain: func(context.Context) (*planNode, error) {
			return &planNode{name: "DUMMY_SCAN", detail: "one row", stats: func() string { return "1 row out" }}, nil
		}}
	return e.planLateral(ctx, one, joinCross, r, nil, now)
}

// planUnnestJoin plans left [CROSS|LEFT] JOIN UNNEST(…) [ON cond].
func (e *Engine) planUnnestJoin(ctx context.Context, j *joinRef, now time.Time) (*fromSource, error) {
	if j.kind == joinRight || j.kind == joinFull {
		return nil, errf(types.ErrInvalid, "%s UNNEST(…) is not supported: UNNEST reads the rows before it; use LEFT JOIN or CROSS JOIN", j.kind)
	}
	if len(j.using) > 0 {
		return nil, errf(types.ErrInvalid, "JOIN UNNEST(…) USING (…) is not supported; write ON with the condition")
	}
	l, err := e.planFrom(ctx, j.left, now)
	if err != nil {
		return nil, err
	}
	return e.planLateral(ctx, l, j.kind, j.right, j.on, now)
}

func (e *Engine) planLateral(ctx context.Context, l *fromSource, kind joinKind, r *tableRef, on expr, now time.Time) (*fromSource, error) {
	up, usc, err := e.bindUnnest(ctx, r, l.sc, now)
	if err != nil {
		return nil, err
	}
	for _, q := range usc.quals {
		if slices.Contains(l.sc.quals, q) {
			return nil, errf(types.ErrInvalid, "table name or alias %q appears twice in FROM; give one of them another alias", q)
		}
	}
	lp := &lateralPlan{kind: kind, l: l, u: up, nl: len(l.sc.cols), text: r.unnest.String(), m: &nodeMeasure{}}
	sc := &scope{where: "in the FROM clause", quals: append(slices.Clone(l.sc.quals), usc.quals...)}
	sc.cols = append(slices.Clone(l.sc.cols), usc.cols...)
	for _, side := range []*scope{l.sc, usc} {
		for i := range side.cols {
			sc.ext = append(sc.ext, side.extOf(i))
		}
	}
	sc.star = l.sc.starList()
	for _, i := range usc.starList() {
		sc.star = append(sc.star, lp.nl+i)
	}
	if on != nil {
		if err := e.resolveSubqueries(ctx, sc, on); err != nil {
			return nil, err
		}
		b := &binder{ctx: ctx, sc: sc, now: now, clause: "JOIN … ON", rand: e.rand}
		if lp.on, err = b.bind(on); err != nil {
			return nil, err
		}
		if err := needCondition(lp.on, "JOIN … ON"); err != nil {
			return nil, err
		}
	}
	return &fromSource{sc: sc, open: measureOpen(lp.m, lp.open), push: lp.push, explain: lp.explain}, nil
}

// explain is the EXPLAIN node of an UNNEST over the rows before it.
func (lp *lateralPlan) explain(ctx context.Context) (*planNode, error) {
	if lp.l.explain == nil {
		return nil, errf(types.ErrInvalid, "EXPLAIN cannot show the FROM item before %s", lp.text)
	}
	l, err := lp.l.explain(ctx)
	if err != nil {
		return nil, err
	}
	parts := []string{lp.text}
	if lp.kind == joinLeft {
		parts = append(parts, "LEFT: a row with no elements is kept, padded with NULL")
	}
	if lp.on != nil {
		parts = append(parts, "condition "+exprText(lp.on, func(x *colB) string { return quoteIdent(x.name) }))
	}
	parts = append(parts, "lateral: once per row of its input", "rows")
	return &planNode{name: "UNNEST", detail: strings.Join(parts, ", "), m: lp.m, kids: []*planNode{l}}, nil
}

func (lp *lateralPlan) open(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
	snap, lrows, err := lp.l.open(ctx)
	if err != nil {
		return 0, nil, err
	}
	nl, width := lp.nl, lp.nl+lp.u.width
	return snap, func(yield func(types.Row, error) bool) {
		n := 0
		for lrow, err := range lrows {
			var urows []types.Row
			if err == nil {
				urows, err = lp.u.rows(lrow)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			hit := false
			for _, ur := range urows {
				if n++; n%checkEvery == 0 {
					if err := ctx.Err(); err != nil {
						yield(nil, err)
						return
					}
				}
				out := make(types.Row, width)
				copy(out, lrow)
				copy(out[nl:], ur)
				if lp.on != nil {
					ok, err := passes(lp.on, out)
					if err != nil {
						yield(nil, err)
						return
					}
					if !ok {
						continue
					}
				}
				hit = true
				if !yield(out, nil) {
					return
				}
			}
			if !hit && lp.kind == joinLeft {
				out := make(types.Row, width)
				copy(out, lrow)
				if !yield(out, nil) {
					return
				}
			}
		}
	}, nil
}

// push passes the conditions on the left side's columns down to it (the
// left side of a LEFT JOIN keeps its rows, as in joinPlan.push), with the
// columns UNNEST and ON read.
func (lp *lateralPlan) push(conds []bexpr, used []int, off int) {
	if lp.l.push == nil {
		return
	}
	var lc []bexpr
	for _, c := range conds {
		if columnsIn(c, off, off+lp.nl) {
			lc = append(lc, c)
		}
	}
	if used != nil {
		var own []int
		ok := true
		for _, a := range lp.u.args {
			ok = ok && collectColumns(a.x, &own)
		}
		if lp.on != nil {
			ok = ok && collectColumns(lp.on, &own)
		}
		if !ok {
			used = nil
		} else {
			for _, c := range own {
				used = append(used, c+off)
			}
		}
	}
	lp.l.push(lc, used, off)
}

func derivedWhere(alias string) string {
	if alias == "" {
		return "UNNEST"
	}
	return quoteIdent(alias)
}
