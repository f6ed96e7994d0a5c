package query

import (
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Range conditions in WHERE: col < c, col <= c, col > c, col >= c, col
// BETWEEN a AND b (bound as two comparisons) and col IN (c, …), joined by
// AND, become ScanSpec.Ranges, which a table uses to prune partitions (a
// range on a partition column) and files (a range on the first primary-key
// column against the files' min and max keys). As with equalities the
// engine still evaluates the whole clause.

// ColumnRange is the set of values a column may have (see table.Range).
type ColumnRange = table.Range

// pushdownRanges returns the column ranges the top-level AND-ed range
// conditions of where imply, or nil.
func pushdownRanges(where bexpr) map[int]ColumnRange {
	out := map[int]ColumnRange{}
	var rec func(b bexpr)
	rec = func(b bexpr) {
		switch x := b.(type) {
		case *andB:
			rec(x.l)
			rec(x.r)
		case *cmpB:
			if idx, r, ok := cmpRange(x); ok {
				if o, had := out[idx]; had {
					r = intersectRange(o, r)
				}
				out[idx] = r
			}
		case *inB:
			col, ok := x.x.(*colB)
			if !ok || x.not {
				return
			}
			r := ColumnRange{In: []types.Value{}}
			for _, it := range x.list {
				c, ok := it.(*constB)
				if !ok || !c.t.Equal(col.t) {
					return
				}
				if c.v != nil { // a NULL item never matches
					r.In = append(r.In, c.v)
				}
			}
			if o, had := out[col.idx]; had {
				r = intersectRange(o, r)
			}
			out[col.idx] = r
		}
	}
	if where != nil {
		rec(where)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// cmpRange reads col op const (or const op col) as a range.
func cmpRange(x *cmpB) (int, ColumnRange, bool) {
	op := x.op
	col, ok1 := x.l.(*colB)
	c, ok2 := x.r.(*constB)
	if !ok1 || !ok2 {
		col, ok1 = x.r.(*colB)
		c, ok2 = x.l.(*constB)
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
	}
	if !ok1 || !ok2 || c.v == nil || !c.t.Equal(col.t) {
		return 0, ColumnRange{}, false
	}
	switch op {
	case "<", "<=":
		return col.idx, ColumnRange{Hi: c.v, HiIncl: op == "<="}, true
	case ">", ">=":
		return col.idx, ColumnRange{Lo: c.v, LoIncl: op == ">="}, true
	}
	return 0, ColumnRange{}, false
}

// intersectRange is the range of values in both a and b.
func intersectRange(a, b ColumnRange) ColumnRange {
	out := a
	if b.Lo != nil {
		if c := types.Compare(b.Lo, a.Lo); a.Lo == nil || c > 0 {
			out.Lo, out.LoIncl = b.Lo, b.LoIncl
		} else if c == 0 {
			out.LoIncl = a.LoIncl && b.LoIncl
		}
	}
	if b.Hi != nil {
		if c := types.Compare(b.Hi, a.Hi); a.Hi == nil || c < 0 {
			out.Hi, out.HiIncl = b.Hi, b.HiIncl
		} else if c == 0 {
			out.HiIncl = a.HiIncl && b.HiIncl
		}
	}
	switch {
	case b.In == nil:
	case a.In == nil:
		out.In = b.In
	default:
		out.In = []types.Value{}
		for _, v := range a.In {
			for _, w := range b.In {
				if types.Compare(v, w) == 0 {
					out.In = append(out.In, v)
					break
				}
			}
		}
	}
	return out
}
