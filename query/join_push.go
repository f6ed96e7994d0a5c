package query

import (
	"context"
	"slices"

	"github.com/siltdb/silt/types"
)

// Pushdown into the sources of a FROM clause. After a SELECT over a join
// is bound, the conjuncts of its WHERE that read one table only go down
// to that table, through every join that keeps the rows of that side
// (either side of an inner or cross join, the left of a left join, the
// right of a right join; not through a full join): the table filters
// its rows before they are joined, and prunes with the conjuncts'
// "column = constant" equalities as a single-table SELECT does. Each
// table is also told which of its columns the query reads. WHERE is still
// evaluated on the joined rows.

// pushdown passes WHERE's conjuncts and the columns used (nil = all) of a
// SELECT over p.src to its sources.
func (p *selectPlan) pushdownSources() {
	if p.src == nil || p.src.push == nil {
		return
	}
	var conds []bexpr
	var rec func(b bexpr)
	rec = func(b bexpr) {
		if a, ok := b.(*andB); ok {
			rec(a.l)
			rec(a.r)
			return
		}
		conds = append(conds, b)
	}
	if p.where != nil {
		rec(p.where)
	}
	p.src.push(conds, p.inputColumns(), 0)
}

// columnsIn reports the columns b reads, and whether they are all in
// [lo, hi) (false when b reads none or a kind collectColumns does not
// know).
func columnsIn(b bexpr, lo, hi int) bool {
	var cols []int
	if !collectColumns(b, &cols) || len(cols) == 0 {
		return false
	}
	for _, c := range cols {
		if c < lo || c >= hi {
			return false
		}
	}
	return true
}

// pushJoin is the push of a join at offset off of its parent's row.
func (jp *joinPlan) push(conds []bexpr, used []int, off int) {
	var lc, rc []bexpr
	for _, c := range conds {
		switch {
		case columnsIn(c, off, off+jp.nl) && jp.kind != joinRight && jp.kind != joinFull:
			lc = append(lc, c)
		case columnsIn(c, off+jp.nl, off+jp.nl+jp.nr) && jp.kind != joinLeft && jp.kind != joinFull:
			rc = append(rc, c)
		}
	}
	if used != nil {
		// The join itself reads its keys, its residual condition and the
		// sides of its USING columns.
		var own []int
		ok := true
		for _, k := range append(slices.Clone(jp.lkeys), jp.rkeys...) {
			ok = ok && collectColumns(k, &own)
		}
		if jp.residual != nil {
			ok = ok && collectColumns(jp.residual, &own)
		}
		for _, m := range jp.merged {
			own = append(own, m.l, m.r)
		}
		if !ok {
			used = nil
		} else {
			for _, c := range own {
				used = append(used, c+off)
			}
		}
	}
	if jp.l.push != nil {
		jp.l.push(lc, used, off)
	}
	if jp.r.push != nil {
		jp.r.push(rc, used, off+jp.nl)
	}
}

// tableSource is a table (or system table) read as a FROM item.
type tableSource struct {
	rel  *relation
	spec ScanSpec
	// filter is the conjunction pushed down, over a row that holds this
	// table's row at offset off.
	filter bexpr
	off    int
	alias  string
	m      *nodeMeasure // EXPLAIN ANALYZE
}

// explain is the TABLE_SCAN node of the source: the scan's pruning, the
// filter pushed to it and its columns.
func (ts *tableSource) explain(ctx context.Context) (*planNode, error) {
	name := "TABLE_SCAN " + ts.rel.String()
	if ts.alias != "" {
		name += " AS " + quoteIdent(ts.alias)
	}
	if ts.rel.system != "" {
		name = "SYSTEM_" + name
	}
	detail := ""
	if ts.rel.system == "" {
		d, err := scanSummary(ctx, ts.rel, ts.spec)
		if err != nil {
			return nil, err
		}
		detail = d
	}
	if ts.filter != nil {
		detail += ifStr(detail != "", "; ") + "filter " + bexprText(ts.filter)
	}
	return &planNode{name: name, detail: detail, m: ts.m}, nil
}

func (ts *tableSource) push(conds []bexpr, used []int, off int) {
	n := len(ts.rel.cols)
	pruned := ts.rel.system == "" && !ts.spec.SnapshotSchema
	for _, c := range conds {
		if ts.filter == nil {
			ts.filter = c
		} else {
			ts.filter = &andB{l: ts.filter, r: c}
		}
	}
	ts.off = off
	if !pruned {
		return
	}
	eq := pushdown(ts.filter)
	for idx, v := range eq {
		if idx >= off && idx < off+n {
			if ts.spec.Equals == nil {
				ts.spec.Equals = map[int]types.Value{}
			}
			ts.spec.Equals[idx-off] = v
		}
	}
	for idx, r := range pushdownRanges(ts.filter) {
		if idx >= off && idx < off+n {
			if ts.spec.Ranges == nil {
				ts.spec.Ranges = map[int]ColumnRange{}
			}
			ts.spec.Ranges[idx-off] = r
		}
	}
	if used != nil {
		cols := []int{}
		for _, c := range used {
			if c >= off && c < off+n {
				cols = append(cols, c-off)
			}
		}
		if ts.filter != nil {
			var fc []int
			if !collectColumns(ts.filter, &fc) {
				return
			}
			for _, c := range fc {
				cols = append(cols, c-off)
			}
		}
		slices.Sort(cols)
		ts.spec.Columns = slices.Compact(cols)
	}
}
