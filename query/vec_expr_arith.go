package query

import (
	"context"
	"math"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// Arithmetic. Each loop computes in int64 or float64 and flags a row
// whose result it cannot vouch for: an overflow, a zero divisor, a NaN or
// an infinity, a decimal that leaves int64 while rescaling or its
// precision. A flagged row that the row engine evaluates (active, no
// NULL operand) is handed to evalArith itself, whose value or error the
// kernel then takes; so the flag may be conservative, and the error is
// the row engine's own, text included.

// binOperands evaluates both operands of a binary node; a constant is
// its one-value array, read with index mask 0 (an array's mask is -1).
type binOperands struct {
	la, ra arrow.Array
	am, bm int
	valid  []byte // rows where neither operand is NULL (nil: all)
	null   bool   // a constant operand is NULL: every row is
}

func evalOperands(rn *vrun, l, r kern) binOperands {
	var o binOperands
	o.am, o.bm = -1, -1
	if c, ok := l.(*constK); ok {
		c.one.Retain()
		o.la, o.am = c.one, 0
		o.null = c.v == nil
	} else {
		o.la = rn.eval(l, nil)
	}
	if c, ok := r.(*constK); ok {
		c.one.Retain()
		o.ra, o.bm = c.one, 0
		o.null = o.null || c.v == nil
	} else {
		o.ra = rn.eval(r, nil)
	}
	n := int(rn.b.NumRows())
	var lv, rv []byte
	if o.am != 0 {
		lv = validOf(o.la)
	}
	if o.bm != 0 {
		rv = validOf(o.ra)
	}
	o.valid = andValid(n, lv, rv)
	if o.null || o.la.DataType().ID() == arrow.NULL || o.ra.DataType().ID() == arrow.NULL {
		o.null = true
		o.valid = make([]byte, bitutil.BytesForBits(int64(n)))
	}
	return o
}

func (o *binOperands) release() {
	o.la.Release()
	o.ra.Release()
}

// live reports whether the row engine computes row i: it is active and
// neither operand is NULL.
func (o *binOperands) live(s vsel, i int) bool {
	return s.on(i) && (o.valid == nil || bitutil.BitIsSet(o.valid, i))
}

type arithK struct {
	e    *arithB
	l, r kern
	at   arrow.DataType
}

func newArithK(e *arithB) kern {
	at, err := types.ArrowType(e.t)
	if err != nil {
		return nil
	}
	for _, t := range []types.DataType{e.l.Type(), e.r.Type()} {
		if !isNumeric(t.Kind) && t.Kind != types.KindInvalid {
			return nil
		}
	}
	return &arithK{e: e, l: compileKern(e.l), r: compileKern(e.r), at: at}
}

// slow is the row engine's arithmetic on row i.
func (k *arithK) slow(o *binOperands, i int) (types.Value, error) {
	a := types.ValueAt(o.la, i&o.am)
	b := types.ValueAt(o.ra, i&o.bm)
	return evalArith(k.e.op, a, k.e.l.Type(), b, k.e.r.Type(), k.e.t, k.e.src)
}

func (k *arithK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	o := evalOperands(rn, k.l, k.r)
	defer o.release()
	if o.null {
		return nullArray(k.at, n), rn.fail
	}
	var out arrow.Array
	switch k.e.t.Kind {
	case types.Int, types.BigInt:
		out = k.ints(rn, &o, n)
	case types.Double:
		out = k.doubles(rn, &o, n)
	default:
		if k.e.t.Is128() || k.e.l.Type().Is128() || k.e.r.Type().Is128() {
			out = k.decimals128(rn, &o, n)
		} else {
			out = k.decimals(rn, &o, n)
		}
	}
	return out, rn.fail
}

// ints reads an integral array as int64.
func ints(a arrow.Array) []int64 {
	if x, ok := a.(*array.Int32); ok {
		return widen[int32, int64](x.Int32Values())
	}
	return fixedVals[int64](a)
}

// mulOK is x*y and whether it fits int64 (from the 128-bit product).
func mulOK(x, y int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	hi -= uint64(x>>63) & uint64(y)
	hi -= uint64(y>>63) & uint64(x)
	return int64(lo), hi == uint64(int64(lo)>>63)
}

func (k *arithK) ints(rn *vrun, o *binOperands, n int) arrow.Array {
	narrow := k.e.t.Kind == types.Int
	var z64 []int64
	var z32 []int32
	if narrow {
		z32 = make([]int32, n)
	} else {
		z64 = make([]int64, n)
	}
	var bad []int
	l32, lok := o.la.(*array.Int32)
	r32, rok := o.ra.(*array.Int32)
	switch {
	case lok && rok:
		bad = intLoop(k.e.op, l32.Int32Values(), r32.Int32Values(), o.am, o.bm, rn.s.n, z64, z32)
	case lok:
		bad = intLoop(k.e.op, l32.Int32Values(), fixedVals[int64](o.ra), o.am, o.bm, rn.s.n, z64, z32)
	case rok:
		bad = intLoop(k.e.op, fixedVals[int64](o.la), r32.Int32Values(), o.am, o.bm, rn.s.n, z64, z32)
	default:
		bad = intLoop(k.e.op, fixedVals[int64](o.la), fixedVals[int64](o.ra), o.am, o.bm, rn.s.n, z64, z32)
	}
	if narrow {
		k.fixRows(rn, o, bad, func(i int, v types.Value) { x, _ := v.(int32); z32[i] = x })
		return newFixedArray(k.at, z32, o.valid)
	}
	k.fixRows(rn, o, bad, func(i int, v types.Value) { z64[i], _ = v.(int64) })
	return newFixedArray(k.at, z64, o.valid)
}

// intLoop computes x op y over the first m rows in int64 into z64, or
// into z32 (then a result outside INT is flagged too); it returns the
// flagged rows in order.
func intLoop[A, B int32 | int64](op string, x []A, y []B, am, bm, m int, z64 []int64, z32 []int32) []int {
	var bad []int
	put := func(i int, v int64) {
		if z32 == nil {
			z64[i] = v
		} else if v < math.MinInt32 || v > math.MaxInt32 {
			bad = append(bad, i)
		} else {
			z32[i] = int32(v)
		}
	}
	switch op {
	case "+":
		for i := 0; i < m; i++ {
			a, b := int64(x[i&am]), int64(y[i&bm])
			v := a + b
			if (v > a) != (b > 0) {
				bad = append(bad, i)
				continue
			}
			put(i, v)
		}
	case "-":
		for i := 0; i < m; i++ {
			a, b := int64(x[i&am]), int64(y[i&bm])
			v := a - b
			if (v < a) != (b > 0) {
				bad = append(bad, i)
				continue
			}
			put(i, v)
		}
	case "*":
		var a0 A
		var b0 B
		if unsafe.Sizeof(a0) == 4 && unsafe.Sizeof(b0) == 4 { // an INT product fits int64
			for i := 0; i < m; i++ {
				put(i, int64(x[i&am])*int64(y[i&bm]))
			}
			break
		}
		for i := 0; i < m; i++ {
			v, ok := mulOK(int64(x[i&am]), int64(y[i&bm]))
			if !ok {
				bad = append(bad, i)
				continue
			}
			put(i, v)
		}
	case "/":
		for i := 0; i < m; i++ {
			b := int64(y[i&bm])
			if b == 0 || b == -1 {
				bad = append(bad, i)
				continue
			}
			put(i, int64(x[i&am])/b)
		}
	default:
		for i := 0; i < m; i++ {
			b := int64(y[i&bm])
			if b == 0 || b == -1 {
				bad = append(bad, i)
				continue
			}
			put(i, int64(x[i&am])%b)
		}
	}
	return bad
}

// fixRows has evalArith compute the flagged rows the row engine
// evaluates, in order, until one fails.
func (k *arithK) fixRows(rn *vrun, o *binOperands, bad []int, set func(i int, v types.Value)) {
	for _, i := range bad {
		if !o.live(rn.s, i) {
			continue
		}
		v, err := k.slow(o, i)
		if err != nil {
			rn.failAt(i, err)
			return
		}
		set(i, v)
	}
}

func (k *arithK) doubles(rn *vrun, o *binOperands, n int) arrow.Array {
	x, y := f64s(o.la, k.e.l.Type()), f64s(o.ra, k.e.r.Type())
	z := make([]float64, n)
	m := rn.s.n
	am, bm := o.am, o.bm
	switch k.e.op {
	case "+":
		for i := 0; i < m; i++ {
			z[i] = x[i&am] + y[i&bm]
		}
	case "-":
		for i := 0; i < m; i++ {
			z[i] = x[i&am] - y[i&bm]
		}
	case "*":
		for i := 0; i < m; i++ {
			z[i] = x[i&am] * y[i&bm]
		}
	case "/":
		for i := 0; i < m; i++ {
			z[i] = x[i&am] / y[i&bm]
		}
	default:
		for i := 0; i < m; i++ {
			z[i] = math.Mod(x[i&am], y[i&bm])
		}
	}
	// A zero divisor, or a NaN or infinite result, is evalArith's to
	// judge: an error, or the value when an operand was NaN or infinite.
	div := k.e.op == "/" || k.e.op == "%"
	var bad []int
	for i := 0; i < m; i++ {
		if v := z[i]; v-v != 0 || (div && y[i&bm] == 0) {
			bad = append(bad, i)
		}
	}
	k.fixRows(rn, o, bad, func(i int, v types.Value) { z[i], _ = v.(float64) })
	return newFixedArray(k.at, z, o.valid)
}

// decOperand reads an integral or DECIMAL array as unscaled int64s and
// their scale.
func decOperand(a arrow.Array, t types.DataType) ([]int64, int) {
	if d, ok := a.(*array.Decimal128); ok {
		vs := fixedVals[decimal128.Num](d)
		out := make([]int64, len(vs))
		for i, v := range vs {
			out[i] = int64(v.LowBits())
		}
		return out, t.Scale
	}
	return ints(a), 0
}

// divRound64 divides rounding half away from zero, as divRound does.
func divRound64(x, y int64) int64 {
	q, r := x/y, x%y
	if r == 0 {
		return q
	}
	ar, ay := r, y
	if ar < 0 {
		ar = -ar
	}
	if ay < 0 {
		ay = -ay
	}
	if ar >= ay-ar {
		if (x < 0) != (y < 0) {
			return q - 1
		}
		return q + 1
	}
	return q
}

func (k *arithK) decimals(rn *vrun, o *binOperands, n int) arrow.Array {
	x, sx := decOperand(o.la, k.e.l.Type())
	y, sy := decOperand(o.ra, k.e.r.Type())
	rt := k.e.t
	lim := pow10i[rt.Precision]
	z := make([]decimal128.Num, n)
	op := k.e.op[0] // one byte: a cheap switch per row
	s := max(sx, sy)
	px, py := pow10i[s-sx], pow10i[s-sy]
	for i := 0; i < rn.s.n; i++ {
		a, b := x[i&o.am], y[i&o.bm]
		var v int64
		ok := b != math.MinInt64 && a != math.MinInt64
		switch op {
		case '+', '-', '%':
			var ok1, ok2 bool
			a, ok1 = mulOK(a, px)
			b, ok2 = mulOK(b, py)
			ok = ok && ok1 && ok2 && s == rt.Scale
			switch op {
			case '+':
				v = a + b
				ok = ok && (v > a) == (b > 0)
			case '-':
				v = a - b
				ok = ok && (v < a) == (b > 0)
			default:
				if b == 0 {
					ok = false
				} else {
					v = a % b
				}
			}
		case '*':
			var ok1 bool
			v, ok1 = mulOK(a, b)
			ok = ok && ok1
			if d := sx + sy - rt.Scale; d > 0 && ok {
				v = divRound64(v, pow10i[d])
			}
		default: // "/"
			d := rt.Scale + sy - sx
			if b == 0 || d < 0 || d > 18 {
				ok = false
				break
			}
			num, ok1 := mulOK(a, pow10i[d])
			ok = ok && ok1
			if ok {
				v = divRound64(num, b)
			}
		}
		if !ok || v <= -lim || v >= lim {
			if !o.live(rn.s, i) {
				continue
			}
			r, err := k.slow(o, i)
			if err != nil {
				rn.failAt(i, err)
				break
			}
			dv, _ := r.(types.Decimal)
			v = int64(dv)
		}
		z[i] = decimal128.FromI64(v)
	}
	return newFixedArray(k.at, z, o.valid)
}

// negK is unary minus; only the most negative integers fail.
type negK struct {
	e  *negB
	x  kern
	at arrow.DataType
}

func (k *negK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	rn := &vrun{ctx: ctx, b: b, s: s}
	a := rn.eval(k.x, nil)
	defer a.Release()
	valid := validOf(a)
	live := func(i int) bool { return rn.s.on(i) && (valid == nil || bitutil.BitIsSet(valid, i)) }
	switch x := a.(type) {
	case *array.Int32:
		vs := x.Int32Values()
		z := make([]int32, len(vs))
		for i, v := range vs {
			if v == math.MinInt32 && live(i) {
				_, err := negate(v, k.e.x.Type(), k.e.src)
				rn.failAt(i, err)
				break
			}
			z[i] = -v
		}
		return newFixedArray(k.at, z, valid), rn.fail
	case *array.Int64:
		vs := x.Int64Values()
		z := make([]int64, len(vs))
		for i, v := range vs {
			if v == math.MinInt64 && live(i) {
				_, err := negate(v, k.e.x.Type(), k.e.src)
				rn.failAt(i, err)
				break
			}
			z[i] = -v
		}
		return newFixedArray(k.at, z, valid), rn.fail
	case *array.Float32:
		return newFixedArray(k.at, negAll(fixedVals[float32](a)), valid), rn.fail
	case *array.Float64:
		return newFixedArray(k.at, negAll(fixedVals[float64](a)), valid), rn.fail
	case *array.Decimal128:
		vs := fixedVals[decimal128.Num](a)
		z := make([]decimal128.Num, len(vs))
		for i, v := range vs {
			z[i] = v.Negate() // at most 38 digits: never overflows
		}
		return newFixedArray(k.at, z, valid), rn.fail
	}
	return nullArray(k.at, int(b.NumRows())), rn.fail
}

func negAll[T float32 | float64](vs []T) []T {
	z := make([]T, len(vs))
	for i, v := range vs {
		z[i] = -v
	}
	return z
}

// concatK is || over strings.
type concatK struct{ l, r kern }

func (k *concatK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	o := evalOperands(rn, k.l, k.r)
	defer o.release()
	if o.null {
		return nullArray(arrow.BinaryTypes.String, n), rn.fail
	}
	lo, ld := varBin(o.la)
	ro, rd := varBin(o.ra)
	offs := make([]int32, n+1)
	var data []byte
	for i := 0; i < n; i++ {
		if o.valid == nil || bitutil.BitIsSet(o.valid, i) {
			ia, ib := i&o.am, i&o.bm
			data = append(data, ld[lo[ia]:lo[ia+1]]...)
			data = append(data, rd[ro[ib]:ro[ib+1]]...)
		}
		offs[i+1] = int32(len(data))
	}
	return newVarArray(arrow.BinaryTypes.String, offs, data, o.valid), rn.fail
}
