package query

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// Exact 128-bit integer arithmetic for the DECIMAL kernels. Values are
// decimal128.Num (two's complement, high and low 64 bits), the form both
// widths of DECIMAL take in Arrow arrays: a DECIMAL of precision up to 18
// holds its int64 sign-extended, so every decimal array reads as []Num.
// Each operation reports whether its result is exact and fits 128 bits;
// a kernel hands a row that does not to the row engine's big-integer
// arithmetic (evalArith, castValue), whose value or error it takes, so
// results and error texts are the row engine's.

// pow10n[i] is 10^i for i <= 38 (10^38 < 2^127).
var pow10n = func() [39]decimal128.Num {
	var p [39]decimal128.Num
	p[0] = decimal128.FromI64(1)
	for i := 1; i < len(p); i++ {
		p[i], _ = mul128(p[i-1], decimal128.FromI64(10))
	}
	return p
}()

// u128 is an unsigned 128-bit magnitude.
type u128 struct{ hi, lo uint64 }

// abs128 splits n into its sign and magnitude (the magnitude of the most
// negative value is 2^127, which u128 holds).
func abs128(n decimal128.Num) (neg bool, m u128) {
	hi, lo := uint64(n.HighBits()), n.LowBits()
	if int64(hi) >= 0 {
		return false, u128{hi, lo}
	}
	lo, b := bits.Sub64(0, lo, 0)
	hi, _ = bits.Sub64(0, hi, b)
	return true, u128{hi, lo}
}

// signed128 is the value of sign and magnitude m; false when it is
// outside the signed 128-bit range.
func signed128(neg bool, m u128) (decimal128.Num, bool) {
	if !neg {
		return decimal128.New(int64(m.hi), m.lo), m.hi>>63 == 0
	}
	if m.hi>>63 != 0 && (m.hi != 1<<63 || m.lo != 0) {
		return decimal128.Num{}, false
	}
	lo, b := bits.Sub64(0, m.lo, 0)
	hi, _ := bits.Sub64(0, m.hi, b)
	return decimal128.New(int64(hi), lo), true
}

// sub128 is a-b; false on overflow.
func sub128(a, b decimal128.Num) (decimal128.Num, bool) {
	lo, c := bits.Sub64(a.LowBits(), b.LowBits(), 0)
	hi, _ := bits.Sub64(uint64(a.HighBits()), uint64(b.HighBits()), c)
	ah, bh := a.HighBits(), b.HighBits()
	ok := (ah < 0) == (bh < 0) || (int64(hi) < 0) == (ah < 0)
	return decimal128.New(int64(hi), lo), ok
}

// mulU is the 128-bit product of two magnitudes; false when it needs
// more than 128 bits.
func mulU(a, b u128) (u128, bool) {
	if a.hi != 0 && b.hi != 0 {
		return u128{}, false
	}
	hi, lo := bits.Mul64(a.lo, b.lo)
	ch, cl := bits.Mul64(a.hi, b.lo)
	dh, dl := bits.Mul64(a.lo, b.hi)
	if ch != 0 || dh != 0 {
		return u128{}, false
	}
	hi, c1 := bits.Add64(hi, cl, 0)
	hi, c2 := bits.Add64(hi, dl, 0)
	return u128{hi, lo}, c1 == 0 && c2 == 0
}

// mul128 is a*b; false on overflow.
func mul128(a, b decimal128.Num) (decimal128.Num, bool) {
	an, am := abs128(a)
	bn, bm := abs128(b)
	m, ok := mulU(am, bm)
	if !ok {
		return decimal128.Num{}, false
	}
	return signed128(an != bn, m)
}

// lsh and rsh shift a magnitude by n < 64 bits.
func (u u128) lsh(n uint) u128 {
	if n == 0 {
		return u
	}
	return u128{u.hi<<n | u.lo>>(64-n), u.lo << n}
}

func (u u128) rsh1() u128 { return u128{u.hi >> 1, u.lo>>1 | u.hi<<63} }

func (u u128) cmp(v u128) int {
	switch {
	case u.hi < v.hi:
		return -1
	case u.hi > v.hi:
		return 1
	case u.lo < v.lo:
		return -1
	case u.lo > v.lo:
		return 1
	}
	return 0
}

func (u u128) sub(v u128) u128 {
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	hi, _ := bits.Sub64(u.hi, v.hi, b)
	return u128{hi, lo}
}

func (u u128) isZero() bool { return u.hi == 0 && u.lo == 0 }

// quoRemU divides magnitudes (v not zero): the quotient and remainder.
func quoRemU(u, v u128) (q, r u128) {
	if v.hi == 0 {
		var r64 uint64
		q.hi, r64 = bits.Div64(0, u.hi, v.lo)
		q.lo, r64 = bits.Div64(r64, u.lo, v.lo)
		return q, u128{0, r64}
	}
	// The quotient has at most 64 bits: estimate it from the top 64
	// bits of the normalized divisor (within one of the truth), then
	// correct it.
	n := uint(bits.LeadingZeros64(v.hi))
	v1 := v.lsh(n)
	u1 := u.rsh1()
	tq, _ := bits.Div64(u1.hi, u1.lo, v1.hi)
	tq >>= 63 - n
	if tq != 0 {
		tq--
	}
	p, _ := mulU(v, u128{0, tq})
	r = u.sub(p)
	if r.cmp(v) >= 0 {
		tq++
		r = r.sub(v)
	}
	return u128{0, tq}, r
}

// divRound128 is x/y rounded half away from zero (divRound); false when y
// is zero or the quotient overflows.
func divRound128(x, y decimal128.Num) (decimal128.Num, bool) {
	xn, xm := abs128(x)
	yn, ym := abs128(y)
	if ym.isZero() {
		return decimal128.Num{}, false
	}
	q, r := quoRemU(xm, ym)
	if !r.isZero() && r.cmp(ym.sub(r)) >= 0 { // 2r >= |y|
		var c uint64
		q.lo, c = bits.Add64(q.lo, 1, 0)
		q.hi += c
	}
	return signed128(xn != yn, q)
}

// rem128 is x%y truncated (the sign of x, as big.Int.Rem); false when y
// is zero.
func rem128(x, y decimal128.Num) (decimal128.Num, bool) {
	xn, xm := abs128(x)
	_, ym := abs128(y)
	if ym.isZero() {
		return decimal128.Num{}, false
	}
	_, r := quoRemU(xm, ym)
	return signed128(xn, r)
}

// rescale128 changes the scale of x from from to to, rounding half away
// from zero when digits are dropped (rescale); exact reports that none
// were, ok that the result fits.
func rescale128(x decimal128.Num, from, to int) (v decimal128.Num, exact, ok bool) {
	d := to - from
	switch {
	case d == 0:
		return x, true, true
	case d > 0:
		if d >= len(pow10n) {
			return x, true, x == (decimal128.Num{})
		}
		v, ok = mul128(x, pow10n[d])
		return v, true, ok
	}
	if -d >= len(pow10n) {
		return decimal128.Num{}, x == (decimal128.Num{}), true
	}
	v, ok = divRound128(x, pow10n[-d])
	if ok {
		_, r := quoRemU(u128abs(x), u128abs(pow10n[-d]))
		exact = r.isZero()
	}
	return v, exact, ok
}

func u128abs(x decimal128.Num) u128 { _, m := abs128(x); return m }

// fitsPrec reports whether x has at most p digits (p <= 38).
func fitsPrec(x decimal128.Num, p int) bool {
	return u128abs(x).cmp(u128abs(pow10n[p])) < 0
}

// cmp128 orders two signed values.
func cmp128(a, b decimal128.Num) int {
	ah, bh := a.HighBits(), b.HighBits()
	switch {
	case ah < bh:
		return -1
	case ah > bh:
		return 1
	case a.LowBits() < b.LowBits():
		return -1
	case a.LowBits() > b.LowBits():
		return 1
	}
	return 0
}

// decNums reads an integral or DECIMAL array as []Num (its own scale).
func decNums(a arrow.Array) []decimal128.Num {
	switch x := a.(type) {
	case *array.Decimal128:
		return fixedVals[decimal128.Num](x)
	case *array.Int32:
		vs := x.Int32Values()
		out := make([]decimal128.Num, len(vs))
		for i, v := range vs {
			out[i] = decimal128.FromI64(int64(v))
		}
		return out
	case *array.Int64:
		vs := x.Int64Values()
		out := make([]decimal128.Num, len(vs))
		for i, v := range vs {
			out[i] = decimal128.FromI64(v)
		}
		return out
	}
	return make([]decimal128.Num, a.Len())
}

// decScale is the scale of a numeric operand of type t in decNums form.
func decScale(t types.DataType) int {
	if t.Kind == types.DecimalKind {
		return t.Scale
	}
	return 0
}

// decimalBox is a Num as the row engine's value of a DECIMAL of
// precision p.
func decimalBox(n decimal128.Num, p int) types.Value {
	if p > types.MaxDecimal64Precision {
		return types.Decimal128(n)
	}
	return types.Decimal(int64(n.LowBits()))
}

// numOfValue is the unscaled Num of a row engine DECIMAL or integer.
func numOfValue(v types.Value) decimal128.Num {
	switch x := v.(type) {
	case types.Decimal128:
		return x.Num()
	case types.Decimal:
		return decimal128.FromI64(int64(x))
	case int64:
		return decimal128.FromI64(x)
	case int32:
		return decimal128.FromI64(int64(x))
	}
	return decimal128.Num{}
}

// num128ToF64 is asFloat64 of an unscaled value at scale: the double
// nearest x·10^-scale. Below 2^53 with a scale up to 22 both operands of
// the division are exact doubles, so it rounds once; otherwise through
// the decimal text, as asFloat64 does.
func num128ToF64(x decimal128.Num, scale int) float64 {
	if h := x.HighBits(); (h == 0 || h == -1) && scale >= 0 && scale <= 22 {
		if v := int64(x.LowBits()); (v < 0) == (h < 0) && v > -1<<53 && v < 1<<53 {
			return float64(v) / pow10f22[scale]
		}
	}
	f, _ := strconv.ParseFloat(types.FormatDecimal128(types.Decimal128(x), scale), 64)
	return f
}

var pow10f22 = func() [23]float64 {
	var p [23]float64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// domD128 compares numbers as 128-bit integers at a common scale: any
// pair with a DECIMAL of more than 18 digits, and the pairs of domI64
// whose values leave int64 at the common scale.
const domD128 cmpDom = 65

var (
	maxNum = decimal128.New(math.MaxInt64, math.MaxUint64)
	minNum = decimal128.New(math.MinInt64, 0)
)

// d128s reads a numeric array of type t at scale (at least t's). A value
// that leaves 128 bits is clamped to the extreme of its sign: the other
// operand of a comparison is at its own scale (the common one), so it
// has at most 38 digits and the order stays right.
func d128s(a arrow.Array, t types.DataType, scale int) []decimal128.Num {
	vs := decNums(a)
	d := scale - decScale(t)
	if d <= 0 || d >= len(pow10n) {
		return vs
	}
	out := make([]decimal128.Num, len(vs))
	for i, v := range vs {
		w, ok := mul128(v, pow10n[d])
		if !ok {
			if v.HighBits() < 0 {
				w = minNum
			} else {
				w = maxNum
			}
		}
		out[i] = w
	}
	return out
}

// cmpLoop128 is cmpLoop over 128-bit values.
func cmpLoop128(op cmpOp, a, b []decimal128.Num, am, bm, n int, out []byte) {
	for i := 0; i < n; i++ {
		c := cmp128(a[i&am], b[i&bm])
		hit := op.holds(c)
		out[i>>3] |= b2u(hit) << uint(i&7)
	}
}
