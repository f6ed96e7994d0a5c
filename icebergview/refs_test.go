package icebergview

import (
	"context"
	"testing"

	icetable "github.com/apache/iceberg-go/table"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestCreateBranchPublishesRef: a new branch is a ref of the view as soon
// as it is created, before any commit of its own (pointing at the
// snapshot it was created from), as CREATE BRANCH alone leaves it.
func TestCreateBranchPublishesRef(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, store, dir, nestedSchema())
	w := f.tbl.NewWriter("test")
	if err := w.Write(ctx, types.Insert, types.Row{int32(1), types.List{"a"}, nil, nil, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	latest, err := f.tbl.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tbl.CreateBranch(ctx, "dev", table.Ref{}); err != nil {
		t.Fatal(err)
	}
	f.checkNoErrors(t)
	refs := map[string]icetable.SnapshotRef{}
	for n, r := range f.iceTable(t, ctx).Metadata().Refs() {
		refs[n] = r
	}
	if r, ok := refs["dev"]; !ok || r.SnapshotRefType != icetable.BranchRef || r.SnapshotID != latest.ID {
		t.Fatalf("refs %v: want branch dev at snapshot %d", refs, latest.ID)
	}
}
