package duckdbtest

import "testing"

func TestRun(t *testing.T) {
	db := Open(t)
	res := db.Run(t, []string{"CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, NULL)) v(x, y)"},
		[]string{"SELECT x, y FROM t ORDER BY x", "SELECT nosuch FROM t"})
	if res[0].Err != "" || len(res[0].Rows) != 2 || *res[0].Rows[0][0] != "1" || *res[0].Rows[0][1] != "a" || res[0].Rows[1][1] != nil {
		t.Fatalf("first query: %+v", res[0])
	}
	if len(res[0].Columns) != 2 || res[0].Columns[1] != "y" {
		t.Fatalf("columns: %v", res[0].Columns)
	}
	if res[1].Err == "" {
		t.Fatalf("a bad query gave no error: %+v", res[1])
	}
}
