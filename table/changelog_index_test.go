package table

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// ownIndexWriter opens a lookup-changelog table with no table lookup index
// (Env.LocalDir = localDir, no Env.Indexes) and a writer that has made two
// lookup commits, so that it holds a private index; it returns the writer
// and the index's directory. The caller closes the writer.
func ownIndexWriter(t *testing.T, localDir string) (*Writer, string) {
	t.Helper()
	ctx := context.Background()
	s := simpleSchema(2)
	s.Options[OptChangelogProducer] = ProducerLookup
	tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{LocalDir: localDir})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	for c := range 2 {
		mustWrite(t, w, types.Insert, types.Row{int64(1), fmt.Sprint("v", c)})
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			_ = w.Close(ctx)
			t.Fatal(err)
		}
	}
	if w.cl.own == nil || w.cl.own.x == nil {
		_ = w.Close(ctx)
		t.Fatal("the writer opened no private lookup index")
	}
	return w, w.cl.own.dir
}

func pathExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestOwnIndexAbortKeepsIndex: Abort drops the uncommitted rows, not the
// writer's private index: the next commits still use it and Close deletes
// its directory (a sink that aborted a failed batch used to leave one
// directory, and an open Pebble database, per failure).
func TestOwnIndexAbortKeepsIndex(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	w, dir := ownIndexWriter(t, parent)
	defer func() { _ = w.Close(ctx) }()
	mustWrite(t, w, types.Insert, types.Row{int64(2), "dropped"})
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	before := w.cl.lookups.FromIndex
	mustWrite(t, w, types.Insert, types.Row{int64(1), "after abort"})
	if _, err := w.Commit(ctx, "after abort"); err != nil {
		t.Fatal(err)
	}
	if w.cl.lookups.FromIndex == before {
		t.Error("the commit after Abort read no before-image from the private index")
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if pathExists(t, dir) {
		t.Fatalf("%s remains after Abort and Close", dir)
	}
	if es, err := os.ReadDir(parent); err != nil || len(es) != 0 {
		t.Fatalf("%s holds %v after Close (%v)", parent, es, err)
	}
}
