package lifecycle

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// TestOrphanSweepsTempFiles: temp files a crashed local-store write left
// in a real directory (invisible to List) are deleted by orphan cleanup
// once older than orphan.grace-period, in the hot and the cold tier,
// through the Retry wrapper; young ones and everything else stay.
func TestOrphanSweepsTempFiles(t *testing.T) {
	ctx := context.Background()
	hotDir, coldDir := t.TempDir(), t.TempDir()
	open := func(dir string) objstore.Store {
		l, err := objstore.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		return objstore.NewRetry(l, objstore.RetryOptions{})
	}
	hot, cold := open(hotDir), open(coldDir)
	clock := newFakeClock()
	clock.ms.Store(time.Now().UnixMilli())
	tb := gcTable(t, clock, hot, cold, map[string]string{table.OptOrphanGracePeriod: "1h"})
	gcCommit(t, tb, clock, 1, []int64{1, 2}, 0)

	leave := func(dir, folder, name string, age time.Duration) string {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(tb.Root()+folder), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half a parquet file"), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(-age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, files, err := tb.DataFiles(ctx, 0, 0)
	if err != nil || len(files) == 0 {
		t.Fatalf("files: %v %v", files, err)
	}
	dataDir := strings.TrimSuffix(files[0].Path, filepath.Base(files[0].Path)) // data/<partition>/<bucket>/
	crashedData := leave(hotDir, dataDir, ".silt-tmp-111", 2*time.Hour)
	crashedSnap := leave(hotDir, "snapshot/", ".silt-tmp-222", 2*time.Hour)
	crashedCold := leave(coldDir, "data/", ".silt-tmp-333", 2*time.Hour)
	young := leave(hotDir, dataDir, ".silt-tmp-444", time.Minute)
	otherTable := filepath.Join(hotDir, "wh", "db.db", "t2", "data", ".silt-tmp-555")
	if err := os.MkdirAll(filepath.Dir(otherTable), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(otherTable, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(otherTable, old, old); err != nil {
		t.Fatal(err)
	}

	rep, next, err := CleanOrphans(ctx, tb, true)
	if err != nil || rep.TempFiles != 3 || !strings.Contains(strings.Join(next, "\n"), "delete 3 temp files") {
		t.Fatalf("dry run: %+v %v %v", rep, next, err)
	}
	for _, p := range []string{crashedData, crashedSnap, crashedCold} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("dry run deleted %s: %v", p, err)
		}
	}
	mrep, err := Maintain(ctx, tb, MaintainOptions{})
	if err != nil || mrep.TempFilesDeleted != 3 {
		t.Fatalf("maintain: %+v %v", mrep, err)
	}
	for p, want := range map[string]bool{crashedData: false, crashedSnap: false, crashedCold: false, young: true, otherTable: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists = %v, want %v", p, err == nil, want)
		}
	}
	if got, err := readSnapshot(t, tb, 1); err != nil || len(got) != 2 {
		t.Fatalf("snapshot 1 after the sweep: %v %v", got, err)
	}
}
