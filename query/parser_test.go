package query

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

func parseAll(sql string) (string, error) {
	stmts, _, err := parseScript(context.Background(), sql)
	if err != nil {
		return "", err
	}
	var out []string
	for _, s := range stmts {
		out = append(out, s.stmt.String())
	}
	return strings.Join(out, ";\n"), nil
}

func TestParseGood(t *testing.T) {
	tests := []struct{ in, want string }{
		// Databases and tables.
		{"create database if not exists Sales", "CREATE DATABASE IF NOT EXISTS sales"},
		{"CREATE SCHEMA s", "CREATE DATABASE s"},
		{"drop database if exists s cascade", "DROP DATABASE IF EXISTS s CASCADE"},
		{"DROP DATABASE s RESTRICT", "DROP DATABASE s"},
		{"show databases", "SHOW DATABASES"},
		{"use `Sales`", "USE sales"},
		{"show tables", "SHOW TABLES"},
		{"SHOW TABLES IN s", "SHOW TABLES FROM s"},
		{"describe s.t", "DESCRIBE s.t"},
		{"DESC TABLE t$snapshots", "DESCRIBE t$snapshots"},
		{"drop table if exists s.t", "DROP TABLE IF EXISTS s.t"},
		{
			"CREATE TABLE IF NOT EXISTS s.Orders (id BIGINT PRIMARY KEY, price DECIMAL(10, 2) NOT NULL COMMENT 'in EUR', name VARCHAR NULL)",
			"CREATE TABLE IF NOT EXISTS s.orders (id BIGINT PRIMARY KEY, price DECIMAL(10,2) NOT NULL COMMENT 'in EUR', name STRING)",
		},
		{
			"create table t (dt date, id int, v double precision, b bytes, ts timestamp(3), ok boolean, " +
				"constraint pk primary key (dt, id) not enforced) partitioned by (dt) comment 'it''s' " +
				"with ('bucket' = '4', 'merge-engine' = 'deduplicate', bucket.key = id, 'n' = 3)",
			"CREATE TABLE t (dt DATE, id INT, v DOUBLE, b BYTES, ts TIMESTAMP, ok BOOLEAN, PRIMARY KEY (dt, id)) " +
				"PARTITIONED BY (dt) COMMENT 'it''s' WITH ('bucket' = '4', 'merge-engine' = 'deduplicate', 'bucket.key' = 'id', 'n' = '3')",
		},
		// DML.
		{"insert into t values (1, 'a'), (2, NULL)", "INSERT INTO t VALUES (1, 'a'), (2, NULL)"},
		{"INSERT INTO d.t (a, `b c`) VALUES (-1.50, X'0aFF')", "INSERT INTO d.t (a, `b c`) VALUES (-1.50, X'0aFF')"},
		{"insert into t select * from u where x > 1", "INSERT INTO t SELECT * FROM u WHERE x > 1"},
		{"insert into t (a) (select a from u)", "INSERT INTO t (a) SELECT a FROM u"},
		{"delete from t", "DELETE FROM t"},
		{"delete from t where id in (1, 2) and not flag", "DELETE FROM t WHERE (id IN (1, 2)) AND (NOT flag)"},
		{"update t set a = a + 1, b = 'x' where id = 3", "UPDATE t SET a = a + 1, b = 'x' WHERE id = 3"},
		// SELECT.
		{"select 1+1", "SELECT 1 + 1"},
		{"SELECT 1 + 2 * 3 - 4 / 2 % 3", "SELECT 1 + (2 * 3) - (4 / 2 % 3)"},
		{"select -x, - -1, -(a+b), +5", "SELECT -x, -(-1), -(a + b), +5"},
		{"select a || b || 'c' = 'abc'", "SELECT (a || b || 'c') = 'abc'"},
		{"select a or b and not c = d", "SELECT a OR (b AND (NOT (c = d)))"},
		{"select * from t", "SELECT * FROM t"},
		{"select t.*, x.a from db.t as x", "SELECT t.*, x.a FROM db.t AS x"},
		{"select distinct a as A, b bee, count(*) from t group by a, 2 having count(*) > 1 order by 1 desc, bee nulls first limit 10 offset 5",
			"SELECT DISTINCT a AS A, b AS bee, COUNT(*) FROM t GROUP BY a, 2 HAVING COUNT(*) > 1 ORDER BY 1 DESC, bee NULLS FIRST LIMIT 10 OFFSET 5"},
		{"select count(distinct a), sum(b), avg(c), min(d), max(e), coalesce(a, 0) from t",
			"SELECT COUNT(DISTINCT a), SUM(b), AVG(c), MIN(d), MAX(e), COALESCE(a, 0) FROM t"},
		{"select * from t where a between 1 and 2 and b not between 3 and 4",
			"SELECT * FROM t WHERE (a BETWEEN 1 AND 2) AND (b NOT BETWEEN 3 AND 4)"},
		{"select * from t where a is null or b is not null", "SELECT * FROM t WHERE (a IS NULL) OR (b IS NOT NULL)"},
		{"select * from t where a like 'x%' and b not like '_y' and c not in ('a', 'b')",
			"SELECT * FROM t WHERE (a LIKE 'x%') AND (b NOT LIKE '_y') AND (c NOT IN ('a', 'b'))"},
		{"select cast(a as decimal(5,1)), cast('1' as int) from t", "SELECT CAST(a AS DECIMAL(5,1)), CAST('1' AS INT) FROM t"},
		{"select date '2024-01-02', timestamp '2024-01-02 03:04:05', true, false, null, 1.5e3, .5, 7.",
			"SELECT DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05', TRUE, FALSE, NULL, 1.5e3, .5, 7."},
		{"select case when a > 1 then 'big' else 'small' end, case a when 1 then 'one' end from t",
			"SELECT CASE WHEN a > 1 THEN 'big' ELSE 'small' END, CASE a WHEN 1 THEN 'one' END FROM t"},
		{"select current_date, current_timestamp, now()", "SELECT CURRENT_DATE, CURRENT_TIMESTAMP, NOW()"},
		{"select date, timestamp, version, `select` from t", "SELECT date, timestamp, version, `select` FROM t"},
		{"select -9223372036854775808", "SELECT -9223372036854775808"},
		// Time travel.
		{"select * from t version as of 3", "SELECT * FROM t VERSION AS OF 3"},
		{"select * from t version as of 'v1'", "SELECT * FROM t VERSION AS OF 'v1'"},
		{"select * from t timestamp as of '2026-01-02 03:04:05'", "SELECT * FROM t TIMESTAMP AS OF '2026-01-02 03:04:05'"},
		{"select * from t for system_time as of timestamp '2026-01-02 03:04:05' where a = 1",
			"SELECT * FROM t TIMESTAMP AS OF TIMESTAMP '2026-01-02 03:04:05' WHERE a = 1"},
		{"select * from t x version as of 1", "SELECT * FROM t AS x VERSION AS OF 1"},
		{"select * from t timestamp as of 1767225600000 as x", "SELECT * FROM t AS x TIMESTAMP AS OF 1767225600000"},
		{"select * from db.t$snapshots order by snapshot_id", "SELECT * FROM db.t$snapshots ORDER BY snapshot_id"},
		// Scripts, comments, strings containing separators.
		{"select 'a;b' -- c;\n; /* d; */ select 2;;", "SELECT 'a;b';\nSELECT 2"},
		{"  -- only a comment\n", ""},
		{"SELECT `we``ird` FROM `My Table`", "SELECT `we``ird` FROM `my table`"},
	}
	for _, tt := range tests {
		got, err := parseAll(tt.in)
		if err != nil {
			t.Errorf("parse %q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parse %q:\n got  %s\n want %s", tt.in, got, tt.want)
			continue
		}
		// The printed form is canonical: it parses back to itself.
		if again, err := parseAll(got); err != nil || again != got {
			t.Errorf("reparse of %q: %q, %v", got, again, err)
		}
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELEC 1", `invalid: syntax error at 1:1 near "SELEC": expected a statement (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, SHOW, USE, DESCRIBE)`},
		{"SELECT * FORM t", `invalid: syntax error at 1:10 near "FORM": expected ; or end of statement`},
		{"SELECT a FROM t WHERE", `invalid: syntax error at end of input (1:22): expected an expression`},
		{"SELECT (1 + 2", `invalid: syntax error at end of input (1:14): expected )`},
		{"SELECT 'abc", `invalid: syntax error at 1:8 near "'abc": unterminated string`},
		{"SELECT 1 /* x", `invalid: syntax error at 1:10 near "/* x": unterminated /* comment`},
		{"SELECT a\nFROM t\nWHERE a = = 1", `invalid: syntax error at 3:11 near "=": expected an expression`},
		{"SELECT 1 # 2", `invalid: syntax error at 1:10 near "# 2": unexpected character '#'`},
		{"SELECT 12abc", `invalid: syntax error at 1:8 near "12abc": bad number`},
		{"SELECT 999999999999999999999999999999999999999", `invalid: syntax error at 1:8 near "999999999999999999999999…": integer literal 999999999999999999999999999999999999999 out of range for DECIMAL(38,0)`},
		{"SELECT DATE '2024-13-01'", `invalid: syntax error at 1:13 near "'2024-13-01'": bad DATE literal "2024-13-01" (want YYYY-MM-DD)`},
		{"SELECT X'abc'", `invalid: syntax error at 1:8 near "X'abc'": bad hex literal (want an even number of hex digits)`},
		{"SELECT CAST(a AS WIDGET) FROM t", `invalid: syntax error at 1:18 near "WIDGET": unknown type "WIDGET"`},
		{"CREATE TABLE t (a DECIMAL(39, 2) PRIMARY KEY)", `invalid: syntax error at 1:19 near "DECIMAL": DECIMAL precision 39 out of range 1..38`},
		{"CREATE TABLE t (a INT, PRIMARY KEY (a), PRIMARY KEY (a))", `invalid: syntax error at 1:41 near "PRIMARY": PRIMARY KEY given twice`},
		{"SELECT from FROM t", `invalid: syntax error at 1:8 near "from": expected an expression`},
		{"SELECT * FROM select", `invalid: syntax error at 1:15 near "select": expected table name (SELECT is a reserved word; quote it with backquotes)`},
		{"SELECT * FROM a.b.c", `invalid: syntax error at 1:18 near ".": table names have at most two parts (database.table)`},
		{"SELECT * FROM t NATURAL CROSS JOIN u", `invalid: syntax error at 1:25 near "CROSS": NATURAL CROSS JOIN is not a join; write CROSS JOIN`},
		{"SELECT * FROM t NATURAL LEFT u", `invalid: syntax error at 1:30 near "u": expected JOIN`},
		{"SELECT * FROM t JOIN u", `invalid: syntax error at end of input (1:23): expected ON or USING after JOIN`},
		{"SELECT * FROM (t JOIN u USING (a))", `invalid: syntax error at 1:15 near "(": expected a query in parentheses (parenthesised joins are not supported)`},
		{"SELECT 1 ORDER BY 1 UNION SELECT 2", `invalid: syntax error at 1:21 near "UNION": ORDER BY, LIMIT and OFFSET apply to the whole set operation; put them after its last operand, or parenthesise the operand they belong to`},
		{"WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r", `invalid: syntax error at 1:6 near "RECURSIVE": WITH RECURSIVE is not supported`},
		{"WITH a AS (SELECT 1), a AS (SELECT 2) SELECT 1", `invalid: syntax error at 1:23 near "a": common table expression "a" is defined twice`},
		{"SELECT * FROM (SELECT 1) x VERSION AS OF 1", `invalid: syntax error at 1:28 near "VERSION": time travel applies to a table, not to a subquery; put it after the table inside`},
		{"VALUES (1, 2), (3)", `invalid: syntax error at 1:16 near "(": VALUES rows must all have the same number of values (2, then 1)`},
		{"SELECT * FROM t VERSION AS OF x", `invalid: syntax error at 1:31 near "x": VERSION AS OF needs a snapshot id or a tag name`},
		{"SELECT * FROM t LIMIT -1", `invalid: syntax error at 1:23 near "-": LIMIT needs a non-negative integer`},
		{"SELECT * FROM t FOR VERSION AS OF 1", `invalid: syntax error at 1:21 near "VERSION": expected SYSTEM_TIME AS OF`},
		{"INSERT t VALUES (1)", `invalid: syntax error at 1:8 near "t": expected INTO or OVERWRITE`},
		{"INSERT INTO t (a) VALUE (1)", `invalid: syntax error at 1:19 near "VALUE": expected VALUES or SELECT`},
		{"UPDATE t a = 1", `invalid: syntax error at 1:10 near "a": expected SET`},
		{"SELECT a NOT 1", `invalid: syntax error at 1:14 near "1": expected IN, BETWEEN or LIKE after NOT`},
		{"SELECT CASE END", `invalid: syntax error at 1:13 near "END": expected an expression`},
		{"SELECT CASE a END", `invalid: syntax error at 1:15 near "END": expected WHEN`},
		{"SELECT \xff", `invalid: syntax error at 1:8 near "\xff": invalid UTF-8 in input`},
		{"SELECT " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300), `invalid: syntax error at 1:208 near "(": expression nested too deeply (limit 200); simplify it or split the statement`},
		{"SELECT 1; SELEC 2", `invalid: syntax error at 1:11 near "SELEC": expected a statement (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, SHOW, USE, DESCRIBE)`},
		{"SELECT ``", "invalid: syntax error at 1:8 near \"``\": empty quoted identifier"},
	}
	for _, tt := range tests {
		_, err := parseAll(tt.in)
		if err == nil {
			t.Errorf("parse %q: no error, want %s", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("parse %q:\n got  %s\n want %s", tt.in, err, tt.want)
		}
		if !errors.Is(err, types.ErrInvalid) {
			t.Errorf("parse %q: error %v does not wrap ErrInvalid", tt.in, err)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		in       string
		stmts    []string
		complete bool
	}{
		{"", nil, true},
		{"  \n", nil, true},
		{"select 1", nil, false},
		{"select 1;", []string{"select 1"}, true},
		{"select 1; select 2", []string{"select 1"}, false},
		{"select ';'", nil, false},
		{"select ';';", []string{"select ';'"}, true},
		{"select 'it''s;'; x", []string{"select 'it''s;'"}, false},
		{"select 'open;", nil, false},
		{"select `a;b`;", []string{"select `a;b`"}, true},
		{"select \"a;b\";", []string{"select \"a;b\""}, true},
		{"select 1 -- no; end\n;", []string{"select 1 -- no; end"}, true},
		{"select 1; -- trailing comment", []string{"select 1"}, true},
		{"select 1; /* open comment", []string{"select 1"}, false},
		{"/* a; */ select 2;", []string{"/* a; */ select 2"}, true},
		{";;  ;", nil, true},
	}
	for _, tt := range tests {
		stmts, complete := SplitStatements(tt.in)
		if strings.Join(stmts, "|") != strings.Join(tt.stmts, "|") || complete != tt.complete {
			t.Errorf("SplitStatements(%q) = %q, %v; want %q, %v", tt.in, stmts, complete, tt.stmts, tt.complete)
		}
	}
}
