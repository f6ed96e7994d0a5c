package query

import (
	"math"

	"github.com/siltdb/silt/types"
)

// Math functions: ROUND, FLOOR, CEIL, POWER, SQRT, MOD. Rounding is half
// away from zero. ROUND, FLOOR and CEIL keep integers integers and
// DECIMALs DECIMALs (with the scale ROUND's digits ask for); POWER and
// SQRT compute in DOUBLE; MOD(a, b) is a % b.

func bindMathFunc(b *binder, f *funcCall, args []bexpr) (bexpr, bool, error) {
	var out bexpr
	var err error
	switch f.name {
	case "ROUND":
		out, err = bindRound(f, args)
	case "FLOOR", "CEIL", "CEILING":
		if err = checkArgs(f, args, 1, 1, numArg); err == nil {
			out = bindFloorCeil(f, args, f.name == "FLOOR")
		}
	case "POWER", "POW":
		if err = checkArgs(f, args, 2, 2, numArg, numArg); err == nil {
			out = strict(toDoubles(args), types.TDouble, func(v []types.Value) (types.Value, error) {
				return math.Pow(v[0].(float64), v[1].(float64)), nil
			})
		}
	case "SQRT":
		if err = checkArgs(f, args, 1, 1, numArg); err == nil {
			out = strict(toDoubles(args), types.TDouble, func(v []types.Value) (types.Value, error) {
				x := v[0].(float64)
				if x < 0 {
					return nil, errf(types.ErrInvalid, "SQRT of a negative number (%v) in %s", x, f)
				}
				return math.Sqrt(x), nil
			})
		}
	case "MOD":
		if err = checkArgs(f, args, 2, 2, numArg, numArg); err == nil {
			out, err = b.bindBinary(&binaryExpr{pos: f.pos, op: "%", l: f.args[0], r: f.args[1]})
		}
	default:
		return nil, false, nil
	}
	return out, true, err
}

// toDoubles casts the arguments to DOUBLE.
func toDoubles(args []bexpr) []bexpr {
	out := make([]bexpr, len(args))
	for i, a := range args {
		switch {
		case a.Type().Kind == types.Double:
			out[i] = a
		case a.Type().Kind == types.KindInvalid:
			out[i] = &constB{t: types.TDouble}
		default:
			out[i] = &castB{x: a, to: types.TDouble, explicit: true}
		}
	}
	return out
}

// roundInt rounds x to a multiple of 10^digits (digits ≥ 1), half away
// from zero; ok is false on overflow.
func roundInt(x int64, digits int64) (int64, bool) {
	if digits >= 19 {
		return 0, true
	}
	m := pow10i[digits]
	q, r := x/m, x%m
	if r >= (m+1)/2 && m > 1 {
		q++
	} else if -r >= (m+1)/2 && m > 1 {
		q--
	}
	if q > math.MaxInt64/m || q < math.MinInt64/m {
		return 0, false
	}
	return q * m, true
}

// floorCeilInt rounds x down (or up) to a multiple of 10^digits.
func floorCeilInt(x int64, digits int, floor bool) int64 {
	m := pow10i[digits]
	q, r := x/m, x%m
	if floor && r < 0 {
		q--
	} else if !floor && r > 0 {
		q++
	}
	return q * m
}

func bindRound(f *funcCall, args []bexpr) (bexpr, error) {
	if err := checkArgs(f, args, 1, 2, numArg, intArg); err != nil {
		return nil, err
	}
	t := args[0].Type()
	digits := int64(0)
	constDigits := true
	if len(args) == 2 {
		c, ok := args[1].(*constB)
		if ok && c.v != nil {
			digits, _ = asInt64(c.v)
			digits = max(-40, min(digits, 40))
		} else {
			constDigits = false
		}
	}
	switch t.Kind {
	case types.Float, types.Double, types.KindInvalid:
		dargs := append(toDoubles(args[:1]), args[1:]...)
		return typedOr(dargs, strict(dargs, types.TDouble, func(v []types.Value) (types.Value, error) {
			d := int64(0)
			if len(v) == 2 {
				d, _ = asInt64(v[1])
			}
			return roundFloat(v[0].(float64), d), nil
		}), types.Double, func(c []types.Value) *unaryFnB {
			d := int64(0)
			if len(c) == 1 {
				d = constInt(c[0])
			}
			return &unaryFnB{t: types.TDouble, f2f: func(x float64) float64 { return roundFloat(x, d) }}
		}), nil
	case types.Int, types.BigInt:
		return strict(args, t, func(v []types.Value) (types.Value, error) {
			d := int64(0)
			if len(v) == 2 {
				d, _ = asInt64(v[1])
			}
			x, _ := asInt64(v[0])
			if d >= 0 {
				return v[0], nil
			}
			d = max(d, -40)
			r, ok := roundInt(x, -d)
			if !ok || (t.Kind == types.Int && (r > math.MaxInt32 || r < math.MinInt32)) {
				return nil, errf(types.ErrInvalid, "%s overflow in %s", t, f)
			}
			if t.Kind == types.Int {
				return int32(r), nil
			}
			return r, nil
		}), nil
	}
	// DECIMAL(p,s): the result has scale min(max(digits, 0), s).
	if !constDigits {
		return nil, errf(types.ErrInvalid, "ROUND of a DECIMAL needs a constant number of digits, got %s in %s", f.args[1], f)
	}
	scale := int(min(max(digits, 0), int64(t.Scale)))
	rt := types.TDecimal(t.Precision, scale)
	if t.Is128() {
		return strict(args[:1], rt, func(v []types.Value) (types.Value, error) {
			return roundDecimal128(v[0], t, rt, digits, f)
		}), nil
	}
	return strict(args[:1], rt, func(v []types.Value) (types.Value, error) {
		x := int64(v[0].(types.Decimal))
		drop := int64(t.Scale) - digits // digits to round away
		if drop <= 0 {
			return v[0], nil
		}
		r, ok := roundInt(x, drop)
		if !ok {
			return nil, errf(types.ErrInvalid, "%s overflow in %s", rt, f)
		}
		return types.Decimal(r / pow10i[t.Scale-scale]), nil
	}), nil
}

// roundFloat rounds x to d decimal digits, half away from zero.
func roundFloat(x float64, d int64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	switch {
	case d == 0:
		return math.Round(x)
	case d > 300 || d < -300:
		if d > 0 {
			return x
		}
		return 0
	case d > 0:
		m := math.Pow(10, float64(d))
		r := math.Round(x*m) / m
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return x
		}
		return r
	}
	m := math.Pow(10, float64(-d))
	return math.Round(x/m) * m
}

func bindFloorCeil(f *funcCall, args []bexpr, floor bool) bexpr {
	t := args[0].Type()
	switch t.Kind {
	case types.Int, types.BigInt:
		return args[0]
	case types.DecimalKind:
		rt := types.TDecimal(t.Precision, 0)
		if t.Is128() {
			return strict(args, rt, func(v []types.Value) (types.Value, error) {
				return floorCeilDecimal128(v[0], t, rt, floor)
			})
		}
		return strict(args, rt, func(v []types.Value) (types.Value, error) {
			x := int64(v[0].(types.Decimal))
			return types.Decimal(floorCeilInt(x, t.Scale, floor) / pow10i[t.Scale]), nil
		})
	}
	fn := math.Ceil
	if floor {
		fn = math.Floor
	}
	return &unaryFnB{x: toDoubles(args)[0], t: types.TDouble, f2f: fn}
}
