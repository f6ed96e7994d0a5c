package lifecycle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// TestOrphanCleanupKeepsForeignNames: orphan cleanup deletes only objects
// whose names silt itself creates. An operator's notes.txt under data/ and
// other files of foreign shape survive however old they are, while a real
// orphan (an unreferenced data file of silt's shape) is deleted.
func TestOrphanCleanupKeepsForeignNames(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	clock := newFakeClock()
	clock.ms.Store(time.Now().UnixMilli())
	tb := gcTable(t, clock, store, objstore.NewMem(), map[string]string{table.OptOrphanGracePeriod: "1h"})
	gcCommit(t, tb, clock, 1, []int64{1, 2}, 0)

	_, files, err := tb.DataFiles(ctx, 0, 0)
	if err != nil || len(files) == 0 {
		t.Fatalf("files: %v %v", files, err)
	}
	put := func(rel string) {
		t.Helper()
		if _, err := store.Put(ctx, tb.Root()+rel, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	foreign := []string{
		"data/notes.txt",
		"data/bucket-0/README.md",
		"data/bucket-0/data-1.parquet.bak",
		"data/bucket-x/data-1.parquet",
		"data/bucket-0/export-1.parquet",
		"manifest/notes.txt",
		"changelog/notes.txt",
	}
	for _, p := range foreign {
		put(p)
	}
	orphan := "data/bucket-0/data-0000orphan.parquet"
	put(orphan)

	clock.ms.Add((3 * time.Hour).Milliseconds())
	rep, _, err := CleanOrphans(ctx, tb, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range foreign {
		if _, err := store.Stat(ctx, tb.Root()+p); err != nil {
			t.Errorf("orphan cleanup deleted %s, a name silt never creates: %v", p, err)
		}
	}
	if _, err := store.Stat(ctx, tb.Root()+orphan); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("orphan %s survived: %v", orphan, err)
	}
	if rep.Foreign != len(foreign) {
		t.Errorf("report counts %d foreign objects, want %d: %+v", rep.Foreign, len(foreign), rep)
	}
	for _, f := range files {
		if _, err := store.Stat(ctx, tb.Root()+f.Path); err != nil {
			t.Errorf("referenced %s deleted: %v", f.Path, err)
		}
	}
}

func TestSiltCreated(t *testing.T) {
	for p, want := range map[string]bool{
		"manifest/manifest-abc":                      true,
		"manifest/manifest-list-abc":                 true,
		"manifest/manifest-":                         false,
		"manifest/x/manifest-abc":                    false,
		"manifest/notes.txt":                         false,
		"data/bucket-3/data-0f1e-22.parquet":         true,
		"data/dt=2026-01-01/bucket-0/data-a.parquet": true,
		"data/bucket-0/changelog-a_b.parquet":        true,
		"data/bucket-0/data-.parquet":                false,
		"data/bucket-/data-a.parquet":                false,
		"data/data-a.parquet":                        false,
		"data/bucket-0/data-a.parquet.tmp":           false,
		"data/bucket-0/data-a b.parquet":             false,
		"data/notes.txt":                             false,
		"changelog/bucket-0/data-a.parquet":          false,
		"snapshot/snapshot-1":                        false,
	} {
		if got := siltCreated(p); got != want {
			t.Errorf("siltCreated(%q) = %v, want %v", p, got, want)
		}
	}
}
