package query

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// decimals128 is decimals for a DECIMAL of more than 18 digits (result or
// operand): exact 128-bit loops. A row whose intermediate value leaves
// 128 bits, or whose result has too many digits, is evalArith's, which
// computes it on big integers and words the overflow error.
func (k *arithK) decimals128(rn *vrun, o *binOperands, n int) arrow.Array {
	x, sx := decNums(o.la), decScale(k.e.l.Type())
	y, sy := decNums(o.ra), decScale(k.e.r.Type())
	rt := k.e.t
	z := make([]decimal128.Num, n)
	s := max(sx, sy)
	am, bm := o.am, o.bm
	m := rn.s.n
	var bad []int
	switch k.e.op[0] {
	case '+', '-', '%':
		px, py := pow10n[min(s-sx, 38)], pow10n[min(s-sy, 38)]
		scaled := s == rt.Scale
		add := k.e.op[0] == '+'
		for i := 0; i < m; i++ {
			a, ok1 := mul128(x[i&am], px)
			b, ok2 := mul128(y[i&bm], py)
			var v decimal128.Num
			ok := ok1 && ok2 && scaled
			if ok {
				switch {
				case add:
					v, ok = types.Add128(a, b)
				case k.e.op[0] == '-':
					v, ok = sub128(a, b)
				default:
					v, ok = rem128(a, b)
				}
			}
			if !ok || !fitsPrec(v, rt.Precision) {
				bad = append(bad, i)
				continue
			}
			z[i] = v
		}
	case '*':
		d := sx + sy - rt.Scale
		for i := 0; i < m; i++ {
			v, ok := mul128(x[i&am], y[i&bm])
			if ok && d > 0 {
				v, _, ok = rescale128(v, sx+sy, rt.Scale)
			}
			if !ok || !fitsPrec(v, rt.Precision) {
				bad = append(bad, i)
				continue
			}
			z[i] = v
		}
	default: // "/": x·10^(rt.Scale+sy−sx) ÷ y, rounded
		d := rt.Scale + sy - sx
		for i := 0; i < m; i++ {
			num, _, ok := rescale128(x[i&am], sx, sx+d)
			var v decimal128.Num
			if ok && d >= 0 {
				v, ok = divRound128(num, y[i&bm])
			}
			if !ok || d < 0 || !fitsPrec(v, rt.Precision) {
				bad = append(bad, i)
				continue
			}
			z[i] = v
		}
	}
	k.fixRows(rn, o, bad, func(i int, v types.Value) { z[i] = numOfValue(v) })
	return newFixedArray(k.at, z, o.valid)
}
