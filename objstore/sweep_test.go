package objstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
)

// crashTemp leaves a temp file in folder (relative to dir) as a crashed
// writer would, last modified at mtime.
func crashTemp(t *testing.T, dir, folder, name string, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(folder), name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestLocalSweepTemp: SweepTemp removes the stray temp files older than
// the cutoff in the folders under the prefix, and nothing else: not young
// temp files, not objects, not lock files, not temp files outside the
// prefix. The wrappers pass it through.
func TestLocalSweepTemp(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	old, cutoff := now.Add(-2*time.Hour), now.Add(-time.Hour)

	dir := t.TempDir()
	l := newLocal(t, dir)
	for _, k := range []string{"t/data/p=1/f1", "t/manifest/m1", "u/data/f"} {
		if _, err := l.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	oldData := crashTemp(t, dir, "t/data/p=1", ".silt-tmp-1", old)
	oldMeta := crashTemp(t, dir, "t/manifest", ".silt-tmp-2", old)
	young := crashTemp(t, dir, "t/data/p=1", ".silt-tmp-3", now)
	otherTable := crashTemp(t, dir, "u/data", ".silt-tmp-4", old)
	notTemp := crashTemp(t, dir, "t/data", ".silt-other", old)
	lockFile := crashTemp(t, dir, ".silt-locks", ".silt-tmp-5", old)

	n, err := l.SweepTemp(ctx, "t/", cutoff, true)
	if err != nil || n != 2 {
		t.Fatalf("dry run: %d, %v; want 2", n, err)
	}
	if !exists(oldData) || !exists(oldMeta) {
		t.Fatal("dry run deleted temp files")
	}
	n, err = l.SweepTemp(ctx, "t/", cutoff, false)
	if err != nil || n != 2 {
		t.Fatalf("sweep: %d, %v; want 2", n, err)
	}
	for p, want := range map[string]bool{oldData: false, oldMeta: false, young: true, otherTable: true, notTemp: true, lockFile: true} {
		if exists(p) != want {
			t.Errorf("%s exists = %v, want %v", p, exists(p), want)
		}
	}
	objs, err := l.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if !slices.Equal(keys, []string{"t/data/p=1/f1", "t/manifest/m1", "u/data/f"}) {
		t.Errorf("objects after the sweep: %v", keys)
	}
	// A prefix that is not a folder sweeps nothing in the folder it names
	// part of; an invalid one sweeps nothing.
	if n, err := l.SweepTemp(ctx, "u/data/f", cutoff, false); err != nil || n != 0 || !exists(otherTable) {
		t.Errorf("sweep of a partial name: %d, %v", n, err)
	}
	if n, err := l.SweepTemp(ctx, "../", cutoff, false); err != nil || n != 0 {
		t.Errorf("sweep of an invalid prefix: %d, %v", n, err)
	}

	// Through the wrappers (Retry of Prefix of Fault of Local).
	fault := objstore.NewFault(l)
	var st objstore.Store = objstore.NewRetry(objstore.NewPrefix(fault, "u"), objstore.RetryOptions{})
	if n, err := objstore.SweepTemp(ctx, st, "", cutoff, false); err != nil || n != 1 || exists(otherTable) {
		t.Errorf("sweep through the wrappers: %d, %v (left: %v)", n, err, exists(otherTable))
	}
	fault.Add(objstore.Rule{Op: objstore.OpList, Err: errors.New("boom"), Times: 1})
	if _, err := objstore.SweepTemp(ctx, objstore.NewPrefix(fault, "t"), "", cutoff, false); err == nil {
		t.Error("an injected fault did not reach the caller")
	}
	// Stores without temp files sweep nothing.
	if n, err := objstore.SweepTemp(ctx, objstore.NewMem(), "", cutoff, false); err != nil || n != 0 {
		t.Errorf("memory store: %d, %v", n, err)
	}
}
