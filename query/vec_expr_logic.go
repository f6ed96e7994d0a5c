package query

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Three-valued logic on bitmaps. A BOOLEAN array is two bitmaps: ok (not
// NULL) and val; "known false" is ok&^val, "known true" ok&val.

// logicK is AND (and) or OR: the right operand is evaluated only on the
// rows where the left one does not decide the result, as andB and orB do.
type logicK struct {
	and  bool
	l, r kern
}

func (k *logicK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	la := rn.eval(k.l, nil)
	defer la.Release()
	lok, lval := validOrOnes(la), boolVals(la)
	// The right side runs where the left is NULL or, for AND, TRUE (for
	// OR, FALSE), within the active rows.
	mask := make([]byte, len(lok))
	for i := range mask {
		if k.and {
			mask[i] = ^lok[i] | lval[i]
		} else {
			mask[i] = ^(lok[i] & lval[i])
		}
		if s.mask != nil {
			mask[i] &= s.mask[i]
		}
	}
	ra := rn.eval(k.r, mask)
	defer ra.Release()
	rok, rval := validOrOnes(ra), boolVals(ra)
	ok, val := make([]byte, len(lok)), make([]byte, len(lok))
	for i := range ok {
		lt, lf := lok[i]&lval[i], lok[i]&^lval[i]
		rt, rf := rok[i]&rval[i], rok[i]&^rval[i]
		if k.and {
			val[i] = lt & rt
			ok[i] = lf | rf | val[i]
		} else {
			val[i] = lt | rt
			ok[i] = val[i] | (lf & rf)
		}
	}
	return newBoolArray(n, val, ok), rn.fail
}

// notK is NOT: NULL stays NULL.
type notK struct{ x kern }

func (k *notK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	a, f := k.x.run(ctx, b, s)
	defer a.Release()
	v := boolVals(a)
	val := make([]byte, len(v))
	for i := range v {
		val[i] = ^v[i]
	}
	valid := validOf(a)
	if valid != nil {
		valid = append([]byte(nil), valid...)
	}
	return newBoolArray(a.Len(), val, valid), f
}

// isNullK is IS [NOT] NULL: never NULL.
type isNullK struct {
	x   kern
	not bool
}

func (k *isNullK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	a, f := k.x.run(ctx, b, s)
	defer a.Release()
	valid := validOrOnes(a)
	val := make([]byte, len(valid))
	for i := range valid {
		if k.not {
			val[i] = valid[i]
		} else {
			val[i] = ^valid[i]
		}
	}
	return newBoolArray(a.Len(), val, nil), f
}
