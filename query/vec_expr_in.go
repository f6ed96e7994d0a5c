package query

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// IN lists.

// inItem is one item of an IN list with the domain it is compared with
// the operand in.
type inItem struct {
	k     kern
	t     types.DataType
	c     *constK
	dom   cmpDom
	scale int
}

// inK is x [NOT] IN (list): each item is evaluated, in order, only on the
// rows where x is not NULL and no earlier item matched, as inB does.
type inK struct {
	x     kern
	xt    types.DataType
	items []inItem
	not   bool
	rk    *rowKern
	// set, for a long list of constants of x's own type, holds the
	// non-NULL items; setNull says whether a NULL item is in the list.
	set     *inSet
	setNull bool
}

// inSet is a hash set of constants in a comparison domain where equal
// means identical (integers, dates, timestamps, decimals of one type,
// strings, bytes).
type inSet struct {
	i32 map[int32]struct{}
	i64 map[int64]struct{}
	str map[string]struct{}
	num map[decimal128.Num]struct{} // DECIMALs of more than 18 digits
}

// minInSet is the list length from which IN uses a hash set.
const minInSet = 8

// newInSet builds the set of k's items, or returns nil when they are not
// all constants of x's type in a domain with plain equality.
func newInSet(k *inK) (*inSet, bool) {
	if len(k.items) < minInSet {
		return nil, false
	}
	s := &inSet{}
	hasNull := false
	for _, it := range k.items {
		if it.c == nil {
			return nil, false
		}
		if it.c.v == nil {
			hasNull = true
			continue
		}
		if !it.t.Equal(k.xt) {
			return nil, false
		}
		switch it.dom {
		case domI32:
			if s.i32 == nil {
				s.i32 = map[int32]struct{}{}
			}
			s.i32[fixedVals[int32](it.c.one)[0]] = struct{}{}
		case domI64:
			if s.i64 == nil {
				s.i64 = map[int64]struct{}{}
			}
			v, ok := i64s(it.c.one, it.t, it.scale)
			if !ok {
				return nil, false
			}
			s.i64[v[0]] = struct{}{}
		case domD128:
			if s.num == nil {
				s.num = map[decimal128.Num]struct{}{}
			}
			s.num[d128s(it.c.one, it.t, it.scale)[0]] = struct{}{}
		case domStr:
			if s.str == nil {
				s.str = map[string]struct{}{}
			}
			o, d := varBin(it.c.one)
			s.str[string(d[o[0]:o[1]])] = struct{}{}
		default:
			return nil, false
		}
	}
	return s, hasNull
}

// runSet is run for a list held in k.set: constants cannot fail.
func (k *inK) runSet(rn *vrun, xa arrow.Array, n int) arrow.Array {
	nb := int(bitutil.BytesForBits(int64(n)))
	valid := validOrOnes(xa)
	ok, val := make([]byte, nb), make([]byte, nb)
	hit := func(i int, m bool) {
		if m {
			setBit(ok, i)
			if !k.not {
				setBit(val, i)
			}
		} else if !k.setNull {
			setBit(ok, i)
			if k.not {
				setBit(val, i)
			}
		}
	}
	switch {
	case k.set.i32 != nil:
		vs := fixedVals[int32](xa)
		for i := 0; i < n; i++ {
			if bitutil.BitIsSet(valid, i) {
				_, m := k.set.i32[vs[i]]
				hit(i, m)
			}
		}
	case k.set.i64 != nil:
		vs, _ := i64s(xa, k.xt, k.items[0].scale) // x's own type: no rescaling
		for i := 0; i < n; i++ {
			if bitutil.BitIsSet(valid, i) {
				_, m := k.set.i64[vs[i]]
				hit(i, m)
			}
		}
	case k.set.num != nil:
		vs := d128s(xa, k.xt, k.items[0].scale) // x's own type: no rescaling
		for i := 0; i < n; i++ {
			if bitutil.BitIsSet(valid, i) {
				_, m := k.set.num[vs[i]]
				hit(i, m)
			}
		}
	case k.set.str != nil:
		o, d := varBin(xa)
		for i := 0; i < n; i++ {
			if bitutil.BitIsSet(valid, i) {
				_, m := k.set.str[unsafeString(d[o[i]:o[i+1]])]
				hit(i, m)
			}
		}
	default: // only NULL items
		for i := 0; i < n; i++ {
			if bitutil.BitIsSet(valid, i) {
				hit(i, false)
			}
		}
	}
	return newBoolArray(n, val, ok)
}

func newInK(e *inB) kern {
	k := &inK{x: compileKern(e.x), xt: e.x.Type(), not: e.not, rk: newRowKern(e)}
	for _, it := range e.list {
		dom, scale, ok := cmpDomain(e.x.Type(), it.Type())
		if !ok {
			return nil
		}
		ik := compileKern(it)
		c, _ := ik.(*constK)
		k.items = append(k.items, inItem{k: ik, t: it.Type(), c: c, dom: dom, scale: scale})
	}
	k.set, k.setNull = newInSet(k)
	return k
}

func (k *inK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	nb := int(bitutil.BytesForBits(int64(n)))
	rn := &vrun{ctx: ctx, b: b, s: s}
	xa := rn.eval(k.x, nil)
	defer xa.Release()
	if k.set != nil {
		return k.runSet(rn, xa, n), rn.fail
	}
	xvalid := validOrOnes(xa)
	pending := make([]byte, nb) // rows still looking for a match
	for i := range pending {
		pending[i] = xvalid[i]
		if s.mask != nil {
			pending[i] &= s.mask[i]
		}
	}
	matched, sawNull := make([]byte, nb), make([]byte, nb)
	for _, it := range k.items {
		var ia arrow.Array
		if it.c != nil {
			it.c.one.Retain()
			ia = it.c.one
		} else {
			ia = rn.eval(it.k, pending)
		}
		var eq []byte
		iv := make([]byte, nb)
		if it.dom == domNull || (it.c != nil && it.c.v == nil) {
			eq = make([]byte, nb)
		} else {
			var ok bool
			if eq, ok = cmpArrays(opEq, it.dom, it.scale, xa, k.xt, false, ia, it.t, it.c != nil, n); !ok {
				ia.Release()
				return k.rk.run(ctx, b, s)
			}
			if it.c != nil {
				copy(iv, ones(n))
			} else {
				copy(iv, validOrOnes(ia))
			}
		}
		ia.Release()
		for i := range pending {
			sawNull[i] |= pending[i] &^ iv[i]
			hit := pending[i] & iv[i] & eq[i]
			matched[i] |= hit
			pending[i] &^= hit
		}
	}
	ok, val := make([]byte, nb), make([]byte, nb)
	for i := range ok {
		ok[i] = matched[i] | (xvalid[i] &^ sawNull[i])
		if k.not {
			val[i] = ^matched[i]
		} else {
			val[i] = matched[i]
		}
	}
	return newBoolArray(n, val, ok), rn.fail
}
