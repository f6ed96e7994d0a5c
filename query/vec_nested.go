package query

import (
	"bytes"
	"cmp"
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// Kernels over nested values (Arrow list, map and struct arrays): element
// access a[i] and m[k], field access r.f, CARDINALITY, and comparisons of
// nested values. None of them can fail; they read the arrays in place
// (offsets, child arrays) and gather the chosen elements with takeArray,
// as the row engine's extractB, fieldB, cardinalityB and compareTyped
// would value by value.

// compileNested compiles the nested nodes; nil when e is not one or has
// no kernel (a constructor, or an element of nested type: those run in
// the row engine).
func compileNested(e bexpr) kern {
	switch x := e.(type) {
	case *cardinalityB:
		return &cardinalityK{x: compileKern(x.x)}
	case *fieldB:
		at, err := types.ArrowType(x.t)
		if err != nil || x.x.Type().Kind != types.StructKind {
			return nil
		}
		return &fieldK{x: compileKern(x.x), i: x.i, at: at}
	case *extractB:
		at, err := types.ArrowType(x.t)
		if err != nil || x.t.IsNested() {
			return nil
		}
		switch x.x.Type().Kind {
		case types.ArrayKind:
			if k := x.idx.Type().Kind; k != types.Int && k != types.BigInt && k != types.KindInvalid {
				return nil
			}
		case types.MapKind:
			if it := x.idx.Type(); it.Kind != types.KindInvalid && !sameShape(it, x.x.Type().Key()) {
				return nil
			}
		default:
			return nil
		}
		return &extractK{x: compileKern(x.x), idx: compileKern(x.idx), at: at}
	}
	return nil
}

// cardinalityK is the number of elements of an ARRAY or MAP.
type cardinalityK struct{ x kern }

func (k *cardinalityK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	rn := &vrun{ctx: ctx, b: b, s: s}
	a := rn.eval(k.x, nil)
	defer a.Release()
	n := int(b.NumRows())
	l, ok := a.(array.ListLike)
	if !ok {
		return nullArray(arrow.PrimitiveTypes.Int64, n), rn.fail
	}
	z := make([]int64, n)
	for i := range z {
		lo, hi := l.ValueOffsets(i)
		z[i] = hi - lo
	}
	return newFixedArray(arrow.PrimitiveTypes.Int64, z, validOf(a)), rn.fail
}

// fieldK is field i of a ROW: the struct's child array, NULL where the
// ROW is.
type fieldK struct {
	x  kern
	i  int
	at arrow.DataType
}

func (k *fieldK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	rn := &vrun{ctx: ctx, b: b, s: s}
	a := rn.eval(k.x, nil)
	defer a.Release()
	n := int(b.NumRows())
	st, ok := a.(*array.Struct)
	if !ok || k.i >= st.NumField() || !arrow.TypeEqual(st.Field(k.i).DataType(), k.at) {
		return nullArray(k.at, n), rn.fail
	}
	f := st.Field(k.i) // sliced to the struct's rows
	if st.NullN() == 0 {
		f.Retain()
		return f, rn.fail
	}
	return withValidity(f, validOf(st)), rn.fail
}

// withValidity is a with the rows clear in valid made NULL (its own
// NULLs stay): a new array over a's buffers.
func withValidity(a arrow.Array, valid []byte) arrow.Array {
	n, off := a.Len(), a.Data().Offset()
	bm := make([]byte, bitutil.BytesForBits(int64(off+n)))
	own := validOf(a)
	for i := 0; i < n; i++ {
		if bitutil.BitIsSet(valid, i) && (own == nil || bitutil.BitIsSet(own, i)) {
			bitutil.SetBit(bm, off+i)
		}
	}
	nulls := n - bitutil.CountSetBits(bm, off, n)
	bufs := append([]*memory.Buffer{memory.NewBufferBytes(bm)}, a.Data().Buffers()[1:]...)
	d := array.NewData(a.DataType(), n, bufs, a.Data().Children(), nulls, off)
	defer d.Release()
	return array.MakeFromData(d)
}

// extractK is a[i] of an ARRAY (1-based, negative from the end, NULL out
// of range) or m[k] of a MAP (NULL for a missing key): the element's
// position is found per row, and the elements gathered.
type extractK struct {
	x, idx kern
	at     arrow.DataType
}

func (k *extractK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	o := evalOperands(rn, k.x, k.idx)
	defer o.release()
	if o.null {
		return nullArray(k.at, n), rn.fail
	}
	pos := make([]int32, n)
	valid := make([]byte, bitutil.BytesForBits(int64(n)))
	var elems arrow.Array
	switch x := o.la.(type) {
	case *array.Map:
		elems = x.Items()
		keys := x.Keys()
		for i := 0; i < n; i++ {
			if !o.live(rn.s, i) {
				continue
			}
			lo, hi := x.ValueOffsets(i)
			for j := lo; j < hi; j++ {
				if arrCompare(keys, int(j), o.ra, i&o.bm) == 0 {
					pos[i] = int32(j)
					bitutil.SetBit(valid, i)
					break
				}
			}
		}
	case *array.List:
		elems = x.ListValues()
		idx := ints(o.ra)
		for i := 0; i < n; i++ {
			if !o.live(rn.s, i) {
				continue
			}
			lo, hi := x.ValueOffsets(i)
			j := idx[i&o.bm]
			if j < 0 {
				j += hi - lo + 1
			}
			if j >= 1 && j <= hi-lo {
				pos[i] = int32(lo + j - 1)
				bitutil.SetBit(valid, i)
			}
		}
	default:
		return nullArray(k.at, n), rn.fail
	}
	if bitutil.CountSetBits(valid, 0, n) == 0 || !arrow.TypeEqual(elems.DataType(), k.at) {
		return nullArray(k.at, n), rn.fail
	}
	t := takeArray(elems, pos)
	defer t.Release()
	return withValidity(t, valid), rn.fail
}

// nestedCmpK compares nested values of one shape as compareTyped does
// (types.Compare: element by element, NULL first, then by length).
type nestedCmpK struct {
	op   cmpOp
	l, r kern
}

func (k *nestedCmpK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	o := evalOperands(rn, k.l, k.r)
	defer o.release()
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	if o.null {
		return newBoolArray(n, out, make([]byte, len(out))), rn.fail
	}
	for i := 0; i < n; i++ {
		if !o.live(rn.s, i) {
			continue
		}
		c := arrCompare(o.la, i&o.am, o.ra, i&o.bm)
		hit := k.op.holds(c)
		if hit {
			setBit(out, i)
		}
	}
	return newBoolArray(n, out, o.valid), rn.fail
}

// arrCompare is types.Compare of row i of a and row j of b (arrays of one
// type), read in place; only its sign counts.
func arrCompare(a arrow.Array, i int, b arrow.Array, j int) int {
	an, bn := a.IsNull(i), b.IsNull(j)
	if an || bn {
		switch {
		case an && bn:
			return 0
		case an:
			return -1
		}
		return 1
	}
	switch x := a.(type) {
	case *array.Boolean:
		if y, ok := b.(*array.Boolean); ok {
			return cmp.Compare(b2u(x.Value(i)), b2u(y.Value(j)))
		}
	case *array.Int32:
		if y, ok := b.(*array.Int32); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Int64:
		if y, ok := b.(*array.Int64); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Float32:
		if y, ok := b.(*array.Float32); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Float64:
		if y, ok := b.(*array.Float64); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Decimal128:
		if y, ok := b.(*array.Decimal128); ok {
			return cmp128(x.Value(i), y.Value(j))
		}
	case *array.String:
		if y, ok := b.(*array.String); ok {
			return strings.Compare(x.Value(i), y.Value(j))
		}
	case *array.Binary:
		if y, ok := b.(*array.Binary); ok {
			return bytes.Compare(x.Value(i), y.Value(j))
		}
	case *array.FixedSizeBinary:
		if y, ok := b.(*array.FixedSizeBinary); ok {
			return bytes.Compare(x.Value(i), y.Value(j))
		}
	case *array.Date32:
		if y, ok := b.(*array.Date32); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Timestamp:
		if y, ok := b.(*array.Timestamp); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Time64:
		if y, ok := b.(*array.Time64); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Map:
		if y, ok := b.(*array.Map); ok {
			alo, ahi := x.ValueOffsets(i)
			blo, bhi := y.ValueOffsets(j)
			for p, q := alo, blo; p < ahi && q < bhi; p, q = p+1, q+1 {
				if c := arrCompare(x.Keys(), int(p), y.Keys(), int(q)); c != 0 {
					return c
				}
				if c := arrCompare(x.Items(), int(p), y.Items(), int(q)); c != 0 {
					return c
				}
			}
			return cmp.Compare(ahi-alo, bhi-blo)
		}
	case *array.List:
		if y, ok := b.(*array.List); ok {
			alo, ahi := x.ValueOffsets(i)
			blo, bhi := y.ValueOffsets(j)
			for p, q := alo, blo; p < ahi && q < bhi; p, q = p+1, q+1 {
				if c := arrCompare(x.ListValues(), int(p), y.ListValues(), int(q)); c != 0 {
					return c
				}
			}
			return cmp.Compare(ahi-alo, bhi-blo)
		}
	case *array.Struct:
		if y, ok := b.(*array.Struct); ok {
			for f := 0; f < x.NumField() && f < y.NumField(); f++ {
				if c := arrCompare(x.Field(f), i, y.Field(f), j); c != 0 {
					return c
				}
			}
			return cmp.Compare(x.NumField(), y.NumField())
		}
	}
	return types.Compare(types.ValueAt(a, i), types.ValueAt(b, j))
}
