package query

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/internal/testkit"

	"github.com/siltdb/silt/types"
)

// vecTemporalValue is vecValue for TIME, TIMESTAMP_LTZ and UUID; nil for
// other types.
func vecTemporalValue(r *rand.Rand, t types.DataType, edge bool) types.Value {
	switch t.Kind {
	case types.TimestampLTZKind:
		if edge {
			return types.TimestampLTZ([]int64{0, -1, math.MaxInt64, math.MinInt64, 1704103200000000, 1704067200000000}[r.IntN(6)])
		}
		return types.TimestampLTZ(1704067200000000 + int64(r.IntN(5))*43200000000)
	case types.TimeKind:
		if edge {
			return types.TimeOfDay([]int64{0, types.MicrosPerDay - 1, 43200000000, 1}[r.IntN(4)])
		}
		return types.TimeOfDay(int64(r.IntN(5)) * 21600000000)
	case types.UUIDKind:
		var u types.UUID
		b := byte(r.IntN(3)) * 0x7f
		for i := range u {
			u[i] = b
		}
		if edge {
			u[15] = byte(r.IntN(256))
		}
		return u
	}
	return nil
}

// TestVecTemporalKernels: comparisons, casts and COALESCE over TIME,
// TIMESTAMP_LTZ and UUID run as kernels (no row-by-row fallback) and
// agree with the row engine.
func TestVecTemporalKernels(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 9))
	sc, as := vecSchema(t)
	for _, src := range []string{
		"(h < h2)", "(h = TIME '12:00:00')", "(u = u2)", "(u >= UUID '7f7f7f7f-7f7f-7f7f-7f7f-7f7f7f7f7f7f')", "(z > t)", "(z <= d)",
		"(z = z2)", "CAST(t AS TIMESTAMPTZ)", "CAST(z AS TIMESTAMP)", "COALESCE(h, h2)", "COALESCE(u, u2)", "COALESCE(z, z2)",
		"EXTRACT(HOUR FROM h)", "EXTRACT(EPOCH FROM z)", "DATE_TRUNC('day', z)", "(h BETWEEN h2 AND TIME '23:00:00')",
	} {
		e, err := bindVecExpr(sc, src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		top, ok := compileVec(e).(*vecTop)
		if !ok {
			t.Fatalf("%s: no kernel", src)
		}
		if _, rows := kernNodes(top.k); rows != 0 {
			t.Errorf("%s: %d sub-expressions run row by row", src, rows)
		}
		for j := 0; j < 20; j++ {
			rec := vecBatch(t, r, as, []int{1, 7, 64, 200}[r.IntN(4)])
			if d := vecDiff(e, rec); d != "" {
				t.Fatalf("seed %d: %s: %s\nbatch:\n%s", seed, src, d, dumpBatch(rec))
			}
			rec.Release()
		}
	}
}
