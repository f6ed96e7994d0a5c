package query

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
)

// naturalCases are NATURAL joins of the DuckDB comparison's tables (a and
// b share g and s; a and c share g) and the USING join each one is.
var naturalCases = [][2]string{
	{"SELECT * FROM a NATURAL JOIN b", "SELECT * FROM a JOIN b USING (g, s)"},
	{"SELECT * FROM a NATURAL LEFT JOIN c", "SELECT * FROM a LEFT JOIN c USING (g)"},
	{"SELECT * FROM a NATURAL RIGHT OUTER JOIN c", "SELECT * FROM a RIGHT JOIN c USING (g)"},
	{"SELECT * FROM b NATURAL FULL JOIN a", "SELECT * FROM b FULL JOIN a USING (g, s)"},
	{"SELECT g, x.id, y.k FROM a x NATURAL INNER JOIN b y WHERE y.n > 100", "SELECT g, x.id, y.k FROM a x JOIN b y USING (g, s) WHERE y.n > 100"},
	{"SELECT * FROM c NATURAL JOIN a NATURAL JOIN b", "SELECT * FROM c JOIN a USING (g) JOIN b USING (g, s)"},
	{"SELECT * FROM (SELECT g AS k, s FROM a) t NATURAL JOIN b", "SELECT * FROM (SELECT g AS k, s FROM a) t JOIN b USING (k, s)"},
}

// TestNaturalJoin: a NATURAL join is the join USING the columns both
// sides name (rows and column names), on both engines; sides without a
// common name are an error.
func TestNaturalJoin(t *testing.T) {
	e, _ := siltEngine(t)
	for _, s := range relSetup {
		mustExec(t, e, s)
	}
	for _, rowEngine := range []bool{false, true} {
		e.rowEngine = rowEngine
		for _, c := range naturalCases {
			got, err := e.ExecStatement(context.Background(), c[0])
			if err != nil {
				t.Fatalf("%s: %v", c[0], err)
			}
			want, err := e.ExecStatement(context.Background(), c[1])
			if err != nil {
				t.Fatalf("%s: %v", c[1], err)
			}
			if colNames(got) != colNames(want) || !slices.Equal(siltRows(got), siltRows(want)) {
				t.Errorf("%s (row engine %v):\n %v %q\nwant (%s)\n %v %q", c[0], rowEngine, got.Columns, siltRows(got), c[1], want.Columns, siltRows(want))
			}
		}
	}
	for sql, msg := range map[string]string{
		"SELECT * FROM a NATURAL JOIN (SELECT 1 AS q) t": "NATURAL JOIN: the two sides have no column name in common",
		"SELECT * FROM a NATURAL JOIN b ON a.g = b.g":    "syntax error",
	} {
		if err := execErr(t, e, sql); !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", sql, err, msg)
		}
	}
}

// TestNaturalJoinDuckDB: NATURAL joins give DuckDB's rows and columns.
func TestNaturalJoinDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	queries := make([]string, len(naturalCases))
	for i, c := range naturalCases {
		queries[i] = c[0]
	}
	want := db.Run(t, relSetup, queries)
	e, _ := siltEngine(t)
	for _, s := range relSetup {
		mustExec(t, e, s)
	}
	for i, sql := range queries {
		d := want[i]
		if d.Err != "" {
			t.Errorf("%s: DuckDB failed: %s", sql, d.Err)
			continue
		}
		res, err := e.ExecStatement(context.Background(), sql)
		if err != nil {
			t.Errorf("%s: silt failed: %v", sql, err)
			continue
		}
		var names []string
		for _, col := range res.Columns {
			names = append(names, col.Name)
		}
		if !slices.Equal(names, d.Columns) {
			t.Errorf("%s: columns\n silt   %v\n DuckDB %v", sql, names, d.Columns)
		}
		got, exp := siltRows(res), duckRows(d)
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("%s:\n silt   %q\n DuckDB %q", sql, got, exp)
		}
	}
}

func colNames(r *Result) string {
	var names []string
	for _, c := range r.Columns {
		names = append(names, c.Name+" "+c.Type.String())
	}
	return strings.Join(names, ", ")
}
