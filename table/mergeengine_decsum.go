package table

import (
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// A DECIMAL(p,s) sum is exact. A total with more digits than p is kept
// intact while the column's storage holds it (INT32 for p <= 9, INT64 up
// to 18, the fixed-length bytes of the precision above; see
// lsm.DecimalStorable): reads then fail naming the column, and widening it
// reads the value. A total beyond the storage is an overflow, as a DECIMAL
// product that needs more than p digits is (mergeengine_overflow.go):
// reads, flushes and compactions report it as an error naming the column.
// Before, such a total wrapped silently in the storage. Apache Paimon's
// sum returns NULL there and the next value starts the sum again; silt
// refuses to lose the total.
//
// A partial sum is stored at every flush, so the rule applies to partial
// sums: values of both signs whose running total leaves the storage and
// comes back may overflow under one grouping of flushes and not under
// another.

// decimalSumAdd adds the DECIMAL value v (NULL skipped) to acc.
func decimalSumAdd(acc, v types.Value, p *aggParams) types.Value {
	if v == nil {
		return acc
	}
	if acc == nil {
		return v
	}
	return decimalSum(acc, v, p)
}

// decimalRetract subtracts the DECIMAL value v of a -U record (NULL
// skipped) from acc.
func decimalRetract(acc, v types.Value, p *aggParams) types.Value {
	if v == nil {
		return acc
	}
	if _, failed := v.(aggOverflow); failed {
		return v
	}
	if acc == nil {
		return negate(v)
	}
	return decimalSum(acc, negate(v), p)
}

// decimalSum adds two DECIMAL values of column type p.typ; an aggOverflow
// when the sum leaves 64 or 128 bits or the column's storage (or either
// already is one).
func decimalSum(x, y types.Value, p *aggParams) types.Value {
	if o, failed := x.(aggOverflow); failed {
		return o
	}
	if o, failed := y.(aggOverflow); failed {
		return o
	}
	var sum types.Value
	switch a := x.(type) {
	case types.Decimal:
		b, ok := y.(types.Decimal)
		if !ok {
			return x
		}
		s := a + b
		if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
			return aggOverflow{fn: aggSum, col: p.name, typ: p.typ}
		}
		sum = s
	case types.Decimal128:
		b, ok := y.(types.Decimal128)
		if !ok {
			return x
		}
		s, ok := types.Add128(a.Num(), b.Num())
		if !ok {
			return aggOverflow{fn: aggSum, col: p.name, typ: p.typ}
		}
		sum = types.Decimal128(s)
	default:
		return x
	}
	if !lsm.DecimalStorable(sum, p.typ) {
		return aggOverflow{fn: aggSum, col: p.name, typ: p.typ}
	}
	return sum
}
