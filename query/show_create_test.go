package query

import (
	"strings"
	"testing"
)

// TestShowCreateTableRoundTrip: executing SHOW CREATE TABLE's output in
// another database re-creates a table with the same DESCRIBE and $options.
func TestShowCreateTableRoundTrip(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, "CREATE DATABASE IF NOT EXISTS default; CREATE DATABASE other")
	tables := map[string]string{
		"orders": `CREATE TABLE orders (
			dt DATE COMMENT 'the day''s date',
			id BIGINT,
			` + "`select`" + ` STRING DEFAULT 'it''s',
			qty INT NOT NULL DEFAULT -7,
			price DECIMAL(10,2) DEFAULT -1.50,
			ratio DOUBLE DEFAULT 1e-3,
			big DOUBLE DEFAULT 12345678901234567890.5,
			ok BOOLEAN DEFAULT TRUE,
			day DATE DEFAULT DATE '2024-02-29',
			at TIMESTAMP DEFAULT TIMESTAMP '2024-01-31 12:00:00.123456+02:00',
			raw BYTES DEFAULT X'00ff27',
			name VARCHAR,
			PRIMARY KEY (id, dt)
		) PARTITIONED BY (dt) COMMENT 'all ''orders''' WITH ('bucket' = '4', 'merge-engine' = 'aggregation', 'fields.qty.aggregate-function' = 'sum')`,
		"single": "CREATE TABLE single (k STRING PRIMARY KEY, v FLOAT)",
		"evolved": `CREATE TABLE evolved (id INT PRIMARY KEY, a STRING);
			ALTER TABLE evolved ADD COLUMN note STRING NOT NULL DEFAULT 'n/a' COMMENT 'why' AFTER id, RENAME COLUMN a TO b, SET ('snapshot.num-retained.min' = '3')`,
	}
	for name, ddl := range tables {
		t.Run(name, func(t *testing.T) {
			mustExec(t, e, "USE default; "+ddl)
			out := query(t, e, "SHOW CREATE TABLE "+name)
			t.Logf("%s", out)
			mustExec(t, e, "USE other; "+strings.TrimSuffix(out, "\n"))
			for _, q := range []string{"DESCRIBE %s", "SELECT key, value FROM %s$options WHERE is_set"} {
				want := query(t, e, strings.ReplaceAll(q, "%s", "default."+name))
				got := query(t, e, strings.ReplaceAll(q, "%s", "other."+name))
				if got != want {
					t.Errorf("%s: re-created\n%s\nwant\n%s", q, got, want)
				}
			}
			if again := query(t, e, "SHOW CREATE TABLE other."+name); again != out {
				t.Errorf("SHOW CREATE TABLE of the copy:\n%s\nwant\n%s", again, out)
			}
		})
	}
}

func TestShowCreateTableErrors(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, "CREATE DATABASE IF NOT EXISTS default; CREATE TABLE t (id INT PRIMARY KEY)")
	for sql, want := range map[string]string{
		"SHOW CREATE TABLE nope":        "unknown table default.nope",
		"SHOW CREATE TABLE t$snapshots": "is a system table",
		"SHOW CREATE t":                 "expected TABLE",
		"SHOW PARTITIONS t":             "is not partitioned",
		"SHOW PARTITIONS t$files":       "is a system table",
		"SHOW FOO":                      "expected DATABASES, TABLES, CREATE TABLE or PARTITIONS",
	} {
		if err := execErr(t, e, sql); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", sql, err, want)
		}
	}
}
