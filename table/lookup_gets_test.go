package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestColdLookupGets: a table configured for reads by key (16 KiB pages,
// row groups of about 55-60 KB) answers a cold Get, with its footer in
// the metadata cache, in at most 2 data GETs reading at most 64 KB, for
// every row of the row group (so whichever pages hold it), and GetMany
// stays within one GET per row group it searches.
func TestColdLookupGets(t *testing.T) {
	ctx := context.Background()
	store := &byteCountingStore{Store: objstore.NewMem()}
	schema := modelSchema(EngineDeduplicate, 1, false)
	schema.Options[OptWriteBufferSize] = "64mb"
	schema.Options[OptRowGroupRows] = "1950"
	schema.Options[OptPageSize] = "16kb"
	tb, err := Open("db.t", store, "wh/db.db/t/", schema, Env{Meta: NewMetaCache(64 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5850
	rng := rand.New(rand.NewPCG(7, 8))
	w := tb.NewWriter("gets")
	notes := make([]string, n)
	for i := range n {
		notes[i] = fmt.Sprintf("note %d %x", i, rng.Uint64())
		mustWrite(t, w, types.Insert, types.Row{"eu", int32(i), rng.Int64(), notes[i], types.Decimal(rng.Int64N(1e6))})
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	w.Close(ctx)
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	snap, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := tb.DataFiles(ctx, snap.ID, 0)
	if err != nil || len(files) != 1 {
		t.Fatalf("%d data files, %v; want 1", len(files), err)
	}
	if _, ok, err := tb.Get(ctx, snap.ID, "eu", int32(0)); err != nil || !ok { // caches the footer
		t.Fatal(ok, err)
	}
	var gets, read, most int64
	for id := int32(0); id < n; id += 1 + int32(rng.IntN(40)) {
		g0, b0 := store.gets.Load(), store.bytes.Load()
		row, ok, err := tb.Get(ctx, snap.ID, "eu", id)
		if err != nil || !ok || row[3] != notes[id] {
			t.Fatalf("Get %d = %v,%v,%v", id, row, ok, err)
		}
		g, b := store.gets.Load()-g0, store.bytes.Load()-b0
		gets, read, most = gets+g, read+b, max(most, g)
		if g > 2 || b > 64<<10 {
			t.Fatalf("cold Get %d made %d data GETs reading %d bytes (file of %d bytes, row groups of 1950 rows); want at most 2 and 64 KB", id, g, b, files[0].Size)
		}
	}
	t.Logf("file %d bytes in 3 row groups; cold Get: at most %d data GETs, %d in all, %.1f KB read in all", files[0].Size, most, gets, float64(read)/1e3)
}

// TestLookupSkipsOlderFiles: in a deduplicate table, a Get of a key the
// newest file holds does not open an older file (its records cannot win),
// while a key only the older file holds is read from it (after the newer
// file, whose key range admits it, is opened and its bloom filter rules
// it out).
func TestLookupSkipsOlderFiles(t *testing.T) {
	ctx := context.Background()
	store := &byteCountingStore{Store: objstore.NewMem()}
	schema := modelSchema(EngineDeduplicate, 1, false)
	schema.Options[OptWriteOnly] = "true" // two files: no compaction
	schema.Options[OptStopTrigger] = "10000"
	schema.Options[OptWriteBufferSize] = "64mb"
	schema.Options[OptRowGroupRows] = "65536"
	tb, err := Open("db.t", store, "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("skip")
	for i := range 1000 {
		mustWrite(t, w, types.Insert, types.Row{"eu", int32(i), int64(i), "old", nil})
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, types.Insert, types.Row{"eu", int32(5), int64(50), "new", nil})
	mustWrite(t, w, types.Insert, types.Row{"eu", int32(900), int64(50), "new", nil})
	if _, err := w.Commit(ctx, "2"); err != nil {
		t.Fatal(err)
	}
	w.Close(ctx)
	_, files, err := tb.DataFiles(ctx, 0, 0)
	if err != nil || len(files) != 2 {
		t.Fatalf("%d data files, %v; want 2", len(files), err)
	}
	for _, c := range []struct {
		id       int32
		note     string
		wantGets int64
	}{{5, "new", 1}, {6, "old", 2}} {
		g0 := store.gets.Load()
		row, ok, err := tb.Get(ctx, 0, "eu", c.id)
		if err != nil || !ok || row[3] != c.note {
			t.Fatalf("Get %d = %v,%v,%v", c.id, row, ok, err)
		}
		if g := store.gets.Load() - g0; g != c.wantGets {
			t.Fatalf("Get %d made %d data GETs, want %d (one per file that may hold its newest record)", c.id, g, c.wantGets)
		}
	}
}
