package table

import (
	"math/big"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// product (INT, BIGINT, FLOAT, DOUBLE, DECIMAL) multiplies the non-NULL
// values of a column, as Apache Paimon's product does:
//
//	INT, BIGINT    exact, wrapping in two's complement on overflow like
//	               sum: multiplication modulo 2^32 or 2^64 is associative,
//	               so every grouping of records gives the same bits.
//	FLOAT, DOUBLE  IEEE products; like sums their last bits can depend on
//	               how flushes grouped the records.
//	DECIMAL(p,s)   each product rounded half up to scale s (as Paimon's
//	               BigDecimal product); a product whose rounded value needs
//	               more than p digits is an overflow, which reads, flushes
//	               and compactions report as an error naming the column
//	               (mergeengine_overflow.go). With s > 0 the rounding of a
//	               partial product can make the last digit depend on how
//	               records were grouped, as FLOAT sums do.
//
// Retraction (-U) divides, which only FLOAT and DOUBLE do exactly enough to
// keep every grouping in agreement: a -U of x folds 1/x into the product,
// and a key holding only retractions stores the divisor. Integer and
// DECIMAL division truncates, so their -U values are refused at write
// (mergeengine_retract.go) unless fields.<col>.ignore-retract=true.

// productAdd multiplies acc by v (NULL skipped).
func productAdd(acc, v types.Value, p *aggParams) types.Value {
	if v == nil {
		return acc
	}
	if acc == nil {
		return v
	}
	switch x := acc.(type) {
	case int32:
		if y, ok := v.(int32); ok {
			return x * y
		}
	case int64:
		if y, ok := v.(int64); ok {
			return x * y
		}
	case float32:
		if y, ok := v.(float32); ok {
			return x * y
		}
	case float64:
		if y, ok := v.(float64); ok {
			return x * y
		}
	case types.Decimal, types.Decimal128:
		if _, ok := v.(aggOverflow); ok {
			return v
		}
		return decimalProduct(x, v, p)
	case aggOverflow:
		return x // an overflow stays one
	}
	return acc
}

// retractProduct folds a -U value v of product column c into acc: FLOAT
// and DOUBLE divide; other types (whose -U values writes refuse) ignore it.
func (a *aggregation) retractProduct(c int, acc, v types.Value) types.Value {
	switch y := v.(type) {
	case float32:
		if x, ok := acc.(float32); ok {
			return x / y
		}
		if acc == nil {
			return 1 / y
		}
	case float64:
		if x, ok := acc.(float64); ok {
			return x / y
		}
		if acc == nil {
			return 1 / y
		}
	}
	return acc
}

// productDivisor turns the quotient a key's retractions left (the product
// of 1/x over its -U values) into what its -U result stores: the divisor,
// which a later merge divides by like a -U value.
func (a *aggregation) productDivisor(c int, q types.Value) types.Value {
	switch x := q.(type) {
	case float32:
		return 1 / x
	case float64:
		return 1 / x
	}
	return nil
}

var (
	bigTen = big.NewInt(10)
	bigOne = big.NewInt(1)
)

// decimalProduct multiplies two DECIMAL(p,s) values of type t, rounding
// half up (away from zero on ties) to scale s; an aggOverflow when the
// result needs more than p digits.
func decimalProduct(x, y types.Value, p *aggParams) types.Value {
	t := p.typ
	a, b := decimalBig(x), decimalBig(y)
	if a == nil || b == nil {
		return x
	}
	n := new(big.Int).Mul(a, b)
	if t.Scale > 0 {
		div := new(big.Int).Exp(bigTen, big.NewInt(int64(t.Scale)), nil)
		q, r := new(big.Int).QuoRem(n, div, new(big.Int))
		// Half up: |r| * 2 >= div rounds away from zero.
		if new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(div) >= 0 {
			if n.Sign() < 0 {
				q.Sub(q, bigOne)
			} else {
				q.Add(q, bigOne)
			}
		}
		n = q
	}
	limit := new(big.Int).Exp(bigTen, big.NewInt(int64(t.Precision)), nil)
	if new(big.Int).Abs(n).Cmp(limit) >= 0 {
		return aggOverflow{fn: aggProduct, col: p.name, typ: t}
	}
	if t.Is128() {
		return types.Decimal128(decimal128.FromBigInt(n))
	}
	return types.Decimal(n.Int64())
}

// decimalBig is the unscaled value of a Decimal or Decimal128 (nil for
// other values).
func decimalBig(v types.Value) *big.Int {
	switch x := v.(type) {
	case types.Decimal:
		return big.NewInt(int64(x))
	case types.Decimal128:
		return x.Num().BigInt()
	}
	return nil
}
