package query

import (
	"context"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// CAST kernels. As in arithmetic, a loop flags the rows it cannot convert
// itself (out of range, lost digits, NaN, a cast the statement did not
// write explicitly, invalid UTF-8) and hands them to castValue, taking
// its value or its error. Strings are parsed by castValue, value by
// value. FLOAT/DOUBLE to DECIMAL goes through decimal text in the row
// engine: its kernel hands every value to castValue. DECIMALs of more
// than 18 digits convert in 128 bits (castDecimal128).

type castK struct {
	e        *castB
	x        kern
	at       arrow.DataType
	from, to types.DataType
}

func newCastK(e *castB) kern {
	from, to := e.x.Type(), e.to
	at, err := types.ArrowType(to)
	if err != nil || from.Kind == types.KindInvalid {
		return nil
	}
	if from.Kind == to.Kind && to.Kind != types.DecimalKind {
		return compileKern(e.x) // castValue returns the value as it is
	}
	if !castable(from, to) {
		return nil
	}
	return &castK{e: e, x: compileKern(e.x), at: at, from: from, to: to}
}

// slow is castValue on row i of a.
func (k *castK) slow(a arrow.Array, i int) (types.Value, error) {
	return castValue(types.ValueAt(a, i), k.from, k.to, k.e.explicit)
}

// castLoop walks the rows the row engine converts (active, not NULL) in
// order; f converts row i, or returns false to have castValue do it, and
// then set receives castValue's value. It stops at the first error.
func castLoop(rn *vrun, k *castK, a arrow.Array, valid []byte, f func(i int) bool, set func(i int, v types.Value)) {
	for i := 0; i < rn.s.n; i++ {
		if !rn.s.on(i) || (valid != nil && !bitutil.BitIsSet(valid, i)) {
			continue
		}
		if f(i) {
			continue
		}
		v, err := k.slow(a, i)
		if err != nil {
			rn.failAt(i, err)
			return
		}
		set(i, v)
	}
}

func (k *castK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	a := rn.eval(k.x, nil)
	defer a.Release()
	valid := validOf(a)
	// Widening casts never fail: one loop, no per-row checks (and always
	// a new array: the kinds differ, so nothing aliases a's memory).
	switch {
	case k.to.Kind == types.BigInt && k.from.Kind == types.Int:
		return newFixedArray(k.at, ints(a), valid), rn.fail
	case k.to.Kind == types.Double && isNumeric(k.from.Kind) && k.from.Kind != types.Double:
		return newFixedArray(k.at, f64s(a, k.from), valid), rn.fail
	}
	if out, ok := k.castTemporalK(rn, a, valid, n); ok {
		return out, rn.fail
	}
	exp := k.e.explicit
	src := castSource(a, k.from)
	switch k.to.Kind {
	case types.Int, types.BigInt:
		narrow := k.to.Kind == types.Int
		z := make([]int64, n)
		castLoop(rn, k, a, valid, func(i int) bool {
			var v int64
			switch {
			case src.i != nil:
				v = src.i[i]
			case src.b != nil && exp:
				v = int64(src.b[i])
			case src.d != nil:
				p := pow10i[src.scale]
				v = src.d[i] / p
				if src.d[i]%p != 0 && !exp {
					return false
				}
			case src.d128 != nil:
				var ok bool
				if v, ok = num128ToInt(src.d128[i], src.scale, exp); !ok {
					return false
				}
			case src.f != nil:
				f := src.f[i]
				if f != f || (f != math.Trunc(f) && !exp) {
					return false
				}
				f = math.Trunc(f)
				if f < math.MinInt64 || f >= math.MaxInt64 {
					return false
				}
				v = int64(f)
			default:
				return false
			}
			if narrow && (v < math.MinInt32 || v > math.MaxInt32) {
				return false
			}
			z[i] = v
			return true
		}, func(i int, v types.Value) { z[i], _ = asInt64(v) })
		if narrow {
			z32 := make([]int32, n)
			for i, v := range z {
				z32[i] = int32(v)
			}
			return newFixedArray(k.at, z32, valid), rn.fail
		}
		return newFixedArray(k.at, z, valid), rn.fail
	case types.Float, types.Double:
		z := make([]float64, n)
		castLoop(rn, k, a, valid, func(i int) bool {
			var f float64
			switch {
			case src.i != nil:
				f = float64(src.i[i])
			case src.f != nil:
				f = src.f[i]
			case src.d != nil:
				f = decToF64(src.d[i], src.scale)
			case src.d128 != nil:
				f = num128ToF64(src.d128[i], src.scale)
			case src.b != nil && exp:
				f = float64(src.b[i])
			default:
				return false
			}
			if k.to.Kind == types.Float && math.IsInf(float64(float32(f)), 0) && !math.IsInf(f, 0) {
				return false
			}
			z[i] = f
			return true
		}, func(i int, v types.Value) {
			switch x := v.(type) {
			case float32:
				z[i] = float64(x)
			case float64:
				z[i] = x
			}
		})
		if k.to.Kind == types.Float {
			z32 := make([]float32, n)
			for i, v := range z {
				z32[i] = float32(v)
			}
			return newFixedArray(k.at, z32, valid), rn.fail
		}
		return newFixedArray(k.at, z, valid), rn.fail
	case types.DecimalKind:
		if k.to.Is128() || k.from.Is128() || src.f != nil {
			return k.toDecimal128(rn, a, valid, src, n), rn.fail
		}
		z := make([]decimal128.Num, n)
		lim := pow10i[k.to.Precision]
		castLoop(rn, k, a, valid, func(i int) bool {
			var x int64
			scale := 0
			switch {
			case src.i != nil:
				x = src.i[i]
			case src.d != nil:
				x, scale = src.d[i], src.scale
			default:
				return false
			}
			var v int64
			if d := k.to.Scale - scale; d >= 0 {
				var ok bool
				if v, ok = mulOK(x, pow10i[d]); !ok {
					return false
				}
			} else {
				if x == math.MinInt64 || -d > 18 {
					return false
				}
				v = divRound64(x, pow10i[-d])
				if x%pow10i[-d] != 0 && !exp {
					return false
				}
			}
			if v <= -lim || v >= lim {
				return false
			}
			z[i] = decimal128.FromI64(v)
			return true
		}, func(i int, v types.Value) {
			d, _ := v.(types.Decimal)
			z[i] = decimal128.FromI64(int64(d))
		})
		return newFixedArray(k.at, z, valid), rn.fail
	case types.Boolean:
		z := make([]byte, bitutil.BytesForBits(int64(n)))
		castLoop(rn, k, a, valid, func(i int) bool {
			if src.i == nil || !exp {
				return false
			}
			if src.i[i] != 0 {
				setBit(z, i)
			}
			return true
		}, func(i int, v types.Value) {
			if x, _ := v.(bool); x {
				setBit(z, i)
			}
		})
		return newBoolArray(n, z, valid), rn.fail
	case types.DateKind:
		z := make([]int32, n)
		castLoop(rn, k, a, valid, func(i int) bool {
			if src.ts == nil || !exp {
				return false
			}
			z[i] = int32(floorDiv(src.ts[i], 86400*1_000_000))
			return true
		}, func(i int, v types.Value) { d, _ := v.(types.Date); z[i] = int32(d) })
		return newFixedArray(k.at, z, valid), rn.fail
	case types.TimestampKind:
		z := make([]int64, n)
		castLoop(rn, k, a, valid, func(i int) bool {
			if src.date == nil {
				return false
			}
			z[i] = int64(src.date[i]) * 86400 * 1_000_000
			return true
		}, func(i int, v types.Value) { ts, _ := v.(types.Timestamp); z[i] = int64(ts) })
		return newFixedArray(k.at, z, valid), rn.fail
	case types.String, types.Bytes:
		return k.toVar(rn, a, valid, src, n), rn.fail
	}
	return nullArray(k.at, n), rn.fail
}

// toVar converts to STRING or BYTES, appending each value's bytes.
func (k *castK) toVar(rn *vrun, a arrow.Array, valid []byte, src castSrc, n int) arrow.Array {
	offs := make([]int32, n+1)
	var data []byte
	exp := k.e.explicit
	last := 0 // rows before last have their offsets set
	fill := func(i int) {
		for ; last <= i; last++ {
			offs[last] = int32(len(data))
		}
	}
	castLoop(rn, k, a, valid, func(i int) bool {
		fill(i)
		switch {
		case !exp && (k.to.Kind == types.String || k.from.Kind == types.String):
			return false
		case src.i != nil:
			data = strconv.AppendInt(data, src.i[i], 10)
		case src.fbits != 0:
			data = strconv.AppendFloat(data, src.f[i], 'g', -1, src.fbits)
		case src.d != nil:
			data = append(data, types.FormatDecimal(src.d[i], src.scale)...)
		case src.d128 != nil:
			data = append(data, types.FormatDecimal128(types.Decimal128(src.d128[i]), src.scale)...)
		case src.b != nil:
			data = strconv.AppendBool(data, src.b[i] != 0)
		case src.offs != nil:
			x := src.data[src.offs[i]:src.offs[i+1]]
			if k.to.Kind == types.String && (k.from.Kind != types.Bytes || !utf8.Valid(x)) {
				return false
			}
			data = append(data, x...)
		case src.date != nil:
			data = types.Date(src.date[i]).Time().AppendFormat(data, "2006-01-02")
		case src.ts != nil:
			data = types.Timestamp(src.ts[i]).Time().AppendFormat(data, "2006-01-02 15:04:05.999999")
		default:
			return false
		}
		return true
	}, func(i int, v types.Value) {
		switch x := v.(type) {
		case string:
			data = append(data, x...)
		case []byte:
			data = append(data, x...)
		}
	})
	fill(n)
	return newVarArray(k.at, offs, data, valid)
}

// castSrc is a cast's operand in the form its loops read: exactly one of
// the slices is set.
type castSrc struct {
	i     []int64 // INT, BIGINT
	f     []float64
	fbits int // 32 or 64 for FLOAT or DOUBLE
	d     []int64
	d128  []decimal128.Num // DECIMAL of more than 18 digits
	scale int
	b     []uint8
	date  []int32
	ts    []int64
	offs  []int32 // STRING, BYTES
	data  []byte
}

func castSource(a arrow.Array, t types.DataType) castSrc {
	var s castSrc
	switch a.(type) {
	case *array.Int32, *array.Int64:
		s.i = ints(a)
	case *array.Float32:
		s.f, s.fbits = f64s(a, t), 32
	case *array.Float64:
		s.f, s.fbits = f64s(a, t), 64
	case *array.Decimal128:
		if t.Is128() {
			s.d128, s.scale = fixedVals[decimal128.Num](a), t.Scale
		} else {
			s.d, s.scale = decOperand(a, t)
		}
	case *array.Boolean:
		s.b = unpackBools(a)
	case *array.Date32:
		s.date = fixedVals[int32](a)
	case *array.Timestamp:
		if t.Kind == types.TimestampKind { // TIMESTAMP_LTZ renders and converts through castValue
			s.ts = fixedVals[int64](a)
		}
	case *array.String, *array.Binary:
		s.offs, s.data = varBin(a)
	}
	return s
}
