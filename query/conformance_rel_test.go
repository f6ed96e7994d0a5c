package query

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/types"
)

// The relational features (joins, derived tables, CTEs, subqueries, set
// operations, VALUES) give the same rows as DuckDB on the same data. Rows
// are compared as DuckDB's String() of each value; order matters only
// where the query orders totally.

// relSetup creates the tables of the comparison, in SQL both accept.
var relSetup = []string{
	"CREATE TABLE a (id BIGINT PRIMARY KEY, g INT, s STRING, m DECIMAL(10,2), f DOUBLE)",
	"INSERT INTO a VALUES (1, 1, 'x', 1.50, 0.5), (2, 1, 'y', NULL, 1.25), (3, 2, NULL, 3.00, NULL), (4, NULL, 'x', 2.25, -1), (5, 3, 'z', 1.50, 2), (6, 2, 'y', 0.10, 0)",
	"CREATE TABLE b (k BIGINT PRIMARY KEY, g INT, s STRING, n INT)",
	"INSERT INTO b VALUES (10, 1, 'x', 100), (11, 2, 'x', 200), (12, 2, NULL, NULL), (13, 4, 'w', 300), (14, NULL, 'y', 400), (15, 1, 'z', 100)",
	"CREATE TABLE c (g INT PRIMARY KEY, label STRING)",
	"INSERT INTO c VALUES (1, 'one'), (2, 'two'), (5, 'five')",
}

type relCase struct {
	sql     string
	ordered bool // compare rows in order (the ORDER BY is total)
	names   bool // compare column names too
	fails   bool // both must reject it
}

var relCases = []relCase{
	// Joins.
	{sql: "SELECT a.id, b.k FROM a JOIN b ON a.g = b.g"},
	{sql: "SELECT a.id, b.k FROM a INNER JOIN b ON b.g = a.g"},
	{sql: "SELECT a.id, b.k FROM a LEFT JOIN b ON a.g = b.g"},
	{sql: "SELECT a.id, b.k FROM a RIGHT JOIN b ON a.g = b.g"},
	{sql: "SELECT a.id, b.k FROM a FULL OUTER JOIN b ON a.g = b.g"},
	{sql: "SELECT a.id, b.k FROM a CROSS JOIN b"},
	{sql: "SELECT a.id, b.k FROM a, b WHERE a.s = b.s"},
	{sql: "SELECT a.id, b.k FROM a JOIN b ON a.g = b.g AND a.s = b.s"},
	{sql: "SELECT a.id, b.k FROM a LEFT JOIN b ON a.g = b.g AND b.n > 100"},
	{sql: "SELECT a.id, b.k FROM a LEFT JOIN b ON a.g = b.g AND a.id > 3"},
	{sql: "SELECT a.id, b.k FROM a RIGHT JOIN b ON a.g = b.g AND a.f > 0"},
	{sql: "SELECT a.id, b.k FROM a JOIN b ON a.id * 100 < b.n"},
	{sql: "SELECT a.id, b.k FROM a FULL JOIN b ON a.id + 9 = b.k OR a.s = b.s"},
	{sql: "SELECT a.id, b.k FROM a LEFT JOIN b ON a.id > 4"},
	{sql: "SELECT * FROM a JOIN b USING (g)", names: true},
	{sql: "SELECT * FROM a FULL JOIN b USING (g, s)", names: true},
	{sql: "SELECT * FROM a RIGHT JOIN c USING (g)", names: true},
	{sql: "SELECT g, count(*) FROM a LEFT JOIN b USING (g) GROUP BY g"},
	{sql: "SELECT * FROM a RIGHT JOIN b USING (g) FULL JOIN c USING (g)", names: true},
	{sql: "SELECT g, a.id, b.k, c.label FROM c LEFT JOIN a USING (g) JOIN b USING (g, s) WHERE b.n >= 100"},
	{sql: "SELECT g, a.g, c.g FROM a FULL JOIN c USING (g)"},
	{sql: "SELECT a.*, c.label FROM a LEFT JOIN c USING (g)", names: true},
	{sql: "SELECT * FROM a LEFT JOIN c ON a.g = c.g", names: true},
	{sql: "SELECT a.id, c.label FROM a JOIN b ON a.g = b.g JOIN c ON b.g = c.g"},
	{sql: "SELECT a.id, b.k, c.label FROM a LEFT JOIN b ON a.g = b.g FULL JOIN c ON c.g = b.g"},
	{sql: "SELECT x.id, y.id FROM a x JOIN a y ON x.g = y.g AND x.id < y.id"},
	{sql: "SELECT a.id, b.k FROM a JOIN b ON a.id = b.g"},
	{sql: "SELECT a.m, b.k FROM a JOIN b ON a.m = b.g"},
	{sql: "SELECT a.s, b.s FROM a RIGHT JOIN b ON a.s = b.s WHERE a.id IS NULL"},
	{sql: "SELECT a.g, sum(b.n) FROM a JOIN b ON a.g = b.g GROUP BY a.g ORDER BY a.g", ordered: true},
	{sql: "SELECT a.id, b.k FROM a JOIN b ON a.g = b.g ORDER BY a.id, b.k LIMIT 3 OFFSET 1", ordered: true},
	{sql: "SELECT count(*) FROM a JOIN b ON true"},
	{sql: "SELECT a.id FROM a JOIN b ON a.g = b.g AND a.g IS NULL"},
	{sql: "SELECT DISTINCT a.s FROM a JOIN b ON a.s = b.s"},
	// Derived tables and common table expressions.
	{sql: "SELECT t.g, t.c FROM (SELECT g, count(*) AS c FROM a GROUP BY g) t WHERE t.c > 1"},
	{sql: "SELECT * FROM (SELECT id, s FROM a) AS t (x, y) WHERE x > 2", names: true},
	{sql: "SELECT * FROM (SELECT * FROM a JOIN c USING (g)) q WHERE q.label = 'two'", names: true},
	{sql: "WITH t AS (SELECT g, sum(n) AS tot FROM b GROUP BY g) SELECT a.id, t.tot FROM a JOIN t ON a.g = t.g"},
	{sql: "WITH t1 AS (SELECT id FROM a WHERE id > 2), t2 AS (SELECT id FROM t1 WHERE id < 6) SELECT * FROM t2 JOIN t1 USING (id)"},
	{sql: "WITH t AS (SELECT 1 AS v) SELECT * FROM t x, t y", names: true},
	{sql: "WITH t (p, q) AS (SELECT g, s FROM b) SELECT p, count(q) FROM t GROUP BY p"},
	{sql: "WITH a AS (SELECT 42 AS id) SELECT * FROM a"},
	// Subqueries.
	{sql: "SELECT id FROM a WHERE g IN (SELECT g FROM c)"},
	{sql: "SELECT id FROM a WHERE g NOT IN (SELECT g FROM b)"},
	{sql: "SELECT id FROM a WHERE g NOT IN (SELECT g FROM c)"},
	{sql: "SELECT id, g IN (SELECT g FROM b), g NOT IN (SELECT g FROM c WHERE g > 1) FROM a"},
	{sql: "SELECT id FROM a WHERE EXISTS (SELECT 1 FROM c WHERE g = 5)"},
	{sql: "SELECT id FROM a WHERE NOT EXISTS (SELECT 1 FROM c WHERE g = 9)"},
	{sql: "SELECT id, (SELECT max(n) FROM b) FROM a"},
	{sql: "SELECT id FROM a WHERE m > (SELECT min(m) FROM a)"},
	{sql: "SELECT (SELECT label FROM c WHERE g = 9)"},
	{sql: "SELECT id + (SELECT NULL), id FROM a WHERE g IN (SELECT NULL UNION ALL SELECT 1)"},
	{sql: "SELECT id FROM a WHERE g IN (SELECT n FROM b)"},
	{sql: "SELECT id FROM a WHERE id IN (SELECT g FROM b)"},
	{sql: "SELECT count(*) FROM a WHERE s IN (SELECT s FROM b WHERE s IS NOT NULL)"},
	{sql: "SELECT (SELECT count(*) FROM b) + (SELECT count(*) FROM c)"},
	{sql: "SELECT id FROM a WHERE g IN (SELECT g FROM b UNION SELECT g FROM c)"},
	{sql: "SELECT g, count(*) FROM a GROUP BY g HAVING count(*) >= (SELECT count(*) FROM c WHERE g < 3)"},
	{sql: "SELECT id FROM a WHERE g IN (SELECT g FROM c WHERE g > 100)"},
	{sql: "SELECT id FROM a WHERE g NOT IN (SELECT g FROM c WHERE g > 100)"},
	{sql: "SELECT a.id, b.k FROM a JOIN b ON a.g = b.g WHERE b.k IN (SELECT k FROM b UNION SELECT id FROM a)"},
	{sql: "SELECT a.id, b.k FROM a LEFT JOIN b ON a.g = b.g WHERE b.k NOT IN (SELECT k FROM b WHERE k > 12 UNION ALL SELECT id FROM a UNION ALL SELECT 0)"},
	{sql: "SELECT a.id, b.k FROM a, b WHERE a.g NOT IN (SELECT g FROM b UNION ALL SELECT n FROM b UNION ALL SELECT 7)"},
	{sql: "SELECT x.id, x.g IN (SELECT g FROM b UNION ALL SELECT n FROM b) FROM (SELECT * FROM a) x"},
	{sql: "SELECT x.s FROM (SELECT s FROM a) x WHERE x.s IN (VALUES ('x'), ('q'), ('r'), ('t'), ('u'), ('v'), ('w'), ('y'), (NULL))"},
	// Set operations and VALUES.
	{sql: "SELECT g FROM a UNION SELECT g FROM b"},
	{sql: "SELECT g FROM a UNION ALL SELECT g FROM b"},
	{sql: "SELECT g FROM a INTERSECT SELECT g FROM b"},
	{sql: "SELECT g FROM a EXCEPT SELECT g FROM b"},
	{sql: "SELECT g, s FROM a INTERSECT ALL SELECT g, s FROM b"},
	{sql: "SELECT g FROM a INTERSECT ALL SELECT g FROM b"},
	{sql: "SELECT s FROM a EXCEPT ALL SELECT s FROM b"},
	{sql: "SELECT g FROM a UNION SELECT g FROM c ORDER BY g DESC NULLS LAST LIMIT 3", ordered: true},
	{sql: "SELECT id FROM a UNION SELECT k FROM b ORDER BY 1 LIMIT 4 OFFSET 2", ordered: true},
	{sql: "SELECT 1 AS x UNION SELECT 2.5", names: true},
	{sql: "SELECT g FROM a UNION SELECT g FROM b INTERSECT SELECT g FROM c"},
	{sql: "SELECT g FROM a EXCEPT SELECT g FROM b EXCEPT SELECT g FROM c"},
	{sql: "(SELECT id FROM a ORDER BY id LIMIT 2) UNION ALL (SELECT k FROM b ORDER BY k DESC LIMIT 2)"},
	{sql: "SELECT NULL UNION SELECT g FROM c"},
	{sql: "SELECT s, m FROM a UNION SELECT s, n FROM b"},
	{sql: "VALUES (1, 'a'), (2, NULL), (3, 'c')"},
	{sql: "SELECT * FROM (VALUES (1, 'x'), (2, 'y')) v (n, s) JOIN a ON a.s = v.s"},
	{sql: "SELECT count(*), sum(col0) FROM (VALUES (1), (2), (NULL)) t"},
	{sql: "SELECT s, count(*) FROM (SELECT s FROM a UNION ALL SELECT s FROM b) u GROUP BY s"},
	{sql: "WITH u AS (SELECT g FROM a UNION SELECT g FROM b) SELECT count(*) FROM u"},
	{sql: "SELECT * FROM (SELECT g FROM a UNION ALL SELECT g FROM c) u ORDER BY g NULLS FIRST", ordered: true},
	// Both reject.
	{sql: "SELECT (SELECT id FROM a)", fails: true},
	{sql: "SELECT id FROM a JOIN b ON g = g", fails: true},
	{sql: "SELECT 1, 2 UNION SELECT 1", fails: true},
	{sql: "SELECT * FROM a JOIN b USING (id)", fails: true},
	{sql: "SELECT id FROM a WHERE g IN (SELECT g, s FROM b)", fails: true},
}

// duckText renders a silt value as DuckDB's String() does.
func duckText(v types.Value, t types.DataType) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return types.FormatValue(v, t)
}

func siltRows(r *Result) []string {
	var out []string
	for _, row := range r.Rows {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = duckText(v, r.Columns[i].Type)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func duckRows(r duckdbtest.Result) []string {
	var out []string
	for _, row := range r.Rows {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = "NULL"
			if v != nil {
				parts[i] = *v
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func TestRelConformanceDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	queries := make([]string, len(relCases))
	for i, c := range relCases {
		queries[i] = c.sql
	}
	want := db.Run(t, relSetup, queries)
	e, _ := siltEngine(t)
	for _, s := range relSetup {
		mustExec(t, e, s)
	}
	for i, c := range relCases {
		d := want[i]
		res, err := e.ExecStatement(context.Background(), c.sql)
		if c.fails {
			if err == nil || d.Err == "" {
				t.Errorf("%s: want both to fail, silt: %v, DuckDB: %q", c.sql, err, d.Err)
			}
			continue
		}
		if d.Err != "" {
			t.Errorf("%s: DuckDB failed: %s", c.sql, d.Err)
			continue
		}
		if err != nil {
			t.Errorf("%s: silt failed: %v", c.sql, err)
			continue
		}
		if len(res.Columns) != len(d.Columns) {
			t.Errorf("%s: silt returns %d columns, DuckDB %d (%v)", c.sql, len(res.Columns), len(d.Columns), d.Columns)
			continue
		}
		if c.names {
			var names []string
			for _, col := range res.Columns {
				names = append(names, col.Name)
			}
			if !slices.Equal(names, d.Columns) {
				t.Errorf("%s: columns\n silt   %v\n DuckDB %v", c.sql, names, d.Columns)
			}
		}
		got, exp := siltRows(res), duckRows(d)
		if !c.ordered {
			slices.Sort(got)
			slices.Sort(exp)
		}
		if !slices.Equal(got, exp) {
			t.Errorf("%s:\n silt   %q\n DuckDB %q", c.sql, got, exp)
		}
	}
}
