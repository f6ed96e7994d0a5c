package query

import (
	"context"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// unsafeString views b as a string; b must not change while it is used.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// compileMore compiles the nodes beyond comparisons and logic; nil when
// e has no kernel.
func compileMore(e bexpr) kern {
	switch x := e.(type) {
	case *arithB:
		if k := newArithK(x); k != nil {
			return k
		}
	case *negB:
		if t := x.x.Type(); isNumeric(t.Kind) {
			at, err := types.ArrowType(t)
			if err == nil {
				return &negK{e: x, x: compileKern(x.x), at: at}
			}
		}
	case *castB:
		return newCastK(x)
	case *inB:
		return newInK(x)
	case *likeB:
		return newLikeK(x)
	case *coalesceB:
		if at, err := types.ArrowType(x.t); err == nil {
			k := &coalesceK{at: at}
			for _, a := range x.args {
				k.args = append(k.args, compileKern(a))
			}
			return k
		}
	case *caseB:
		if k := newCaseK(x); k != nil {
			return k
		}
	case *funcB:
		if at, err := types.ArrowType(x.t); err == nil {
			k := &funcK{e: x, at: at}
			for _, a := range x.args {
				k.args = append(k.args, compileKern(a))
			}
			return k
		}
	case *concatB:
		if x.l.Type().Kind == types.String && x.r.Type().Kind == types.String {
			return &concatK{l: compileKern(x.l), r: compileKern(x.r)}
		}
	default:
		return compileFn(e)
	}
	return nil
}

// funcK is a scalar function: its arguments run as kernels, argument j
// only where every earlier one is not NULL (funcB stops at the first
// NULL), and the function itself is called value by value on the rows
// where none is.
type funcK struct {
	e    *funcB
	args []kern
	at   arrow.DataType
}

func (k *funcK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	pending := activeMask(s, n)
	arrs := make([]arrow.Array, 0, len(k.args))
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for _, x := range k.args {
		a := rn.eval(x, pending)
		arrs = append(arrs, a)
		if v := validOf(a); v != nil {
			for i := range pending {
				pending[i] &= v[i]
			}
		}
	}
	bld := array.NewBuilder(memory.DefaultAllocator, k.at)
	defer bld.Release()
	bld.Reserve(n)
	vals := make([]types.Value, len(arrs))
	for i := 0; i < n; i++ {
		if i >= rn.s.n || !bitutil.BitIsSet(pending, i) {
			bld.AppendNull()
			continue
		}
		for j, a := range arrs {
			vals[j] = types.ValueAt(a, i)
		}
		v, err := k.e.fn(vals)
		if err == nil {
			err = types.AppendValue(bld, v)
		}
		if err != nil {
			rn.failAt(i, err)
			bld.AppendNull()
		}
	}
	return bld.NewArray(), rn.fail
}
