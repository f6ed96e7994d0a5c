package query

import "slices"

// Projection pushdown: the input-row columns a SELECT reads, passed to the
// table as ScanSpec.Columns so that it decodes only those.

// inputColumns returns the positions of the input-row columns p reads, or
// nil (every column) when it cannot tell.
func (p *selectPlan) inputColumns() []int {
	cols := []int{}
	ok := true
	add := func(e bexpr) {
		if e != nil && ok {
			ok = collectColumns(e, &cols)
		}
	}
	add(p.where)
	for _, g := range p.groupBy {
		add(g)
	}
	for _, a := range p.aggs {
		add(a.arg)
	}
	if !p.agg { // otherwise outputs and ORDER BY read aggregate rows
		for _, o := range p.outputs {
			add(o)
		}
		for _, k := range p.order {
			add(k.e)
		}
	}
	if !ok {
		return nil
	}
	slices.Sort(cols)
	return slices.Compact(cols)
}

// collectColumns appends the columns e reads; false for an expression
// kind it does not know.
func collectColumns(e bexpr, cols *[]int) bool {
	all := func(es ...bexpr) bool {
		for _, x := range es {
			if x != nil && !collectColumns(x, cols) {
				return false
			}
		}
		return true
	}
	switch x := e.(type) {
	case *constB:
		return true
	case *colB:
		*cols = append(*cols, x.idx)
		return true
	case *castB:
		return all(x.x)
	case *arithB:
		return all(x.l, x.r)
	case *negB:
		return all(x.x)
	case *concatB:
		return all(x.l, x.r)
	case *cmpB:
		return all(x.l, x.r)
	case *andB:
		return all(x.l, x.r)
	case *orB:
		return all(x.l, x.r)
	case *notB:
		return all(x.x)
	case *isNullB:
		return all(x.x)
	case *inB:
		return all(x.x) && all(x.list...)
	case *inSetB:
		return all(x.x)
	case *likeB:
		return all(x.x, x.pattern)
	case *coalesceB:
		return all(x.args...)
	case *caseB:
		if !all(x.operand, x.els) {
			return false
		}
		for _, w := range x.whens {
			if !all(w.cond, w.result) {
				return false
			}
		}
		return true
	case *funcB:
		return all(x.args...)
	}
	if kids, ok := fnKids(e); ok {
		return all(kids...)
	}
	return false
}
