package icebergview

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func allTypesSchema(engine string) *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt, NotNull: true},
			{Name: "region", Type: types.TString, NotNull: true},
			{Name: "n", Type: types.TInt},
			{Name: "amount", Type: types.TDecimal(12, 2)},
			{Name: "small", Type: types.TDecimal(5, 1)},
			{Name: "ok", Type: types.TBoolean},
			{Name: "f", Type: types.TFloat},
			{Name: "d", Type: types.TDouble},
			{Name: "day", Type: types.TDate},
			{Name: "at", Type: types.TTimestamp},
			{Name: "raw", Type: types.TBytes},
		},
		PrimaryKeys:   []string{"region", "id"},
		PartitionKeys: []string{"region"},
		Options:       map[string]string{"merge-engine": engine, "bucket": "2"},
	}
}

func allTypesRow(id int64, region string, v int) types.Row {
	return types.Row{id, region, int32(v), types.Decimal(int64(v) * 123), types.Decimal(int64(v % 1000)), v%2 == 0,
		float32(v) / 4, float64(v) / 8, types.Date(19000 + v), types.Timestamp(int64(v) * 1_000_001), []byte{byte(v), 1}}
}

// TestPublishAggregationAfterFullCompaction: an aggregation table's view
// shows the last fully compacted snapshot, every column type reads back
// with iceberg-go as silt returns it, and compact --full brings the view
// up to date.
func TestPublishAggregationAfterFullCompaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := allTypesSchema("aggregation")
	f := newFixture(t, store, dir, s)
	w := f.tbl.NewWriter("test")
	for i := 0; i < 40; i++ {
		region := []string{"eu", "us", "a/b c"}[i%3]
		if err := w.Write(ctx, types.Insert, allTypesRow(int64(i%17), region, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	f.checkNoErrors(t)
	if _, _, err := Current(ctx, store, testRoot); err == nil {
		// Nothing compacted yet: a view may exist but has no main ref.
		it := f.iceTable(t, ctx)
		if it.CurrentSnapshot() != nil {
			t.Fatalf("view shows snapshot %d before any full compaction", it.CurrentSnapshot().SnapshotID)
		}
	}
	if _, err := f.tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	f.checkNoErrors(t)
	latest, err := f.tbl.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it := f.iceTable(t, ctx)
	cur := it.CurrentSnapshot()
	if cur == nil || cur.SnapshotID != latest.ID {
		t.Fatalf("view's current snapshot %v, want silt snapshot %d", cur, latest.ID)
	}
	want := siltRows(t, ctx, f.tbl, latest.ID, "")
	got := iceRows(t, ctx, it, latest.ID, f.tbl.Schema())
	if d := diffRows(want, got); d != "" {
		t.Fatalf("snapshot %d: %s", latest.ID, d)
	}
	if len(want) == 0 {
		t.Fatal("no rows")
	}
}

// TestPublishLateHistoryTagOfOldSnapshot: a table that turns the view on
// after its history publishes every retained snapshot with its own
// commit time, and a tag (named after "main") of a snapshot minutes older
// than main's head still builds valid metadata (iceberg-go wants the
// metadata's last update within a minute of its last snapshot log entry,
// which main's ref sets).
func TestPublishLateHistoryTagOfOldSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, store, dir, allTypesSchema("deduplicate"))
	f.off.Store(true)
	write := func(i int) {
		t.Helper()
		w := f.tbl.NewWriter("test")
		if err := w.Write(ctx, types.Insert, allTypesRow(int64(i), "eu", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, "c"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	if _, err := f.tbl.CreateTag(ctx, "t1", table.Ref{}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(5 * time.Minute)
	write(2)
	write(3)
	f.off.Store(false)
	res, err := f.pub.Publish(ctx, f.tbl)
	if err != nil {
		t.Fatal(err)
	}
	it := f.iceTable(t, ctx)
	snaps := it.Metadata().Snapshots()
	if res.Added != 3 || len(snaps) != 3 {
		t.Fatalf("added %d, view has %d snapshots, want the 3 of silt", res.Added, len(snaps))
	}
	for _, s := range snaps {
		silt := mustSnapshot(t, ctx, f.tbl, s.SnapshotID)
		if s.TimestampMs != silt.TimeMillis {
			t.Fatalf("snapshot %d has timestamp %d, silt's commit time is %d", s.SnapshotID, s.TimestampMs, silt.TimeMillis)
		}
		if d := diffRows(siltRows(t, ctx, f.tbl, s.SnapshotID, ""), iceRows(t, ctx, it, s.SnapshotID, f.tbl.Schema())); d != "" {
			t.Fatalf("snapshot %d: %s", s.SnapshotID, d)
		}
	}
	if r := it.Metadata().SnapshotByName("t1"); r == nil || r.SnapshotID != 1 {
		t.Fatalf("tag t1 = %+v, want snapshot 1", r)
	}
	_, infos, err := Published(ctx, store, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.FilesWithoutFieldIDs != 0 {
			t.Fatalf("snapshot %d: %d files without field ids, want 0", in.SnapshotID, in.FilesWithoutFieldIDs)
		}
	}
}
