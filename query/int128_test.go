package query

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// num128Of is a random 128-bit value: often an edge (powers of ten and
// their neighbours, the extremes of int64 and int128), else random bits
// of a random width.
func num128Of(r *rand.Rand) decimal128.Num {
	switch r.IntN(4) {
	case 0:
		p := pow10n[r.IntN(39)]
		if r.IntN(2) == 0 {
			p, _ = sub128(p, decimal128.FromI64(1))
		}
		if r.IntN(2) == 0 {
			p = p.Negate()
		}
		return p
	case 1:
		return []decimal128.Num{{}, decimal128.FromI64(1), decimal128.FromI64(-1), maxNum, minNum, decimal128.FromI64(math.MaxInt64),
			decimal128.FromI64(math.MinInt64), decimal128.New(0, math.MaxUint64), decimal128.New(1, 0), decimal128.New(-1, 0)}[r.IntN(10)]
	}
	w := r.IntN(128)
	x := new(big.Int).SetUint64(r.Uint64())
	x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(r.Uint64()))
	x.Rsh(x, uint(128-w))
	if r.IntN(2) == 0 {
		x.Neg(x)
	}
	return decimal128.FromBigInt(x)
}

var (
	big127    = new(big.Int).Lsh(big.NewInt(1), 127)
	bigMin128 = new(big.Int).Neg(big127)
)

// fits128 reports whether x is a signed 128-bit value.
func fits128(x *big.Int) bool { return x.Cmp(bigMin128) >= 0 && x.Cmp(big127) < 0 }

// TestInt128MatchesBig checks the 128-bit operations of the DECIMAL
// kernels against big.Int: a result they report is exact, and they
// report one whenever it fits (division and rescaling: always).
func TestInt128MatchesBig(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 11))
	for i := 0; i < 200000; i++ {
		a, b := num128Of(r), num128Of(r)
		x, y := a.BigInt(), b.BigInt()
		check := func(op string, got decimal128.Num, ok bool, want *big.Int, mustOK bool) {
			t.Helper()
			if ok && got.BigInt().Cmp(want) != 0 {
				t.Fatalf("seed %d: %s %s %s = %s, want %s", seed, x, op, y, got.BigInt(), want)
			}
			if !ok && mustOK && fits128(want) {
				t.Fatalf("seed %d: %s %s %s = %s reported as overflow", seed, x, op, y, want)
			}
			if ok && !fits128(want) {
				t.Fatalf("seed %d: %s %s %s overflows but was reported", seed, x, op, y)
			}
		}
		v, ok := types.Add128(a, b)
		check("+", v, ok, new(big.Int).Add(x, y), true)
		v, ok = sub128(a, b)
		check("-", v, ok, new(big.Int).Sub(x, y), true)
		v, ok = mul128(a, b)
		check("*", v, ok, new(big.Int).Mul(x, y), a != minNum && b != minNum)
		if y.Sign() != 0 {
			q, _ := divRound(x, y)
			v, ok = divRound128(a, b)
			check("/", v, ok, q, a != minNum && b != minNum)
			v, ok = rem128(a, b)
			check("%", v, ok, new(big.Int).Rem(x, y), a != minNum && b != minNum)
		}
		if got, want := cmp128(a, b), x.Cmp(y); got != want {
			t.Fatalf("seed %d: cmp128(%s, %s) = %d, want %d", seed, x, y, got, want)
		}
		if a != minNum {
			from, to := r.IntN(39), r.IntN(39)
			want, wexact := rescale(x, from, to)
			v, exact, ok := rescale128(a, from, to)
			check("rescaled", v, ok, want, true)
			if ok && exact != wexact {
				t.Fatalf("seed %d: rescale128(%s, %d, %d) exact %v, want %v", seed, x, from, to, exact, wexact)
			}
			p := r.IntN(39)
			if got, want := fitsPrec(a, p), new(big.Int).Abs(x).Cmp(pow10(p)) < 0; got != want {
				t.Fatalf("seed %d: fitsPrec(%s, %d) = %v", seed, x, p, got)
			}
			if fitsPrec(a, 38) {
				s := r.IntN(39)
				f, _ := strconv.ParseFloat(types.FormatDecimal128(types.Decimal128(a), s), 64)
				if got := num128ToF64(a, s); got != f {
					t.Fatalf("seed %d: num128ToF64(%s, %d) = %v, want %v", seed, x, s, got, f)
				}
				q, rem := new(big.Int).QuoRem(x, pow10(s), new(big.Int))
				n, ok := num128ToInt(a, s, r.IntN(2) == 0)
				if ok && (!q.IsInt64() || q.Int64() != n) {
					t.Fatalf("seed %d: num128ToInt(%s, %d) = %d, want %s", seed, x, s, n, q)
				}
				if !ok && q.IsInt64() && rem.Sign() == 0 {
					t.Fatalf("seed %d: num128ToInt(%s, %d) refused an exact int64", seed, x, s)
				}
			}
		}
	}
}

// FuzzInt128 checks the 128-bit operations against big.Int on any two
// values and scales.
func FuzzInt128(f *testing.F) {
	f.Add(int64(0), uint64(1), int64(-1), uint64(0), uint8(3), uint8(20))
	f.Add(int64(math.MaxInt64), uint64(math.MaxUint64), int64(0), uint64(10), uint8(38), uint8(0))
	f.Add(int64(math.MinInt64), uint64(0), int64(-1), uint64(math.MaxUint64), uint8(0), uint8(38))
	f.Fuzz(func(t *testing.T, ah int64, al uint64, bh int64, bl uint64, from, to uint8) {
		a, b := decimal128.New(ah, al), decimal128.New(bh, bl)
		x, y := a.BigInt(), b.BigInt()
		for _, c := range []struct {
			op   string
			v    decimal128.Num
			ok   bool
			want *big.Int
		}{
			{"+", first(types.Add128(a, b)), second(types.Add128(a, b)), new(big.Int).Add(x, y)},
			{"-", first(sub128(a, b)), second(sub128(a, b)), new(big.Int).Sub(x, y)},
			{"*", first(mul128(a, b)), second(mul128(a, b)), new(big.Int).Mul(x, y)},
		} {
			if c.ok && (c.v.BigInt().Cmp(c.want) != 0 || !fits128(c.want)) {
				t.Fatalf("%s %s %s = %s, want %s", x, c.op, y, c.v.BigInt(), c.want)
			}
			if !c.ok && fits128(c.want) && c.op != "*" {
				t.Fatalf("%s %s %s = %s reported as overflow", x, c.op, y, c.want)
			}
		}
		if y.Sign() != 0 {
			q, _ := divRound(x, y)
			if v, ok := divRound128(a, b); ok && v.BigInt().Cmp(q) != 0 {
				t.Fatalf("%s / %s = %s, want %s", x, y, v.BigInt(), q)
			}
			if v, ok := rem128(a, b); ok && v.BigInt().Cmp(new(big.Int).Rem(x, y)) != 0 {
				t.Fatalf("%s %% %s = %s", x, y, v.BigInt())
			}
		}
		fs, ts := int(from%39), int(to%39)
		want, _ := rescale(x, fs, ts)
		if v, _, ok := rescale128(a, fs, ts); ok && v.BigInt().Cmp(want) != 0 {
			t.Fatalf("rescale128(%s, %d, %d) = %s, want %s", x, fs, ts, v.BigInt(), want)
		}
	})
}

func first(v decimal128.Num, _ bool) decimal128.Num { return v }
func second(_ decimal128.Num, ok bool) bool         { return ok }
