package query

import (
	"strings"
	"testing"
)

// TestNestedDDL: CREATE TABLE reads nested column types in every spelling;
// ALTER TABLE evolves ROW fields by dotted path; a nested key is refused.
func TestNestedDDL(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, "CREATE TABLE t (id BIGINT PRIMARY KEY, a ARRAY<INT>, b INT[][], c MAP(VARCHAR, INT), "+
		"d MAP<STRING, ARRAY<ROW<x INT NOT NULL, `yz` STRING>>>, r ROW(a INT, s STRUCT<q: DOUBLE>), l LIST<BOOLEAN>)")
	mustExec(t, e, "ALTER TABLE t ADD COLUMN r.s.w DATE FIRST, ADD COLUMN r.n BIGINT[]; ALTER TABLE t RENAME COLUMN r.a TO aa")
	want := "id|BIGINT\na|ARRAY<INT>\nb|ARRAY<ARRAY<INT>>\nc|MAP<STRING, INT>\nd|MAP<STRING, ARRAY<ROW<x INT NOT NULL, yz STRING>>>\n" +
		"r|ROW<aa INT, s ROW<w DATE, q DOUBLE>, n ARRAY<BIGINT>>\nl|ARRAY<BOOLEAN>\n"
	var got strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(query(t, e, "DESCRIBE t")), "\n") {
		f := strings.Split(line, "|")
		got.WriteString(f[0] + "|" + f[1] + "\n")
	}
	if got.String() != want {
		t.Errorf("DESCRIBE:\n%s\nwant\n%s", got.String(), want)
	}
	mustExec(t, e, "ALTER TABLE t DROP COLUMN r.n")
	for _, c := range []struct{ sql, want string }{
		{"CREATE TABLE k (id ARRAY<INT> PRIMARY KEY)", `primary key column "id" cannot be ARRAY<INT>`},
		{"CREATE TABLE k (id INT PRIMARY KEY, x ARRAY<INT)", `want ">", got ")"`},
		{"ALTER TABLE t ADD COLUMN a.x INT", "ARRAY<INT> is not a ROW"},
		{"ALTER TABLE t ALTER COLUMN a TYPE ARRAY<BIGINT>", "nested types evolve field by field"},
	} {
		if err := execErr(t, e, c.sql); !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.sql, err, c.want)
		}
	}
}
