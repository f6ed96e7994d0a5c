package query

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/siltdb/silt/types"
)

// DECIMALs of precision above 18 hold types.Decimal128 values. Their
// arithmetic, casts and aggregates run on big integers (arith.go, cast.go,
// aggregate.go: exact, overflow an error) in the row engine; the
// vectorized engine runs them in exact 128-bit loops (int128.go,
// vec_expr_arith128.go, vec_expr_cast128.go, vec_agg128.go) that hand a
// row leaving 128 bits to the row engine's arithmetic. Arrow arrays of
// both widths are decimal128: isDecimal128Array tells them apart.

// isDecimal128Array reports whether a decimal array holds Decimal128
// values (precision above 18), whose low 64 bits are not the value.
func isDecimal128Array(a *array.Decimal128) bool {
	return a.DataType().(*arrow.Decimal128Type).Precision > types.MaxDecimal64Precision
}

// appendDecimal128Key appends the 16 bytes of n for grouping and DISTINCT.
func appendDecimal128Key(dst []byte, n decimal128.Num) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(n.HighBits()))
	return binary.BigEndian.AppendUint64(dst, n.LowBits())
}

// decimalOverflow is the error of a DECIMAL result z (unscaled) that does
// not fit its type rt.
func decimalOverflow(z *big.Int, rt types.DataType, text fmt.Stringer) error {
	digits := len(new(big.Int).Abs(z).String())
	return errf(types.ErrInvalid, "DECIMAL overflow: %s needs %d digits and does not fit %s (at most %d digits; cast an operand to a smaller scale)",
		text, digits, rt, types.MaxDecimalPrecision)
}

// firstDecimalOutside is the first row before limit of a 128-bit decimal
// array whose value has more than p digits, or -1.
func firstDecimalOutside(x *array.Decimal128, p int32, limit int) int {
	nulls := x.NullN() > 0
	for j, v := range x.Values()[:min(limit, x.Len())] {
		if !v.FitsInPrecision(p) && (!nulls || !x.IsNull(j)) {
			return j
		}
	}
	return -1
}

// roundDecimal128 is ROUND(v, digits) of a 128-bit DECIMAL of type t, in
// result type rt (scale min(max(digits, 0), t.Scale)).
func roundDecimal128(v types.Value, t, rt types.DataType, digits int64, f fmt.Stringer) (types.Value, error) {
	x, _, _ := asBig(v, t)
	drop := int64(t.Scale) - digits
	if drop <= 0 {
		return v, nil
	}
	drop = min(drop, 80)
	r, _ := divRound(x, pow10(int(drop)))
	r.Mul(r, pow10(int(drop)-(t.Scale-rt.Scale)))
	out, ok := fitsDecimal(r, rt.Precision)
	if !ok {
		return nil, decimalOverflow(r, rt, f)
	}
	return out, nil
}

// floorCeilDecimal128 is FLOOR or CEIL of a 128-bit DECIMAL of type t.
func floorCeilDecimal128(v types.Value, t, rt types.DataType, floor bool) (types.Value, error) {
	x, _, _ := asBig(v, t)
	q, m := new(big.Int).DivMod(x, pow10(t.Scale), new(big.Int)) // Euclidean: m >= 0, q = floor
	if !floor && m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	out, ok := fitsDecimal(q, rt.Precision)
	if !ok {
		return nil, errf(types.ErrInvalid, "DECIMAL overflow: %s does not fit %s", types.FormatDecimal128(v.(types.Decimal128), t.Scale), rt)
	}
	return out, nil
}
