package query

import (
	"cmp"
	"context"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// SELECT: planning (binding, aggregation, ORDER BY resolution, pushdown)
// and execution (scan → WHERE → GROUP BY/aggregates → HAVING → project →
// DISTINCT → ORDER BY → OFFSET/LIMIT).

type sortKey struct {
	out        int   // output column, or -1 to evaluate e
	e          bexpr // over the same row as the outputs
	desc       bool
	nullsFirst bool
}

type selectPlan struct {
	rel   *relation   // nil: no FROM clause, or src
	src   *fromSource // a join or derived table (relscope.go)
	spec  ScanSpec
	where bexpr

	agg     bool
	groupBy []bexpr    // over input rows
	aggs    []*aggCall // arguments over input rows
	having  bexpr      // over aggregate rows: group keys then aggregates

	outputs []bexpr // over input rows, or aggregate rows when agg
	cols    []Column
	// every is how many input rows runSelect reads between two checks of
	// its context (rowsPerCheck of the plan's size).
	every    int
	order    []sortKey
	distinct bool
	limit    int64 // -1 = none
	offset   int64
	win      *windowStage // window functions (window.go); nil if none
	// stats, when set (EXPLAIN ANALYZE), counts what each operator did
	// (explain_analyze.go).
	stats *opStats
}

// outItem is one select-list entry after * expansion.
type outItem struct {
	e    expr
	name string
}

func (e *Engine) planSelect(ctx context.Context, s *selectStmt) (*selectPlan, error) {
	s, err := rewriteSelectUnnest(s) // unnest_select.go
	if err != nil {
		return nil, err
	}
	now := e.now()
	p := &selectPlan{distinct: s.distinct, limit: s.limit, offset: s.offset}
	sc := &scope{where: "(the query has no FROM clause)"}
	if s.from != nil && s.from.composite() {
		src, err := e.planFrom(ctx, s.from, now)
		if err != nil {
			return nil, err
		}
		p.src, sc = src, src.sc
	} else if s.from != nil {
		var rel *relation
		var err error
		if s.from.fn != nil {
			rel, err = e.resolveTableFunc(ctx, s.from.fn, now)
		} else {
			rel, err = e.resolveTable(ctx, s.from.name)
		}
		if err != nil {
			return nil, err
		}
		if s.from.asOf != nil {
			if p.spec, err = e.timeTravelSpec(ctx, s.from.asOf, rel, now); err != nil {
				return nil, err
			}
		}
		p.rel, sc = rel, rel.scope(s.from.alias)
	}
	if err := e.resolveSubqueries(ctx, sc, selectExprs(s)...); err != nil {
		return nil, err
	}
	rowB := &binder{ctx: ctx, sc: sc, now: now, rand: e.rand, clause: "WHERE"}
	if s.where != nil {
		w, err := rowB.bind(s.where)
		if err != nil {
			return nil, err
		}
		if err := needCondition(w, "WHERE"); err != nil {
			return nil, err
		}
		p.where = w
		if p.rel != nil && p.rel.system == "" {
			p.spec.Equals = pushdown(w)
			p.spec.Ranges = pushdownRanges(w)
			p.spec.Keys = pushdownKeys(w, p.rel.t.Schema().KeyIndexes())
		}
	}

	var items []outItem
	for _, it := range s.items {
		if it.star {
			if s.from == nil {
				return nil, errf(types.ErrInvalid, "SELECT * needs a FROM clause")
			}
			if it.qual != "" && !slices.Contains(sc.quals, it.qual) {
				return nil, errf(types.ErrInvalid, "unknown table or alias %q in %s.*", it.qual, it.qual)
			}
			items = append(items, sc.starItems(it.pos, it.qual)...)
			continue
		}
		name := it.alias
		if name == "" {
			name = it.expr.String()
			if cr, ok := it.expr.(*columnRef); ok {
				name = cr.name
				if i := sc.lookup(cr.name); i >= 0 {
					name = sc.cols[i].name
				}
			}
		}
		items = append(items, outItem{e: it.expr, name: name})
	}

	p.agg = len(s.groupBy) > 0 || s.having != nil
	for _, it := range items {
		p.agg = p.agg || containsAggregate(it.e)
	}
	for _, o := range s.orderBy {
		p.agg = p.agg || containsAggregate(o.expr)
	}

	keys := newExprKeys(sc)
	outB := &binder{ctx: ctx, sc: sc, now: now, rand: e.rand, clause: "SELECT"}
	if p.agg {
		hook, err := p.planGroups(ctx, s, items, keys, now)
		if err != nil {
			return nil, err
		}
		outB.hook = hook
		if s.having != nil {
			outB.clause = "HAVING"
			h, err := outB.bind(s.having)
			if err != nil {
				return nil, err
			}
			if err := needCondition(h, "HAVING"); err != nil {
				return nil, err
			}
			p.having = h
			outB.clause = "SELECT"
		}
	}
	p.planWindows(ctx, outB, now, items)
	for _, it := range items {
		v, err := outB.bind(it.e)
		if err != nil {
			return nil, err
		}
		t := v.Type()
		if t.Kind == types.KindInvalid {
			t = types.TString // an untyped NULL column
		}
		p.outputs = append(p.outputs, v)
		p.cols = append(p.cols, Column{Name: it.name, Type: t})
	}
	outB.clause = "ORDER BY"
	for _, o := range s.orderBy {
		k, err := p.planOrder(o, items, keys, outB)
		if err != nil {
			return nil, err
		}
		p.order = append(p.order, k)
	}
	p.finishWindows()
	p.every = rowsPerCheck(selectSize(s))
	// Projection pushdown (projection.go); a snapshot-schema read maps
	// columns by field id afterwards (relation.remap), so it reads all.
	if p.rel != nil && p.rel.system == "" && !p.spec.SnapshotSchema {
		p.spec.Columns = p.inputColumns()
	}
	p.pushdownSources()
	return p, nil
}

func needCondition(v bexpr, clause string) error {
	if t := v.Type(); t.Kind != types.Boolean && t.Kind != types.KindInvalid {
		return errf(types.ErrInvalid, "%s needs a BOOLEAN condition, got %s", clause, t)
	}
	return nil
}

// ordinal returns n when e is the integer literal n.
func ordinal(e expr) (int64, bool) {
	l, ok := e.(*literal)
	if !ok || l.kind != litInt {
		return 0, false
	}
	n, _ := asInt64(l.val)
	return n, true
}

// planGroups binds GROUP BY and returns the hook that binds select-list,
// HAVING and ORDER BY expressions over aggregate rows.
func (p *selectPlan) planGroups(ctx context.Context, s *selectStmt, items []outItem, keys *exprKeys, now time.Time) (func(expr) (bexpr, bool, error), error) {
	sc := keys.sc
	groupKeys := newExprIndex(keys)
	gb := &binder{ctx: ctx, sc: sc, now: now, clause: "GROUP BY"}
	for _, g := range s.groupBy {
		ge := g
		if n, ok := ordinal(g); ok {
			if n < 1 || n > int64(len(items)) {
				return nil, errf(types.ErrInvalid, "GROUP BY position %d is not in the select list (1..%d)", n, len(items))
			}
			ge = items[n-1].e
		} else if cr, ok := g.(*columnRef); ok && cr.qual == "" && sc.lookup(cr.name) < 0 {
			for _, it := range items {
				if strings.EqualFold(it.name, cr.name) {
					ge = it.e
					break
				}
			}
		}
		if containsAggregate(ge) {
			return nil, errf(types.ErrInvalid, "aggregate functions are not allowed in GROUP BY (%s)", ge)
		}
		v, err := gb.bind(ge)
		if err != nil {
			return nil, err
		}
		groupKeys.add(ge, len(p.groupBy))
		p.groupBy = append(p.groupBy, v)
	}
	ng := len(p.groupBy)
	aggKeys := newExprIndex(keys)
	argB := &binder{ctx: ctx, sc: sc, now: now, clause: "an aggregate argument (aggregates cannot be nested)"}
	rowB := &binder{sc: sc, now: now}
	aliases := &aliasBinder{items: items, sc: sc, b: &binder{ctx: ctx, sc: sc, now: now, clause: "HAVING"}}
	var hook func(x expr) (bexpr, bool, error)
	hook = func(x expr) (bexpr, bool, error) {
		if i, ok := groupKeys.find(x); ok {
			return &colB{idx: i, t: p.groupBy[i].Type(), name: x.String()}, true, nil
		}
		switch y := x.(type) {
		case *funcCall:
			if !isAggregate(y.name) || y.over != nil {
				return nil, false, nil
			}
			if j, ok := aggKeys.find(x); ok {
				return &colB{idx: ng + j, t: p.aggs[j].t, name: y.String()}, true, nil
			}
			a, err := bindAggCall(y, argB)
			if err != nil {
				return nil, true, err
			}
			aggKeys.add(x, len(p.aggs))
			p.aggs = append(p.aggs, a)
			return &colB{idx: ng + len(p.aggs) - 1, t: a.t, name: y.String()}, true, nil
		case *columnRef:
			if v, ok, err := aliases.bind(y); ok {
				return v, true, err
			}
			if _, err := rowB.resolve(y); err != nil {
				return nil, true, err
			}
			return nil, true, errf(types.ErrInvalid, "column %q must appear in GROUP BY or be used in an aggregate function", y.name)
		}
		return nil, false, nil
	}
	aliases.b.hook = hook
	return hook, nil
}

// planOrder resolves one ORDER BY item: a select-list position, an output
// column name, an expression equal to a select-list item, or (except with
// DISTINCT) any expression over the query's rows.
func (p *selectPlan) planOrder(o orderItem, items []outItem, keys *exprKeys, outB *binder) (sortKey, error) {
	k := sortKey{out: -1, desc: o.desc, nullsFirst: !o.desc}
	switch o.nulls {
	case 1:
		k.nullsFirst = true
	case 2:
		k.nullsFirst = false
	}
	if n, ok := ordinal(o.expr); ok {
		if n < 1 || n > int64(len(items)) {
			return k, errf(types.ErrInvalid, "ORDER BY position %d is not in the select list (1..%d)", n, len(items))
		}
		k.out = int(n - 1)
		return k, nil
	}
	if cr, ok := o.expr.(*columnRef); ok && cr.qual == "" {
		for j, it := range items {
			if strings.EqualFold(it.name, cr.name) {
				k.out = j
				return k, nil
			}
		}
	}
	for j, it := range items {
		if keys.equal(it.e, o.expr) {
			k.out = j
			return k, nil
		}
	}
	if p.distinct {
		return k, errf(types.ErrInvalid, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list: %s", o.expr)
	}
	v, err := outB.bind(o.expr)
	if err != nil {
		return k, err
	}
	k.e = v
	return k, nil
}

// rowsPerCheck is how many rows to process between two checks of the
// context when each row evaluates expressions of size nodes in all: about
// checkEvery*64 node evaluations, and at least every checkEvery rows.
func rowsPerCheck(size int) int {
	return min(checkEvery, max(1, checkEvery*64/max(1, size)))
}

// selectSize is the number of expression nodes of s, a measure of the work
// per input row.
func selectSize(s *selectStmt) int {
	n := 0
	count := func(e expr) { walk(e, func(expr) bool { n++; return true }) }
	for _, it := range s.items {
		count(it.expr)
	}
	count(s.where)
	for _, g := range s.groupBy {
		count(g)
	}
	count(s.having)
	for _, o := range s.orderBy {
		count(o.expr)
	}
	return n
}

// passes evaluates a condition; only TRUE passes.
func passes(cond bexpr, row types.Row) (bool, error) {
	if cond == nil {
		return true, nil
	}
	v, err := cond.Eval(row)
	if err != nil {
		return false, err
	}
	b, ok := truth(v)
	return ok && b, nil
}

func (e *Engine) execSelect(ctx context.Context, s *selectStmt, stream bool) (*Result, error) {
	p, err := e.planSelect(ctx, s)
	if err != nil {
		return nil, err
	}
	if stream && p.streamable() {
		return e.streamSelect(ctx, p)
	}
	return e.runSelect(ctx, p)
}

type sortedRow struct {
	vals types.Row
	keys []types.Value
	seq  int64 // arrival order, the tie-break that keeps ORDER BY stable
}

func (e *Engine) open(ctx context.Context, p *selectPlan) (int64, iter.Seq2[types.Row, error], error) {
	if p.src != nil {
		return p.src.open(ctx)
	}
	if p.rel == nil {
		return 0, func(yield func(types.Row, error) bool) { yield(types.Row{}, nil) }, nil
	}
	return e.scan(ctx, p.rel, p.spec)
}

func (e *Engine) runSelect(ctx context.Context, p *selectPlan) (*Result, error) {
	if p.win != nil {
		return e.runWindowed(ctx, p)
	}
	if vp := e.compileSelect(p); vp != nil {
		return e.runSelectVec(ctx, vp)
	}
	snap, rows, err := e.open(ctx, p)
	if err != nil {
		return nil, err
	}
	c := newCollector(p)
	if c.streaming && p.limit == 0 {
		rows = func(func(types.Row, error) bool) {}
	}
	n := 0
	if !p.agg {
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
			if !ok {
				continue
			}
			stop, err := c.emit(row)
			if err != nil {
				return nil, err
			}
			if stop {
				break
			}
		}
	} else if err := p.aggregate(ctx, rows, c.emit); err != nil {
		return nil, err
	}
	return c.result(snap), nil
}

// collector gathers the output rows of a SELECT that is not streamed:
// rows to sort, deduplicate, offset and limit.
type collector struct {
	p   *selectPlan
	out []sortedRow
	// streaming: no ORDER BY or DISTINCT and a LIMIT, so collecting
	// stops after OFFSET+LIMIT rows.
	streaming bool
	// top, for ORDER BY with LIMIT, keeps only the first OFFSET+LIMIT
	// rows in a bounded heap instead of sorting every row.
	top *topK
	seq int64
}

func newCollector(p *selectPlan) *collector {
	c := &collector{p: p, streaming: len(p.order) == 0 && !p.distinct && p.limit >= 0}
	if len(p.order) > 0 && !p.distinct && p.limit >= 0 {
		c.top = &topK{k: satAdd(p.offset, p.limit), order: p.order}
	}
	return c
}

// emit evaluates the outputs and sort keys over r (an input row, or an
// aggregate row) and collects the result; stop reports that no more rows
// are needed.
func (c *collector) emit(r types.Row) (stop bool, err error) {
	p := c.p
	vals := make(types.Row, len(p.outputs))
	for i, o := range p.outputs {
		if vals[i], err = o.Eval(r); err != nil {
			return false, err
		}
	}
	var keys []types.Value
	for _, k := range p.order {
		var v types.Value
		if k.out >= 0 {
			v = vals[k.out]
		} else if v, err = k.e.Eval(r); err != nil {
			return false, err
		}
		keys = append(keys, v)
	}
	return c.add(vals, keys), nil
}

// add collects one output row with its sort keys.
func (c *collector) add(vals types.Row, keys []types.Value) (stop bool) {
	c.p.stats.collected()
	c.seq++
	sr := sortedRow{vals: vals, keys: keys, seq: c.seq}
	if c.top != nil {
		c.top.add(sr)
		return false
	}
	c.out = append(c.out, sr)
	return c.streaming && int64(len(c.out)) >= satAdd(c.p.offset, c.p.limit)
}

// result deduplicates, sorts, offsets and limits the collected rows.
func (c *collector) result(snap int64) *Result {
	p, out := c.p, c.out
	defer p.stats.timeSort(p.stats.now())
	if c.top != nil {
		out = c.top.rows
	}
	if p.distinct {
		seen := map[string]struct{}{}
		kept := out[:0]
		for _, r := range out {
			var key []byte
			for _, v := range r.vals {
				key = appendValueKey(key, v)
			}
			if _, dup := seen[string(key)]; !dup {
				seen[string(key)] = struct{}{}
				kept = append(kept, r)
			}
		}
		out = kept
	}
	if len(p.order) > 0 {
		slices.SortFunc(out, func(a, b sortedRow) int { return compareRows(a, b, p.order) })
	}
	p.stats.sorted(len(out))
	lo := min(p.offset, int64(len(out)))
	hi := int64(len(out))
	if p.limit >= 0 {
		hi = min(hi, satAdd(lo, p.limit))
	}
	res := &Result{Columns: slices.Clone(p.cols), Rows: make([]types.Row, 0, hi-lo), SnapshotID: snap}
	for _, r := range out[lo:hi] {
		res.Rows = append(res.Rows, r.vals)
	}
	res.Message = "SELECT " + strconv.Itoa(len(res.Rows))
	return res
}

// satAdd adds non-negative counts, saturating at MaxInt64 (LIMIT and
// OFFSET are user input).
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// compareRows orders rows by their ORDER BY keys, then by arrival, which
// makes every sort of them stable.
func compareRows(a, b sortedRow, order []sortKey) int {
	for i, k := range order {
		if c := compareKey(a.keys[i], b.keys[i], k); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.seq, b.seq)
}

// topK keeps the k first rows under compareRows: a max-heap whose root is
// the last row kept, replaced when a row that sorts before it arrives.
type topK struct {
	k     int64
	order []sortKey
	rows  []sortedRow
}

// full reports whether t holds k rows (and has a root to compare with).
func (t *topK) full() bool { return t.k > 0 && int64(len(t.rows)) >= t.k }

func (t *topK) less(i, j int) bool { return compareRows(t.rows[i], t.rows[j], t.order) > 0 }

func (t *topK) add(r sortedRow) {
	if t.k == 0 {
		return
	}
	if int64(len(t.rows)) < t.k {
		t.rows = append(t.rows, r)
		for i := len(t.rows) - 1; i > 0; {
			parent := (i - 1) / 2
			if !t.less(i, parent) {
				break
			}
			t.rows[i], t.rows[parent] = t.rows[parent], t.rows[i]
			i = parent
		}
		return
	}
	if compareRows(r, t.rows[0], t.order) >= 0 {
		return
	}
	t.rows[0] = r
	for i, n := 0, len(t.rows); ; {
		l, m := 2*i+1, i
		if l < n && t.less(l, m) {
			m = l
		}
		if l+1 < n && t.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			return
		}
		t.rows[i], t.rows[m] = t.rows[m], t.rows[i]
		i = m
	}
}

func compareKey(a, b types.Value, k sortKey) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		if k.nullsFirst {
			return -1
		}
		return 1
	case b == nil:
		if k.nullsFirst {
			return 1
		}
		return -1
	}
	c := types.Compare(a, b)
	if k.desc {
		return -c
	}
	return c
}

type group struct {
	keys   types.Row
	states []aggState
}

// aggregate groups the input rows and emits one aggregate row per group
// (group keys, then aggregate results) that passes HAVING.
func (p *selectPlan) aggregate(ctx context.Context, rows iter.Seq2[types.Row, error], emit func(types.Row) (bool, error)) error {
	groups := map[string]*group{}
	var order []*group
	newGroup := func(keys types.Row) *group {
		g := &group{keys: keys}
		for _, a := range p.aggs {
			g.states = append(g.states, a.newState())
		}
		return g
	}
	n := 0
	var key []byte
	for row, err := range rows {
		if err != nil {
			return err
		}
		if n++; n%p.every == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ok, err := passes(p.where, row)
		if err != nil {
			return err
		}
		p.stats.filtered(1, ok)
		if !ok {
			continue
		}
		keys := make(types.Row, len(p.groupBy))
		key = key[:0]
		for i, g := range p.groupBy {
			if keys[i], err = g.Eval(row); err != nil {
				return err
			}
			key = appendValueKey(key, keys[i])
		}
		g, ok := groups[string(key)]
		if !ok {
			g = newGroup(keys)
			groups[string(key)] = g
			order = append(order, g)
		}
		for j, a := range p.aggs {
			v := types.Value(true)
			if a.arg != nil {
				if v, err = a.arg.Eval(row); err != nil {
					return err
				}
			}
			if v != nil {
				if err := g.states[j].add(v); err != nil {
					return err
				}
			}
		}
	}
	if len(p.groupBy) == 0 && len(order) == 0 {
		order = append(order, newGroup(nil))
	}
	for _, g := range order {
		row := slices.Clone(g.keys)
		for _, st := range g.states {
			v, err := st.result()
			if err != nil {
				return err
			}
			row = append(row, v)
		}
		ok, err := passes(p.having, row)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if _, err := emit(row); err != nil {
			return err
		}
	}
	return nil
}
