package table

import (
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// TestAggregationSumDecimal128: the sum function of the aggregation merge
// engine adds and retracts 128-bit DECIMAL values exactly (they were
// dropped before, the Go type unknown to the adder).
func TestAggregationSumDecimal128(t *testing.T) {
	typ := types.TDecimal(38, 2)
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "total", Type: typ},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 1,
		Options:        map[string]string{OptMergeEngine: EngineAggregation, "fields.total.aggregate-function": "sum"},
	}
	d := func(x string) types.Decimal128 {
		v, err := types.ParseDecimal128(x, typ)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	m := mustEngine(t, s)
	I, UB, UA := types.Insert, types.UpdateBefore, types.UpdateAfter
	got := m.Merge([]lsm.Record{
		mk(1, I, d("12345678901234567890123456.78")),
		mk(2, UA, d("10000000000000000000000000.00")),
		mk(3, UB, d("0.78")),
	})
	if g, ok := got.Row[1].(types.Decimal128); !ok || g != d("22345678901234567890123456.00") {
		t.Fatalf("sum = %v (%T), want 22345678901234567890123456.00", got.Row[1], got.Row[1])
	}
	// Retractions alone store what to subtract, in the column's Go type.
	got = m.Merge([]lsm.Record{mk(1, UB, d("5.00")), mk(2, UB, d("1.25"))})
	if g, ok := got.Row[1].(types.Decimal128); !ok || got.Kind != UB || g != d("6.25") {
		t.Fatalf("retraction-only state = %v (%T) %s, want -U Decimal128 6.25", got.Row[1], got.Row[1], got.Kind)
	}
}
