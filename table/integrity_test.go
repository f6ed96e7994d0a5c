package table

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// swappedTable writes a one-bucket table with two data files of equal size
// (same row count, fixed-width values), then copies one file over the
// other in the store. With sameKeys the second commit updates the keys of
// the first (so only the content checksum tells the files apart) and the
// older file is copied over the newer; else the second commit inserts
// other keys and the newer file is copied over the older. It returns the
// table, the path of the replaced file and a key that file held.
func swappedTable(t *testing.T, env Env, sameKeys bool) (*Table, string, int64) {
	t.Helper()
	ctx := context.Background()
	mem := objstore.NewMem()
	tb, err := Open("db.t", mem, "t/", simpleSchema(1), env)
	if err != nil {
		t.Fatal(err)
	}
	for c := int64(0); c < 2; c++ {
		w := tb.NewWriter("w")
		for i := int64(0); i < 8; i++ {
			k := 1000*(c+1) + i
			if sameKeys {
				k = 1000 + i
			}
			mustWrite(t, w, types.Insert, types.Row{k, fmt.Sprintf("v%03d", c)})
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		w.Close(ctx)
	}
	latest, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tb.Meta().Files(ctx, latest)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Size != files[1].Size {
		t.Fatalf("test setup: want two data files of equal size, got %+v", files)
	}
	// Read once before the swap, so caches (footer cache, lookups) hold
	// the original file.
	if got := readIDs(t, tb); len(got) != 16 && !sameKeys || len(got) != 8 && sameKeys {
		t.Fatalf("before the swap: %d rows", len(got))
	}
	if _, ok, err := tb.Get(ctx, 0, int64(1003)); err != nil || !ok {
		t.Fatal(err)
	}
	var victim, other manifest.DataFile
	for _, f := range files {
		if (f.MinSeq == 0) != sameKeys {
			victim = f
		} else {
			other = f
		}
	}
	data, _, err := mem.Get(ctx, tb.Root()+other.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Put(ctx, tb.Root()+victim.Path, data); err != nil {
		t.Fatal(err)
	}
	return tb, victim.Path, 1003
}

// checkSwapError asserts err reports the replaced file as corruption.
func checkSwapError(t *testing.T, what string, err error, path string) {
	t.Helper()
	if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), path) {
		t.Errorf("%s after a data file was replaced: %v; want a corruption error naming %s", what, err, path)
	}
}

// TestReplacedDataFileDetected: a referenced data file overwritten by
// another of the same size fails every read (scan, point lookup, changes)
// and compaction with a corruption error naming the file, never returns
// the other file's rows, and compaction commits nothing. With and without
// the metadata cache (whose footers were cached before the swap), and for
// files with the same keys and row count, told apart by content only.
func TestReplacedDataFileDetected(t *testing.T) {
	for _, tc := range []struct{ cached, sameKeys bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("metacache=%v,samekeys=%v", tc.cached, tc.sameKeys), func(t *testing.T) {
			ctx := context.Background()
			env := Env{}
			if tc.cached {
				env.Meta = NewMetaCache(64 << 20)
			}
			tb, path, key := swappedTable(t, env, tc.sameKeys)

			s, err := tb.NewScan(ctx, ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, err = range s.Rows(ctx) {
				if err != nil {
					break
				}
				n++
			}
			checkSwapError(t, fmt.Sprintf("scan (after %d rows)", n), err, path)

			_, _, err = tb.Get(ctx, 0, key)
			checkSwapError(t, "Get", err, path)

			latest, err := tb.Latest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, err = range tb.Changes(ctx, nil, latest) {
				if err != nil {
					break
				}
			}
			checkSwapError(t, "Changes", err, path)

			_, err = tb.Compact(ctx, CompactOptions{Full: true})
			checkSwapError(t, "full compaction", err, path)
			if after, err := tb.Latest(ctx); err != nil || after.ID != latest.ID {
				t.Fatalf("compaction committed over a replaced file: latest %v (was %d), %v", after, latest.ID, err)
			}
		})
	}
}

// TestLostLatestSnapshotTable: with the newest snapshot's object deleted,
// a scan fails naming the lost id instead of showing the previous
// snapshot, a writer's commit fails instead of publishing another snapshot
// under that id, and a rollback recovers under a new id.
func TestLostLatestSnapshotTable(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	tb, err := Open("db.t", mem, "t/", simpleSchema(1), Env{})
	if err != nil {
		t.Fatal(err)
	}
	for c := int64(1); c <= 3; c++ {
		w := tb.NewWriter("w")
		mustWrite(t, w, types.Insert, types.Row{c, "v"})
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		w.Close(ctx)
	}
	if err := mem.Delete(ctx, "t/"+manifest.SnapshotPath(3)); err != nil {
		t.Fatal(err)
	}
	var miss *manifest.SnapshotMissingError
	if _, err := tb.NewScan(ctx, ScanOptions{}); !errors.As(err, &miss) || miss.ID != 3 || !strings.Contains(err.Error(), "snapshot 3") {
		t.Fatalf("scan with the latest snapshot lost = %v; want snapshot 3 reported missing", err)
	}
	w := tb.NewWriter("w")
	mustWrite(t, w, types.Insert, types.Row{int64(4), "v"})
	if s, err := w.Commit(ctx, "4"); !errors.As(err, &miss) {
		t.Fatalf("commit with the latest snapshot lost = %v, %v; want it refused", s, err)
	}
	w.Close(ctx)
	if _, err := mem.Stat(ctx, "t/"+manifest.SnapshotPath(3)); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("snapshot id 3 was published again: %v", err)
	}
	back, err := tb.Rollback(ctx, Ref{SnapshotID: 2})
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != 4 {
		t.Fatalf("rollback published snapshot %d, want 4", back.ID)
	}
	if got := readIDs(t, tb); len(got) != 2 || got[1] != "v" || got[2] != "v" {
		t.Fatalf("after rollback to 2: %v", got)
	}
}
