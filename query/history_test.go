package query

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

func TestParseHistory(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alter table t create tag v1", "ALTER TABLE t CREATE TAG v1"},
		{"ALTER TABLE d.t CREATE TAG IF NOT EXISTS `V1` AS OF VERSION 3", "ALTER TABLE d.t CREATE TAG IF NOT EXISTS 'V1' AS OF VERSION 3"},
		{"ALTER TABLE t CREATE TAG 'rel-1.0' VERSION AS OF 'v1'", "ALTER TABLE t CREATE TAG 'rel-1.0' AS OF VERSION 'v1'"},
		{"ALTER TABLE t CREATE TAG x AS OF TIMESTAMP '2026-01-01 00:00:00'", "ALTER TABLE t CREATE TAG x AS OF TIMESTAMP '2026-01-01 00:00:00'"},
		{"ALTER TABLE t CREATE TAG x AS OF TAG y", "ALTER TABLE t CREATE TAG x AS OF VERSION 'y'"},
		{"ALTER TABLE t DELETE TAG v1", "ALTER TABLE t DROP TAG v1"},
		{"ALTER TABLE t DROP TAG IF EXISTS v1", "ALTER TABLE t DROP TAG IF EXISTS v1"},
		{"ALTER TABLE t DROP tag", "ALTER TABLE t DROP COLUMN tag"},
		{"ALTER TABLE t DROP branch, ADD c INT", "ALTER TABLE t DROP COLUMN branch, ADD COLUMN c INT"},
		{"ALTER TABLE t ROLLBACK TO VERSION 4", "ALTER TABLE t ROLLBACK TO VERSION 4"},
		{"ALTER TABLE t ROLLBACK TO VERSION 'v1'", "ALTER TABLE t ROLLBACK TO VERSION 'v1'"},
		{"ALTER TABLE t ROLLBACK TO SNAPSHOT 2", "ALTER TABLE t ROLLBACK TO VERSION 2"},
		{"ALTER TABLE t ROLLBACK TO TIMESTAMP 1700000000000", "ALTER TABLE t ROLLBACK TO TIMESTAMP 1700000000000"},
		{"ALTER TABLE t CREATE BRANCH dev", "ALTER TABLE t CREATE BRANCH dev"},
		{"ALTER TABLE t CREATE BRANCH Dev AS OF VERSION 'v1'", "ALTER TABLE t CREATE BRANCH dev AS OF VERSION 'v1'"},
		{"ALTER TABLE t DROP BRANCH IF EXISTS dev", "ALTER TABLE t DROP BRANCH IF EXISTS dev"},
		{"ALTER TABLE t FAST FORWARD TO BRANCH dev", "ALTER TABLE t FAST FORWARD TO BRANCH dev"},
		{"ALTER TABLE t FAST_FORWARD TO dev", "ALTER TABLE t FAST FORWARD TO BRANCH dev"},
		{"CALL sys.create_tag('db.t', 'v2', 5)", "ALTER TABLE db.t CREATE TAG v2 AS OF VERSION 5"},
		{"call create_tag('t', 'V2')", "ALTER TABLE t CREATE TAG 'V2'"},
		{"CALL sys.rollback_to('t', 'v1')", "ALTER TABLE t ROLLBACK TO VERSION 'v1'"},
		{"CALL sys.create_branch('t', 'b', 'v1')", "ALTER TABLE t CREATE BRANCH b AS OF VERSION 'v1'"},
		{"CALL sys.delete_branch('t', 'b'); CALL sys.fast_forward('t', 'b'); CALL sys.delete_tag('t$branch_b', 'x')",
			"ALTER TABLE t DROP BRANCH b;\nALTER TABLE t FAST FORWARD TO BRANCH b;\nALTER TABLE t$branch_b DROP TAG x"},
		{"SELECT * FROM t FOR BRANCH dev", "SELECT * FROM t$branch_dev"},
		{"SELECT * FROM t FOR BRANCH 'Dev' VERSION AS OF 'v1'", "SELECT * FROM t FOR BRANCH 'Dev' VERSION AS OF 'v1'"},
		{"SELECT * FROM t$branch_dev$snapshots", "SELECT * FROM `t$branch_dev$snapshots`"},
		{"SELECT * FROM t$snapshots FOR BRANCH 'B'", "SELECT * FROM t$snapshots FOR BRANCH 'B'"},
		{"INSERT INTO t FOR BRANCH b VALUES (1)", "INSERT INTO t$branch_b VALUES (1)"},
		{"SELECT * FROM t FOR SYSTEM_TIME AS OF 5", "SELECT * FROM t TIMESTAMP AS OF 5"},
		{"select * from table_changes('db.t', 1, 'v2') c where c.rowkind = '+I'",
			"SELECT * FROM table_changes('db.t', 1, 'v2') AS c WHERE c.rowkind = '+I'"},
	}
	for _, tc := range tests {
		got, err := parseAll(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
			continue
		}
		again, err := parseAll(got)
		if err != nil || again != got {
			t.Errorf("%q does not round-trip: %q %v", got, again, err)
		}
	}
	bad := []struct{ in, msg string }{
		{"ALTER TABLE t CREATE TAG", "expected a tag name"},
		{"ALTER TABLE t ROLLBACK TO 5", "expected VERSION"},
		{"ALTER TABLE t ROLLBACK VERSION 5", "expected TO"},
		{"ALTER TABLE t CREATE TAG x AS OF VERSION", "VERSION needs a snapshot id"},
		{"ALTER TABLE t FAST FORWARD dev", "expected TO"},
		{"CALL sys.create_tag('t')", "takes 2 to 3 arguments"},
		{"CALL sys.nope('t', 'x')", "unknown procedure"},
		{"CALL sys.create_tag(t, 'x')", "string or integer constants"},
		{"CALL sys.create_tag('a.b.c', 'x')", "bad table name"},
		{"CALL foo.create_tag('t', 'x')", "procedures live in sys"},
		{"SELECT * FROM t$branch_a FOR BRANCH b", "already names a branch"},
		{"SELECT * FROM table_changes('t', 1) VERSION AS OF 1", "time travel does not apply"},
	}
	for _, tc := range bad {
		_, err := parseAll(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: got %v, want an error containing %q", tc.in, err, tc.msg)
		}
	}
}

// TestHistorySQL runs the history statements against silt's catalog: tags,
// time travel by tag, rollback, branches (write, read, fast-forward, drop),
// table_changes and the system tables, and their errors.
func TestHistorySQL(t *testing.T) {
	e, _ := siltEngine(t)
	ctx := context.Background()
	mustExec(t, e, `CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH ('bucket' = '2');
		INSERT INTO t VALUES (1, 'a'), (2, 'b');
		ALTER TABLE t CREATE TAG v1;
		INSERT INTO t VALUES (3, 'c');
		UPDATE t SET v = 'B' WHERE id = 2`)
	check := func(sql, want string) {
		t.Helper()
		if got := query(t, e, sql); got != want {
			t.Fatalf("%s:\n got %q\nwant %q", sql, got, want)
		}
	}
	wantErr := func(sql string, kind error, msg string) {
		t.Helper()
		_, err := e.Exec(ctx, sql)
		if err == nil || !errors.Is(err, kind) || !strings.Contains(err.Error(), msg) {
			t.Fatalf("%s: got %v, want %v containing %q", sql, err, kind, msg)
		}
	}
	check("SELECT * FROM t VERSION AS OF 'v1' ORDER BY id", "1|a\n2|b\n")
	check("SELECT * FROM t ORDER BY id", "1|a\n2|B\n3|c\n")
	check("SELECT tag_name, snapshot_id, branch FROM t$tags", "v1|1|main\n")
	wantErr("SELECT * FROM t VERSION AS OF 'nope'", types.ErrNotFound, "unknown tag 'nope' of table default.t")
	wantErr("ALTER TABLE t CREATE TAG v1", types.ErrConflict, "already exists")
	mustExec(t, e, "ALTER TABLE t CREATE TAG IF NOT EXISTS v1")
	wantErr("ALTER TABLE t CREATE TAG bad AS OF VERSION 99", types.ErrNotFound, "unknown snapshot 99")
	wantErr("SELECT * FROM t TIMESTAMP AS OF '2000-01-01 00:00:00'", types.ErrNotFound, "no snapshot of table default.t at or before")

	// table_changes between a tag and the latest, and from the empty table.
	check("SELECT rowkind, snapshot_id, id, v FROM table_changes('default.t', 'v1', NULL)", "+I|2|3|c\n-U|3|2|b\n+U|3|2|B\n")
	check("SELECT COUNT(*) FROM table_changes('t', 0) WHERE rowkind = '+I'", "3\n")
	wantErr("SELECT * FROM table_changes('t', 3, 1)", types.ErrInvalid, "after the end snapshot")
	wantErr("SELECT * FROM table_changes('t', 'zzz')", types.ErrNotFound, "neither a tag")
	wantErr("SELECT * FROM nope(1)", types.ErrNotFound, "unknown table function")

	// Rollback to the tag: a new snapshot with the old content.
	res := mustExec(t, e, "ALTER TABLE t ROLLBACK TO VERSION 'v1'")
	if res[0].SnapshotID != 4 || !strings.Contains(res[0].Message, "tag:v1") {
		t.Fatalf("rollback: %+v", res[0])
	}
	check("SELECT * FROM t ORDER BY id", "1|a\n2|b\n")
	check("SELECT snapshot_id, commit_kind FROM t$snapshots ORDER BY snapshot_id DESC LIMIT 1", "4|REPLACE\n")
	mustExec(t, e, "CALL sys.rollback_to('default.t', 3)")
	check("SELECT * FROM t ORDER BY id", "1|a\n2|B\n3|c\n")

	// A branch from v1: writes there leave main alone.
	mustExec(t, e, "ALTER TABLE t CREATE BRANCH dev AS OF VERSION 'v1'")
	mustExec(t, e, "INSERT INTO t$branch_dev VALUES (10, 'x'); DELETE FROM t FOR BRANCH dev WHERE id = 1")
	check("SELECT * FROM t FOR BRANCH dev ORDER BY id", "2|b\n10|x\n")
	check("SELECT * FROM t ORDER BY id", "1|a\n2|B\n3|c\n")
	check("SELECT branch_name, created_from_snapshot, created_from_tag, created_from_branch, create_time IS NULL, latest_snapshot_id FROM t$branches",
		"main|NULL|NULL|NULL|true|5\ndev|1|v1|main|false|3\n")
	check("SELECT branch_name, latest_snapshot_id FROM t$branch_dev$branches", "main|5\ndev|3\n")
	check("SELECT snapshot_id FROM t$branch_dev$snapshots ORDER BY 1", "1\n2\n3\n")
	check("SELECT rowkind, id FROM table_changes('t$branch_dev', 1) ORDER BY snapshot_id, id", "+I|10\n-D|1\n")
	wantErr("ALTER TABLE t$branch_dev ADD COLUMN c INT", types.ErrInvalid, "schema changes on branch dev are not supported")
	wantErr("SELECT * FROM t$branch_nope", types.ErrNotFound, "unknown branch 'nope'")
	wantErr("ALTER TABLE t CREATE BRANCH dev", types.ErrConflict, "already exists")
	wantErr("ALTER TABLE t CREATE BRANCH main", types.ErrInvalid, "reserved")

	// Fast-forward main to dev, then drop dev.
	mustExec(t, e, "ALTER TABLE t FAST FORWARD TO BRANCH dev")
	check("SELECT * FROM t ORDER BY id", "2|b\n10|x\n")
	mustExec(t, e, "ALTER TABLE t DROP BRANCH dev")
	wantErr("ALTER TABLE t DROP BRANCH dev", types.ErrNotFound, "unknown branch 'dev'")
	mustExec(t, e, "ALTER TABLE t DROP BRANCH IF EXISTS dev")
	wantErr("ALTER TABLE t FAST FORWARD TO BRANCH dev", types.ErrNotFound, "unknown branch 'dev'")
	check("SELECT branch_name, latest_snapshot_id FROM t$branches", "main|6\n")

	// System tables with WHERE and ORDER BY.
	check("SELECT key, value, is_set FROM t$options WHERE key IN ('bucket', 'merge-engine') ORDER BY key", "bucket|2|true\nmerge-engine|deduplicate|false\n")
	check("SELECT COUNT(*) > 0 FROM t$manifests", "true\n")
	check("SELECT COUNT(*) > 0 FROM t$manifests VERSION AS OF 'v1'", "true\n")
	check("SELECT DISTINCT tier FROM t$files", "hot\n")
	check("SELECT rowkind, snapshot_id, id FROM t$audit_log WHERE snapshot_id <= 2 ORDER BY snapshot_id, id", "+I|1|1\n+I|1|2\n+I|2|3\n")
	wantErr("SELECT * FROM t$nope", types.ErrNotFound, "unknown system table")

	// Tags: drop.
	mustExec(t, e, "ALTER TABLE t DROP TAG v1")
	wantErr("ALTER TABLE t DROP TAG v1", types.ErrNotFound, "unknown tag 'v1'")
	check("SELECT COUNT(*) FROM t$tags", "0\n")
}

// FuzzHistoryExec runs fuzzed statements against a silt table that has a
// tag and a branch: history statements, branch names, table_changes and
// the system tables must answer with a result or an error, never a panic.
func FuzzHistoryExec(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(strings.ReplaceAll(s, "orders", "t"))
	}
	for _, s := range []string{
		"SELECT * FROM table_changes('t', 'v1', NULL)", "SELECT * FROM table_changes('t$branch_dev', 0)",
		"ALTER TABLE t ROLLBACK TO VERSION 1", "ALTER TABLE t$branch_dev CREATE TAG x", "SELECT * FROM t$branch_dev$audit_log",
		"SELECT * FROM t FOR BRANCH dev VERSION AS OF 'v1'", "ALTER TABLE t FAST FORWARD TO BRANCH dev",
		"SELECT * FROM table_changes('t', TIMESTAMP '2026-01-01 00:00:00', DATE '2030-01-01')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > maxFuzzInput {
			return
		}
		e, _ := siltEngine(t)
		ctx := context.Background()
		mustExec(t, e, "CREATE TABLE t (id BIGINT PRIMARY KEY, qty INT); INSERT INTO t VALUES (1, 2); ALTER TABLE t CREATE TAG v1; ALTER TABLE t CREATE BRANCH dev")
		results, _ := e.Exec(ctx, sql)
		for _, r := range results {
			for _, format := range Formats() {
				if err := WriteResult(io.Discard, r, format); err != nil {
					t.Fatalf("%q: WriteResult %s: %v", sql, format, err)
				}
			}
		}
	})
}
