package query

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/types"
)

// EXPLAIN ANALYZE runs the query with its table scan measured: the rows,
// batches and bytes the scan yields and the time spent producing them;
// the rest of the time is the operators after the scan (filter,
// aggregate, sort, limit), reported with the rows the query returned.

// scanMeasure accumulates what a measured scan produced.
type scanMeasure struct {
	rows, batches, bytes int64
	time                 time.Duration
}

func (e *Engine) explainAnalyze(ctx context.Context, p *selectPlan, lines []string) ([]string, error) {
	var m scanMeasure
	if p.rel != nil && p.rel.system == "" {
		p.rel.t = measuredTable{Table: p.rel.t, m: &m, now: e.now}
	}
	start := e.now()
	res, err := e.runSelect(ctx, p)
	if err != nil {
		return nil, err
	}
	total := e.now().Sub(start)
	if p.rel != nil && p.rel.system == "" {
		lines = append(lines, fmt.Sprintf("analyze scan: %d rows in %d batches, %d bytes, %s", m.rows, m.batches, m.bytes, m.time))
	}
	lines = append(lines,
		fmt.Sprintf("analyze after the scan (filter, aggregate, sort, limit): %d rows returned, %s", len(res.Rows), max(total-m.time, 0)),
		fmt.Sprintf("analyze total: %s", total))
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
