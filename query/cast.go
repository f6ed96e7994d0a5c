package query

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/siltdb/silt/types"
)

// Type rules and conversions between column types.
//
// Implicit conversions (comparisons, INSERT and UPDATE values, COALESCE and
// CASE branches) never lose information: INT↔BIGINT↔DECIMAL when the value
// fits, any number to FLOAT/DOUBLE, DATE to TIMESTAMP. Literals written in
// the statement are more flexible: a string literal converts to any type by
// parsing it ('2024-01-01' compared with a DATE column), a numeric literal to
// any numeric type it fits. CAST converts explicitly: fractions are
// truncated towards zero, anything renders to STRING, strings parse.

// nullType is the type of an untyped NULL literal.
var nullType = types.DataType{}

func errf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

func isNumeric(k types.Kind) bool {
	switch k {
	case types.Int, types.BigInt, types.Float, types.Double, types.DecimalKind:
		return true
	}
	return false
}

func isIntegral(k types.Kind) bool { return k == types.Int || k == types.BigInt }
func isFloating(k types.Kind) bool { return k == types.Float || k == types.Double }

// valueText renders a value for an error message, quoting strings.
func valueText(v types.Value, t types.DataType) string {
	switch x := v.(type) {
	case string:
		s := quoteString(x)
		if len(s) > 40 {
			s = s[:37] + "...'"
		}
		return s
	case types.Date:
		return "DATE '" + types.FormatValue(v, t) + "'"
	case types.Timestamp:
		return "TIMESTAMP '" + types.FormatValue(v, t) + "'"
	case types.TimeOfDay, types.TimestampLTZ, types.UUID:
		return typedLiteralText(t) + " '" + types.FormatValue(v, t) + "'"
	}
	return types.FormatValue(v, t)
}

// asInt64 returns an integral value as int64.
func asInt64(v types.Value) (int64, bool) {
	switch x := v.(type) {
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// asFloat64 widens any numeric value of type t to float64.
func asFloat64(v types.Value, t types.DataType) (float64, bool) {
	switch x := v.(type) {
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case types.Decimal:
		f, err := strconv.ParseFloat(types.FormatDecimal(int64(x), t.Scale), 64)
		return f, err == nil
	case types.Decimal128:
		f, err := strconv.ParseFloat(types.FormatDecimal128(x, t.Scale), 64)
		return f, err == nil
	}
	return 0, false
}

// asBig returns a numeric integral or decimal value as an unscaled big
// integer and its scale.
func asBig(v types.Value, t types.DataType) (*big.Int, int, bool) {
	switch x := v.(type) {
	case int32:
		return big.NewInt(int64(x)), 0, true
	case int64:
		return big.NewInt(x), 0, true
	case types.Decimal:
		return big.NewInt(int64(x)), t.Scale, true
	case types.Decimal128:
		return x.Num().BigInt(), t.Scale, true
	}
	return nil, 0, false
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// rescale changes the scale of an unscaled value, rounding half away from
// zero when digits are dropped. It reports whether the result is exact.
func rescale(x *big.Int, from, to int) (*big.Int, bool) {
	if to >= from {
		return new(big.Int).Mul(x, pow10(to-from)), true
	}
	return divRound(x, pow10(from-to))
}

// divRound divides rounding half away from zero; exact reports a zero
// remainder.
func divRound(x, y *big.Int) (*big.Int, bool) {
	q, r := new(big.Int).QuoRem(x, y, new(big.Int))
	if r.Sign() == 0 {
		return q, true
	}
	if new(big.Int).Abs(new(big.Int).Lsh(r, 1)).Cmp(new(big.Int).Abs(y)) >= 0 {
		if x.Sign()*y.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q, false
}

// fitsDecimal converts an unscaled value to the value of a DECIMAL of
// precision p: a Decimal up to 18 digits, a Decimal128 above.
func fitsDecimal(x *big.Int, p int) (types.Value, bool) {
	if new(big.Int).Abs(x).Cmp(pow10(p)) >= 0 {
		return nil, false
	}
	if p > types.MaxDecimal64Precision {
		return types.Decimal128(decimal128.FromBigInt(x)), true
	}
	return types.Decimal(x.Int64()), true
}

// castValue converts v from type from to type to. explicit selects CAST
// semantics; otherwise only lossless conversions succeed.
func castValue(v types.Value, from, to types.DataType, explicit bool) (types.Value, error) {
	if v == nil {
		return nil, nil
	}
	if to.IsNested() {
		return castNested(v, from, to, explicit)
	}
	if from.Kind == to.Kind && to.Kind != types.DecimalKind {
		return v, nil
	}
	fail := func(reason string) (types.Value, error) {
		if explicit {
			return nil, errf(types.ErrInvalid, "cannot CAST %s AS %s%s", valueText(v, from), to, reason)
		}
		return nil, errf(types.ErrInvalid, "cannot use %s (%s) as %s%s", valueText(v, from), typeName(from), to, reason)
	}
	if s, ok := v.(string); ok {
		if !explicit {
			return fail("")
		}
		switch to.Kind {
		case types.Bytes:
			return []byte(s), nil
		case types.DateKind:
			if d, err := types.ParseDate(s); err == nil {
				return d, nil
			}
			ts, err := types.ParseTimestamp(s)
			if err != nil {
				return fail("")
			}
			return types.DateOf(ts.Time()), nil
		case types.DecimalKind:
			x, ok := new(big.Rat).SetString(strings.TrimSpace(s))
			if !ok {
				return fail("")
			}
			return ratToDecimal(x, to, fail)
		}
		out, err := types.ParseText(s, to)
		if err != nil {
			return fail("")
		}
		return out, nil
	}
	if to.Kind != types.String {
		if out, handled := castTemporal(v, from, to, explicit); handled {
			if out == nil {
				return fail("")
			}
			return out, nil
		}
	}
	switch to.Kind {
	case types.String:
		if !explicit {
			return fail("")
		}
		if b, ok := v.([]byte); ok {
			if !utf8.Valid(b) {
				return fail(": the bytes are not valid UTF-8")
			}
			return string(b), nil
		}
		return types.FormatValue(v, from), nil
	case types.Boolean:
		if n, ok := asInt64(v); ok && explicit {
			return n != 0, nil
		}
	case types.Int, types.BigInt:
		var n int64
		switch x := v.(type) {
		case int32:
			n = int64(x)
		case int64:
			n = x
		case bool:
			if !explicit {
				return fail("")
			}
			if x {
				n = 1
			}
		case types.Decimal, types.Decimal128:
			u, _, _ := asBig(x, from)
			q, exact := new(big.Int).QuoRem(u, pow10(from.Scale), new(big.Int))
			if exact.Sign() != 0 && !explicit {
				return fail(" without losing digits")
			}
			if !q.IsInt64() {
				return fail(": out of range")
			}
			n = q.Int64()
		case float32, float64:
			f, _ := asFloat64(v, from)
			if math.IsNaN(f) {
				return fail(": not a number")
			}
			if f != math.Trunc(f) && !explicit {
				return fail(" without losing digits")
			}
			f = math.Trunc(f)
			if f < math.MinInt64 || f >= math.MaxInt64 {
				return fail(": out of range")
			}
			n = int64(f)
		default:
			return fail("")
		}
		if to.Kind == types.Int {
			if n < math.MinInt32 || n > math.MaxInt32 {
				return fail(": out of range")
			}
			return int32(n), nil
		}
		return n, nil
	case types.Float, types.Double:
		f, ok := asFloat64(v, from)
		if !ok {
			if b, isBool := v.(bool); isBool && explicit {
				f, ok = 0, true
				if b {
					f = 1
				}
			}
		}
		if !ok {
			return fail("")
		}
		if to.Kind == types.Float {
			f32 := float32(f)
			if math.IsInf(float64(f32), 0) && !math.IsInf(f, 0) {
				return fail(": out of range")
			}
			return f32, nil
		}
		return f, nil
	case types.DecimalKind:
		if x, scale, ok := asBig(v, from); ok {
			y, exact := rescale(x, scale, to.Scale)
			if !exact && !explicit {
				return fail(" without losing digits")
			}
			d, ok := fitsDecimal(y, to.Precision)
			if !ok {
				return fail(": out of range")
			}
			return d, nil
		}
		if f, ok := asFloat64(v, from); ok && isFloating(from.Kind) {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return fail("")
			}
			bits := 64
			if from.Kind == types.Float {
				bits = 32
			}
			r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, bits))
			if !ok {
				return fail("")
			}
			if !explicit && !ratExact(r, to.Scale) {
				return fail(" without losing digits")
			}
			return ratToDecimal(r, to, fail)
		}
	case types.Bytes:
		// only from BYTES (handled above) and strings
	case types.DateKind:
		if ts, ok := v.(types.Timestamp); ok && explicit {
			return types.DateOf(ts.Time()), nil
		}
	case types.TimestampKind:
		if d, ok := v.(types.Date); ok {
			return types.Timestamp(int64(d) * 86400 * 1_000_000), nil
		}
	}
	return fail("")
}

// ratExact reports whether r has at most scale fractional digits.
func ratExact(r *big.Rat, scale int) bool {
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(scale)))
	return x.IsInt()
}

// ratToDecimal rounds r half away from zero to the scale of t.
func ratToDecimal(r *big.Rat, t types.DataType, fail func(string) (types.Value, error)) (types.Value, error) {
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(t.Scale)))
	q, _ := divRound(x.Num(), x.Denom())
	d, ok := fitsDecimal(q, t.Precision)
	if !ok {
		return fail(": out of range")
	}
	return d, nil
}

// typeName names a static type for messages ("NULL" for the untyped NULL).
func typeName(t types.DataType) string {
	if t.Kind == types.KindInvalid {
		return "NULL"
	}
	return t.String()
}

// castable reports whether CAST from → to is supported for some values.
func castable(from, to types.DataType) bool {
	if from.Kind == types.KindInvalid || from.Kind == to.Kind || from.Kind == types.String || to.Kind == types.String {
		return true
	}
	if ok, handled := castableTemporal(from, to); handled {
		return ok
	}
	switch to.Kind {
	case types.Boolean:
		return isIntegral(from.Kind)
	case types.Int, types.BigInt, types.Float, types.Double:
		return isNumeric(from.Kind) || from.Kind == types.Boolean
	case types.DecimalKind:
		return isNumeric(from.Kind)
	case types.DateKind, types.TimestampKind:
		return from.Kind == types.DateKind || from.Kind == types.TimestampKind
	}
	return false
}

// implicitOK reports whether values of type from may be used where to is
// expected without CAST (the value itself may still not fit).
func implicitOK(from, to types.DataType) bool {
	if from.Kind == types.KindInvalid || from.Kind == to.Kind {
		return true
	}
	if isNumeric(from.Kind) && isNumeric(to.Kind) {
		return true
	}
	return from.Kind == types.DateKind && to.Kind == types.TimestampKind || implicitTemporal(from, to)
}

// commonType is the type two values are compared or combined in.
func commonType(a, b types.DataType) (types.DataType, bool) {
	switch {
	case a.Kind == types.KindInvalid:
		return b, true
	case b.Kind == types.KindInvalid:
		return a, true
	case a.IsNested() || b.IsNested():
		return a, sameShape(a, b)
	case a.Kind == b.Kind && a.Kind != types.DecimalKind:
		return a, true
	case a.Kind == types.TimestampLTZKind || b.Kind == types.TimestampLTZKind:
		return commonTypeTemporal(a, b)
	case isNumeric(a.Kind) && isNumeric(b.Kind):
		if isFloating(a.Kind) || isFloating(b.Kind) {
			return types.TDouble, true
		}
		if a.Kind == types.DecimalKind || b.Kind == types.DecimalKind {
			da, db := asDecimalType(a), asDecimalType(b)
			s := max(da.Scale, db.Scale)
			return types.TDecimal(min(types.MaxDecimalPrecision, max(da.Precision-da.Scale, db.Precision-db.Scale)+s), s), true
		}
		return types.TBigInt, true
	case (a.Kind == types.DateKind || a.Kind == types.TimestampKind) &&
		(b.Kind == types.DateKind || b.Kind == types.TimestampKind):
		return types.TTimestamp, true
	}
	return types.DataType{}, false
}

// asDecimalType is the DECIMAL type that holds every value of an integral
// or decimal type.
func asDecimalType(t types.DataType) types.DataType {
	switch t.Kind {
	case types.Int:
		return types.TDecimal(10, 0)
	case types.BigInt:
		return types.TDecimal(19, 0) // 9223372036854775807 has 19 digits
	}
	return t
}

// coerceLiteral converts a literal written in the statement to type to,
// using the flexible literal rules.
func coerceLiteral(l *literal, to types.DataType) (types.Value, error) {
	if l.kind == litNull || to.Kind == types.KindInvalid {
		return l.val, nil
	}
	if l.kind == litString {
		s := l.val.(string)
		if to.Kind == types.String {
			return s, nil
		}
		v, err := types.ParseText(s, to)
		if err != nil {
			return nil, errf(types.ErrInvalid, "%s is not a valid %s", valueText(s, types.TString), to)
		}
		return v, nil
	}
	return castValue(l.val, l.typ, to, false)
}
