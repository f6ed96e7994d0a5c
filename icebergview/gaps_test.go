package icebergview

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	icetable "github.com/apache/iceberg-go/table"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestPublishFirstColumnPartitionDropAndIdleBranch: a table partitioned
// by its first column (silt field id 0) publishes metadata iceberg-go
// accepts (a partition source id must be positive), a column renamed and
// then dropped still resolves in the snapshots written before the drop,
// and a branch without commits of its own is a branch ref at the
// snapshot it was created from.
func TestPublishFirstColumnPartitionDropAndIdleBranch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &types.Schema{
		Fields: []types.Field{
			{Name: "dt", Type: types.TString, NotNull: true},
			{Name: "id", Type: types.TBigInt, NotNull: true},
			{Name: "v", Type: types.TString},
		},
		PrimaryKeys:   []string{"dt", "id"},
		PartitionKeys: []string{"dt"},
		Options:       map[string]string{"merge-engine": "deduplicate", "bucket": "1"},
	}
	f := newFixture(t, store, dir, s)
	commits := 0
	write := func(tbl *table.Table, rows ...types.Row) {
		t.Helper()
		commits++
		w := tbl.NewWriter("test")
		for _, r := range rows {
			if err := w.Write(ctx, types.Insert, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, "c"+strconv.Itoa(commits)); err != nil {
			t.Fatal(err)
		}
		f.checkNoErrors(t)
	}
	write(f.tbl, types.Row{"d1", int64(1), "a"}, types.Row{"d2", int64(2), "b"})

	// Add c1, write it, rename it to r1, drop it.
	add := *s
	add.ID, add.HighestFieldID = 1, 3
	add.Fields = append(slices.Clone(s.Fields), types.Field{ID: 3, Name: "c1", Type: types.TInt})
	f.schemas.add(&add)
	f.open(t, &add)
	write(f.tbl, types.Row{"d1", int64(3), "c", int32(7)})
	ren := add
	ren.ID = 2
	ren.Fields = slices.Clone(add.Fields)
	ren.Fields[3].Name = "r1"
	f.schemas.add(&ren)
	f.open(t, &ren)
	write(f.tbl, types.Row{"d2", int64(4), "d", int32(8)})
	if _, err := f.tbl.CreateBranch(ctx, "dev", table.Ref{}); err != nil {
		t.Fatal(err)
	}
	f.checkNoErrors(t)
	devFrom, err := f.tbl.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drop := ren
	drop.ID = 3
	drop.Fields = slices.Clone(ren.Fields[:3])
	f.schemas.add(&drop)
	f.open(t, &drop)
	write(f.tbl, types.Row{"d3", int64(5), "e"})

	it := f.iceTable(t, ctx)
	// The metadata must survive iceberg-go's validating decoder, as a
	// REST catalog client decodes it.
	body, err := json.Marshal(it.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := icetable.ParseMetadataBytes(body); err != nil {
		t.Fatalf("iceberg-go refuses the published metadata: %v", err)
	}
	for _, sch := range it.Metadata().Schemas() {
		if _, ok := sch.FindFieldByID(0); ok {
			t.Fatalf("schema %d has field id 0: %v", sch.ID, sch)
		}
	}
	for _, sp := range it.Metadata().PartitionSpecs() {
		for _, fld := range sp.Fields() {
			if fld.SourceID() <= 0 {
				t.Fatalf("partition spec %d has source id %d", sp.ID(), fld.SourceID())
			}
		}
	}
	for _, snap := range it.Metadata().Snapshots() {
		d, _ := describe(snap)
		sv, err := f.tbl.AtSchema(ctx, mustSnapshot(t, ctx, f.tbl, d.siltID).SchemaID)
		if err != nil {
			t.Fatal(err)
		}
		want := siltRows(t, ctx, sv, d.siltID, "")
		got := iceRows(t, ctx, it, snap.SnapshotID, sv.Schema())
		if diff := diffRows(want, got); diff != "" {
			t.Fatalf("iceberg snapshot %d (silt %d): %s", snap.SnapshotID, d.siltID, diff)
		}
	}
	refs := map[string]icetable.SnapshotRef{}
	for n, r := range it.Metadata().Refs() {
		refs[n] = r
	}
	ref, ok := refs["dev"]
	if !ok || ref.SnapshotRefType != icetable.BranchRef {
		t.Fatalf("branch dev (no commits of its own) has no branch ref: %v", refs)
	}
	if d, _ := describe(*it.Metadata().SnapshotByID(ref.SnapshotID)); d.siltID != devFrom.ID {
		t.Fatalf("branch ref dev at silt snapshot %d, want %d (created from)", d.siltID, devFrom.ID)
	}

	// Main expires the snapshot dev was created from: dev keeps it, and
	// so does the view.
	if err := f.store.Delete(ctx, testRoot+manifest.SnapshotPath(devFrom.ID)); err != nil {
		t.Fatal(err)
	}
	write(f.tbl, types.Row{"d3", int64(6), "f"})
	it = f.iceTable(t, ctx)
	refs = map[string]icetable.SnapshotRef{}
	for n, r := range it.Metadata().Refs() {
		refs[n] = r
	}
	ref, ok = refs["dev"]
	if !ok {
		t.Fatalf("branch dev lost its ref when main expired its source snapshot: %v", refs)
	}
	snap := it.Metadata().SnapshotByID(ref.SnapshotID)
	if snap == nil {
		t.Fatalf("branch ref dev names snapshot %d the view dropped", ref.SnapshotID)
	}
	dev, err := f.tbl.Branch(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffRows(siltRows(t, ctx, dev, devFrom.ID, ""), iceRows(t, ctx, it, ref.SnapshotID, dev.Schema())); diff != "" {
		t.Fatalf("branch ref dev: %s", diff)
	}
}
