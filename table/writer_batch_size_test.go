package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestWriteBatchCountsHeldBytes: change-batch rows count against
// write-buffer-size about what the buffers hold for them (the rows'
// share of the batch's arrays, their keys and lsm.BatchRowBytes each),
// not the size of boxed rows, so a buffer sized for a batch holds it
// without flushing.
func TestWriteBatchCountsHeldBytes(t *testing.T) {
	const n = 4000
	ctx := context.Background()
	schema := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "city", Type: types.TString},
			{ID: 3, Name: "amount", Type: types.TDecimal(12, 2)},
			{ID: 4, Name: "qty", Type: types.TInt},
			{ID: 5, Name: "score", Type: types.TDouble},
			{ID: 6, Name: "updated", Type: types.TTimestamp},
			{ID: 7, Name: "ok", Type: types.TBoolean},
			{ID: 8, Name: "blob", Type: types.TBytes},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 8,
		Options:        map[string]string{OptBucket: "4"},
	}
	rng := rand.New(rand.NewPCG(3, 3))
	rows := make([]types.Row, n)
	for i := range rows {
		rows[i] = types.Row{int64(i), fmt.Sprintf("customer-%08d <user%08d@example.com>", rng.IntN(1e8), rng.IntN(1e8)),
			[]string{"Berlin", "Oslo", "Quito"}[rng.IntN(3)], types.Decimal(rng.Int64N(1e7)), int32(rng.IntN(1000)),
			rng.Float64() * 100, types.Timestamp(rng.Int64N(1 << 50)), rng.IntN(2) == 0, nil, types.UpdateAfter}
		if i%5 == 0 {
			rows[i][1] = nil
			rows[i][8] = make([]byte, rng.IntN(40))
		}
	}
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := types.BuildRecord(nil, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	// What the buffers hold: the arrays of the table's columns (not
	// _row_kind, which they do not keep), the keys, the per-row entries.
	held := int64(n) * lsm.BatchRowBytes
	for _, a := range rec.Columns()[:len(schema.Fields)] {
		for _, b := range a.Data().Buffers() {
			if b != nil {
				held += int64(b.Len())
			}
		}
	}
	for _, r := range rows {
		k, err := types.EncodeRowKey(nil, r[:len(schema.Fields)], []int{0})
		if err != nil {
			t.Fatal(err)
		}
		held += int64(len(k))
	}

	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("u")
	if err := w.WriteBatch(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if ratio := float64(w.bytes) / float64(held); ratio < 0.9 || ratio > 1.1 {
		t.Fatalf("%d change-batch rows count %d bytes against write-buffer-size, the buffers hold about %d (ratio %.2f, want 0.9..1.1)", n, w.bytes, held, ratio)
	}
	_ = w.Abort(ctx)

	// A buffer a fifth larger than what the batch holds takes it whole.
	schema.Options[OptWriteBufferSize] = fmt.Sprint(held * 6 / 5)
	tb, err = Open("db.t2", objstore.NewMem(), "wh/db.db/t2/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w = tb.NewWriter("u")
	defer func() { _ = w.Abort(ctx) }()
	if err := w.WriteBatch(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if f := w.Stats().Flushes; f != 0 {
		t.Fatalf("WriteBatch of %d rows (about %d bytes held) into a %s-byte write buffer flushed %d times, want 0", n, held, schema.Options[OptWriteBufferSize], f)
	}
}
