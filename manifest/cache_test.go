package manifest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// mapCache is an unbounded Cache.
type mapCache struct{ m sync.Map }

func (c *mapCache) Load(key string) (any, bool)      { return c.m.Load(key) }
func (c *mapCache) Store(key string, v any, _ int64) { c.m.Store(key, v) }

type readCountingStore struct {
	objstore.Store
	gets, stats atomic.Int64
}

func (c *readCountingStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *readCountingStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	c.stats.Add(1)
	return c.Store.Stat(ctx, key)
}

// TestCacheReads: with Options.Cache, Files and Snapshot read each
// immutable object once; a cached snapshot costs one Stat, a deleted one
// is not found, a replaced one is read again, and callers get copies.
func TestCacheReads(t *testing.T) {
	ctx := context.Background()
	cs := &readCountingStore{Store: objstore.NewMem()}
	clock := newTestClock(1_700_000_000_000)
	opts := testOptions(clock.Now)
	opts.Cache = &mapCache{}
	tb := Open(cs, "wh/db.db/t", opts)
	mustCommit(t, tb, appendCommit("w", "1", file("data/a", 3)))
	s2 := mustCommit(t, tb, appendCommit("w", "2", file("data/b", 4)))

	if _, err := tb.Files(ctx, s2); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Snapshot(ctx, s2.ID); err != nil {
		t.Fatal(err)
	}
	cs.gets.Store(0)
	cs.stats.Store(0)
	files, err := tb.Files(ctx, s2)
	if err != nil || len(files) != 2 {
		t.Fatalf("files: %v %v", files, err)
	}
	got, err := tb.Snapshot(ctx, s2.ID)
	if err != nil || got.ID != s2.ID || got.ManifestList != s2.ManifestList {
		t.Fatalf("cached snapshot: %+v %v", got, err)
	}
	if g, s := cs.gets.Load(), cs.stats.Load(); g != 0 || s != 1 {
		t.Fatalf("cached Files and Snapshot: %d GETs, %d Stats; want 0 and 1", g, s)
	}
	// Callers get copies: changing them does not change the cache.
	got.ManifestList = "changed"
	metas, err := tb.ReadManifestList(ctx, s2.ManifestList)
	if err != nil {
		t.Fatal(err)
	}
	metas[0].Path = "changed"
	if again, _ := tb.Snapshot(ctx, s2.ID); again.ManifestList != s2.ManifestList {
		t.Fatalf("a caller's change reached the cached snapshot: %q", again.ManifestList)
	}
	if again, _ := tb.ReadManifestList(ctx, s2.ManifestList); again[0].Path == "changed" {
		t.Fatal("a caller's change reached the cached manifest list")
	}
	// LatestFrom from the cached snapshot: two Stats, no GET.
	cs.gets.Store(0)
	cs.stats.Store(0)
	if l, err := tb.LatestFrom(ctx, s2); err != nil || l.ID != s2.ID {
		t.Fatalf("LatestFrom: %v %v", l, err)
	}
	if g, s := cs.gets.Load(), cs.stats.Load(); g != 0 || s != 2 {
		t.Fatalf("LatestFrom: %d GETs, %d Stats; want 0 and 2", g, s)
	}
	// Replaced with other contents under the same id: read again.
	other := *s2
	other.CommitUser = "someone-else"
	b, err := EncodeSnapshot(&other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Store.Put(ctx, tb.key(SnapshotPath(s2.ID)), b); err != nil {
		t.Fatal(err)
	}
	if got, err := tb.Snapshot(ctx, s2.ID); err != nil || got.CommitUser != "someone-else" {
		t.Fatalf("replaced snapshot: %+v %v", got, err)
	}
	if l, err := tb.LatestFrom(ctx, s2); err != nil || l.CommitUser != "someone-else" {
		t.Fatalf("LatestFrom a replaced snapshot: %+v %v", l, err)
	}
	// Deleted: not found, whatever the cache holds.
	if err := cs.Store.Delete(ctx, tb.key(SnapshotPath(s2.ID))); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Snapshot(ctx, s2.ID); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("deleted snapshot: %v, want ErrNotFound", err)
	}
}
