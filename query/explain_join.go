package query

import (
	"context"
	"strings"
)

// The EXPLAIN node of a join: its kind, its hash keys, the condition
// checked on each matching pair, and which side it builds its hash table
// from.

func (jp *joinPlan) explain(ctx context.Context) (*planNode, error) {
	l, err := jp.l.explain(ctx)
	if err != nil {
		return nil, err
	}
	r, err := jp.r.explain(ctx)
	if err != nil {
		return nil, err
	}
	kind := strings.TrimSuffix(jp.kind.String(), " JOIN")
	if jp.kind == joinInner {
		kind = "INNER"
	}
	name := "HASH_JOIN " + kind
	var parts []string
	switch {
	case len(jp.lkeys) > 0:
		keys := make([]string, len(jp.lkeys))
		for i := range jp.lkeys {
			keys[i] = jp.keyText(jp.lkeys[i]) + " = " + jp.keyText(jp.rkeys[i])
		}
		parts = append(parts, "keys "+strings.Join(keys, " AND "))
	case jp.kind == joinCross:
		name = "CROSS_PRODUCT"
	default:
		name = "NESTED_LOOP_JOIN " + kind
	}
	if jp.residual != nil {
		parts = append(parts, "condition "+jp.keyText(jp.residual))
	}
	if jp.vec != nil {
		if jp.vec.chooseBuild(ctx) {
			parts = append(parts, "build left (held in memory, the smaller side), probe right (streamed)", "vectorized")
		} else {
			parts = append(parts, "build right (held in memory), probe left (streamed)", "vectorized")
		}
	} else {
		parts = append(parts, "build right (held in memory), probe left (streamed)", "rows")
	}
	return &planNode{name: name, detail: strings.Join(parts, ", "), m: jp.m, kids: []*planNode{l, r}}, nil
}

// keyText renders an expression over the joined row with its columns
// qualified by their table or alias.
func (jp *joinPlan) keyText(b bexpr) string {
	return exprText(b, func(x *colB) string {
		if jp.sc != nil && x.idx < len(jp.sc.cols) {
			if q := jp.sc.extOf(x.idx).quals; len(q) > 0 {
				return quoteIdent(q[0]) + "." + quoteIdent(x.name)
			}
		}
		return quoteIdent(x.name)
	})
}
