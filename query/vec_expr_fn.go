package query

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// Kernels of the functions of functions_*.go. unaryFnB runs its typed
// form over the argument's array, value by value without boxing; the
// other nodes of those files are known here only by their operands (so
// that their arguments still run as kernels inside rowKern's fallback
// and projection pushdown sees their columns).

// fnKids returns the operands of a node of functions_*.go or
// interval.go; ok is false for other nodes.
func fnKids(e bexpr) ([]bexpr, bool) {
	switch x := e.(type) {
	case *unaryFnB:
		return []bexpr{x.x}, true
	case *addIntervalB:
		return []bexpr{x.x}, true
	case *dateArithB:
		return []bexpr{x.l, x.r}, true
	case *extremeB:
		return x.args, true
	case *extractB:
		return []bexpr{x.x, x.idx}, true
	case *fieldB:
		return []bexpr{x.x}, true
	case *cardinalityB:
		return []bexpr{x.x}, true
	}
	return nil, false
}

// compileFn compiles a node of functions_*.go; nil when it has no kernel.
func compileFn(e bexpr) kern {
	u, ok := e.(*unaryFnB)
	if !ok {
		return compileNested(e)
	}
	at, err := types.ArrowType(u.t)
	if err != nil {
		return nil
	}
	want := map[bool]types.Kind{true: types.String, false: types.Double}[u.s2s != nil || u.s2b != nil || u.s2i != nil]
	k := u.x.Type().Kind
	switch {
	case u.u2i != nil || u.u2f != nil || u.u2u != nil:
		if k != types.DateKind && k != types.TimestampKind && k != types.TimestampLTZKind && k != types.TimeKind {
			return nil
		}
	case k != want:
		return nil
	}
	return &unaryFnK{e: u, x: compileKern(u.x), at: at}
}

// unaryFnK runs a unaryFnB: the argument's kernel, then the typed form on
// the active rows where the argument is not NULL.
type unaryFnK struct {
	e  *unaryFnB
	x  kern
	at arrow.DataType
}

func (k *unaryFnK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	a, fail := k.x.run(ctx, b, s)
	defer a.Release()
	lim := s
	if fail != nil {
		lim.n = min(lim.n, fail.row)
	}
	if a.DataType().ID() == arrow.NULL {
		return nullArray(k.at, n), fail
	}
	on := func(i int) bool { return lim.on(i) && a.IsValid(i) }
	u := k.e
	switch {
	case u.s2s != nil:
		in := a.(*array.String)
		bld := array.NewStringBuilder(memory.DefaultAllocator)
		defer bld.Release()
		bld.Reserve(n)
		for i := 0; i < n; i++ {
			if on(i) {
				bld.Append(u.s2s(in.Value(i)))
			} else {
				bld.AppendNull()
			}
		}
		return bld.NewArray(), fail
	case u.s2b != nil:
		in := a.(*array.String)
		vals := make([]byte, bitutil.BytesForBits(int64(n)))
		valid := make([]byte, len(vals))
		for i := 0; i < n; i++ {
			if on(i) {
				bitutil.SetBit(valid, i)
				if u.s2b(in.Value(i)) {
					bitutil.SetBit(vals, i)
				}
			}
		}
		return newBoolArray(n, vals, valid), fail
	}
	out := make([]int64, n)
	valid := make([]byte, bitutil.BytesForBits(int64(n)))
	var fout []float64
	if u.f2f != nil || u.u2f != nil {
		fout = make([]float64, n)
	}
	var us func(i int) int64
	switch x := a.(type) {
	case *array.Date32:
		us = func(i int) int64 { return int64(x.Value(i)) * 86_400_000_000 }
	case *array.Timestamp:
		us = func(i int) int64 { return int64(x.Value(i)) }
	case *array.Time64:
		us = func(i int) int64 { return int64(x.Value(i)) }
	}
	for i := 0; i < n; i++ {
		if !on(i) {
			continue
		}
		bitutil.SetBit(valid, i)
		switch {
		case u.s2i != nil:
			out[i] = u.s2i(a.(*array.String).Value(i))
		case u.f2f != nil:
			fout[i] = u.f2f(a.(*array.Float64).Value(i))
		case u.u2i != nil:
			out[i] = u.u2i(us(i))
		case u.u2f != nil:
			fout[i] = u.u2f(us(i))
		case u.u2u != nil:
			out[i] = u.u2u(us(i))
		}
	}
	if fout != nil {
		return newFixedArray(k.at, fout, valid), fail
	}
	return newFixedArray(k.at, out, valid), fail
}
