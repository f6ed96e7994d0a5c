package query

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// toDecimal128 converts to a DECIMAL when either side has more than 18
// digits, or from FLOAT or DOUBLE: integers and decimals rescale in 128
// bits; a row that loses digits without an explicit CAST, leaves the
// target's precision or comes from a float is castValue's.
func (k *castK) toDecimal128(rn *vrun, a arrow.Array, valid []byte, src castSrc, n int) arrow.Array {
	z := make([]decimal128.Num, n)
	exp := k.e.explicit
	to := k.to
	castLoop(rn, k, a, valid, func(i int) bool {
		var x decimal128.Num
		scale := 0
		switch {
		case src.i != nil:
			x = decimal128.FromI64(src.i[i])
		case src.d != nil:
			x, scale = decimal128.FromI64(src.d[i]), src.scale
		case src.d128 != nil:
			x, scale = src.d128[i], src.scale
		default:
			return false
		}
		v, exact, ok := rescale128(x, scale, to.Scale)
		if !ok || (!exact && !exp) || !fitsPrec(v, to.Precision) {
			return false
		}
		z[i] = v
		return true
	}, func(i int, v types.Value) { z[i] = numOfValue(v) })
	return newFixedArray(k.at, z, valid)
}

// num128ToInt is the integer part of x at scale (truncated, as castValue
// does); false when digits are lost without an explicit CAST or the
// value leaves int64.
func num128ToInt(x decimal128.Num, scale int, explicit bool) (int64, bool) {
	if scale >= len(pow10n) {
		return 0, false
	}
	neg, m := abs128(x)
	q, r := quoRemU(m, u128abs(pow10n[scale]))
	if !r.isZero() && !explicit {
		return 0, false
	}
	if q.hi != 0 || q.lo > math.MaxInt64+uint64(b2u(neg)) {
		return 0, false
	}
	if neg {
		return int64(-q.lo), true
	}
	return int64(q.lo), true
}
