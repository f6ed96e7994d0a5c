package query

import (
	"context"
	"strings"
	"testing"
)

// TestCreateTableAs: CTAS takes its columns from the query, its key from
// the 'primary-key' option and writes the rows in one commit.
func TestCreateTableAs(t *testing.T) {
	e, cat := siltEngine(t)
	ctx := context.Background()
	mustExec(t, e, `CREATE DATABASE IF NOT EXISTS default;
		CREATE TABLE src (dt DATE, id INT, name STRING, amount DECIMAL(8,2), PRIMARY KEY (dt, id)) PARTITIONED BY (dt);
		INSERT INTO src VALUES (DATE '2024-01-01', 1, 'a', 1.50), (DATE '2024-01-01', 2, 'b', 2.00), (DATE '2024-01-02', 3, NULL, 3.25)`)
	res := mustExec(t, e, `CREATE TABLE dst PARTITIONED BY (dt) COMMENT 'copy' WITH ('primary-key' = 'dt, id', 'bucket' = '2')
		AS SELECT dt, id, UPPER(name) AS name, amount * 2 AS twice, CAST(id AS BIGINT) + 1 AS next FROM src WHERE id < 3`)[0]
	if res.SnapshotID != 1 || res.Message != "CREATE TABLE AS 2" {
		t.Fatalf("CTAS: %+v", res)
	}
	if got, want := query(t, e, "DESCRIBE dst"), "dt|DATE|false|true|true||NULL\nid|INT|false|true|false||NULL\nname|STRING|true|false|false||NULL\ntwice|DECIMAL(18,2)|true|false|false||NULL\nnext|BIGINT|true|false|false||NULL\n"; got != want {
		t.Errorf("DESCRIBE:\n%s\nwant\n%s", got, want)
	}
	if got := query(t, e, "SELECT * FROM dst ORDER BY id"); got != "2024-01-01|1|A|3.00|2\n2024-01-01|2|B|4.00|3\n" {
		t.Errorf("rows: %q", got)
	}
	if got := query(t, e, "SELECT key, value FROM dst$options WHERE is_set ORDER BY key"); got != "bucket|2\n" {
		t.Errorf("options: %q", got)
	}
	tbl, err := cat.LoadTable(ctx, "default", "dst")
	if err != nil {
		t.Fatal(err)
	}
	if s := tbl.Schema(); s.Comment != "copy" || strings.Join(s.PartitionKeys, ",") != "dt" || strings.Join(s.PrimaryKeys, ",") != "dt,id" {
		t.Errorf("schema: %+v", s)
	}
	// IF NOT EXISTS on an existing table runs nothing.
	mustExec(t, e, "CREATE TABLE IF NOT EXISTS dst WITH ('primary-key' = 'x') AS SELECT 1 AS x")
	// The 'partition' option, a set operation, an empty result.
	mustExec(t, e, "CREATE TABLE u WITH ('primary-key' = 'id,dt', 'partition' = 'dt') AS SELECT id, dt FROM src UNION ALL SELECT 9, DATE '2024-02-01'")
	if got := query(t, e, "SELECT COUNT(*) FROM u"); got != "4\n" {
		t.Errorf("u: %q", got)
	}
	if res := mustExec(t, e, "CREATE TABLE empty WITH ('primary-key' = 'id') AS SELECT id FROM src WHERE id > 99")[0]; res.SnapshotID != 0 {
		t.Errorf("empty CTAS committed %d", res.SnapshotID)
	}
	for sql, want := range map[string]string{
		"CREATE TABLE a AS SELECT 1 AS x":                                        "needs a primary key",
		"CREATE TABLE a WITH ('primary-key' = 'y') AS SELECT 1 AS x":             "not a column of the table",
		"CREATE TABLE a WITH ('primary-key' = 'name') AS SELECT name FROM src":   "is NULL in a row",
		"CREATE TABLE dst WITH ('primary-key' = 'id') AS SELECT id FROM src":     "exists",
		"CREATE TABLE a WITH ('primary-key' = 'id') AS SELECT id, id FROM src":   "duplicate column",
		"CREATE TABLE a WITH ('primary-key' = 'id') AS INSERT INTO src VALUES 1": "takes a query",
		"CREATE TABLE a WITH ('primary-key' = 'id') SELECT 1 AS id":              "expected ( and the column definitions, or AS and a query",
	} {
		if err := execErr(t, e, sql); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", sql, err, want)
		}
	}
	// A failed CTAS leaves no table behind.
	if got := query(t, e, "SHOW TABLES"); got != "dst\nempty\nsrc\nu\n" {
		t.Errorf("tables after failures: %q", got)
	}
}
