package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestLostLatestSnapshotSQL: with the object of the newest snapshot
// deleted, SELECT fails naming the lost id and the recovery instead of
// showing the previous snapshot, INSERT fails instead of publishing
// another snapshot under that id, and the recovery the error names
// (ROLLBACK TO VERSION) works and takes a new id.
func TestLostLatestSnapshotSQL(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	e := NewEngine(NewSiltCatalog(catalog.New(mem, "", table.Env{Now: now}), "test"), EngineOptions{Now: func() time.Time { return testNow }})
	mustExec(t, e, `CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING);
		INSERT INTO t VALUES (1, 'a');
		INSERT INTO t VALUES (2, 'b');
		INSERT INTO t VALUES (3, 'c')`)
	objs, err := mem.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	lost := ""
	for _, o := range objs {
		if strings.HasSuffix(o.Key, "/"+manifest.SnapshotPath(3)) {
			lost = o.Key
		}
	}
	if lost == "" {
		t.Fatal("snapshot 3 not found in the store")
	}
	if err := mem.Delete(ctx, lost); err != nil {
		t.Fatal(err)
	}

	for _, sql := range []string{"SELECT * FROM t", "INSERT INTO t VALUES (4, 'd')"} {
		_, err := e.Exec(ctx, sql)
		if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "snapshot 3") || !strings.Contains(err.Error(), "ROLLBACK TO VERSION 2") {
			t.Fatalf("%s with snapshot 3 lost: %v; want an error naming the lost snapshot and the rollback", sql, err)
		}
	}
	if _, err := mem.Stat(ctx, lost); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("snapshot id 3 was published again: %v", err)
	}
	if got := query(t, e, "SELECT * FROM t VERSION AS OF 2 ORDER BY id"); got != "1|a\n2|b\n" {
		t.Fatalf("an older version must stay readable: %q", got)
	}
	res := mustExec(t, e, "ALTER TABLE t ROLLBACK TO VERSION 2")
	if res[0].SnapshotID != 4 {
		t.Fatalf("rollback published snapshot %d, want 4", res[0].SnapshotID)
	}
	mustExec(t, e, "INSERT INTO t VALUES (4, 'd')")
	if got := query(t, e, "SELECT * FROM t ORDER BY id"); got != "1|a\n2|b\n4|d\n" {
		t.Fatalf("after rollback and insert: %q", got)
	}
}
