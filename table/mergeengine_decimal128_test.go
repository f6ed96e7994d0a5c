package table

import (
	"context"

	"github.com/siltdb/silt/objstore"
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

// TestWriteBatchDecimal128: a change batch with a 128-bit DECIMAL key and
// value is accepted (the range check overflowed int64 for precisions
// above 18) and its key encodes as Write's does (it used the low 64 bits),
// so a batch write and a row write of the same key are one row.
func TestWriteBatchDecimal128(t *testing.T) {
	ctx := context.Background()
	kt, vt := types.TDecimal(38, 2), types.TDecimal(30, 5)
	schema := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "k", Type: kt, NotNull: true},
			{ID: 1, Name: "v", Type: vt},
		},
		PrimaryKeys:    []string{"k"},
		HighestFieldID: 1,
	}
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string, typ types.DataType) types.Decimal128 {
		v, err := types.ParseDecimal128(s, typ)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	big := d("123456789012345678901234567890.12", kt)
	rec := buildRawBatch(t, as, [][]batchCell{
		{big, d("1234567890123456789012345.12345", vt), int8(0)},
		{d("-5", kt), nil, int8(0)},
	})
	w := tb.NewWriter("u")
	if err := w.WriteBatch(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, types.UpdateAfter, types.Row{big, d("7", vt)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	rows := latestRowStrings(t, ctx, tb)
	if len(rows) != 2 {
		t.Fatalf("rows %v, want 2 (the row write replaces the batch row of the same key)", rows)
	}
}
