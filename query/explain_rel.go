package query

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// The operator trees of EXPLAIN over several relations (explain_tree.go):
// the operators of a SELECT, the scan of a table in a FROM clause, and
// the statement that prints them.

// selectChain returns the operators of SELECT p above its input, bottom
// up. Their ANALYZE figures are read from st (nil under plain EXPLAIN)
// once the query ran: in is the number of rows of the input, returned
// the number of rows p returned.
func selectChain(p *selectPlan, st *opStats, vectorized bool, in, returned func() int64) []*planNode {
	var nodes []*planNode
	var texts []string
	analyzed := func() []string {
		if texts != nil || st == nil {
			return texts
		}
		below := in()
		if p.where != nil {
			texts = append(texts, fmt.Sprintf("%d rows in, %d rows out, %s", st.filterIn, st.filterOut, st.filterTime))
			below = st.filterOut
		}
		collecting := p.agg || len(p.order) > 0 || p.distinct || !vectorized || p.win != nil
		if p.agg {
			texts = append(texts, fmt.Sprintf("%d rows in, %d groups out, %s", below, st.nCollected, st.aggTime))
			below = st.nCollected
		}
		if p.win != nil {
			texts = append(texts, fmt.Sprintf("%d rows, %s", st.windowRows, st.windowTime))
			below = st.windowRows
		}
		if collecting {
			texts = append(texts, fmt.Sprintf("%d rows out", st.nCollected))
			below = st.nCollected
		} else {
			texts = append(texts, fmt.Sprintf("%d rows out, %s", st.projectRows, st.projectTime))
			below = st.projectRows
		}
		if p.distinct || len(p.order) > 0 {
			texts = append(texts, fmt.Sprintf("%d rows in, %d rows out, %s", below, st.kept, st.sortTime))
			below = st.kept
		}
		if p.limit >= 0 || p.offset > 0 {
			texts = append(texts, fmt.Sprintf("%d rows in, %d rows out", below, returned()))
		}
		return texts
	}
	add := func(name, detail string) {
		i := len(nodes)
		nodes = append(nodes, &planNode{name: name, detail: detail, stats: func() string {
			if t := analyzed(); i < len(t) {
				return t[i]
			}
			return "not run"
		}})
	}
	if p.where != nil {
		add("FILTER", bexprText(p.where))
	}
	if p.agg {
		desc := strconv.Itoa(len(p.aggs)) + " aggregate(s)"
		if len(p.groupBy) > 0 {
			parts := make([]string, len(p.groupBy))
			for i, g := range p.groupBy {
				parts[i] = bexprText(g)
			}
			desc += " GROUP BY " + strings.Join(parts, ", ")
		}
		if p.having != nil {
			desc += " HAVING"
		}
		add("AGGREGATE", desc)
	}
	if p.win != nil {
		add("WINDOW", "window functions")
	}
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = quoteIdent(c.Name)
	}
	add("PROJECTION", strings.Join(names, ", ")+ifStr(vectorized, " (vectorized)")+ifStr(!vectorized, " (rows)"))
	if p.distinct || len(p.order) > 0 {
		name := "ORDER_BY"
		switch {
		case p.distinct && len(p.order) > 0:
			name = "DISTINCT + ORDER_BY"
		case p.distinct:
			name = "DISTINCT"
		case p.limit >= 0:
			name = "TOP_K"
		}
		add(name, strconv.Itoa(len(p.order))+" key(s)")
	}
	if p.limit >= 0 || p.offset > 0 {
		desc := ""
		if p.limit >= 0 {
			desc = strconv.FormatInt(p.limit, 10)
		}
		if p.offset > 0 {
			desc += " offset " + strconv.FormatInt(p.offset, 10)
		}
		add("LIMIT", strings.TrimSpace(desc))
	}
	return nodes
}

// chain stacks nodes (bottom up) on input and returns the top.
func chain(input *planNode, nodes []*planNode) *planNode {
	top := input
	for _, n := range nodes {
		n.kids = []*planNode{top}
		top = n
	}
	return top
}

// selectTree is the operator tree of a planned SELECT: its operators over
// its FROM item. scanM and st are what ANALYZE measured (nil otherwise),
// out the node that counts the rows the SELECT returned.
func (e *Engine) selectTree(ctx context.Context, p *selectPlan, st *opStats, scanM *scanMeasure, out *nodeMeasure) (*planNode, error) {
	vectorized := p.win == nil && e.compileSelect(p) != nil
	var input *planNode
	var in func() int64
	switch {
	case p.src != nil:
		n, err := p.src.explain(ctx)
		if err != nil {
			return nil, err
		}
		input = n
		in = func() int64 {
			if n.m != nil {
				return n.m.rows
			}
			return 0
		}
	case p.rel != nil && p.rel.system == "":
		detail, err := scanSummary(ctx, p.rel, p.spec)
		if err != nil {
			return nil, err
		}
		input = &planNode{name: "TABLE_SCAN " + p.rel.String(), detail: detail, stats: func() string {
			if scanM == nil {
				return "not measured"
			}
			return fmt.Sprintf("%d rows out, %d batches, %d bytes, %s", scanM.rows, scanM.batches, scanM.bytes, scanM.time)
		}}
		in = func() int64 {
			if scanM == nil {
				return 0
			}
			return scanM.rows
		}
	case p.rel != nil:
		input = &planNode{name: "SYSTEM_TABLE_SCAN " + p.rel.String(), stats: func() string { return "rows not measured" }}
		in = func() int64 {
			if st == nil {
				return 0
			}
			return st.filterIn
		}
	default:
		input = &planNode{name: "DUMMY_SCAN", detail: "one row", stats: func() string { return "1 row out" }}
		in = func() int64 { return 1 }
	}
	returned := func() int64 {
		if out == nil {
			return 0
		}
		return out.rows
	}
	top := chain(input, selectChain(p, st, vectorized, in, returned))
	top.m = out // what a parent subtracts from its own time
	return top, nil
}

// scanSummary is one line on a table scan: its snapshot, its pruning and
// what is pushed to it. Planning reads manifests only.
func scanSummary(ctx context.Context, r *relation, spec ScanSpec) (string, error) {
	t := r.t
	if mt, ok := t.(measuredTable); ok {
		t = mt.Table
	}
	var parts []string
	sc, err := t.Scan(ctx, spec)
	if err != nil {
		return "", r.scanErr(spec, err)
	}
	snap := "latest"
	if spec.SnapshotID != 0 || spec.AsOfMillis != 0 || spec.Tag != "" {
		snap = "time travel"
	}
	if sc.SnapshotID() == 0 {
		parts = append(parts, "no snapshot (empty table)")
	} else {
		parts = append(parts, fmt.Sprintf("snapshot %d (%s)", sc.SnapshotID(), snap))
	}
	if pl, ok := sc.(ScanPlanner); ok {
		plan, err := pl.Plan(ctx)
		_ = pl.Close(ctx) // planning only: release the lease of an older snapshot
		if err != nil {
			return "", fmt.Errorf("planning the scan of %s: %w", r, err)
		}
		if plan.Indexed {
			parts = append(parts, "point lookup in the lookup index")
		} else {
			parts = append(parts, fmt.Sprintf("partitions %d of %d, buckets %d of %d, files %d of %d%s",
				plan.PartitionsPlanned, plan.PartitionsTotal, plan.BucketsPlanned, plan.BucketsTotal,
				plan.FilesPlanned, plan.FilesTotal, ifStr(plan.PointLookup, " (point lookup)")))
		}
	}
	if len(spec.Equals) > 0 {
		pos := make([]int, 0, len(spec.Equals))
		for i := range spec.Equals {
			pos = append(pos, i)
		}
		slices.Sort(pos)
		var eqs []string
		for _, i := range pos {
			c := r.cols[i]
			eqs = append(eqs, quoteIdent(c.Name)+" = "+types.FormatValue(spec.Equals[i], c.Type))
		}
		parts = append(parts, "pushed equalities "+strings.Join(eqs, ", "))
	}
	if spec.Columns != nil {
		names := make([]string, len(spec.Columns))
		for i, c := range spec.Columns {
			names[i] = quoteIdent(r.cols[c].Name)
		}
		parts = append(parts, fmt.Sprintf("columns %d of %d (%s)", len(spec.Columns), len(r.cols), strings.Join(names, ", ")))
	} else {
		parts = append(parts, fmt.Sprintf("all %d columns", len(r.cols)))
	}
	return strings.Join(parts, ", "), nil
}

// explainQuery is EXPLAIN [ANALYZE] of a query that is not a SELECT from
// one table: the operator tree, then (ANALYZE) the query's run measured.
func (e *Engine) explainQuery(ctx context.Context, s *explainStmt) (*Result, error) {
	run := &explainRun{analyze: s.analyze, clock: e.now}
	ctx = withExplain(ctx, run)
	qp, err := e.planQuery(ctx, s.query)
	if err != nil {
		return nil, err
	}
	root, err := qp.explain(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := e.subqueryTrees(ctx, run)
	if err != nil {
		return nil, err
	}
	lines := []string{"plan (operators, output first):"}
	lines = printTree(root, false, lines)
	lines = appendSubTrees(lines, subs, false)
	if s.analyze {
		start := e.now()
		_, rows, err := qp.open(ctx)
		if err != nil {
			return nil, err
		}
		var n int64
		for _, err := range rows {
			if err != nil {
				return nil, err
			}
			n++
		}
		total := e.now().Sub(start)
		lines = append(lines, "analyze (operators, output first):")
		lines = printTree(root, true, lines)
		lines = appendSubTrees(lines, subs, true)
		lines = append(lines, fmt.Sprintf("analyze total: %d rows returned, %s", n, total))
	}
	return explainResult(lines), nil
}

// subqueryTrees are the trees of the subqueries planning ran.
func (e *Engine) subqueryTrees(ctx context.Context, run *explainRun) ([]*planNode, error) {
	var out []*planNode
	for _, s := range run.subs {
		n, err := s.qp.explain(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, &planNode{name: "SUBQUERY " + s.text, kids: []*planNode{n}, stats: func() string { return "run once, before the statement" }})
	}
	return out, nil
}

func appendSubTrees(lines []string, subs []*planNode, analyze bool) []string {
	if len(subs) > 0 {
		lines = append(lines, "subqueries (each run once, before the statement):")
	}
	for _, n := range subs {
		lines = printTree(n, analyze, lines)
	}
	return lines
}

func explainResult(lines []string) *Result {
	res := &Result{Columns: []Column{{"plan", types.TString}}, Rows: make([]types.Row, len(lines))}
	for i, l := range lines {
		res.Rows[i] = types.Row{l}
	}
	res.Message = "EXPLAIN " + strconv.Itoa(len(lines))
	return res
}
