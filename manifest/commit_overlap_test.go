package manifest

import (
	"context"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/objstore/objstoretest"
)

// TestCommitPutsManifestAndListAtOnce: a commit puts its new manifest and
// the manifest list naming it at once (an object store's PUT latency is
// paid once for the two), and the snapshot reads back whole.
func TestCommitPutsManifestAndListAtOnce(t *testing.T) {
	st := objstoretest.NewOverlap(objstore.NewMem(), "/manifest/")
	tb, _ := newTestTable(t, st)
	s := mustCommit(t, tb, appendCommit("w", "1", file("data/1", 2), file("data/2", 3)))
	if p := st.Peak(); p < 2 {
		t.Errorf("at most %d manifest put in flight, want the manifest and its list at once", p)
	}
	files, err := tb.Files(context.Background(), s)
	if err != nil || len(files) != 2 {
		t.Fatalf("files of the snapshot: %v, %v", paths(files), err)
	}
}
