package lifecycle

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// hookStore runs a callback once: after the first PutIfAbsent or before
// the first Get that matches.
type hookStore struct {
	objstore.Store
	mu    sync.Mutex
	onPut func(key string) bool
	onGet func(key string) bool
	hook  func()
}

func (h *hookStore) fire(match bool) {
	h.mu.Lock()
	f := h.hook
	if match {
		h.hook = nil
	}
	h.mu.Unlock()
	if match && f != nil {
		f()
	}
}

func (h *hookStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	info, err := h.Store.PutIfAbsent(ctx, key, data)
	h.fire(err == nil && h.onPut != nil && h.onPut(key))
	return info, err
}

func (h *hookStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	h.fire(h.onGet != nil && h.onGet(key))
	return h.Store.Get(ctx, key)
}

// checkAllReadable reads every snapshot in full and compares the latest
// with want.
func checkAllReadable(t *testing.T, tb *table.Table, want map[int64]string) {
	t.Helper()
	snaps := mustSnapshots(t, tb)
	for _, s := range snaps {
		if _, err := readSnapshot(t, tb, s.ID); err != nil {
			t.Fatalf("snapshot %d is unreadable: %v", s.ID, err)
		}
	}
	got, err := readSnapshot(t, tb, snaps[len(snaps)-1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("latest snapshot holds %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %d = %q, want %q (latest holds %v)", k, got[k], v, got)
		}
	}
}

// TestOrphanCleanupDuringSlowCommit: a commit stalls after uploading its
// manifest list, and orphan cleanup runs when its files (data file,
// manifest, manifest list) are older than orphan.grace-period. The
// cleanup deletes them (nothing references them yet); the commit must
// then refuse to publish instead of publishing a snapshot whose manifest
// list is gone, and every acknowledged row must still read back.
func TestOrphanCleanupDuringSlowCommit(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	mem := newClockStore(objstore.NewMem(), clock.Now)
	hs := &hookStore{Store: mem}
	tb := gcTable(t, clock, hs, objstore.NewMem(), map[string]string{table.OptOrphanGracePeriod: "1h"})
	gcCommit(t, tb, clock, 1, []int64{1, 2}, time.Minute)

	w := tb.NewWriter("slow")
	mustWrite(t, w, types.Insert, types.Row{int64(3), "slow"})
	hs.onPut = func(key string) bool { return strings.Contains(key, "manifest/manifest-list-") }
	var cleaned *OrphanReport
	hs.hook = func() {
		clock.Advance(2 * time.Hour) // the commit stalls past the grace period
		rep, _, err := CleanOrphans(ctx, tb, false)
		if err != nil {
			t.Errorf("orphan cleanup: %v", err)
		}
		cleaned = rep
	}
	_, err := w.Commit(ctx, "slow-1")
	if cleaned == nil || cleaned.Deleted == 0 {
		t.Fatalf("the cleanup did not run or deleted nothing: %+v", cleaned)
	}
	if err == nil {
		t.Fatalf("a commit holding files deleted by orphan cleanup was published")
	}
	if !errors.Is(err, manifest.ErrHeldTooLong) || !strings.Contains(err.Error(), "raise orphan.grace-period") {
		t.Fatalf("commit error %v, want manifest.ErrHeldTooLong", err)
	}
	checkAllReadable(t, tb, map[int64]string{1: "c1-1", 2: "c1-2"})
	// The writer is usable again, and the table takes new commits.
	mustWrite(t, w, types.Insert, types.Row{int64(3), "again"})
	if _, err := w.Commit(ctx, "slow-2"); err != nil {
		t.Fatal(err)
	}
	checkAllReadable(t, tb, map[int64]string{1: "c1-1", 2: "c1-2", 3: "again"})
}

// TestOrphanCleanupListsBeforeReferences: a commit that held its files for
// less than half the grace period publishes while a slow orphan cleanup
// walks the references. Cleanup must fix its cutoff and list the store
// before it reads the references, so that it cannot take the commit's
// files for old orphans without also seeing the snapshot that references
// them, however long the walk takes.
func TestOrphanCleanupListsBeforeReferences(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	mem := newClockStore(objstore.NewMem(), clock.Now)
	hs := &hookStore{Store: mem}
	tb := gcTable(t, clock, hs, objstore.NewMem(), map[string]string{table.OptOrphanGracePeriod: "1h"})
	gcCommit(t, tb, clock, 1, []int64{1, 2}, time.Minute)

	w := tb.NewWriter("w2")
	mustWrite(t, w, types.Insert, types.Row{int64(3), "three"})
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Minute)
	// The commit lands just as the cleanup reads the first manifest list
	// of the references; the walk then takes two hours.
	hs.onGet = func(key string) bool { return strings.Contains(key, "manifest/manifest-list-") }
	hs.hook = func() {
		if _, err := w.Commit(ctx, "c2"); err != nil {
			t.Errorf("commit: %v", err)
		}
		clock.Advance(2 * time.Hour)
	}
	if _, _, err := CleanOrphans(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	checkAllReadable(t, tb, map[int64]string{1: "c1-1", 2: "c1-2", 3: "three"})
}
