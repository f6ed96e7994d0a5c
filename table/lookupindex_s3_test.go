package table

import (
	"context"
	"fmt"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestLookupIndexS3: the end-to-end Get path on MinIO. The index is built
// on the first lookup, caught up after a commit and a compaction, and
// answers exactly what the index-less path answers; a restarted process
// (new registry) reopens the index from disk without rebuilding it, and a
// read pinned to the indexed snapshot makes no request at all.
func TestLookupIndexS3(t *testing.T) {
	ctx := context.Background()
	store := &getCountingStore{Store: objstore.NewRetry(s3test.NewStore(t), objstore.RetryOptions{})}
	schema := modelSchema(EnginePartialUpdate, 2, true)
	schema.Options[OptWriteOnly] = "true" // no inline compaction racing the explicit one
	schema.Options[OptStopTrigger] = "10000"
	localDir := t.TempDir()
	reg := NewLookupIndexes()
	defer func() { reg.Close() }()
	tb := indexedTable(t, store, schema, localDir, reg)
	plain, err := Open("db.t", store, "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("s3")
	for c := range 3 {
		for i := range 50 {
			row := types.Row{"eu", int32(i), int64(c*100 + i), nil, nil}
			if c == 2 {
				row[3] = fmt.Sprint("note ", i) // partial update: amount stays
				row[2] = nil
			}
			if err := w.Write(ctx, types.UpdateAfter, row); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(ctx, types.Delete, types.Row{"eu", int32(c), nil, nil, nil}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		if c == 1 {
			if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	same := func(tb *Table, id int64) {
		t.Helper()
		for i := range 52 {
			got, gok, err := tb.Get(ctx, id, "eu", int32(i))
			if err != nil {
				t.Fatal(err)
			}
			want, wok, err := plain.Get(ctx, id, "eu", int32(i))
			if err != nil {
				t.Fatal(err)
			}
			if gok != wok || (gok && !rowsEqual(got, want)) {
				t.Fatalf("key %d at %d: indexed %v %v, files %v %v", i, id, got, gok, want, wok)
			}
		}
	}
	same(tb, 0)
	row, ok, err := tb.Get(ctx, 0, "eu", int32(10))
	if err != nil || !ok || row[2] != int64(110) || row[3] != "note 10" {
		t.Fatalf("partial update through the index: %v %v %v", row, ok, err)
	}
	if _, ok, _ := tb.Get(ctx, 0, "eu", int32(2)); ok {
		t.Fatal("deleted key 2 found")
	}
	st := tb.LookupIndexStats()
	if st.Rebuilds != 1 || st.IndexLookups < 52 {
		t.Fatalf("stats %+v", st)
	}

	// Another commit: caught up incrementally.
	if err := w.Write(ctx, types.UpdateAfter, types.Row{"eu", int32(2), int64(7), nil, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "3"); err != nil {
		t.Fatal(err)
	}
	same(tb, 0)
	if s := tb.LookupIndexStats(); s.Rebuilds != 1 || s.CatchUps != 1 {
		t.Fatalf("after a commit: %+v", s)
	}

	// Restart: the index is reopened from disk, not rebuilt; a pinned read
	// at the indexed snapshot makes no request.
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	reg = NewLookupIndexes()
	tb = indexedTable(t, store, schema, localDir, reg)
	latest, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := store.gets.Load()
	if row, ok, err := tb.Get(ctx, latest.ID, "eu", int32(2)); err != nil || !ok || row[2] != int64(7) {
		t.Fatalf("pinned get after restart: %v %v %v", row, ok, err)
	}
	if d := store.gets.Load() - before; d != 0 {
		t.Fatalf("pinned get at the indexed snapshot made %d GETs", d)
	}
	same(tb, 0)
	same(tb, latest.ID-2) // time travel: the files
	if s := tb.LookupIndexStats(); s.Rebuilds != 0 || s.FileLookups < 52 {
		t.Fatalf("after restart: %+v", s)
	}
}
