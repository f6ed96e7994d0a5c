package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestWriteBatchAllocatesLittle: buffering a change batch of a deduplicate
// table allocates about the keys the write buffers keep (one slab per
// batch) and the buffers' own per-row entries, not per-batch key,
// bucket and size slices nor per-bucket row lists that grow row by row:
// the writer reuses its working memory from batch to batch.
func TestWriteBatchAllocatesLittle(t *testing.T) {
	const n, batches = 4096, 8
	ctx := context.Background()
	schema := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 1,
		// A buffer that holds every batch: no flush while measuring.
		Options: map[string]string{OptBucket: "4", "write-buffer-size": "1 gb"},
	}
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	rows := make([]types.Row, n)
	for i := range rows {
		rows[i] = types.Row{rng.Int64N(1 << 40), fmt.Sprint("name-", i), types.UpdateAfter}
	}
	rec, err := types.BuildRecord(nil, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("alloc")
	defer w.Abort(ctx)
	for range 2 { // warm up: the buffers' first entries and the scratch
		if err := w.WriteBatch(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range batches {
		if err := w.WriteBatch(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if w.Stats().Flushes != 0 {
		t.Fatalf("the writer flushed %d times: the measurement includes flushes", w.Stats().Flushes)
	}
	perRow := float64(after.TotalAlloc-before.TotalAlloc) / float64(n*batches)
	perBatch := float64(after.Mallocs-before.Mallocs) / batches
	t.Logf("WriteBatch: %.1f bytes and %.1f allocations per batch row, %.1f allocations per batch", perRow, perBatch/n, perBatch)
	// The key slab is 9 bytes a row. Most of the rest is the buffers'
	// entries (lsm's, about 48 bytes a row), which grow by doubling: in
	// this window each buffer's grows from about 2,000 to 10,000 entries
	// through arrays of 4K, 8K and 16K, about 170 bytes per row written.
	if perRow > 320 {
		t.Errorf("WriteBatch allocates %.1f bytes per row, want at most 320 (keys and the buffers' entries)", perRow)
	}
	if perBatch > 40 {
		t.Errorf("WriteBatch makes %.1f allocations per batch of %d rows, want at most 40", perBatch, n)
	}
}
