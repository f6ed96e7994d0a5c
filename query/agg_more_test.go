package query

import (
	"math"
	"testing"

	"github.com/siltdb/silt/types"
)

// TestApproxCountDistinct: exact up to hllExact distinct values, then
// within 3% (about four standard errors of a 2^14-register HyperLogLog),
// whatever the duplicates and the value type.
func TestApproxCountDistinct(t *testing.T) {
	for _, n := range []int{0, 1, 100, hllExact, hllExact + 1, 20000, 300000} {
		for _, kind := range []string{"int", "string"} {
			s := &hllState{exact: map[uint64]struct{}{}}
			for rep := 0; rep < 2; rep++ { // every value twice
				for i := 0; i < n; i++ {
					var v types.Value = int64(i * 7919)
					if kind == "string" {
						v = "v" + string(rune('a'+i%26)) + types.FormatValue(int64(i), types.TBigInt)
					}
					if err := s.add(v); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := s.result()
			if err != nil {
				t.Fatal(err)
			}
			g := float64(got.(int64))
			if n <= hllExact && int(g) != n {
				t.Errorf("%s n=%d: %v, want exactly %d", kind, n, got, n)
			}
			if n > hllExact && math.Abs(g-float64(n)) > 0.03*float64(n) {
				t.Errorf("%s n=%d: %v, more than 3%% off", kind, n, got)
			}
		}
	}
}
