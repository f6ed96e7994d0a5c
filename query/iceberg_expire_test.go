package query_test

import (
	"context"
	"sync"
	"testing"
	"time"

	iceio "github.com/apache/iceberg-go/io"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/lifecycle"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestIcebergViewFollowsExpiry: snapshot expiry republishes the Iceberg
// view after removing the snapshots and before deleting their files, so
// the view never names a deleted file; orphan cleanup leaves the view
// alone.
func TestIcebergViewFollowsExpiry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Minute)
		return clock
	}
	var errs []error
	pub := &icebergview.Publisher{Base: icebergview.LocalBase(dir), Default: true, Now: now,
		OnError: func(_ string, err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }}
	s := &types.Schema{
		Fields:      []types.Field{{ID: 0, Name: "k", Type: types.TBigInt, NotNull: true}, {ID: 1, Name: "v", Type: types.TString}},
		PrimaryKeys: []string{"k"}, HighestFieldID: 1,
		Options: map[string]string{"snapshot.num-retained.min": "1", "snapshot.num-retained.max": "2", "snapshot.time-retained": "1s"},
	}
	tbl, err := table.Open("d.t", store, "d/t/", s, table.Env{Now: now, AfterChange: pub.Hook()})
	if err != nil {
		t.Fatal(err)
	}
	commit := func(k int64, v string) {
		w := tbl.NewWriter("w")
		if err := w.Write(ctx, types.Insert, types.Row{k, v}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		commit(int64(i%2), "v"+string(rune('a'+i)))
	}
	if _, err := tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	commit(7, "late")
	before := icebergSnapshots(t, ctx, store)
	if len(before) < 5 {
		t.Fatalf("view has %d snapshots before expiry, want every commit", len(before))
	}
	rep, _, err := lifecycle.ExpireSnapshots(ctx, tbl, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesDeleted == 0 {
		t.Fatalf("expiry deleted no data file (%+v): the test needs some", rep)
	}
	if _, _, err := lifecycle.CleanOrphans(ctx, tbl, false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(errs) > 0 {
		t.Fatalf("publication failed: %v", errs)
	}
	mu.Unlock()
	after := icebergSnapshots(t, ctx, store)
	snaps, err := tbl.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(snaps) {
		t.Fatalf("after expiry the view has snapshots %v, silt %d snapshots", after, len(snaps))
	}
	// Every snapshot the view names reads whole with iceberg-go.
	it := openView(t, ctx, store)
	for _, id := range after {
		tb, err := it.Scan(icetable.WithSnapshotID(id)).ToArrowTable(ctx)
		if err != nil {
			t.Fatalf("iceberg snapshot %d after expiry: %v", id, err)
		}
		tb.Release()
	}
}

func openView(t *testing.T, ctx context.Context, store objstore.Store) *icetable.Table {
	t.Helper()
	loc, _, err := icebergview.Current(ctx, store, "d/t/")
	if err != nil {
		t.Fatal(err)
	}
	it, err := icetable.NewFromLocation(ctx, icetable.Identifier{"d", "t"}, loc,
		func(context.Context) (iceio.IO, error) { return iceio.LocalFS{}, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func icebergSnapshots(t *testing.T, ctx context.Context, store objstore.Store) []int64 {
	t.Helper()
	var ids []int64
	for _, s := range openView(t, ctx, store).Metadata().Snapshots() {
		ids = append(ids, s.SnapshotID)
	}
	return ids
}
