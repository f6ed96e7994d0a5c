package query

import (
	"strings"
	"testing"
)

// TestNestedSQL: nested literals, element access, CARDINALITY, equality
// and output, through INSERT and SELECT on a table with nested columns.
func TestNestedSQL(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id INT PRIMARY KEY, a ARRAY<INT>, m MAP<STRING, BIGINT>, r ROW<x INT, s STRING>, l ARRAY<ARRAY<STRING>>);
		INSERT INTO t VALUES (1, [1, 2, NULL], MAP {'k': 1, 'j': 2}, {'x': 5, 's': 'hi'}, [['a'], []]),
			(2, ARRAY[], MAP {}, ROW(7, 'yo'), NULL), (3, NULL, NULL, NULL, [[NULL, 'b']])`)
	for _, c := range []struct{ sql, want string }{
		{"SELECT id, a, m, r, l FROM t ORDER BY id", "1|[1, 2, NULL]|{k=1, j=2}|{'x': 5, 's': hi}|[[a], []]\n2|[]|{}|{'x': 7, 's': yo}|NULL\n3|NULL|NULL|NULL|[[NULL, b]]\n"},
		{"SELECT id, a[1], a[3], a[4], a[-1], m['j'], m['zz'], r.x, r['s'], l[1][1] FROM t ORDER BY id", "1|1|NULL|NULL|NULL|2|NULL|5|hi|a\n2|NULL|NULL|NULL|NULL|NULL|NULL|7|yo|NULL\n3|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL\n"},
		{"SELECT id, CARDINALITY(a), LEN(m), ARRAY_LENGTH(l) FROM t ORDER BY id", "1|3|2|2\n2|0|0|NULL\n3|NULL|NULL|1\n"},
		{"SELECT id FROM t WHERE a = [1, 2, NULL] OR r = {'x': 7, 's': 'yo'} ORDER BY id", "1\n2\n"},
		{"SELECT [1, 2] = [1, 2], [1] = [2], {'a': 1}.a", "true|false|1\n"},
	} {
		if got := query(t, e, c.sql); got != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.sql, got, c.want)
		}
	}
}

// TestNestedOutput: nested values in every output format; the CSV form
// reads back with CAST (the JSON text form).
func TestNestedOutput(t *testing.T) {
	e, _ := siltEngine(t)
	res := mustExec(t, e, `SELECT [1, NULL] AS a, MAP {'k': [X'00ff']} AS m, {'x': 1.5, 's': 'a,"b'} AS r`)[0]
	for _, c := range []struct{ format, want string }{
		{"csv", "a,m,r\n\"[1,null]\",\"{\"\"k\"\":[\"\"0x00ff\"\"]}\",\"{\"\"x\"\":1.5,\"\"s\"\":\"\"a,\\\"\"b\"\"}\"\n"},
		{"json", `{"a":[1,null],"m":{"k":["AP8="]},"r":{"x":"1.5","s":"a,\"b"}}` + "\n"},
	} {
		var b strings.Builder
		if err := WriteResult(&b, res, c.format); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.format, b.String(), c.want)
		}
	}
	var b strings.Builder
	if err := WriteResult(&b, res, "arrow"); err != nil {
		t.Fatalf("arrow: %v", err)
	}
	if got := query(t, e, `SELECT CAST('{"k": ["0x00ff"]}' AS MAP<STRING, ARRAY<BYTES>>) = MAP {'k': [X'00ff']}`); got != "true\n" {
		t.Errorf("CAST of the CSV text form: %q", got)
	}
}
