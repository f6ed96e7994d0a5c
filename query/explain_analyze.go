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

// EXPLAIN ANALYZE runs the query with each operator measured and prints
// the operators as a tree, the output at the top and the table scan at
// the bottom (as DuckDB's EXPLAIN ANALYZE does), each with the rows it
// took in and gave out and the time spent in it:
//
//	TABLE_SCAN   rows, batches and bytes the scan yielded, time producing them
//	FILTER       rows in and out of WHERE
//	AGGREGATE    input rows and the groups it emitted (after HAVING)
//	WINDOW       rows the window functions were computed over
//	PROJECTION   rows the select list was evaluated for
//	DISTINCT / ORDER_BY / TOP_K  rows in, rows kept before OFFSET/LIMIT
//	LIMIT        rows returned
//
// Counters live in opStats, which the operators update only when the plan
// carries one (p.stats is nil outside EXPLAIN ANALYZE).

// scanMeasure accumulates what a measured scan produced.
type scanMeasure struct {
	rows, batches, bytes int64
	time                 time.Duration
}

// opStats counts what the operators of one SELECT did. Its methods do
// nothing on a nil receiver.
type opStats struct {
	clock               func() time.Time
	filterIn, filterOut int64
	filterTime          time.Duration
	projectRows         int64
	projectTime         time.Duration
	nCollected, kept    int64 // rows into the collecting stage; kept after DISTINCT/sort
	windowRows          int64
	windowTime          time.Duration
	aggTime, sortTime   time.Duration // vectorized aggregation; DISTINCT and sorting
}

func (s *opStats) now() time.Time {
	if s == nil {
		return time.Time{}
	}
	return s.clock()
}

func (s *opStats) filtered(in int64, ok bool) {
	if s == nil {
		return
	}
	s.filterIn += in
	if ok {
		s.filterOut++
	}
}

func (s *opStats) filteredBatch(in, out int64) {
	if s == nil {
		return
	}
	s.filterIn += in
	s.filterOut += out
}

func (s *opStats) timeFilter(start time.Time) {
	if s != nil {
		s.filterTime += s.clock().Sub(start)
	}
}

func (s *opStats) projected(rows int64, start time.Time) {
	if s != nil {
		s.projectRows += rows
		s.projectTime += s.clock().Sub(start)
	}
}

// filterSpent is the time spent in FILTER so far.
func (s *opStats) filterSpent() time.Duration {
	if s == nil {
		return 0
	}
	return s.filterTime
}

// aggregated adds the time since start, less what FILTER spent meanwhile,
// to AGGREGATE.
func (s *opStats) aggregated(start time.Time, filterBefore time.Duration) {
	if s != nil {
		s.aggTime += s.clock().Sub(start) - (s.filterTime - filterBefore)
	}
}

func (s *opStats) timeSort(start time.Time) {
	if s != nil {
		s.sortTime += s.clock().Sub(start)
	}
}

func (s *opStats) collected() {
	if s != nil {
		s.nCollected++
	}
}

func (s *opStats) sorted(kept int) {
	if s != nil {
		s.kept += int64(kept)
	}
}

func (s *opStats) windowed(rows int, start time.Time) {
	if s != nil {
		s.windowRows += int64(rows)
		s.windowTime += s.clock().Sub(start)
	}
}

// opNode is one operator line of the EXPLAIN ANALYZE tree.
type opNode struct {
	name, detail string
}

func (e *Engine) explainAnalyze(ctx context.Context, p *selectPlan, lines []string) ([]string, error) {
	var m scanMeasure
	st := &opStats{clock: e.now}
	p.stats = st
	defer func() { p.stats = nil }()
	scanned := p.rel != nil && p.rel.system == ""
	if scanned {
		p.rel.t = measuredTable{Table: p.rel.t, m: &m, now: e.now}
	}
	vectorized := p.win == nil && e.compileSelect(p) != nil
	start := e.now()
	res, err := e.runSelect(ctx, p)
	if err != nil {
		return nil, err
	}
	total := e.now().Sub(start)
	returned := int64(len(res.Rows))

	// Bottom up: each operator's input is the output of the one below.
	var ops []opNode
	var below int64
	switch {
	case scanned:
		ops = append(ops, opNode{"TABLE_SCAN " + p.rel.String(), fmt.Sprintf("%d rows out, %d batches, %d bytes, %s", m.rows, m.batches, m.bytes, m.time)})
		below = m.rows
	case p.rel != nil:
		detail := "rows not measured"
		if p.where != nil {
			detail = fmt.Sprintf("%d rows out", st.filterIn)
		}
		ops = append(ops, opNode{"SYSTEM_TABLE_SCAN " + p.rel.String(), detail})
		below = st.filterIn
	default:
		ops = append(ops, opNode{"DUMMY_SCAN", "1 row out"})
		below = 1
	}
	if p.where != nil {
		ops = append(ops, opNode{"FILTER", fmt.Sprintf("%d rows in, %d rows out, %s", st.filterIn, st.filterOut, st.filterTime)})
		below = st.filterOut
	}
	collecting := p.agg || len(p.order) > 0 || p.distinct || !vectorized || p.win != nil
	if p.agg {
		ops = append(ops, opNode{"AGGREGATE", fmt.Sprintf("%d rows in, %d groups out, %s", below, st.nCollected, st.aggTime)})
		below = st.nCollected
	}
	if p.win != nil {
		ops = append(ops, opNode{"WINDOW", fmt.Sprintf("%d rows, %s", st.windowRows, st.windowTime)})
		below = st.windowRows
	}
	if collecting {
		ops = append(ops, opNode{"PROJECTION", fmt.Sprintf("%d rows out", st.nCollected)})
		below = st.nCollected
	} else {
		ops = append(ops, opNode{"PROJECTION", fmt.Sprintf("%d rows out, %s", st.projectRows, st.projectTime)})
		below = st.projectRows
	}
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
		ops = append(ops, opNode{name, fmt.Sprintf("%d rows in, %d rows out, %s", below, st.kept, st.sortTime)})
		below = st.kept
	}
	if p.limit >= 0 || p.offset > 0 {
		ops = append(ops, opNode{"LIMIT", fmt.Sprintf("%d rows in, %d rows out", below, returned)})
	}
	lines = append(lines, "analyze (operators, output first):")
	for i := len(ops) - 1; i >= 0; i-- {
		depth := len(ops) - 1 - i
		prefix := ""
		if depth > 0 {
			prefix = strings.Repeat("   ", depth-1) + "└─ "
		}
		lines = append(lines, "  "+prefix+ops[i].name+": "+ops[i].detail)
	}
	lines = append(lines, fmt.Sprintf("analyze total: %d rows returned, %s", returned, total))
	return lines, nil
}

// measuredTable is a table whose scans are measured.
type measuredTable struct {
	Table
	m   *scanMeasure
	now func() time.Time
}

func (t measuredTable) Scan(ctx context.Context, spec ScanSpec) (Scan, error) {
	sc, err := t.Table.Scan(ctx, spec)
	if err != nil {
		return nil, err
	}
	ms := measuredScan{Scan: sc, m: t.m, now: t.now}
	if bs, ok := sc.(BatchScan); ok {
		return measuredBatchScan{measuredScan: ms, bs: bs}, nil
	}
	return ms, nil
}

type measuredScan struct {
	Scan
	m   *scanMeasure
	now func() time.Time
}

// Schema passes on the scan's schema (nil when it reports none).
func (s measuredScan) Schema() *types.Schema {
	if ss, ok := s.Scan.(interface{ Schema() *types.Schema }); ok {
		return ss.Schema()
	}
	return nil
}

func (s measuredScan) Rows(ctx context.Context) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		start := s.now()
		for row, err := range s.Scan.Rows(ctx) {
			s.m.time += s.now().Sub(start)
			if err == nil {
				s.m.rows++
				s.m.bytes += rowBytes(row)
			}
			if !yield(row, err) {
				return
			}
			start = s.now()
		}
		s.m.time += s.now().Sub(start)
	}
}

type measuredBatchScan struct {
	measuredScan
	bs BatchScan
}

func (s measuredBatchScan) Batches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		start := s.now()
		for b, err := range s.bs.Batches(ctx) {
			s.m.time += s.now().Sub(start)
			if err == nil && b != nil {
				s.m.rows += b.NumRows()
				s.m.batches++
				for _, c := range b.Columns() {
					for _, buf := range c.Data().Buffers() {
						if buf != nil {
							s.m.bytes += int64(buf.Len())
						}
					}
				}
			}
			if !yield(b, err) {
				return
			}
			start = s.now()
		}
		s.m.time += s.now().Sub(start)
	}
}

// rowBytes estimates the in-memory size of a row's values.
func rowBytes(row types.Row) int64 {
	var n int64
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += int64(len(x))
		case []byte:
			n += int64(len(x))
		case nil:
		default:
			n += 8
		}
	}
	return n
}
