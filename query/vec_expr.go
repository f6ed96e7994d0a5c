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

// Kernels: the vectorized form of bound expressions.
//
// A kernel evaluates one node over a batch, given the rows that are
// active (vsel): the row engine evaluates some operands only for some
// rows (AND's right side only where the left is not FALSE, CASE's
// branches only where they are taken, IN's list only where the operand
// is not NULL), and an error counts only on a row where the row engine
// would have evaluated the failing node. Evaluation stops at the first
// failing row in row order: a kernel that fails at row i reports i, its
// result is valid for the active rows before i, and its parent evaluates
// whatever comes later (its next operand, its own operation) only on the
// rows before i. So the error a batch fails with is the one the row
// engine meets first, going row by row.

// vsel is the set of rows a kernel evaluates: the rows below n that are
// set in mask (every row below n when mask is nil).
type vsel struct {
	n    int
	mask []byte
}

func (s vsel) on(i int) bool { return i < s.n && (s.mask == nil || bitutil.BitIsSet(s.mask, i)) }

// vfail is the first failing row of a kernel and its error.
type vfail struct {
	row int
	err error
}

// kern is a compiled expression node. run returns an array of length
// b.NumRows() of the node's Arrow type (arrow.Null for the untyped
// NULL); its values at inactive rows are unspecified. The caller
// releases the array.
type kern interface {
	run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail)
}

// vrun tracks one kernel's evaluation: the rows still to evaluate and the
// first failure so far.
type vrun struct {
	ctx  context.Context
	b    arrow.Record
	s    vsel
	fail *vfail
}

// eval runs k on the rows of mask (nil: all rows of the run) before the
// first failure so far.
func (r *vrun) eval(k kern, mask []byte) arrow.Array {
	s := r.s
	if mask != nil {
		s.mask = mask
	}
	a, f := k.run(r.ctx, r.b, s)
	if f != nil {
		r.failAt(f.row, f.err)
	}
	return a
}

func (r *vrun) failAt(i int, err error) {
	r.fail = &vfail{row: i, err: err}
	r.s.n = i
}

// vecTop is a compiled expression: a kernel run on every row of a batch.
type vecTop struct{ k kern }

func (v *vecTop) eval(ctx context.Context, b arrow.Record) (arrow.Array, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, f := v.k.run(ctx, b, vsel{n: int(b.NumRows())})
	if f != nil {
		a.Release()
		return nil, f.err
	}
	return a, nil
}

// rowKern evaluates a sub-expression row by row on the active rows: the
// kernel of every node without one of its own. cols are the columns the
// expression reads (nil: all).
type rowKern struct {
	e    bexpr
	at   arrow.DataType
	cols []int
}

func newRowKern(e bexpr) *rowKern {
	at, err := types.ArrowType(e.Type())
	if err != nil {
		at = arrow.Null
	}
	cols, ok := bexprCols(e, nil)
	if !ok {
		cols = nil
	}
	return &rowKern{e: e, at: at, cols: cols}
}

func (k *rowKern) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	bld := array.NewBuilder(memory.DefaultAllocator, k.at)
	defer bld.Release()
	n := int(b.NumRows())
	bld.Reserve(n)
	row := make(types.Row, b.NumCols())
	evaluated := 0
	var fail *vfail
	for r := 0; r < n; r++ {
		if fail != nil || !s.on(r) {
			bld.AppendNull()
			continue
		}
		if evaluated%rowsPerCtxCheck == 0 {
			if err := ctx.Err(); err != nil {
				fail = &vfail{row: 0, err: err}
				bld.AppendNull()
				continue
			}
		}
		evaluated++
		if k.cols == nil {
			for c := range row {
				row[c] = types.ValueAt(b.Column(c), r)
			}
		} else {
			for _, c := range k.cols {
				if c < len(row) {
					row[c] = types.ValueAt(b.Column(c), r)
				}
			}
		}
		x, err := k.e.Eval(row)
		if err == nil {
			err = types.AppendValue(bld, x)
		}
		if err != nil {
			fail = &vfail{row: r, err: err}
			bld.AppendNull()
		}
	}
	return bld.NewArray(), fail
}

// bexprCols adds the columns e reads to cols; ok is false for a node it
// does not know (then every column must be read).
func bexprCols(e bexpr, cols []int) ([]int, bool) {
	if x, ok := e.(*colB); ok {
		for _, c := range cols {
			if c == x.idx {
				return cols, true
			}
		}
		return append(cols, x.idx), true
	}
	kids, ok := bexprKids(e)
	if !ok {
		return nil, false
	}
	for _, k := range kids {
		if cols, ok = bexprCols(k, cols); !ok {
			return nil, false
		}
	}
	if cols == nil {
		cols = []int{}
	}
	return cols, true
}

// bexprKids returns the operands of e; ok is false for a node it does
// not know.
func bexprKids(e bexpr) ([]bexpr, bool) {
	var kids []bexpr
	switch x := e.(type) {
	case *constB, *colB:
	case *castB:
		kids = []bexpr{x.x}
	case *arithB:
		kids = []bexpr{x.l, x.r}
	case *negB:
		kids = []bexpr{x.x}
	case *concatB:
		kids = []bexpr{x.l, x.r}
	case *cmpB:
		kids = []bexpr{x.l, x.r}
	case *andB:
		kids = []bexpr{x.l, x.r}
	case *orB:
		kids = []bexpr{x.l, x.r}
	case *notB:
		kids = []bexpr{x.x}
	case *isNullB:
		kids = []bexpr{x.x}
	case *inB:
		kids = append([]bexpr{x.x}, x.list...)
	case *likeB:
		kids = []bexpr{x.x, x.pattern}
	case *coalesceB:
		kids = x.args
	case *caseB:
		if x.operand != nil {
			kids = append(kids, x.operand)
		}
		for _, w := range x.whens {
			kids = append(kids, w.cond, w.result)
		}
		if x.els != nil {
			kids = append(kids, x.els)
		}
	case *funcB:
		kids = x.args
	default:
		return fnKids(e)
	}
	return kids, true
}

// kernTypeOK reports whether the kernels cover t: a DECIMAL's precision
// is 1 to 38 and its scale at most 38. DECIMALs of up to 18 digits run
// in int64 loops, wider ones in exact 128-bit loops (int128.go).
func kernTypeOK(t types.DataType) bool {
	return t.Kind != types.DecimalKind ||
		(t.Precision >= 1 && t.Precision <= types.MaxDecimalPrecision && t.Scale >= 0 && t.Scale <= types.MaxDecimalPrecision)
}

// constK is a constant; one is a one-row array of it, which operators
// with a constant operand read as a scalar.
type constK struct {
	v   types.Value
	at  arrow.DataType
	one arrow.Array
}

func newConstK(e *constB) (*constK, bool) {
	at := arrow.DataType(arrow.Null)
	if e.t.Kind != types.KindInvalid {
		var err error
		if at, err = types.ArrowType(e.t); err != nil {
			return nil, false
		}
	} else if e.v != nil {
		return nil, false
	}
	bld := array.NewBuilder(memory.DefaultAllocator, at)
	defer bld.Release()
	if err := types.AppendValue(bld, e.v); err != nil {
		return nil, false
	}
	return &constK{v: e.v, at: at, one: bld.NewArray()}, true
}

func (k *constK) run(_ context.Context, b arrow.Record, _ vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	if k.v == nil {
		return array.MakeArrayOfNull(memory.DefaultAllocator, k.at, n), nil
	}
	bld := array.NewBuilder(memory.DefaultAllocator, k.at)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		_ = types.AppendValue(bld, k.v) // checked by newConstK
	}
	return bld.NewArray(), nil
}

// colK is a column of the batch.
type colK struct {
	e  *colB
	at arrow.DataType
	rk *rowKern
}

func (k *colK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	if k.e.idx >= int(b.NumCols()) || !arrow.TypeEqual(b.Column(k.e.idx).DataType(), k.at) {
		return k.rk.run(ctx, b, s) // the row engine's error, or its conversion
	}
	c := b.Column(k.e.idx)
	c.Retain()
	return c, nil
}

// compileKern compiles e into a kernel, falling back to rowKern for nodes
// without one.
func compileKern(e bexpr) kern {
	kids, ok := bexprKids(e)
	if !ok || !kernTypeOK(e.Type()) {
		return newRowKern(e)
	}
	for _, c := range kids {
		if !kernTypeOK(c.Type()) {
			return newRowKern(e)
		}
	}
	switch x := e.(type) {
	case *constB:
		if k, ok := newConstK(x); ok {
			return k
		}
	case *colB:
		if at, err := types.ArrowType(x.t); err == nil {
			return &colK{e: x, at: at, rk: newRowKern(x)}
		}
	case *cmpB:
		if k := newCmpK(x); k != nil {
			return k
		}
	case *andB:
		return &logicK{and: true, l: compileKern(x.l), r: compileKern(x.r)}
	case *orB:
		return &logicK{l: compileKern(x.l), r: compileKern(x.r)}
	case *notB:
		return &notK{x: compileKern(x.x)}
	case *isNullB:
		return &isNullK{x: compileKern(x.x), not: x.not}
	default:
		if k := compileMore(e); k != nil {
			return k
		}
	}
	return newRowKern(e)
}

// Bitmaps and arrays.

// bitsOf returns a copy of the bits [off, off+n) of bm starting at bit
// 0. Always a copy: result arrays take these bitmaps as their buffers,
// and must not alias memory their inputs' allocator may free.
func bitsOf(bm []byte, off, n int) []byte {
	nb := int(bitutil.BytesForBits(int64(n)))
	if off == 0 && len(bm) >= nb {
		return append([]byte(nil), bm[:nb]...)
	}
	out := make([]byte, nb)
	bitutil.CopyBitmap(bm, off, n, out, 0)
	return out
}

// validOf returns a's validity bitmap from bit 0, or nil when a has no
// NULLs. An arrow.Null array is all NULL.
func validOf(a arrow.Array) []byte {
	n := a.Len()
	if a.DataType().ID() == arrow.NULL {
		return make([]byte, bitutil.BytesForBits(int64(n)))
	}
	if a.NullN() == 0 || len(a.NullBitmapBytes()) == 0 {
		return nil
	}
	return bitsOf(a.NullBitmapBytes(), a.Data().Offset(), n)
}

// ones is an all-set bitmap of n bits.
func ones(n int) []byte {
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	for i := range out {
		out[i] = 0xff
	}
	return out
}

// validOrOnes is validOf with nil replaced by an all-set bitmap.
func validOrOnes(a arrow.Array) []byte {
	if v := validOf(a); v != nil {
		return v
	}
	return ones(a.Len())
}

// andValid is the validity of a result that is NULL where any input is
// (nil: none is).
func andValid(n int, vs ...[]byte) []byte {
	var out []byte
	for _, v := range vs {
		if v == nil {
			continue
		}
		if out == nil {
			out = append([]byte(nil), v...)
			continue
		}
		for i := range out {
			out[i] &= v[i]
		}
	}
	return out
}

// boolVals returns the value bits of a BOOLEAN array from bit 0 (all
// clear for an arrow.Null array).
func boolVals(a arrow.Array) []byte {
	if ba, ok := a.(*array.Boolean); ok {
		bufs := ba.Data().Buffers()
		if bufs[1] == nil {
			return make([]byte, bitutil.BytesForBits(int64(a.Len())))
		}
		return bitsOf(bufs[1].Bytes(), ba.Data().Offset(), a.Len())
	}
	return make([]byte, bitutil.BytesForBits(int64(a.Len())))
}

func nullCount(valid []byte, n int) int {
	if valid == nil {
		return 0
	}
	return n - bitutil.CountSetBits(valid, 0, n)
}

func bufOf(b []byte) *memory.Buffer {
	if b == nil {
		return nil
	}
	return memory.NewBufferBytes(b)
}

// newBoolArray builds a BOOLEAN array from value and validity bitmaps
// (valid nil: no NULLs).
func newBoolArray(n int, vals, valid []byte) arrow.Array {
	d := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{bufOf(valid), bufOf(vals)}, nil, nullCount(valid, n), 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// fixed are the Go types of fixed-width Arrow values.
type fixed interface {
	~int8 | ~uint8 | ~int32 | ~int64 | ~float32 | ~float64 | ~uint64
}

func bytesOfSlice[T any](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

func sliceOfBytes[T any](b []byte, n int) []T {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// newFixedArray builds an array of type at (fixed width) over vals.
func newFixedArray[T any](at arrow.DataType, vals []T, valid []byte) arrow.Array {
	n := len(vals)
	d := array.NewData(at, n, []*memory.Buffer{bufOf(valid), memory.NewBufferBytes(bytesOfSlice(vals))}, nil, nullCount(valid, n), 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// fixedVals returns the values of a fixed-width array as a []T (T must
// have the array's value width), sharing the array's memory.
func fixedVals[T any](a arrow.Array) []T {
	bufs := a.Data().Buffers()
	if len(bufs) < 2 || bufs[1] == nil || a.Len() == 0 {
		return make([]T, a.Len())
	}
	var z T
	w := int(unsafe.Sizeof(z))
	off := a.Data().Offset()
	return sliceOfBytes[T](bufs[1].Bytes()[off*w:], a.Len())
}

// nullArray is an all-NULL array of type at.
func nullArray(at arrow.DataType, n int) arrow.Array {
	return array.MakeArrayOfNull(memory.DefaultAllocator, at, n)
}

// newVarArray builds a STRING or BYTES array from offsets and data.
func newVarArray(at arrow.DataType, offs []int32, data []byte, valid []byte) arrow.Array {
	n := len(offs) - 1
	if data == nil {
		data = []byte{}
	}
	d := array.NewData(at, n, []*memory.Buffer{bufOf(valid), memory.NewBufferBytes(bytesOfSlice(offs)), memory.NewBufferBytes(data)}, nil, nullCount(valid, n), 0)
	defer d.Release()
	return array.MakeFromData(d)
}
