package objstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestOpenLocalWritesNothingUntilAWrite: opening an existing directory to
// read leaves it untouched; a missing one is not created.
func TestOpenLocalWritesNothingUntilAWrite(t *testing.T) {
	ctx := t.Context()
	missing := filepath.Join(t.TempDir(), "whh")
	if _, err := objstore.OpenLocal(missing); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("OpenLocal(missing): %v, want types.ErrNotFound", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenLocal created %s: %v", missing, err)
	}
	dir := t.TempDir()
	l, err := objstore.OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Get(ctx, "a/b"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	if _, err := l.List(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("reads wrote %d entries into %s, want none: %v", len(ents), dir, ents)
	}
	if _, err := l.PutIfAbsent(ctx, "a/b", []byte("x")); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if data, _, err := l.Get(ctx, "a/b"); err != nil || string(data) != "x" {
		t.Fatalf("Get after write: %q, %v", data, err)
	}
	file := filepath.Join(dir, "a", "b")
	if _, err := objstore.OpenLocal(file); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("OpenLocal(file): %v, want types.ErrInvalid", err)
	}
}
