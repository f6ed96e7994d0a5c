package query

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// EXPLAIN [ANALYZE] SELECT …: the plan of a SELECT from one table (its
// table and snapshot, the pruning of partitions, buckets and files, the
// equalities and projection pushed to the scan, the operators after it and
// whether it runs vectorized or on rows). ANALYZE runs the query and adds
// what each stage measured (explain_analyze.go).

type explainStmt struct {
	pos     position
	analyze bool
	query   statement
}

func (s *explainStmt) stmtPos() position { return s.pos }
func (s *explainStmt) String() string {
	return "EXPLAIN " + ifStr(s.analyze, "ANALYZE ") + s.query.String()
}

func (p *parser) parseExplain() (statement, error) {
	t := p.next()
	s := &explainStmt{pos: t.pos, analyze: p.acceptKw("ANALYZE")}
	q := p.peek()
	if !isKwTok(q, "SELECT") && !isKwTok(q, "VALUES") && !isKwTok(q, "WITH") && !(q.kind == tOp && q.text == "(") {
		return nil, syntaxErr(q, "EXPLAIN takes a query (SELECT …)")
	}
	var err error
	s.query, err = p.parseQuery()
	return s, err
}

// ScanPlan is what a planned table scan reads out of its snapshot (see
// ScanPlanner).
type ScanPlan struct {
	PartitionsTotal, PartitionsPlanned int
	BucketsTotal, BucketsPlanned       int
	FilesTotal, FilesPlanned           int
	// PointLookup: the pushed equalities cover the primary key; Indexed:
	// the lookup index answers it.
	PointLookup, Indexed bool
}

// ScanPlanner is an optional Scan capability: report the scan's pruning
// (reading manifests only), and release the scan without reading it.
type ScanPlanner interface {
	Plan(ctx context.Context) (ScanPlan, error)
	Close(ctx context.Context) error
}

func (e *Engine) explain(ctx context.Context, s *explainStmt) (*Result, error) {
	sel, ok := s.query.(*selectStmt)
	if !ok || (sel.from != nil && sel.from.composite()) || len(selectUnnests(sel)) > 0 {
		return e.explainQuery(ctx, s)
	}
	run := &explainRun{analyze: s.analyze, clock: e.now}
	ctx = withExplain(ctx, run)
	p, err := e.planSelect(ctx, sel)
	if err != nil {
		return nil, err
	}
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	vectorized := p.win == nil && e.compileSelect(p) != nil
	if p.rel == nil {
		add("SELECT without FROM: one row")
	} else if err := e.explainScan(ctx, p, add); err != nil {
		return nil, err
	}
	if sel.where != nil {
		add("filter: %s", sel.where)
	}
	if p.agg {
		desc := "aggregate: " + strconv.Itoa(len(p.aggs)) + " aggregate(s)"
		if len(sel.groupBy) > 0 {
			desc += " GROUP BY " + exprList(sel.groupBy)
		}
		if sel.having != nil {
			desc += " HAVING " + sel.having.String()
		}
		add("%s", desc)
	}
	if p.win != nil {
		add("window functions")
	}
	if p.distinct {
		add("distinct")
	}
	if len(sel.orderBy) > 0 {
		add("sort: %s", orderText(sel.orderBy))
	}
	if p.limit >= 0 || p.offset > 0 {
		desc := "limit:"
		if p.limit >= 0 {
			desc += " " + strconv.FormatInt(p.limit, 10)
		}
		if p.offset > 0 {
			desc += " offset " + strconv.FormatInt(p.offset, 10)
		}
		add("%s", desc)
	}
	if vectorized {
		add("execution: vectorized (Arrow batches)")
	} else {
		add("execution: rows")
	}
	subs, err := e.subqueryTrees(ctx, run)
	if err != nil {
		return nil, err
	}
	lines = appendSubTrees(lines, subs, false)
	if s.analyze {
		if lines, err = e.explainAnalyze(ctx, p, lines); err != nil {
			return nil, err
		}
		if len(subs) > 0 {
			last := lines[len(lines)-1] // analyze total
			lines = appendSubTrees(lines[:len(lines)-1], subs, true)
			lines = append(lines, last)
		}
	}
	return explainResult(lines), nil
}

// explainScan describes the table scan: the snapshot, the pruning and what
// is pushed down. Planning reads manifests only.
func (e *Engine) explainScan(ctx context.Context, p *selectPlan, add func(string, ...any)) error {
	r, spec := p.rel, p.spec
	if r.system != "" {
		add("scan: system table %s", r)
		return nil
	}
	sc, err := r.t.Scan(ctx, spec)
	if err != nil {
		return r.scanErr(spec, err)
	}
	snap := "latest"
	if spec.SnapshotID != 0 || spec.AsOfMillis != 0 || spec.Tag != "" {
		snap = "time travel"
	}
	if sc.SnapshotID() == 0 {
		add("scan: %s, no snapshot (empty table)", r)
	} else {
		add("scan: %s, snapshot %d (%s)", r, sc.SnapshotID(), snap)
	}
	if pl, ok := sc.(ScanPlanner); ok {
		plan, err := pl.Plan(ctx)
		_ = pl.Close(ctx) // planning only: release the lease of an older snapshot
		if err != nil {
			return fmt.Errorf("planning the scan of %s: %w", r, err)
		}
		switch {
		case plan.Indexed:
			add("pruning: point lookup in the lookup index (no file scanned)")
		default:
			add("pruning: partitions %d of %d, buckets %d of %d, files %d of %d%s",
				plan.PartitionsPlanned, plan.PartitionsTotal, plan.BucketsPlanned, plan.BucketsTotal,
				plan.FilesPlanned, plan.FilesTotal, ifStr(plan.PointLookup, " (point lookup)"))
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
		add("pushed equalities: %s", strings.Join(eqs, ", "))
	}
	if spec.Columns != nil {
		names := make([]string, len(spec.Columns))
		for i, c := range spec.Columns {
			names[i] = quoteIdent(r.cols[c].Name)
		}
		add("pushed projection: %d of %d columns (%s)", len(spec.Columns), len(r.cols), strings.Join(names, ", "))
	} else {
		add("pushed projection: all %d columns", len(r.cols))
	}
	return nil
}

func orderText(items []orderItem) string {
	parts := make([]string, len(items))
	for i, o := range items {
		parts[i] = o.expr.String() + ifStr(o.desc, " DESC")
		switch o.nulls {
		case 1:
			parts[i] += " NULLS FIRST"
		case 2:
			parts[i] += " NULLS LAST"
		}
	}
	return strings.Join(parts, ", ")
}

// Plan implements ScanPlanner.
func (s siltScan) Plan(ctx context.Context) (ScanPlan, error) {
	p, err := s.s.Plan(ctx)
	return ScanPlan(p), err
}

// Close implements ScanPlanner.
func (s siltScan) Close(ctx context.Context) error { return s.s.Close(ctx) }
