package query

import (
	"cmp"
	"fmt"
	"math"
	"math/big"

	"github.com/siltdb/silt/types"
)

// Arithmetic and comparison of typed values.
//
// Result types: INT op INT is INT; other integer mixes are BIGINT; any
// FLOAT or DOUBLE operand makes DOUBLE; otherwise a DECIMAL operand makes
// DECIMAL (+ - keep the larger scale and add a digit, * adds precisions
// and scales, / keeps six more digits and the integer digits the quotient
// can need, at least 18; all at most 38, DuckDB's rules except that * and
// / do not overflow where a wider result fits). Integer division
// truncates. Overflow and division by zero are errors.

// arithType returns the result type of l op r.
func arithType(op string, l, r types.DataType) (types.DataType, bool) {
	if l.Kind == types.KindInvalid {
		l = r
	}
	if r.Kind == types.KindInvalid {
		r = l
	}
	if l.Kind == types.KindInvalid { // NULL op NULL
		return types.TInt, true
	}
	if !isNumeric(l.Kind) || !isNumeric(r.Kind) {
		return types.DataType{}, false
	}
	switch {
	case isFloating(l.Kind) || isFloating(r.Kind):
		return types.TDouble, true
	case l.Kind == types.DecimalKind || r.Kind == types.DecimalKind:
		a, b := asDecimalType(l), asDecimalType(r)
		const maxP = types.MaxDecimalPrecision
		var p, s int
		switch op {
		case "+", "-":
			s = max(a.Scale, b.Scale)
			p = max(a.Precision-a.Scale, b.Precision-b.Scale) + s + 1
		case "*":
			s = min(maxP, a.Scale+b.Scale)
			p = a.Precision + b.Precision
		case "/":
			s = min(maxP, max(a.Scale, b.Scale)+6)
			p = max(types.MaxDecimal64Precision, a.Precision-a.Scale+b.Scale+s)
		default: // %
			s = max(a.Scale, b.Scale)
			p = max(a.Precision-a.Scale, b.Precision-b.Scale) + s
		}
		return types.TDecimal(max(min(maxP, p), s, 1), s), true
	case l.Kind == types.Int && r.Kind == types.Int:
		return types.TInt, true
	}
	return types.TBigInt, true
}

// evalArith computes a op b (both non-NULL) in result type rt; text names
// the expression in error messages.
func evalArith(op string, a types.Value, ta types.DataType, b types.Value, tb types.DataType, rt types.DataType, text fmt.Stringer) (types.Value, error) {
	switch rt.Kind {
	case types.Int, types.BigInt:
		x, ok1 := asInt64(a)
		y, ok2 := asInt64(b)
		if !ok1 || !ok2 {
			return nil, errf(types.ErrInvalid, "internal: non-integer operand in %s", text)
		}
		z, err := intOp(op, x, y, text)
		if err != nil {
			return nil, err
		}
		if rt.Kind == types.Int {
			if z < math.MinInt32 || z > math.MaxInt32 {
				return nil, errf(types.ErrInvalid, "INT overflow in %s", text)
			}
			return int32(z), nil
		}
		return z, nil
	case types.Double:
		x, ok1 := asFloat64(a, ta)
		y, ok2 := asFloat64(b, tb)
		if !ok1 || !ok2 {
			return nil, errf(types.ErrInvalid, "internal: non-numeric operand in %s", text)
		}
		var z float64
		switch op {
		case "+":
			z = x + y
		case "-":
			z = x - y
		case "*":
			z = x * y
		case "/", "%":
			if y == 0 {
				return nil, errf(types.ErrInvalid, "division by zero in %s", text)
			}
			if op == "/" {
				z = x / y
			} else {
				z = math.Mod(x, y)
			}
		}
		if (math.IsInf(z, 0) || math.IsNaN(z)) && !math.IsInf(x, 0) && !math.IsInf(y, 0) && !math.IsNaN(x) && !math.IsNaN(y) {
			return nil, errf(types.ErrInvalid, "DOUBLE overflow in %s", text)
		}
		return z, nil
	case types.DecimalKind:
		return decimalOp(op, a, ta, b, tb, rt, text)
	}
	return nil, errf(types.ErrInvalid, "internal: bad arithmetic type %s in %s", rt, text)
}

func intOp(op string, x, y int64, text fmt.Stringer) (int64, error) {
	overflow := func() (int64, error) { return 0, errf(types.ErrInvalid, "BIGINT overflow in %s", text) }
	switch op {
	case "+":
		z := x + y
		if (z > x) != (y > 0) {
			return overflow()
		}
		return z, nil
	case "-":
		z := x - y
		if (z < x) != (y > 0) {
			return overflow()
		}
		return z, nil
	case "*":
		if x == 0 || y == 0 {
			return 0, nil
		}
		z := x * y
		if z/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
			return overflow()
		}
		return z, nil
	case "/", "%":
		if y == 0 {
			return 0, errf(types.ErrInvalid, "division by zero in %s", text)
		}
		if y == -1 {
			if op == "%" {
				return 0, nil
			}
			if x == math.MinInt64 {
				return overflow()
			}
			return -x, nil
		}
		if op == "/" {
			return x / y, nil
		}
		return x % y, nil
	}
	return 0, errf(types.ErrInvalid, "internal: bad operator %s", op)
}

func decimalOp(op string, a types.Value, ta types.DataType, b types.Value, tb types.DataType, rt types.DataType, text fmt.Stringer) (types.Value, error) {
	x, sx, ok1 := asBig(a, ta)
	y, sy, ok2 := asBig(b, tb)
	if !ok1 || !ok2 {
		return nil, errf(types.ErrInvalid, "internal: non-decimal operand in %s", text)
	}
	var z *big.Int
	switch op {
	case "+", "-", "%":
		s := max(sx, sy)
		x, _ = rescale(x, sx, s)
		y, _ = rescale(y, sy, s)
		switch op {
		case "+":
			z = new(big.Int).Add(x, y)
		case "-":
			z = new(big.Int).Sub(x, y)
		default:
			if y.Sign() == 0 {
				return nil, errf(types.ErrInvalid, "division by zero in %s", text)
			}
			z = new(big.Int).Rem(x, y)
		}
		z, _ = rescale(z, s, rt.Scale)
	case "*":
		z, _ = rescale(new(big.Int).Mul(x, y), sx+sy, rt.Scale)
	case "/":
		if y.Sign() == 0 {
			return nil, errf(types.ErrInvalid, "division by zero in %s", text)
		}
		// x/10^sx ÷ y/10^sy at scale rt.Scale = x·10^(rt.Scale+sy−sx) ÷ y.
		num, _ := rescale(x, sx, rt.Scale+sy)
		z, _ = divRound(num, y)
	}
	d, ok := fitsDecimal(z, rt.Precision)
	if !ok {
		return nil, decimalOverflow(z, rt, text)
	}
	return d, nil
}

// negate returns -v for a numeric value of type t.
func negate(v types.Value, t types.DataType, text fmt.Stringer) (types.Value, error) {
	switch x := v.(type) {
	case int32:
		if x == math.MinInt32 {
			return nil, errf(types.ErrInvalid, "INT overflow in %s", text)
		}
		return -x, nil
	case int64:
		if x == math.MinInt64 {
			return nil, errf(types.ErrInvalid, "BIGINT overflow in %s", text)
		}
		return -x, nil
	case float32:
		return -x, nil
	case float64:
		return -x, nil
	case types.Decimal:
		return -x, nil
	case types.Decimal128:
		return types.Decimal128(x.Num().Negate()), nil
	}
	return nil, errf(types.ErrInvalid, "internal: cannot negate %s in %s", t, text)
}

// canCompare reports whether values of the two types can be compared.
func canCompare(a, b types.DataType) bool {
	_, ok := commonType(a, b)
	return ok
}

// compareTyped orders two non-NULL values of comparable types.
func compareTyped(a types.Value, ta types.DataType, b types.Value, tb types.DataType) int {
	if isNumeric(ta.Kind) && isNumeric(tb.Kind) && !ta.Equal(tb) {
		if x, ok := asInt64(a); ok {
			if y, ok := asInt64(b); ok {
				return cmp.Compare(x, y)
			}
		}
		if isFloating(ta.Kind) || isFloating(tb.Kind) {
			x, _ := asFloat64(a, ta)
			y, _ := asFloat64(b, tb)
			return cmp.Compare(x, y)
		}
		x, sx, ok1 := asBig(a, ta)
		y, sy, ok2 := asBig(b, tb)
		if ok1 && ok2 {
			s := max(sx, sy)
			x, _ = rescale(x, sx, s)
			y, _ = rescale(y, sy, s)
			return x.Cmp(y)
		}
	}
	a, b = comparableTemporal(a, ta, b, tb)
	if ta.Kind != tb.Kind {
		if d, ok := a.(types.Date); ok {
			a = types.Timestamp(int64(d) * 86400 * 1_000_000)
		}
		if d, ok := b.(types.Date); ok {
			b = types.Timestamp(int64(d) * 86400 * 1_000_000)
		}
	}
	return types.Compare(a, b)
}
