package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/types"
)

func query(t *testing.T, e *Engine, sql string) string {
	t.Helper()
	res, err := e.ExecStatement(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rowsText(res)
}

func TestDDL(t *testing.T) {
	e, cat := newTestEngine(t)
	res := mustExec(t, e, `
		CREATE DATABASE Shop;
		CREATE DATABASE IF NOT EXISTS shop;
		SHOW DATABASES;
		USE shop;
		CREATE TABLE items (
		  dt DATE COMMENT 'day',
		  id INT,
		  name VARCHAR NOT NULL,
		  price DECIMAL(8,2),
		  PRIMARY KEY (dt, id)
		) PARTITIONED BY (dt) COMMENT 'items' WITH ('bucket' = '4', 'merge-engine' = 'deduplicate');
		CREATE TABLE IF NOT EXISTS items (x INT PRIMARY KEY);
		SHOW TABLES;
		DESCRIBE items;
		SHOW TABLES FROM default;
	`)
	var msgs []string
	for _, r := range res {
		msgs = append(msgs, r.Message)
	}
	if got, want := strings.Join(msgs, ","), "CREATE DATABASE,CREATE DATABASE,SHOW 2,USE shop,CREATE TABLE,CREATE TABLE,SHOW 1,DESCRIBE 4,SHOW 0"; got != want {
		t.Errorf("messages %s, want %s", got, want)
	}
	if got := rowsText(res[2]); got != "default\nshop\n" {
		t.Errorf("SHOW DATABASES: %q", got)
	}
	if e.CurrentDB() != "shop" {
		t.Errorf("current db %q", e.CurrentDB())
	}
	if got := rowsText(res[6]); got != "items\n" {
		t.Errorf("SHOW TABLES: %q", got)
	}
	want := "dt|DATE|false|true|true|day|NULL\nid|INT|false|true|false||NULL\nname|STRING|false|false|false||NULL\nprice|DECIMAL(8,2)|true|false|false||NULL\n"
	if got := rowsText(res[7]); got != want {
		t.Errorf("DESCRIBE:\n%s want\n%s", got, want)
	}
	s := cat.table("shop", "items").schema
	if fmt.Sprintf("%v %v %v %s", s.PrimaryKeys, s.PartitionKeys, s.Options, s.Comment) != "[dt id] [dt] map[bucket:4 merge-engine:deduplicate] items" {
		t.Errorf("schema: %v %v %v %q", s.PrimaryKeys, s.PartitionKeys, s.Options, s.Comment)
	}
	if got := query(t, e, "DESCRIBE items$snapshots"); !strings.HasPrefix(got, "snapshot_id|BIGINT|") {
		t.Errorf("DESCRIBE $snapshots: %q", got)
	}
	mustExec(t, e, "DROP TABLE items; DROP TABLE IF EXISTS items; USE default; DROP DATABASE shop; DROP DATABASE IF EXISTS shop")
	if got := query(t, e, "SHOW DATABASES"); got != "default\n" {
		t.Errorf("after drop: %q", got)
	}
}

func TestInsertUpdateDelete(t *testing.T) {
	e, cat := newTestEngine(t)
	mustExec(t, e, "CREATE TABLE t (id INT PRIMARY KEY, name STRING, n BIGINT NOT NULL, price DECIMAL(6,2), at TIMESTAMP)")
	r := mustExec(t, e, "INSERT INTO t (n, id) VALUES (10, 1), (20, 2), (30, 3)")[0]
	if r.Message != "INSERT 3" || r.SnapshotID != 1 {
		t.Errorf("insert: %+v", r)
	}
	if got := query(t, e, "SELECT * FROM t"); got != "1|NULL|10|NULL|NULL\n2|NULL|20|NULL|NULL\n3|NULL|30|NULL|NULL\n" {
		t.Errorf("after insert:\n%s", got)
	}
	// Upsert by primary key; the last row of a statement wins.
	mustExec(t, e, "INSERT INTO t VALUES (1, 'one', 11, 1.5, '2026-01-01 00:00:00+02:00'), (1, 'uno', 12, -2, NULL)")
	if got := query(t, e, "SELECT name, n, price, at FROM t WHERE id = 1"); got != "uno|12|-2.00|NULL\n" {
		t.Errorf("upsert: %q", got)
	}
	r = mustExec(t, e, "UPDATE t SET n = n * 2, name = COALESCE(name, 'x') || '!', price = n / 4 WHERE id >= 2")[0]
	if r.Message != "UPDATE 2" || r.SnapshotID != 3 {
		t.Errorf("update: %+v", r)
	}
	if got := query(t, e, "SELECT id, name, n, price FROM t"); got != "1|uno|12|-2.00\n2|x!|40|5.00\n3|x!|60|7.00\n" {
		t.Errorf("after update:\n%s", got)
	}
	r = mustExec(t, e, "UPDATE t SET n = 0 WHERE id = 99")[0]
	if r.Message != "UPDATE 0" || r.SnapshotID != 0 {
		t.Errorf("empty update: %+v", r)
	}
	r = mustExec(t, e, "DELETE FROM t WHERE name LIKE 'x%' AND id <> 3")[0]
	if r.Message != "DELETE 1" || r.SnapshotID != 4 {
		t.Errorf("delete: %+v", r)
	}
	if got := query(t, e, "SELECT id FROM t"); got != "1\n3\n" {
		t.Errorf("after delete: %q", got)
	}
	// The changes Apply saw: one commit per statement, -D with full rows.
	tab := cat.table("default", "t")
	if n := len(tab.snaps); n != 4 {
		t.Fatalf("%d snapshots, want 4", n)
	}
	// INSERT … SELECT, including implicit widening of INT into BIGINT.
	mustExec(t, e, "CREATE TABLE u (k BIGINT PRIMARY KEY, label STRING NOT NULL)")
	r = mustExec(t, e, "INSERT INTO u SELECT id, CAST(n AS STRING) FROM t WHERE n > 0")[0]
	if r.Message != "INSERT 2" {
		t.Errorf("insert select: %+v", r)
	}
	if got := query(t, e, "SELECT * FROM u"); got != "1|12\n3|60\n" {
		t.Errorf("u: %q", got)
	}
	r = mustExec(t, e, "DELETE FROM u")[0]
	if r.Message != "DELETE 2" {
		t.Errorf("delete all: %+v", r)
	}
	if got := query(t, e, "SELECT COUNT(*) FROM u"); got != "0\n" {
		t.Errorf("u after delete: %q", got)
	}
}

func TestScriptStopsAtFirstError(t *testing.T) {
	e, cat := newTestEngine(t)
	res, err := e.Exec(context.Background(), `
		CREATE TABLE t (id INT PRIMARY KEY, v STRING);
		INSERT INTO t VALUES (1, 'a');
		INSERT INTO t VALUES (2, 'b'), (3, 4);
		INSERT INTO t VALUES (5, 'e');`)
	if err == nil || err.Error() != `statement 3: invalid: row 2: column "v": cannot use 4 (INT) as STRING` {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, types.ErrInvalid) {
		t.Errorf("error does not wrap ErrInvalid")
	}
	if len(res) != 2 {
		t.Errorf("%d results before the failure, want 2", len(res))
	}
	if got := query(t, e, "SELECT id FROM t"); got != "1\n" {
		t.Errorf("rows: %q (statement 3 must commit nothing, statement 4 must not run)", got)
	}
	if n := len(cat.table("default", "t").snaps); n != 1 {
		t.Errorf("%d snapshots, want 1", n)
	}
	// A script that does not parse runs nothing.
	_, err = e.Exec(context.Background(), "INSERT INTO t VALUES (7, 'g');\nSELEC 1;")
	if err == nil || err.Error() != `statement 2: invalid: syntax error at 2:1 near "SELEC": expected a statement (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, SHOW, USE, DESCRIBE)` {
		t.Errorf("err = %v", err)
	}
	if got := query(t, e, "SELECT COUNT(*) FROM t"); got != "1\n" {
		t.Errorf("a script with a syntax error ran: %q", got)
	}
	// A single statement's error carries no statement number.
	if _, err := e.Exec(context.Background(), "SELECT nope FROM t"); err == nil || strings.HasPrefix(err.Error(), "statement") {
		t.Errorf("single statement error: %v", err)
	}
	// Commit failures are reported and leave no rows behind.
	cat.table("default", "t").failApply = fmt.Errorf("%w: concurrent commit", types.ErrConflict)
	_, err = e.Exec(context.Background(), "INSERT INTO t VALUES (8, 'h')")
	if !errors.Is(err, types.ErrConflict) || err.Error() != "committing to default.t: conflict: concurrent commit" {
		t.Errorf("commit failure: %v", err)
	}
	if _, err := e.ExecStatement(context.Background(), "SELECT 1; SELECT 2"); err == nil || err.Error() != "invalid: expected one statement, got 2" {
		t.Errorf("ExecStatement with two statements: %v", err)
	}
	if _, err := e.ExecStatement(context.Background(), " -- nothing\n"); err == nil || err.Error() != "invalid: empty statement" {
		t.Errorf("ExecStatement empty: %v", err)
	}
}

func TestTimeTravelAndSnapshots(t *testing.T) {
	e, cat := newTestEngine(t)
	mustExec(t, e, `
		CREATE TABLE t (id INT PRIMARY KEY, v STRING);
		INSERT INTO t VALUES (1, 'a'), (2, 'b');
		UPDATE t SET v = 'B' WHERE id = 2;
		DELETE FROM t WHERE id = 1;
		INSERT INTO t VALUES (3, 'c');`)
	snaps := cat.table("default", "t").snaps
	at := func(i int) string {
		return time.UnixMilli(snaps[i].meta.TimeMillis).UTC().Format("2006-01-02 15:04:05")
	}
	tests := []struct{ sql, want string }{
		{"SELECT * FROM t", "2|B\n3|c\n"},
		{"SELECT * FROM t VERSION AS OF 1", "1|a\n2|b\n"},
		{"SELECT * FROM t VERSION AS OF 2", "1|a\n2|B\n"},
		{"SELECT v FROM default.t VERSION AS OF 3 WHERE id = 2", "B\n"},
		{"SELECT * FROM t TIMESTAMP AS OF '" + at(0) + "'", "1|a\n2|b\n"},
		{"SELECT * FROM t TIMESTAMP AS OF '" + at(1) + "+00:00'", "1|a\n2|B\n"},
		// The commit time itself is inclusive.
		{"SELECT COUNT(*) FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '" + at(1) + "' ", "2\n"},
		{fmt.Sprintf("SELECT * FROM t TIMESTAMP AS OF %d", snaps[2].meta.TimeMillis+1), "2|B\n"},
		{"SELECT * FROM t TIMESTAMP AS OF CURRENT_TIMESTAMP", "2|B\n3|c\n"},
		// An offset is honoured: 02:00+02:00 is 00:00 UTC.
		{"SELECT * FROM t TIMESTAMP AS OF '" + strings.Replace(at(0), " 00:", " 02:", 1) + "+02:00'", "1|a\n2|b\n"},
		{"SELECT snapshot_id, commit_kind, total_record_count, delta_record_count FROM t$snapshots",
			"1|APPEND|2|2\n2|APPEND|2|1\n3|APPEND|1|1\n4|APPEND|2|1\n"},
		{"SELECT snapshot_id FROM default.t$snapshots WHERE delta_record_count = 1 ORDER BY snapshot_id DESC LIMIT 2", "4\n3\n"},
		{"SELECT COUNT(*), MAX(commit_time) > MIN(commit_time) FROM t$snapshots", "4|true\n"},
		{"SELECT s.commit_user FROM t$snapshots s WHERE s.snapshot_id = 1", "tester\n"},
	}
	for _, tt := range tests {
		if got := query(t, e, tt.sql); got != tt.want {
			t.Errorf("%s:\n got\n%s want\n%s", tt.sql, got, tt.want)
		}
	}
	res := mustExec(t, e, "SELECT * FROM t VERSION AS OF 2")[0]
	if res.SnapshotID != 2 {
		t.Errorf("SnapshotID = %d, want 2", res.SnapshotID)
	}
	if got := colsText(mustExec(t, e, "SELECT * FROM t$snapshots")[0]); got != "snapshot_id BIGINT, schema_id BIGINT, commit_user STRING, commit_identifier STRING, commit_kind STRING, commit_time TIMESTAMP, total_record_count BIGINT, delta_record_count BIGINT" {
		t.Errorf("snapshots columns: %s", got)
	}
}

func TestPushdown(t *testing.T) {
	e, cat := newTestEngine(t)
	mustExec(t, e, `
		CREATE TABLE p (dt DATE, id BIGINT, amount DECIMAL(8,2), name STRING, PRIMARY KEY (dt, id)) PARTITIONED BY (dt);
		INSERT INTO p VALUES ('2024-01-01', 1, 1.00, 'a'), ('2024-01-01', 2, 2.00, 'b'), ('2024-01-02', 1, 3.00, 'c');`)
	tab := cat.table("default", "p")
	tests := []struct{ sql, equals, rows string }{
		{"SELECT name FROM p WHERE dt = '2024-01-01' AND id = 2", "map[0:19723 1:2]", "b\n"},
		{"SELECT name FROM p WHERE '2024-01-02' = dt", "map[0:19724]", "c\n"},
		{"SELECT name FROM p WHERE amount = 3 AND (id = 1 OR id = 2)", "map[2:300]", "c\n"},
		{"SELECT name FROM p WHERE id = 1 AND id = 2", "map[1:1]", ""},
		{"SELECT name FROM p WHERE id = 1 OR dt = '2024-01-01' ORDER BY name", "map[]", "a\nb\nc\n"},
		{"SELECT name FROM p WHERE id > 1", "map[]", "b\n"},
		{"SELECT name FROM p WHERE id = NULL", "map[]", ""},
		{"SELECT name FROM p WHERE amount = 1.001", "map[]", ""}, // not representable: compared, not pushed
		{"SELECT name FROM p WHERE id = 1.0 AND name = 'c'", "map[1:1 3:c]", "c\n"},
	}
	for _, tt := range tests {
		if got := query(t, e, tt.sql); got != tt.rows {
			t.Errorf("%s: rows %q, want %q", tt.sql, got, tt.rows)
		}
		spec := tab.scans[len(tab.scans)-1]
		if got := fmt.Sprint(spec.Equals); got != tt.equals {
			t.Errorf("%s: Equals %s, want %s", tt.sql, got, tt.equals)
		}
	}
	// DELETE and UPDATE push down too.
	mustExec(t, e, "DELETE FROM p WHERE dt = '2024-01-02' AND id = 1")
	if got := fmt.Sprint(tab.scans[len(tab.scans)-1].Equals); got != "map[0:19724 1:1]" {
		t.Errorf("DELETE Equals %s", got)
	}
}

func TestContextCancelled(t *testing.T) {
	e, _ := ordersEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Exec(ctx, "SELECT * FROM orders"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestInvalidUTF8NeverReachesString: a string literal with bytes that are
// not UTF-8 is a syntax error at its position (it was silently stored with
// the bytes replaced by U+FFFD), and CAST of such bytes to STRING fails.
func TestInvalidUTF8NeverReachesString(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id BIGINT PRIMARY KEY, s STRING)`)
	for q, want := range map[string]string{
		"INSERT INTO t VALUES (1, 'ab\xffcd')":              `invalid: syntax error at 1:29 near "\xffcd')": invalid UTF-8 in string (SQL text must be UTF-8; write bytes as X'ff')`,
		"INSERT INTO t VALUES (2, CAST(X'c3' AS STRING))":   `invalid: cannot CAST 0xc3 AS STRING: the bytes are not valid UTF-8`,
		"SELECT * FROM t WHERE s = 'x\xed\xa0\x80'":         `invalid: syntax error at 1:29 near "\xed\xa0\x80'": invalid UTF-8 in string (SQL text must be UTF-8; write bytes as X'ff')`,
		"INSERT INTO t VALUES (3, CAST(X'c3a9' AS STRING))": "",
	} {
		_, err := e.Exec(context.Background(), q)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", q, err)
			}
			continue
		}
		if err == nil || err.Error() != want || !errors.Is(err, types.ErrInvalid) {
			t.Errorf("%q:\n got  %v\n want %s", q, err, want)
		}
	}
	got := mustExec(t, e, "SELECT id, s FROM t ORDER BY id")
	if rows := got[len(got)-1].Rows; len(rows) != 1 || rows[0][1] != "é" {
		t.Errorf("rows after the rejected inserts: %v", rows)
	}
}
