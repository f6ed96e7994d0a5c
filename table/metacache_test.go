package table

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// reqCountingStore counts the read requests that reach the store.
type reqCountingStore struct {
	objstore.Store
	gets, stats atomic.Int64
}

func (c *reqCountingStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *reqCountingStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.GetRange(ctx, key, off, n)
}

func (c *reqCountingStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	c.stats.Add(1)
	return c.Store.Stat(ctx, key)
}

func (c *reqCountingStore) reset() { c.gets.Store(0); c.stats.Store(0) }

const metaRoot = "wh/db.db/t/"

// writeMetaTable writes rows id 0..n-1 in region "eu" with amount
// id*mult over three commits, then compacts fully.
func writeMetaTable(t *testing.T, store objstore.Store, n int, mult int64) *Table {
	t.Helper()
	ctx := context.Background()
	schema := modelSchema(EngineDeduplicate, 1, false)
	schema.Options[OptWriteBufferSize] = "16mb" // one run per commit: no inline compaction racing the full one below
	tb, err := Open("db.t", store, metaRoot, schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		w := tb.NewWriter("w")
		for i := c; i < n; i += 3 {
			if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(i), int64(i) * mult, "note", nil}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, fmt.Sprint("c", c)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	return tb
}

func mustGet(t *testing.T, tb *Table, snap int64, id int32) (types.Row, bool) {
	t.Helper()
	row, ok, err := tb.Get(context.Background(), snap, "eu", id)
	if err != nil {
		t.Fatalf("get %d at %d: %v", id, snap, err)
	}
	return row, ok
}

// TestMetaCacheColdLookupRequests: with Env.Meta a repeated lookup without
// the lookup index costs the freshness check (2 Stats) and one row-group
// GET at the latest snapshot, and one Stat plus one GET pinned; without it
// the same lookup reads the snapshot, manifests and the whole data file.
func TestMetaCacheColdLookupRequests(t *testing.T) {
	ctx := context.Background()
	cs := &reqCountingStore{Store: objstore.NewMem()}
	writer := writeMetaTable(t, cs, 300, 1)
	latest, err := writer.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Open("db.t", cs, metaRoot, writer.Schema(), Env{})
	if err != nil {
		t.Fatal(err)
	}
	cached, err := Open("db.t", cs, metaRoot, writer.Schema(), Env{Meta: NewMetaCache(64 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	for _, snap := range []int64{0, latest.ID} {
		for _, tb := range []*Table{plain, cached} {
			mustGet(t, tb, snap, 17) // the first lookup fills the cache
			cs.reset()
			row, ok := mustGet(t, tb, snap, 17)
			if !ok || row[2].(int64) != 17 {
				t.Fatalf("get 17 at %d: %v %v", snap, row, ok)
			}
			gets, stats := cs.gets.Load(), cs.stats.Load()
			t.Logf("snapshot %d, cache %v: %d GETs, %d Stats", snap, tb == cached, gets, stats)
			if tb == cached && (gets > 2 || stats > 2) {
				t.Errorf("cached repeated lookup at %d: %d GETs and %d Stats, want ≤ 2 each", snap, gets, stats)
			}
			if tb == plain && gets <= 2 {
				t.Errorf("uncached lookup at %d: %d GETs: the test no longer measures the cache", snap, gets)
			}
			// Another key of the same file: also only its row group.
			cs.reset()
			if row, ok := mustGet(t, tb, snap, 250); !ok || row[2].(int64) != 250 {
				t.Fatalf("get 250 at %d: %v %v", snap, row, ok)
			}
			if gets := cs.gets.Load(); tb == cached && gets > 2 {
				t.Errorf("cached lookup of another key at %d: %d GETs", snap, gets)
			}
		}
	}
	if st := cached.env.Meta.Stats(); st.Hits == 0 || st.Entries == 0 {
		t.Errorf("cache stats %+v: nothing was cached", st)
	}

	// A commit by another handle is seen at once by the cached latest read.
	w := writer.NewWriter("w2")
	if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(17), int64(-1), "new", nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	if row, ok := mustGet(t, cached, 0, 17); !ok || row[2].(int64) != -1 {
		t.Fatalf("cached latest read after a commit: %v %v, want amount -1", row, ok)
	}
	// The pinned snapshot still answers as before.
	if row, ok := mustGet(t, cached, latest.ID, 17); !ok || row[2].(int64) != 17 {
		t.Fatalf("cached pinned read: %v %v, want amount 17", row, ok)
	}
	// An expired (deleted) snapshot is not served from the cache.
	if err := cs.Store.Delete(ctx, metaRoot+manifest.SnapshotPath(latest.ID)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cached.Get(ctx, latest.ID, "eu", int32(17)); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("read of a deleted snapshot through the cache: %v, want ErrNotFound", err)
	}
}

// TestMetaCacheRecreatedTable: a table dropped and re-created under the
// same root reuses snapshot ids with other contents; a cached handle must
// read the new table, at the latest snapshot and pinned.
func TestMetaCacheRecreatedTable(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	writeMetaTable(t, store, 100, 1)
	cached, err := Open("db.t", store, metaRoot, modelSchema(EngineDeduplicate, 1, false), Env{Meta: NewMetaCache(64 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	old, err := cached.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, snap := range []int64{0, old.ID} {
		if row, ok := mustGet(t, cached, snap, 5); !ok || row[2].(int64) != 5 {
			t.Fatalf("get 5 at %d: %v %v", snap, row, ok)
		}
	}
	infos, err := store.List(ctx, metaRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if err := store.Delete(ctx, in.Key); err != nil {
			t.Fatal(err)
		}
	}
	writeMetaTable(t, store, 100, 10)
	for _, snap := range []int64{0, old.ID} {
		if row, ok := mustGet(t, cached, snap, 5); !ok || row[2].(int64) != 50 {
			t.Fatalf("get 5 at %d of the re-created table: %v %v, want amount 50", snap, row, ok)
		}
	}
}

// TestMetaCacheKeepsNoCorruptFooter: a data file whose tail is damaged
// fails every lookup through the cache (its footer is never cached), and
// once repaired the lookup succeeds.
func TestMetaCacheKeepsNoCorruptFooter(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	writeMetaTable(t, store, 100, 1)
	cached, err := Open("db.t", store, metaRoot, modelSchema(EngineDeduplicate, 1, false), Env{Meta: NewMetaCache(64 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	latest, err := cached.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := cached.Meta().Files(ctx, latest)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d live files after a full compaction, want 1", len(files))
	}
	dataKey := metaRoot + files[0].Path
	good, _, err := store.Get(ctx, dataKey)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-20] ^= 0xff // inside the footer
	if _, err := store.Put(ctx, dataKey, bad); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, _, err := cached.Get(ctx, 0, "eu", int32(5)); !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("lookup %d of a damaged file: %v, want ErrCorruption", i, err)
		}
	}
	if _, err := store.Put(ctx, dataKey, good); err != nil {
		t.Fatal(err)
	}
	if row, ok := mustGet(t, cached, 0, 5); !ok || row[2].(int64) != 5 {
		t.Fatalf("lookup after repair: %v %v", row, ok)
	}
}

// TestMetaCacheEviction: the cache stays within its budget.
func TestMetaCacheEviction(t *testing.T) {
	c := NewMetaCache(1000)
	for i := 0; i < 100; i++ {
		c.store(strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune(i)), i, 100)
	}
	st := c.Stats()
	if st.Bytes > 1000 || st.Evictions == 0 {
		t.Fatalf("stats %+v: over budget or nothing evicted", st)
	}
	c.store("big", 1, 5000) // larger than the budget: not kept
	if _, ok := c.load("big"); ok {
		t.Fatal("an entry larger than the budget was kept")
	}
	c.store("x", 1, 10)
	c.store("x", 2, 10)
	if v, ok := c.load("x"); !ok || v.(int) != 2 {
		t.Fatalf("replaced entry: %v %v", v, ok)
	}
	z := NewMetaCache(0)
	z.store("y", 1, 1)
	if _, ok := z.load("y"); ok {
		t.Fatal("a zero-budget cache kept an entry")
	}
}

// TestMetaCacheConcurrentLookups: lookups sharing cached snapshots,
// manifests and footers from several goroutines (run with -race).
func TestMetaCacheConcurrentLookups(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	writer := writeMetaTable(t, store, 200, 3)
	latest, err := writer.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := Open("db.t", store, metaRoot, writer.Schema(), Env{Meta: NewMetaCache(64 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 40; i++ {
				id := int32((g*41 + i*7) % 230) // some absent
				snap := int64(0)
				if i%2 == 1 {
					snap = latest.ID
				}
				row, ok, err := cached.Get(ctx, snap, "eu", id)
				if err != nil {
					errs <- err
					return
				}
				if ok != (id < 200) || (ok && row[2].(int64) != int64(id)*3) {
					errs <- fmt.Errorf("get %d at %d: %v %v", id, snap, row, ok)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
