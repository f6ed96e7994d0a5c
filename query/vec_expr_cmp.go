package query

import (
	"context"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// Comparisons. compareTyped's rules decide the domain both operands are
// compared in: integers of different widths as int64, anything with a
// FLOAT or DOUBLE as float64 (NaN equal to NaN and below every number,
// -0 equal to 0: cmp.Compare), DECIMALs of different types and integers
// at their common scale, DATE with TIMESTAMP as microseconds, strings
// and bytes bytewise. Each domain has one typed loop per operator; a
// constant operand is a one-value slice indexed with i&0.

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

// holds reports whether the operator holds for a three-way comparison
// result c (<0, 0, >0).
func (op cmpOp) holds(c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

func cmpOpOf(op string) cmpOp {
	switch op {
	case "=":
		return opEq
	case "<>":
		return opNe
	case "<":
		return opLt
	case "<=":
		return opLe
	case ">":
		return opGt
	}
	return opGe
}

type cmpDom uint8

const (
	domNull cmpDom = iota // an untyped NULL operand: always NULL
	domI32                // INT, DATE
	domI64                // BIGINT, TIMESTAMP, integer mixes, DATE with TIMESTAMP, DECIMAL at scale
	domF32
	domF64
	domBool
	domStr // STRING, BYTES
)

// cmpDomain is the domain values of types tl and tr are compared in, and
// for decimals the common scale; ok is false for pairs without a kernel.
func cmpDomain(tl, tr types.DataType) (dom cmpDom, scale int, ok bool) {
	if tl.Kind == types.KindInvalid || tr.Kind == types.KindInvalid {
		return domNull, 0, true
	}
	if dom, ok, handled := cmpDomainTemporal(tl, tr); handled {
		return dom, 0, ok
	}
	if isNumeric(tl.Kind) && isNumeric(tr.Kind) {
		if (tl.Is128() || tr.Is128()) && !isFloating(tl.Kind) && !isFloating(tr.Kind) {
			return domD128, max(decScale(tl), decScale(tr)), true
		}
		if tl.Equal(tr) {
			switch tl.Kind {
			case types.Int:
				return domI32, 0, true
			case types.BigInt, types.DecimalKind:
				return domI64, tl.Scale, true
			case types.Float:
				return domF32, 0, true
			}
			return domF64, 0, true
		}
		switch {
		case isIntegral(tl.Kind) && isIntegral(tr.Kind):
			return domI64, 0, true
		case isFloating(tl.Kind) || isFloating(tr.Kind):
			return domF64, 0, true
		}
		return domI64, max(asDecimalType(tl).Scale, asDecimalType(tr).Scale), true
	}
	if tl.Kind != tr.Kind {
		if (tl.Kind == types.DateKind || tl.Kind == types.TimestampKind) && (tr.Kind == types.DateKind || tr.Kind == types.TimestampKind) {
			return domI64, 0, true
		}
		return 0, 0, false
	}
	switch tl.Kind {
	case types.Boolean:
		return domBool, 0, true
	case types.String, types.Bytes:
		return domStr, 0, true
	case types.DateKind:
		return domI32, 0, true
	case types.TimestampKind:
		return domI64, 0, true
	}
	return 0, 0, false
}

// cmpK is a comparison; a constant operand is read from its one-value
// array. rk evaluates the node row by row for a batch whose decimals do
// not fit int64 at the common scale.
type cmpK struct {
	op       cmpOp
	l, r     kern
	lt, rt   types.DataType
	dom      cmpDom
	scale    int
	lc, rc   *constK
	rk       *rowKern
	boolType arrow.DataType
}

func newCmpK(e *cmpB) kern {
	dom, scale, ok := cmpDomain(e.l.Type(), e.r.Type())
	if !ok {
		if e.l.Type().IsNested() && sameShape(e.l.Type(), e.r.Type()) {
			return &nestedCmpK{op: cmpOpOf(e.op), l: compileKern(e.l), r: compileKern(e.r)}
		}
		return nil
	}
	k := &cmpK{op: cmpOpOf(e.op), l: compileKern(e.l), r: compileKern(e.r), lt: e.l.Type(), rt: e.r.Type(),
		dom: dom, scale: scale, rk: newRowKern(e)}
	k.lc, _ = k.l.(*constK)
	k.rc, _ = k.r.(*constK)
	return k
}

// operand evaluates one side: a constant is its one-value array.
func (k *cmpK) operand(rn *vrun, x kern, c *constK) (arrow.Array, bool) {
	if c != nil {
		c.one.Retain()
		return c.one, true
	}
	return rn.eval(x, nil), false
}

func (k *cmpK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	la, lScalar := k.operand(rn, k.l, k.lc)
	defer la.Release()
	ra, rScalar := k.operand(rn, k.r, k.rc)
	defer ra.Release()
	if k.dom == domNull || (lScalar && la.IsNull(0)) || (rScalar && ra.IsNull(0)) {
		return newBoolArray(n, make([]byte, bitutil.BytesForBits(int64(n))), make([]byte, bitutil.BytesForBits(int64(n)))), rn.fail
	}
	out, ok := cmpArrays(k.op, k.dom, k.scale, la, k.lt, lScalar, ra, k.rt, rScalar, n)
	if !ok {
		return k.rk.run(ctx, b, s)
	}
	var lv, rv []byte
	if !lScalar {
		lv = validOf(la)
	}
	if !rScalar {
		rv = validOf(ra)
	}
	return newBoolArray(n, out, andValid(n, lv, rv)), rn.fail
}

// cmpArrays compares la (of type lt; one value when lScalar) with ra in
// domain dom, setting bit i of the result where row i compares true
// (NULLs aside). False when decimals do not fit int64 at the scale.
func cmpArrays(op cmpOp, dom cmpDom, scale int, la arrow.Array, lt types.DataType, lScalar bool,
	ra arrow.Array, rt types.DataType, rScalar bool, n int) ([]byte, bool) {
	am, bm := -1, -1
	if lScalar {
		am = 0
	}
	if rScalar {
		bm = 0
	}
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	switch dom {
	case domI32:
		cmpLoop(op, fixedVals[int32](la), fixedVals[int32](ra), am, bm, n, out)
	case domI64:
		x, ok1 := i64s(la, lt, scale)
		y, ok2 := i64s(ra, rt, scale)
		if !ok1 || !ok2 {
			if !isNumeric(lt.Kind) || !isNumeric(rt.Kind) {
				return nil, false
			}
			// Decimals beyond int64 at the common scale: in 128 bits.
			cmpLoop128(op, d128s(la, lt, scale), d128s(ra, rt, scale), am, bm, n, out)
			break
		}
		cmpLoop(op, x, y, am, bm, n, out)
	case domD128:
		cmpLoop128(op, d128s(la, lt, scale), d128s(ra, rt, scale), am, bm, n, out)
	case domF32:
		cmpLoopF(op, fixedVals[float32](la), fixedVals[float32](ra), am, bm, n, out)
	case domF64:
		cmpLoopF(op, f64s(la, lt), f64s(ra, rt), am, bm, n, out)
	case domBool:
		cmpLoop(op, unpackBools(la), unpackBools(ra), am, bm, n, out)
	case domStr:
		lo, ld := varBin(la)
		ro, rd := varBin(ra)
		cmpLoopStr(op, lo, ld, ro, rd, am, bm, n, out)
	case domUUID:
		cmpLoopUUID(op, fixedVals[[16]byte](la), fixedVals[[16]byte](ra), am, bm, n, out)
	}
	return out, true
}

// i64s reads a (of type t) in the int64 domain at scale; false when a
// value does not fit.
func i64s(a arrow.Array, t types.DataType, scale int) ([]int64, bool) {
	var out []int64
	switch x := a.(type) {
	case *array.Int64, *array.Timestamp, *array.Time64:
		out = fixedVals[int64](a)
	case *array.Int32:
		vs := x.Int32Values()
		out = make([]int64, len(vs))
		for i, v := range vs {
			out[i] = int64(v)
		}
	case *array.Date32:
		vs := fixedVals[int32](a)
		out = make([]int64, len(vs))
		for i, v := range vs {
			out[i] = int64(v) * 86400 * 1_000_000 // wraps as compareTyped's conversion does
		}
		return out, true
	case *array.Decimal128:
		if isDecimal128Array(x) {
			return nil, false
		}
		vs := fixedVals[decimal128.Num](a)
		out = make([]int64, len(vs))
		for i, v := range vs {
			out[i] = int64(v.LowBits())
		}
	default:
		return nil, false
	}
	from := 0
	if t.Kind == types.DecimalKind {
		from = t.Scale
	}
	if d := scale - from; d > 0 {
		if out2, ok := scaleUp(out, d); ok {
			return out2, true
		}
		return nil, false
	}
	return out, true
}

var pow10i = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

var pow10f = func() [19]float64 {
	var p [19]float64
	for i := range p {
		p[i] = float64(pow10i[i])
	}
	return p
}()

// scaleUp multiplies every value by 10^d into a new slice; false on an
// int64 overflow.
func scaleUp(vs []int64, d int) ([]int64, bool) {
	if d > 18 {
		return nil, false
	}
	p := pow10i[d]
	lim := math.MaxInt64 / p
	out := make([]int64, len(vs))
	for i, v := range vs {
		if v > lim || v < -lim {
			return nil, false
		}
		out[i] = v * p
	}
	return out, true
}

// decToF64 is asFloat64 of a decimal: the double nearest x·10^-scale.
// Both operands of the division are exact below 2^53, so it rounds once.
func decToF64(x int64, scale int) float64 {
	if x > -1<<53 && x < 1<<53 && scale >= 0 && scale < len(pow10f) {
		return float64(x) / pow10f[scale]
	}
	f, _ := strconv.ParseFloat(types.FormatDecimal(x, scale), 64)
	return f
}

// f64s reads a numeric array of type t as float64 (asFloat64).
func f64s(a arrow.Array, t types.DataType) []float64 {
	switch x := a.(type) {
	case *array.Float64:
		return fixedVals[float64](a)
	case *array.Float32:
		return widen[float32, float64](fixedVals[float32](a))
	case *array.Int32:
		return widen[int32, float64](x.Int32Values())
	case *array.Int64:
		return widen[int64, float64](x.Int64Values())
	case *array.Decimal128:
		vs := fixedVals[decimal128.Num](a)
		out := make([]float64, len(vs))
		if isDecimal128Array(x) {
			for i, v := range vs {
				out[i] = num128ToF64(v, t.Scale)
			}
			return out
		}
		for i, v := range vs {
			out[i] = decToF64(int64(v.LowBits()), t.Scale)
		}
		return out
	}
	return make([]float64, a.Len())
}

func widen[F int32 | int64 | float32 | float64, T int64 | float64](vs []F) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = T(v)
	}
	return out
}

// unpackBools returns a BOOLEAN array's values as 0/1 bytes.
func unpackBools(a arrow.Array) []uint8 {
	bits := boolVals(a)
	out := make([]uint8, a.Len())
	for i := range out {
		if bitutil.BitIsSet(bits, i) {
			out[i] = 1
		}
	}
	return out
}

// varBin returns the offsets (from the array's offset) and the data of a
// STRING or BYTES array.
func varBin(a arrow.Array) ([]int32, []byte) {
	var offs []int32
	switch x := a.(type) {
	case *array.String:
		offs = x.ValueOffsets()
	case *array.Binary:
		offs = x.ValueOffsets()
	}
	var data []byte
	if bufs := a.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		data = bufs[2].Bytes()
	}
	return offs, data
}

func setBit(out []byte, i int) { out[i>>3] |= 1 << uint(i&7) }

// b2u is 1 for true: a branch-free bit for the comparison loops.
func b2u(b bool) byte {
	var x byte
	if b {
		x = 1
	}
	return x
}

// cmpLoop sets bit i of out where a[i&am] op b[i&bm] (am, bm are -1 for
// arrays, 0 for constants).
func cmpLoop[T int32 | int64 | uint8](op cmpOp, a, b []T, am, bm, n int, out []byte) {
	switch op {
	case opEq:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(a[i&am] == b[i&bm]) << uint(i&7)
		}
	case opNe:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(a[i&am] != b[i&bm]) << uint(i&7)
		}
	case opLt:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(a[i&am] < b[i&bm]) << uint(i&7)
		}
	case opLe:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(a[i&am] <= b[i&bm]) << uint(i&7)
		}
	case opGt:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(a[i&am] > b[i&bm]) << uint(i&7)
		}
	case opGe:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(a[i&am] >= b[i&bm]) << uint(i&7)
		}
	}
}

// fcmp is cmp.Compare for floats: NaN equals NaN and sorts first.
func fcmp[T float32 | float64](x, y T) int {
	xn, yn := x != x, y != y
	switch {
	case xn || yn:
		if xn && yn {
			return 0
		}
		if xn {
			return -1
		}
		return 1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpLoopF is cmpLoop for floats under cmp.Compare's order.
func cmpLoopF[T float32 | float64](op cmpOp, a, b []T, am, bm, n int, out []byte) {
	switch op {
	case opEq:
		for i := 0; i < n; i++ {
			if x, y := a[i&am], b[i&bm]; x == y || (x != x && y != y) {
				setBit(out, i)
			}
		}
	case opNe:
		for i := 0; i < n; i++ {
			if x, y := a[i&am], b[i&bm]; !(x == y || (x != x && y != y)) {
				setBit(out, i)
			}
		}
	case opLt:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(fcmp(a[i&am], b[i&bm]) < 0) << uint(i&7)
		}
	case opLe:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(fcmp(a[i&am], b[i&bm]) <= 0) << uint(i&7)
		}
	case opGt:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(fcmp(a[i&am], b[i&bm]) > 0) << uint(i&7)
		}
	case opGe:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(fcmp(a[i&am], b[i&bm]) >= 0) << uint(i&7)
		}
	}
}

// cmpLoopStr is cmpLoop for variable-width values compared bytewise.
func cmpLoopStr(op cmpOp, lo []int32, ld []byte, ro []int32, rd []byte, am, bm, n int, out []byte) {
	for i := 0; i < n; i++ {
		ia, ib := i&am, i&bm
		x, y := ld[lo[ia]:lo[ia+1]], rd[ro[ib]:ro[ib+1]]
		var hit bool
		switch op {
		case opEq:
			hit = string(x) == string(y)
		case opNe:
			hit = string(x) != string(y)
		case opLt:
			hit = string(x) < string(y)
		case opLe:
			hit = string(x) <= string(y)
		case opGt:
			hit = string(x) > string(y)
		default:
			hit = string(x) >= string(y)
		}
		if hit {
			setBit(out, i)
		}
	}
}
