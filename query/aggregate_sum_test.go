package query

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// TestSumStateMatchesBigInt checks SUM and AVG, which add in an int64 until
// the running sum overflows, against sums in big integers, on values near
// the int64 limits (running sums that leave and re-enter the int64 range)
// and small ones.
func TestSumStateMatchesBigInt(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	dec := types.TDecimal(18, 2)
	for round := 0; round < 300; round++ {
		in := []types.DataType{types.TBigInt, types.TInt, dec}[round%3]
		n := 1 + rng.IntN(50)
		want := new(big.Int)
		var vals []types.Value
		for i := 0; i < n; i++ {
			var x int64
			switch {
			case in.Kind == types.Int:
				x = int64(rng.Int32()) - int64(rng.Int32())
			case round%2 == 0:
				x = rng.Int64N(1000) - 500
			case in.Kind == types.DecimalKind:
				x = rng.Int64N(2*999_999_999_999_999_999) - 999_999_999_999_999_999
			default:
				x = []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - rng.Int64N(100), -rng.Int64N(1 << 62)}[rng.IntN(4)]
			}
			want.Add(want, big.NewInt(x))
			switch in.Kind {
			case types.Int:
				vals = append(vals, int32(x))
			case types.DecimalKind:
				vals = append(vals, types.Decimal(x))
			default:
				vals = append(vals, x)
			}
		}
		for _, name := range []string{"SUM", "AVG"} {
			a, err := newAggCall(&funcCall{name: name}, []bexpr{&colB{t: in, name: "x"}})
			if err != nil {
				t.Fatal(err)
			}
			st := a.newState()
			for _, v := range vals {
				if err := st.add(v); err != nil {
					t.Fatal(err)
				}
			}
			got, err := st.result()
			ref := &sumState{in: in, out: a.t, avg: name == "AVG", sum: new(big.Int).Set(want), n: int64(n), text: "ref"}
			exp, expErr := ref.result()
			if (err != nil) != (expErr != nil) || (err == nil && types.Compare(got, exp) != 0) {
				t.Fatalf("round %d %s(%s) of %v: got %v (%v), want %v (%v)", round, name, in, vals, got, err, exp, expErr)
			}
		}
	}
}
