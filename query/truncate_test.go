package query

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/manifest"
)

// TestTruncate: TRUNCATE is one OVERWRITE commit that empties the table
// (every merge engine, every partition); time travel still reads the rows
// before it, and the table takes new rows afterwards.
func TestTruncate(t *testing.T) {
	e, cat := siltEngine(t)
	ctx := context.Background()
	mustExec(t, e, `CREATE DATABASE IF NOT EXISTS default;
		CREATE TABLE t (dt DATE, id INT, n BIGINT, PRIMARY KEY (dt, id)) PARTITIONED BY (dt)
			WITH ('bucket' = '2', 'merge-engine' = 'first-row');
		INSERT INTO t VALUES (DATE '2024-01-01', 1, 10), (DATE '2024-01-02', 2, 20);
		INSERT INTO t VALUES (DATE '2024-01-02', 3, 30)`)
	res := mustExec(t, e, "TRUNCATE TABLE t")[0]
	if res.Message != "TRUNCATE" || res.SnapshotID != 3 {
		t.Fatalf("TRUNCATE: %+v", res)
	}
	if got := query(t, e, "SELECT COUNT(*) FROM t"); got != "0\n" {
		t.Errorf("after TRUNCATE: %q rows", got)
	}
	if got := query(t, e, "SELECT id FROM t VERSION AS OF 2 ORDER BY id"); got != "1\n2\n3\n" {
		t.Errorf("time travel to before TRUNCATE: %q", got)
	}
	tbl, err := cat.LoadTable(ctx, "default", "t")
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := tbl.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := snaps[len(snaps)-1]; last.CommitKind != manifest.CommitOverwrite || last.TotalRecordCount != 0 {
		t.Errorf("last snapshot %d: kind %s, %d records; want an OVERWRITE with none", last.ID, last.CommitKind, last.TotalRecordCount)
	}
	// An empty table: nothing to commit.
	if res := mustExec(t, e, "TRUNCATE t")[0]; res.SnapshotID != 0 {
		t.Errorf("TRUNCATE of an empty table committed snapshot %d", res.SnapshotID)
	}
	mustExec(t, e, "INSERT INTO t VALUES (DATE '2024-01-01', 1, 11)")
	if got := query(t, e, "SELECT id, n FROM t"); got != "1|11\n" {
		t.Errorf("insert after TRUNCATE (first-row keeps the new row): %q", got)
	}
	for sql, want := range map[string]string{
		"TRUNCATE nope":        "unknown table default.nope",
		"TRUNCATE t$snapshots": "read-only",
		"TRUNCATE":             "expected",
	} {
		if err := execErr(t, e, sql); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", sql, err, want)
		}
	}
}

// TestTruncateWithoutCapability: a table without Truncater has every row
// deleted in one commit.
func TestTruncateWithoutCapability(t *testing.T) {
	e, _ := ordersEngine(t)
	before := query(t, e, "SELECT COUNT(*) FROM orders")
	res := mustExec(t, e, "TRUNCATE orders")[0]
	if res.Message != "TRUNCATE" || res.SnapshotID == 0 {
		t.Fatalf("TRUNCATE: %+v", res)
	}
	if got := query(t, e, "SELECT COUNT(*) FROM orders"); got != "0\n" {
		t.Errorf("after TRUNCATE: %q", got)
	}
	if got := query(t, e, "SELECT COUNT(*) FROM orders VERSION AS OF "+strconv.FormatInt(res.SnapshotID-1, 10)); got != before {
		t.Errorf("before TRUNCATE: %q, want %q", got, before)
	}
}

// TestShowPartitions: one row per partition, summed from the manifest.
func TestShowPartitions(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE DATABASE IF NOT EXISTS default;
		CREATE TABLE t (dt DATE, region STRING, id INT, PRIMARY KEY (dt, region, id)) PARTITIONED BY (dt, region);
		INSERT INTO t VALUES (DATE '2024-01-01', 'eu', 1), (DATE '2024-01-01', 'eu', 2), (DATE '2024-01-02', 'us', 3);
		INSERT INTO t VALUES (DATE '2024-01-01', 'eu', 1)`)
	res := mustExec(t, e, "SHOW PARTITIONS t")[0]
	if got := colsText(res); !strings.Contains(got, "partition") || !strings.Contains(got, "last_update_time") {
		t.Errorf("columns %s", got)
	}
	want := query(t, e, `SELECT partition, SUM(record_count), COUNT(*), SUM(file_size_in_bytes), MAX(creation_time)
		FROM t$files GROUP BY partition ORDER BY partition`)
	if got := rowsText(res); got != want {
		t.Errorf("SHOW PARTITIONS:\n%s\nwant (from t$files)\n%s", got, want)
	}
	if len(res.Rows) != 2 || res.Rows[0][0] != "dt=2024-01-01/region=eu" || res.Rows[0][1] != int64(3) || res.Rows[0][2] != int64(2) {
		t.Errorf("rows %v", res.Rows)
	}
}
