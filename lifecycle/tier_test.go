package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// countingGets counts reads of a store.
type countingGets struct {
	objstore.Store
	gets atomic.Int64
}

func (c *countingGets) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingGets) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.GetRange(ctx, key, off, n)
}

// TestTiering: files older than tier.move-after move to the cold tier in a
// COMPACT snapshot; reads of every snapshot find them transparently; the
// hot copy is deleted only once no retained snapshot (or lease) references
// it there; compaction reads cold inputs.
func TestTiering(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	hot := newClockStore(objstore.NewMem(), clock.Now)
	cold := &countingGets{Store: newClockStore(objstore.NewMem(), clock.Now)}
	tb := gcTable(t, clock, hot, cold, map[string]string{
		table.OptTierMoveAfter: "1h", table.OptSnapshotNumRetainedMin: "1", table.OptSnapshotTimeRetained: "1m", table.OptOrphanGracePeriod: "1d",
		table.OptTierColdStorageClass: "STANDARD_IA", table.OptSnapshotLeaseTTL: "3h",
	})
	gcCommit(t, tb, clock, 1, []int64{1, 2, 3, 4}, time.Minute)
	want, _ := readSnapshot(t, tb, 1)
	if rep, next, err := TierFiles(ctx, tb, true); err != nil || rep.Files != 0 || len(next) != 0 {
		t.Fatalf("young files tiered: %+v %v %v", rep, next, err)
	}
	clock.Advance(2 * time.Hour)
	_, next, err := TierFiles(ctx, tb, true)
	if err != nil || len(next) != 1 {
		t.Fatalf("dry run: %v %v", next, err)
	}
	_, hotFiles, err := tb.DataFiles(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := TierFiles(ctx, tb, false)
	if err != nil || rep.Files != len(hotFiles) || rep.Snapshot != 2 {
		t.Fatalf("tiering: %+v %v (%d files)", rep, err, len(hotFiles))
	}
	_, files, err := tb.DataFiles(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Tier != table.TierCold {
			t.Fatalf("file %s in tier %q after tiering", f.Path, f.Tier)
		}
		for name, st := range map[string]objstore.Store{"hot": hot, "cold": cold} {
			if _, err := st.Stat(ctx, tb.Root()+f.Path); err != nil {
				t.Fatalf("%s copy of %s: %v", name, f.Path, err)
			}
		}
	}
	before := cold.gets.Load()
	if got := readIDs(t, tb); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("latest read after tiering: %v, want %v", got, want)
	}
	if cold.gets.Load() == before {
		t.Fatal("the latest snapshot was not read from the cold tier")
	}
	// A reader pinned to snapshot 1 (hot copies) while expiry runs.
	sc, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: 1})
	if err != nil {
		t.Fatal(err)
	}
	gcCommit(t, tb, clock, 2, []int64{5}, time.Hour)
	if _, _, err := ExpireSnapshots(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	if ids := snapshotIDs(t, tb); fmt.Sprint(ids) != "[3]" {
		t.Fatalf("retained %v", ids)
	}
	for _, f := range files {
		if _, err := hot.Stat(ctx, tb.Root()+f.Path); err != nil {
			t.Fatalf("hot copy of %s deleted while a lease needs it: %v", f.Path, err)
		}
	}
	got := map[int64]string{}
	for row, err := range sc.Rows(ctx) {
		if err != nil {
			t.Fatalf("leased read of snapshot 1: %v", err)
		}
		got[row[0].(int64)] = row[1].(string)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("leased read %v, want %v", got, want)
	}
	if err := sc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Nothing references the hot copies any more: orphan cleanup takes them
	// after the grace period.
	clock.Advance(25 * time.Hour)
	if _, _, err := CleanOrphans(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := hot.Stat(ctx, tb.Root()+f.Path); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("hot copy of %s still there: %v", f.Path, err)
		}
	}
	want[5] = "c2-5"
	if got := readIDs(t, tb); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("latest after the hot copies went: %v, want %v", got, want)
	}
	// Compaction merges cold inputs (read from the cold tier) into hot
	// outputs.
	if _, err := tb.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	if got := readIDs(t, tb); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after compacting cold files: %v, want %v", got, want)
	}
	clock.Advance(time.Hour)
	if _, err := Maintain(ctx, tb, MaintainOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	if _, err := Maintain(ctx, tb, MaintainOptions{}); err != nil {
		t.Fatal(err)
	}
	checkStorageExact(t, ctx, tb, hot, cold, mustSnapshots(t, tb))
}

// TestTieringExpiryDeletesHotCopy: without a lease, the expiry that
// expires the last snapshot referencing a hot copy deletes it.
func TestTieringExpiryDeletesHotCopy(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	hot := newClockStore(objstore.NewMem(), clock.Now)
	cold := newClockStore(objstore.NewMem(), clock.Now)
	tb := gcTable(t, clock, hot, cold, map[string]string{table.OptTierMinLevel: "0", table.OptSnapshotNumRetainedMin: "2", table.OptSnapshotTimeRetained: "1m"})
	gcCommit(t, tb, clock, 1, []int64{1, 2}, time.Hour)
	if rep, _, err := TierFiles(ctx, tb, false); err != nil || rep.Files != 1 {
		t.Fatalf("tiering: %+v %v", rep, err)
	}
	_, files, _ := tb.DataFiles(ctx, 0, 0)
	key := tb.Root() + files[0].Path
	clock.Advance(time.Hour)
	// min 2: snapshot 1 (the hot reference) is still retained.
	if _, _, err := ExpireSnapshots(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	if _, err := hot.Stat(ctx, key); err != nil {
		t.Fatalf("hot copy deleted while snapshot 1 is retained: %v", err)
	}
	if got, err := readSnapshot(t, tb, 1); err != nil || len(got) != 2 {
		t.Fatalf("snapshot 1: %v %v", got, err)
	}
	gcCommit(t, tb, clock, 2, []int64{3}, time.Hour)
	if _, _, err := ExpireSnapshots(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	if _, err := hot.Stat(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("hot copy kept after its last snapshot expired: %v", err)
	}
	if _, err := cold.Stat(ctx, key); err != nil {
		t.Fatalf("cold copy: %v", err)
	}
	if got := readIDs(t, tb); len(got) != 3 {
		t.Fatalf("latest: %v", got)
	}
	checkStorageExact(t, ctx, tb, hot, cold, mustSnapshots(t, tb))
}

// TestTieringNeedsColdTier: tiering rules without a cold tier are a clear
// error; a corrupt hot file is never copied.
func TestTieringNeedsColdTier(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := gcSchema(map[string]string{table.OptTierMinLevel: "0", table.OptWriteOnly: "true"})
	tb, err := table.Open("db.t", objstore.NewMem(), "t/", s, table.Env{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	gcCommit(t, tb, clock, 1, []int64{1}, time.Hour)
	_, _, err = TierFiles(ctx, tb, false)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), table.OptTierColdURI) {
		t.Fatalf("tiering without a cold tier: %v", err)
	}
}
