package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// siltEngine is an engine over a real catalog on an in-memory store, with
// a clock that advances a second per call.
func siltEngine(t *testing.T) (*Engine, *catalog.Catalog) {
	t.Helper()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	cat := catalog.New(objstore.NewMem(), "", table.Env{Now: now})
	return NewEngine(NewSiltCatalog(cat, "test"), EngineOptions{Now: func() time.Time { return testNow }}), cat
}

func execErr(t *testing.T, e *Engine, sql string) error {
	t.Helper()
	_, err := e.Exec(context.Background(), sql)
	if err == nil {
		t.Fatalf("%s: no error", sql)
	}
	return err
}

func TestAlterTableSQL(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id BIGINT PRIMARY KEY, name STRING, qty INT);
		INSERT INTO t VALUES (1, 'a', 10), (2, NULL, 20)`)
	res := mustExec(t, e, `ALTER TABLE t ADD COLUMN note STRING NOT NULL DEFAULT 'n/a' COMMENT 'why' AFTER id,
		ALTER COLUMN qty TYPE BIGINT, RENAME COLUMN name TO title`)
	if res[0].Message != "ALTER TABLE (schema 1)" {
		t.Errorf("message %q", res[0].Message)
	}
	// INSERT writes the default of an omitted column.
	mustExec(t, e, `INSERT INTO t (id, title, qty) VALUES (3, 'c', 5000000000); INSERT INTO t VALUES (4, 'x', 'd', 4)`)
	if got, want := query(t, e, "SELECT * FROM t ORDER BY id"), "1|n/a|a|10\n2|n/a|NULL|20\n3|n/a|c|5000000000\n4|x|d|4\n"; got != want {
		t.Errorf("latest:\n%s\nwant\n%s", got, want)
	}
	// Time travel shows the columns the snapshot was written with.
	r := mustExec(t, e, "SELECT * FROM t VERSION AS OF 1")[0]
	if got, want := colsText(r)+"\n"+rowsText(r), "id BIGINT, name STRING, qty INT\n1|a|10\n2|NULL|20\n"; got != want {
		t.Errorf("VERSION AS OF 1:\n%s\nwant\n%s", got, want)
	}
	// … with pushdown on the old schema's positions, and by time.
	if got := query(t, e, "SELECT name FROM t VERSION AS OF 1 WHERE id = 2"); got != "NULL\n" {
		t.Errorf("VERSION AS OF 1 WHERE id = 2: %q", got)
	}
	if got := query(t, e, "SELECT qty FROM t FOR SYSTEM_TIME AS OF '2030-01-01 00:00:00' WHERE id = 3"); got != "5000000000\n" {
		t.Errorf("TIMESTAMP AS OF latest: %q", got)
	}
	r = mustExec(t, e, "SELECT * FROM t VERSION AS OF 1 WITH CURRENT SCHEMA WHERE title IS NOT NULL")[0]
	if got, want := colsText(r)+"\n"+rowsText(r), "id BIGINT, note STRING, title STRING, qty BIGINT\n1|n/a|a|10\n"; got != want {
		t.Errorf("WITH CURRENT SCHEMA:\n%s\nwant\n%s", got, want)
	}
	if err := execErr(t, e, "SELECT title FROM t VERSION AS OF 1"); err.Error() != `invalid: unknown column "title" in table default.t` {
		t.Errorf("old schema has no title: %v", err)
	}
	if got, want := query(t, e, "DESCRIBE t"), "id|BIGINT|false|true|false||NULL\nnote|STRING|false|false|false|why|n/a\ntitle|STRING|true|false|false||NULL\nqty|BIGINT|true|false|false||NULL\n"; got != want {
		t.Errorf("DESCRIBE:\n%s\nwant\n%s", got, want)
	}

	mustExec(t, e, "ALTER TABLE t DROP COLUMN title; ALTER TABLE t SET ('target-file-size' = '64mb', 'schema.compatibility' = 'full'); ALTER TABLE t RESET ('target-file-size')")
	if got, want := query(t, e, "SELECT schema_id, change FROM t$schemas WHERE schema_id > 0 ORDER BY schema_id DESC"),
		"4|RESET ('target-file-size')\n3|SET ('schema.compatibility' = 'full', 'target-file-size' = '64mb')\n2|DROP COLUMN title\n"+
			"1|ADD COLUMN note STRING NOT NULL DEFAULT 'n/a' COMMENT 'why' AFTER id, ALTER COLUMN qty TYPE BIGINT, RENAME COLUMN name TO title\n"; got != want {
		t.Errorf("$schemas:\n%s\nwant\n%s", got, want)
	}
	r = mustExec(t, e, "SELECT * FROM t$schemas WHERE schema_id IN (0, 3)")[0]
	if got, want := colsText(r), "schema_id BIGINT, fields STRING, primary_keys STRING, partition_keys STRING, options STRING, comment STRING, change STRING, update_time TIMESTAMP"; got != want {
		t.Errorf("$schemas columns: %s", got)
	}
	if got, want := rowsText(r), "0|0:id BIGINT NOT NULL, 1:name STRING, 2:qty INT|id||||CREATE TABLE|2026-01-01 00:00:02\n"+
		"3|0:id BIGINT NOT NULL, 3:note STRING NOT NULL DEFAULT 'n/a' COMMENT 'why', 2:qty BIGINT|id||schema.compatibility=full, target-file-size=64mb||SET ('schema.compatibility' = 'full', 'target-file-size' = '64mb')|"; !strings.HasPrefix(got, want) {
		t.Errorf("$schemas rows:\n%s\nwant prefix\n%s", got, want)
	}
	// Snapshot 3 was written with schema 1: it still shows title.
	if got := query(t, e, "SELECT title FROM t VERSION AS OF 3 WHERE id = 4"); got != "d\n" {
		t.Errorf("dropped column at an old snapshot: %q", got)
	}
	if got := query(t, e, "SELECT * FROM t WHERE id = 4"); got != "4|x|4\n" {
		t.Errorf("after drop: %q", got)
	}
	// A no-op.
	if res := mustExec(t, e, "ALTER TABLE t ADD COLUMN IF NOT EXISTS note INT"); res[0].Message != "ALTER TABLE (no change)" {
		t.Errorf("no-op message %q", res[0].Message)
	}
}

func TestAlterTableSQLErrors(t *testing.T) {
	e, cat := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (dt DATE, id BIGINT, name STRING, n INT NOT NULL, PRIMARY KEY (dt, id)) PARTITIONED BY (dt) WITH ('bucket' = '2')`)
	for _, c := range []struct{ sql, want string }{
		{"ALTER TABLE t ADD COLUMN x INT NOT NULL", `alter table default.t: schema.compatibility=backward: rule "NOT NULL column without a DEFAULT" violated by column "x": readers of schema 1 cannot read data written with schema 0: that data has no value for the column (give it a DEFAULT or make it nullable)`},
		{"ALTER TABLE t ALTER COLUMN name SET NOT NULL", `alter table default.t: schema.compatibility=backward: rule "nullable data in a NOT NULL column" violated by column "name": readers of schema 1 cannot read data written with schema 0: the column is nullable there, so it may hold NULLs`},
		{"ALTER TABLE t ALTER COLUMN id TYPE DECIMAL(18,0)", `alter table default.t: invalid: cannot change the type of primary key column "id" from BIGINT to DECIMAL(18,0): the key encoding and the bucket hash depend on it`},
		{"ALTER TABLE t DROP COLUMN dt", `alter table default.t: invalid: cannot drop partition column "dt": rows are stored by partition and key`},
		{"ALTER TABLE t RENAME COLUMN dt TO day", `alter table default.t: invalid: cannot rename partition column "dt": partition paths name the column (dt=…), so new rows of a key would land in another partition than its existing rows`},
		{"ALTER TABLE t SET ('bucket' = '8')", `alter table default.t: invalid: option bucket cannot be changed after CREATE TABLE: a key's bucket is hash(key) mod bucket, so existing rows would be in the wrong bucket`},
		{"ALTER TABLE t SET ('nope' = '1')", `alter table default.t: invalid: unknown table option "nope"`},
		{"ALTER TABLE t ADD COLUMN x INT DEFAULT 'abc'", `invalid: column "x": DEFAULT 'abc': 'abc' is not a valid INT`},
		{"ALTER TABLE t ADD COLUMN x INT DEFAULT 1 + 1", `invalid: syntax error at 1:42 near "+": expected ; or end of statement`},
		{"ALTER TABLE t ALTER COLUMN name SET DEFAULT 'x'", `invalid: syntax error at 1:33 near "SET": a column's DEFAULT is fixed when the column is added (rows written before it read it)`},
		{"ALTER TABLE t ADD PRIMARY KEY (name)", `invalid: syntax error at 1:19 near "PRIMARY": the primary key cannot change after CREATE TABLE`},
		{"ALTER TABLE t RENAME TO u", `invalid: syntax error at 1:22 near "TO": renaming a table is not supported`},
		{"ALTER TABLE t FROB x", `invalid: syntax error at 1:15 near "FROB": expected ADD, RENAME, DROP, ALTER, SET or RESET`},
		{"ALTER TABLE nope DROP COLUMN x", `not found: unknown table default.nope`},
		{"ALTER TABLE t$snapshots DROP COLUMN x", `invalid: cannot alter system table default.t$snapshots`},
		{"SELECT * FROM t$schemas VERSION AS OF 1 WITH CURRENT SCHEMA", `invalid: time travel is not supported on system table default.t$schemas`},
		{"ALTER TABLE t SET ('target-file-size' = '1mb', 'target-file-size' = '2mb')", `invalid: option "target-file-size" given twice`},
	} {
		err := execErr(t, e, c.sql)
		if err.Error() != c.want {
			t.Errorf("%s:\n got  %v\n want %s", c.sql, err, c.want)
		}
		if !errors.Is(err, types.ErrInvalid) && !errors.Is(err, types.ErrNotFound) {
			t.Errorf("%s: error kind %v", c.sql, err)
		}
	}
	all, err := cat.Schemas(context.Background(), "default", "t")
	if err != nil || len(all) != 1 {
		t.Fatalf("rejected ALTERs changed the schema: %d versions, %v", len(all), err)
	}
	// The fake catalog has no schema evolution: a clear error.
	fe, _ := newTestEngine(t)
	mustExec(t, fe, "CREATE TABLE t (id INT PRIMARY KEY)")
	if err := execErr(t, fe, "ALTER TABLE t ADD COLUMN x INT"); err.Error() != "invalid: ALTER TABLE is not supported by this catalog" {
		t.Errorf("fake catalog: %v", err)
	}
}

func TestCheckAlter(t *testing.T) {
	e, cat := siltEngine(t)
	ctx := context.Background()
	mustExec(t, e, "CREATE DATABASE shop; CREATE TABLE shop.t (id BIGINT PRIMARY KEY, qty INT)")
	s, err := e.CheckAlter(ctx, "shop.t", "ALTER TABLE shop.t ALTER COLUMN qty TYPE BIGINT")
	if err != nil || s.ID != 1 || s.Change != "ALTER COLUMN qty TYPE BIGINT" {
		t.Fatalf("CheckAlter: %v %v", s, err)
	}
	if s, err = e.CheckAlter(ctx, "shop.t", "add column note string, drop column qty"); err != nil || s.Change != "ADD COLUMN note STRING, DROP COLUMN qty" {
		t.Fatalf("actions only: %v %v", s, err)
	}
	for _, c := range []struct{ table, sql, want string }{
		{"shop.t", "ALTER TABLE shop.u ADD COLUMN x INT", "invalid: the statement alters shop.u, not shop.t"},
		{"shop.t", "SELECT 1", `invalid: syntax error at 1:1 near "SELECT": expected ADD, RENAME, DROP, ALTER, SET or RESET`},
		{"shop.t", "ALTER TABLE shop.t ADD COLUMN x INT; ALTER TABLE shop.t ADD COLUMN y INT", "invalid: expected one ALTER TABLE statement, got 2"},
		{"shop.t", "ALTER TABLE shop.t SET ('schema.compatibility' = 'forward'), ALTER COLUMN qty TYPE BIGINT", ""},
		{"shop.t", "ALTER COLUMN qty SET NOT NULL", `alter table shop.t: schema.compatibility=backward: rule "nullable data in a NOT NULL column" violated by column "qty": readers of schema 1 cannot read data written with schema 0: the column is nullable there, so it may hold NULLs`},
		{"a/b", "ADD COLUMN x INT", `invalid: bad table name "a/b"`},
	} {
		_, err := e.CheckAlter(ctx, c.table, c.sql)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("%s: %s:\n got  %s\n want %s", c.table, c.sql, got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("%s: %s: no error, want %s", c.table, c.sql, c.want)
		}
	}
	if all, _ := cat.Schemas(ctx, "shop", "t"); len(all) != 1 {
		t.Fatalf("CheckAlter wrote %d versions", len(all))
	}
}

func TestParseAlterRoundTrip(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alter table t add x int", "ALTER TABLE t ADD COLUMN x INT"},
		{"ALTER TABLE db.t ADD COLUMN IF NOT EXISTS `select` DECIMAL(10, 2) NOT NULL DEFAULT -1.5 COMMENT 'it''s' FIRST",
			"ALTER TABLE db.t ADD COLUMN IF NOT EXISTS `select` DECIMAL(10,2) NOT NULL DEFAULT -1.5 COMMENT 'it''s' FIRST"},
		{"ALTER TABLE t ADD COLUMN d DATE DEFAULT DATE '2024-01-02' AFTER x, DROP c, DROP COLUMN IF EXISTS e",
			"ALTER TABLE t ADD COLUMN d DATE DEFAULT DATE '2024-01-02' AFTER x, DROP COLUMN c, DROP COLUMN IF EXISTS e"},
		{"ALTER TABLE t RENAME a TO b, ALTER a TYPE BIGINT, ALTER COLUMN a SET DATA TYPE DOUBLE",
			"ALTER TABLE t RENAME COLUMN a TO b, ALTER COLUMN a TYPE BIGINT, ALTER COLUMN a TYPE DOUBLE"},
		{"ALTER TABLE t ALTER COLUMN a SET NOT NULL, ALTER COLUMN a DROP NOT NULL, ALTER COLUMN a COMMENT ''",
			"ALTER TABLE t ALTER COLUMN a SET NOT NULL, ALTER COLUMN a DROP NOT NULL, ALTER COLUMN a COMMENT ''"},
		{"ALTER TABLE t SET (bucket = 4, 'a.b' = 'c'), RESET ('x', 'y')", "ALTER TABLE t SET ('bucket' = '4', 'a.b' = 'c'), RESET ('x', 'y')"},
		{"SELECT * FROM t VERSION AS OF 3 WITH CURRENT SCHEMA", "SELECT * FROM t VERSION AS OF 3 WITH CURRENT SCHEMA"},
		{"SELECT * FROM t AS x TIMESTAMP AS OF '2024-01-01' WITH CURRENT SCHEMA WHERE a = 1", "SELECT * FROM t AS x TIMESTAMP AS OF '2024-01-01' WITH CURRENT SCHEMA WHERE a = 1"},
		{"CREATE TABLE t (a INT PRIMARY KEY, b STRING NOT NULL DEFAULT 'x' COMMENT 'c')", "CREATE TABLE t (a INT PRIMARY KEY, b STRING NOT NULL DEFAULT 'x' COMMENT 'c')"},
	} {
		stmts, _, err := parseScript(context.Background(), c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := stmts[0].stmt.String(); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"ALTER t ADD x INT", "ALTER TABLE t", "ALTER TABLE t ADD", "ALTER TABLE t ADD COLUMN x", "ALTER TABLE t RESET ()",
		"ALTER TABLE t SET ()", "ALTER TABLE t ADD x INT DEFAULT", "ALTER TABLE t ADD x INT DEFAULT 1 DEFAULT 2", "ALTER TABLE t ALTER x",
		"ALTER TABLE t ADD x INT PRIMARY KEY", "SELECT * FROM t WITH CURRENT SCHEMA", "ALTER TABLE t ADD x INT DEFAULT y"} {
		if _, _, err := parseScript(context.Background(), bad); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}

// TestOptionValueLimits: option values outside their allowed range, RESET
// of an unknown option and partition options on an unpartitioned table are
// one-line errors naming the option, the value and the limit.
func TestOptionValueLimits(t *testing.T) {
	e, cat := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id BIGINT, name STRING, PRIMARY KEY (id))`)
	for _, c := range []struct{ sql, want string }{
		{"ALTER TABLE t RESET ('nosuch')", `alter table default.t: invalid: RESET: unknown table option "nosuch" (SELECT * FROM <table>$options lists the options)`},
		{"ALTER TABLE t SET ('target-file-size' = '1b')", `alter table default.t: invalid: option target-file-size: "1b" is below the minimum 1kb (allowed: 1kb or more, e.g. 128mb)`},
		{"ALTER TABLE t SET ('write-buffer-size' = '1000')", `alter table default.t: invalid: option write-buffer-size: "1000" is below the minimum 1kb (allowed: 1kb or more, e.g. 128mb)`},
		{"ALTER TABLE t SET ('partition.expiration-time' = '30d')", `alter table default.t: invalid: option partition.expiration-time needs a partitioned table (PARTITIONED BY), and this table has no partition columns`},
		{"ALTER TABLE t SET ('tier.partition-age' = '30d')", `alter table default.t: invalid: option tier.partition-age needs a partitioned table (PARTITIONED BY), and this table has no partition columns`},
		{"ALTER TABLE t SET ('snapshot.time-retained' = '0s')", `alter table default.t: invalid: option snapshot.time-retained: "0s" is below the minimum 1s`},
		{"ALTER TABLE t SET ('record-level.expire-time' = '0d', 'record-level.time-field' = 'id')", `alter table default.t: invalid: option record-level.expire-time: "0d" is below the minimum 1s`},
		{"ALTER TABLE t SET ('snapshot.lease-ttl' = '500ms')", `alter table default.t: invalid: option snapshot.lease-ttl: "500ms" is below the minimum 1s`},
		{"CREATE TABLE u (id BIGINT PRIMARY KEY) WITH ('target-file-size' = '1b')", `invalid: option target-file-size: "1b" is below the minimum 1kb (allowed: 1kb or more, e.g. 128mb)`},
		{"CREATE TABLE u (id BIGINT PRIMARY KEY) WITH ('partition.expiration-time' = '1d')", `invalid: option partition.expiration-time needs a partitioned table (PARTITIONED BY), and this table has no partition columns`},
	} {
		_, err := e.Exec(context.Background(), c.sql)
		if err == nil {
			t.Errorf("%s: no error, want %s", c.sql, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%s:\n got  %v\n want %s", c.sql, err, c.want)
		}
		if !errors.Is(err, types.ErrInvalid) {
			t.Errorf("%s: error kind %v", c.sql, err)
		}
	}
	all, err := cat.Schemas(context.Background(), "default", "t")
	if err != nil || len(all) != 1 {
		t.Fatalf("rejected ALTERs changed the schema: %d versions, %v", len(all), err)
	}
	// The limits themselves are accepted; RESET of a known option that is
	// not set changes nothing.
	mustExec(t, e, "ALTER TABLE t SET ('target-file-size' = '1kb', 'snapshot.time-retained' = '1s'); ALTER TABLE t RESET ('target-file-size', 'tier.move-after')")
	mustExec(t, e, `CREATE TABLE p (dt STRING, id BIGINT, PRIMARY KEY (dt, id)) PARTITIONED BY (dt) WITH ('partition.expiration-time' = '30d')`)
}
