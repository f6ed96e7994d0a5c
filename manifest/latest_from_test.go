package manifest

import (
	"context"
	"fmt"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// TestLatestFrom: probing forward from a known snapshot finds the newest
// one, costs two Stats and no Get when nothing is newer, and is not fooled
// by a known snapshot that has expired.
func TestLatestFrom(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb := Open(store, "t/", Options{})
	var snaps []*Snapshot
	for i := range 6 {
		s, err := tb.Commit(ctx, Commit{User: "u", Identifier: fmt.Sprint(i), Kind: CommitAppend})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	for _, known := range append([]*Snapshot{nil}, snaps...) {
		got, err := tb.LatestFrom(ctx, known)
		if err != nil || got.ID != 6 || got.ManifestList != snaps[5].ManifestList {
			t.Fatalf("LatestFrom(%v) = %v, %v", known, got, err)
		}
	}
	f := objstore.NewFault(store)
	ft := Open(f, "t/", Options{})
	got, err := ft.LatestFrom(ctx, snaps[5])
	if err != nil || got != snaps[5] {
		t.Fatalf("LatestFrom(latest) = %v, %v", got, err)
	}
	if f.Calls(objstore.OpStat) != 2 || f.Calls(objstore.OpGet) != 0 {
		t.Fatalf("LatestFrom(latest) made %d Stats and %d Gets, want 2 and 0", f.Calls(objstore.OpStat), f.Calls(objstore.OpGet))
	}
	// Snapshots 1-3 expire; a holder of snapshot 2 must still find 6.
	for id := int64(1); id <= 3; id++ {
		if err := store.Delete(ctx, "t/"+SnapshotPath(id)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := tb.LatestFrom(ctx, snaps[1]); err != nil || got.ID != 6 {
		t.Fatalf("LatestFrom(expired) = %v, %v", got, err)
	}
}
