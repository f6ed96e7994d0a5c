package table

import (
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// Range.overlaps agrees with checking every value of [lo, hi] one by one:
// never false when a value is inside (that would prune a needed file).
func TestRangeOverlapsBruteForce(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 5))
	val := func() types.Value { return int64(rng.IntN(12)) }
	for n := 0; n < 20000; n++ {
		var r Range
		if rng.IntN(2) == 0 {
			r.Lo, r.LoIncl = val(), rng.IntN(2) == 0
		}
		if rng.IntN(2) == 0 {
			r.Hi, r.HiIncl = val(), rng.IntN(2) == 0
		}
		if rng.IntN(3) == 0 {
			r.In = []types.Value{}
			for i := rng.IntN(3); i > 0; i-- {
				r.In = append(r.In, val())
			}
		}
		admits := func(v int64) bool {
			if r.Lo != nil && (v < r.Lo.(int64) || v == r.Lo.(int64) && !r.LoIncl) {
				return false
			}
			if r.Hi != nil && (v > r.Hi.(int64) || v == r.Hi.(int64) && !r.HiIncl) {
				return false
			}
			if r.In == nil {
				return true
			}
			for _, w := range r.In {
				if w.(int64) == v {
					return true
				}
			}
			return false
		}
		lo := int64(rng.IntN(12))
		hi := lo + int64(rng.IntN(4))
		want := false
		for v := lo; v <= hi; v++ {
			want = want || admits(v)
		}
		got := r.overlaps(lo, hi)
		// overlaps is exact on a dense order; on integers an open range
		// with no integer inside, like (1, 2), may still be kept.
		gap := r.In == nil && r.Lo != nil && r.Hi != nil && r.Hi.(int64)-r.Lo.(int64) == 1 && !r.LoIncl && !r.HiIncl
		if got != want && !(got && gap) {
			t.Fatalf("%+v overlaps [%d, %d] = %v, want %v", r, lo, hi, got, want)
		}
	}
}
