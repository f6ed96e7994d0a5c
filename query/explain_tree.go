package query

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/types"
)

// EXPLAIN of queries over several relations (joins, derived tables, set
// operations, WITH, subqueries): an operator tree, output first, as
// DuckDB prints it. Each planned source (fromSource) and query
// (queryPlan) describes itself as a planNode; under ANALYZE each one
// opened measures the rows, batches and bytes it produced and the time
// spent producing them (its inputs' time not included).
//
// The EXPLAIN statement's context carries an explainRun: planning records
// the subqueries it runs in it (they run before the statement around
// them is bound, so even plain EXPLAIN runs them), and under ANALYZE the
// sources find in it the clock to measure with.

type explainRun struct {
	analyze bool
	clock   func() time.Time
	subs    []explainedSub
}

// explainedSub is a subquery the statement ran while it was planned.
type explainedSub struct {
	text string
	qp   *queryPlan
}

type explainKey struct{}

func withExplain(ctx context.Context, r *explainRun) context.Context {
	return context.WithValue(ctx, explainKey{}, r)
}

// explainOf returns the EXPLAIN ctx belongs to, nil outside one.
func explainOf(ctx context.Context) *explainRun {
	r, _ := ctx.Value(explainKey{}).(*explainRun)
	return r
}

// measuring returns the run when ctx belongs to an EXPLAIN ANALYZE.
func measuring(ctx context.Context) *explainRun {
	if r := explainOf(ctx); r != nil && r.analyze {
		return r
	}
	return nil
}

// nodeMeasure is what one operator produced under EXPLAIN ANALYZE.
type nodeMeasure struct {
	rows, batches, bytes int64
	time                 time.Duration // including the inputs' time
	opened               bool
}

// planNode is one operator of the tree.
type planNode struct {
	name   string
	detail string // EXPLAIN
	// stats, when set, is the ANALYZE detail; otherwise m's figures.
	stats func() string
	m     *nodeMeasure
	kids  []*planNode
}

// measureRows wraps rows so that m counts them and the time spent in
// them, when ctx belongs to an EXPLAIN ANALYZE.
func measureRows(ctx context.Context, m *nodeMeasure, rows iter.Seq2[types.Row, error]) iter.Seq2[types.Row, error] {
	run := measuring(ctx)
	if run == nil || m == nil {
		return rows
	}
	m.opened = true
	return func(yield func(types.Row, error) bool) {
		start := run.clock()
		for row, err := range rows {
			m.time += run.clock().Sub(start)
			if err == nil {
				m.rows++
				m.bytes += rowBytes(row)
			}
			if !yield(row, err) {
				return
			}
			start = run.clock()
		}
		m.time += run.clock().Sub(start)
	}
}

// measureBatches is measureRows for batches.
func measureBatches(ctx context.Context, m *nodeMeasure, batches iter.Seq2[arrow.Record, error]) iter.Seq2[arrow.Record, error] {
	run := measuring(ctx)
	if run == nil || m == nil {
		return batches
	}
	m.opened = true
	return func(yield func(arrow.Record, error) bool) {
		start := run.clock()
		for b, err := range batches {
			m.time += run.clock().Sub(start)
			if err == nil && b != nil {
				m.rows += b.NumRows()
				m.batches++
				m.bytes += recordBytes(b)
			}
			if !yield(b, err) {
				return
			}
			start = run.clock()
		}
		m.time += run.clock().Sub(start)
	}
}

// recordBytes is the size of a batch's buffers.
func recordBytes(b arrow.Record) int64 {
	var n int64
	for _, c := range b.Columns() {
		for _, buf := range c.Data().Buffers() {
			if buf != nil {
				n += int64(buf.Len())
			}
		}
	}
	return n
}

// measureOpen wraps a source's open function with measureRows.
func measureOpen(m *nodeMeasure, open func(context.Context) (int64, iter.Seq2[types.Row, error], error)) func(context.Context) (int64, iter.Seq2[types.Row, error], error) {
	return func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
		snap, rows, err := open(ctx)
		if err != nil {
			return 0, nil, err
		}
		return snap, measureRows(ctx, m, rows), nil
	}
}

// analyzeText is n's ANALYZE detail.
func (n *planNode) analyzeText() string {
	if n.stats != nil {
		return n.stats()
	}
	if n.m == nil {
		return "not measured"
	}
	if !n.opened() {
		return "not run"
	}
	own := n.m.time
	for _, k := range n.kids {
		if k.m != nil {
			own -= k.m.time
		}
	}
	own = max(own, 0)
	if n.m.batches > 0 {
		return fmt.Sprintf("%d rows out, %d batches, %d bytes, %s", n.m.rows, n.m.batches, n.m.bytes, own)
	}
	return fmt.Sprintf("%d rows out, %d bytes, %s", n.m.rows, n.m.bytes, own)
}

func (n *planNode) opened() bool { return n.m != nil && n.m.opened }

// printTree appends n and its inputs as tree lines.
func printTree(n *planNode, analyze bool, lines []string) []string {
	var rec func(n *planNode, lead, branch string)
	rec = func(n *planNode, lead, branch string) {
		text := n.detail
		if analyze {
			text = n.analyzeText()
		}
		line := "  " + lead + branch + n.name
		if text != "" {
			line += ": " + text
		}
		lines = append(lines, line)
		child := lead
		switch branch {
		case "├─ ":
			child += "│  "
		case "└─ ":
			child += "   "
		}
		for i, k := range n.kids {
			b := "├─ "
			if i == len(n.kids)-1 {
				b = "└─ "
			}
			rec(k, child, b)
		}
	}
	rec(n, "", "")
	return lines
}

// bexprText renders a bound expression for EXPLAIN (column names as the
// scope has them; "…" for kinds it does not spell out).
func bexprText(b bexpr) string {
	return exprText(b, func(c *colB) string { return quoteIdent(c.name) })
}

// exprText is bexprText with columns named by col.
func exprText(b bexpr, col func(*colB) string) string {
	bexprText := func(b bexpr) string { return exprText(b, col) }
	switch x := b.(type) {
	case nil:
		return ""
	case *colB:
		return col(x)
	case *constB:
		if x.v == nil {
			return "NULL"
		}
		s := types.FormatValue(x.v, x.t)
		if x.t.Kind == types.String {
			return quoteString(s)
		}
		return s
	case *castB:
		return "CAST(" + bexprText(x.x) + " AS " + typeName(x.to) + ")"
	case *arithB:
		return "(" + bexprText(x.l) + " " + x.op + " " + bexprText(x.r) + ")"
	case *cmpB:
		return bexprText(x.l) + " " + x.op + " " + bexprText(x.r)
	case *andB:
		return "(" + bexprText(x.l) + ") AND (" + bexprText(x.r) + ")"
	case *orB:
		return "(" + bexprText(x.l) + ") OR (" + bexprText(x.r) + ")"
	case *notB:
		return "NOT (" + bexprText(x.x) + ")"
	case *isNullB:
		return bexprText(x.x) + " IS " + ifStr(x.not, "NOT ") + "NULL"
	case *inB:
		return bexprText(x.x) + ifStr(x.not, " NOT") + " IN (" + fmt.Sprint(len(x.list)) + " values)"
	case *inSetB:
		return bexprText(x.x) + ifStr(x.not, " NOT") + " IN (" + fmt.Sprint(len(x.set)) + " values)"
	case *likeB:
		return bexprText(x.x) + ifStr(x.not, " NOT") + " LIKE " + bexprText(x.pattern)
	}
	return "…"
}

// conjText renders conditions joined by AND.
func conjText(conds []bexpr) string {
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = bexprText(c)
	}
	return strings.Join(parts, " AND ")
}
