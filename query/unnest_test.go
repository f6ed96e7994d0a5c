package query

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
)

const unnestDDL = `CREATE TABLE ut (id INT PRIMARY KEY, a INT[], b VARCHAR[], m MAP(VARCHAR, BIGINT), r STRUCT(x INT, s VARCHAR)[])`

const unnestRows = `INSERT INTO ut VALUES
	(1, [1, 2], ['p', 'q', 'r'], MAP {'k': 1, 'j': 2}, [{'x': 1, 's': 'a'}]),
	(2, [], NULL, MAP {}, []),
	(3, NULL, ['z'], NULL, NULL),
	(4, [NULL, 5], [], MAP {'z': 9}, [NULL, {'x': 3, 's': NULL}])`

// unnestText runs q and renders its columns and rows.
func unnestText(t *testing.T, e *Engine, q string) string {
	t.Helper()
	res, err := e.Exec(context.Background(), q)
	if err != nil {
		return "error: " + err.Error()
	}
	r := res[len(res)-1]
	return colsText(r) + "\n" + rowsText(r)
}

// TestUnnestFrom: UNNEST in FROM, lateral to the items before it, with
// the columns Trino gives (ARRAY of ROWs: the fields; MAP: key, value),
// zipped arguments padded with NULLs, WITH ORDINALITY, and the join forms
// that drop or keep rows with empty or NULL arrays.
func TestUnnestFrom(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, unnestDDL)
	mustExec(t, e, unnestRows)
	cases := []struct{ q, want string }{
		{`SELECT ut.id, u.x FROM ut, UNNEST(ut.a) AS u(x) ORDER BY 1, 2`,
			"id INT, x INT\n1|1\n1|2\n4|NULL\n4|5\n"},
		{`SELECT id, x FROM ut CROSS JOIN UNNEST(a) u(x) WHERE id > 1 ORDER BY 1, 2`,
			"id INT, x INT\n4|NULL\n4|5\n"},
		{`SELECT id, x FROM ut JOIN UNNEST(a) AS u(x) ON true ORDER BY 1, 2`,
			"id INT, x INT\n1|1\n1|2\n4|NULL\n4|5\n"},
		{`SELECT id, x FROM ut LEFT JOIN UNNEST(a) AS u(x) ON true ORDER BY 1, 2`,
			"id INT, x INT\n1|1\n1|2\n2|NULL\n3|NULL\n4|NULL\n4|5\n"},
		{`SELECT id, x FROM ut LEFT JOIN UNNEST(a) AS u(x) ON u.x > 1 ORDER BY 1, 2`,
			"id INT, x INT\n1|2\n2|NULL\n3|NULL\n4|5\n"},
		{`SELECT id, x FROM ut JOIN UNNEST(a) AS u(x) ON x > id ORDER BY 1, 2`,
			"id INT, x INT\n1|2\n4|5\n"},
		{`SELECT * FROM UNNEST([1, 2, 3]) WITH ORDINALITY AS u(x, n)`,
			"x INT, n BIGINT\n1|1\n2|2\n3|3\n"},
		{`SELECT * FROM UNNEST(ARRAY['a', 'b'])`,
			"unnest STRING\na\nb\n"},
		{`SELECT * FROM UNNEST(NULL)`,
			"unnest STRING\n"},
		{`SELECT id, u.* FROM ut, UNNEST(a, b) WITH ORDINALITY u ORDER BY 1, 4`,
			"id INT, unnest INT, unnest_2 STRING, ordinality BIGINT\n1|1|p|1\n1|2|q|2\n1|NULL|r|3\n3|NULL|z|1\n4|NULL|NULL|1\n4|5|NULL|2\n"},
		{`SELECT id, u.* FROM ut, UNNEST(m) AS u ORDER BY 1, 2`,
			"id INT, key STRING, value BIGINT\n1|j|2\n1|k|1\n4|z|9\n"},
		{`SELECT id, k, v FROM ut, UNNEST(m) AS u(k, v) WHERE v > 1 ORDER BY 1, 2`,
			"id INT, k STRING, v BIGINT\n1|j|2\n4|z|9\n"},
		{`SELECT id, x, s FROM ut, UNNEST(r) ORDER BY 1, 2`,
			"id INT, x INT, s STRING\n1|1|a\n4|NULL|NULL\n4|3|NULL\n"},
		{`SELECT id, u.* FROM ut, UNNEST(r, a) WITH ORDINALITY AS u(p, q) ORDER BY 1, 5`,
			"id INT, p INT, q STRING, unnest_2 INT, ordinality BIGINT\n1|1|a|1|1\n1|NULL|NULL|2|2\n4|NULL|NULL|NULL|1\n4|3|NULL|5|2\n"},
		{`SELECT id, y FROM ut, LATERAL UNNEST(a) AS u(x), UNNEST([x, x * 10]) AS w(y) WHERE x IS NOT NULL ORDER BY 1, 2`,
			"id INT, y INT\n1|1\n1|2\n1|10\n1|20\n4|5\n4|50\n"},
		{`SELECT count(*), sum(x) FROM ut, UNNEST(a) AS u(x)`,
			"COUNT(*) BIGINT, SUM(x) BIGINT\n4|8\n"},
		{`WITH c AS (SELECT [7, 8] AS l) SELECT * FROM UNNEST((SELECT l FROM c)) AS u(x)`,
			"x INT\n7\n8\n"},
		{`SELECT x FROM UNNEST([3, 1, 2]) AS u(x) JOIN ut ON ut.id = u.x ORDER BY x`,
			"x INT\n1\n2\n3\n"},
		{`SELECT ut.*, u.* FROM ut, UNNEST(a) u(x) WHERE id = 1 ORDER BY x`,
			"id INT, a ARRAY<INT>, b ARRAY<STRING>, m MAP<STRING, BIGINT>, r ARRAY<ROW<x INT, s STRING>>, x INT\n" +
				"1|[1, 2]|[p, q, r]|{k=1, j=2}|[{'x': 1, 's': a}]|1\n1|[1, 2]|[p, q, r]|{k=1, j=2}|[{'x': 1, 's': a}]|2\n"},
	}
	for _, c := range cases {
		if got := unnestText(t, e, c.q); got != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.q, got, c.want)
		}
	}
}

// TestNestedNullRowField: a bare NULL field of a ROW constructor takes the
// type the field has in the other elements of the ARRAY, as in DuckDB,
// instead of STRING, which made the elements' types clash.
func TestNestedNullRowField(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, unnestDDL)
	cases := []struct{ q, want string }{
		{`SELECT * FROM UNNEST([{'x': NULL, 's': 'p'}, {'x': 1, 's': NULL}, NULL, {'x': NULL, 's': NULL}])`,
			"x INT, s STRING\nNULL|p\n1|NULL\nNULL|NULL\nNULL|NULL\n"},
		{`SELECT [{'x': NULL}] AS l`, "l ARRAY<ROW<x STRING>>\n[{'x': NULL}]\n"},
	}
	for _, c := range cases {
		if got := unnestText(t, e, c.q); got != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.q, got, c.want)
		}
	}
	mustExec(t, e, `INSERT INTO ut (id, r) VALUES (9, [{'x': NULL, 's': 'a'}, {'x': 2, 's': 'b'}])`)
	if got := unnestText(t, e, `SELECT x, s FROM ut, UNNEST(r) WHERE id = 9 ORDER BY s`); got != "x INT, s STRING\nNULL|a\n2|b\n" {
		t.Errorf("INSERT of ROWs with a NULL field, read back:\n%s", got)
	}
}

// TestUnnestSelectList: unnest() in the select list is FROM … UNNEST with
// the calls zipped; an ARRAY of ROWs gives ROWs there, as in DuckDB.
func TestUnnestSelectList(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, unnestDDL)
	mustExec(t, e, unnestRows)
	cases := []struct{ q, want string }{
		{`SELECT id, unnest(a) FROM ut ORDER BY 1, 2`,
			"id INT, UNNEST(a) INT\n1|1\n1|2\n4|NULL\n4|5\n"},
		{`SELECT id, unnest(a) AS x, unnest(b) FROM ut ORDER BY 1, 2 NULLS LAST`,
			"id INT, x INT, UNNEST(b) STRING\n1|1|p\n1|2|q\n1|NULL|r\n3|NULL|z\n4|5|NULL\n4|NULL|NULL\n"},
		{`SELECT unnest([1, 2]) * 10 AS y ORDER BY y DESC`,
			"y INT\n20\n10\n"},
		{`SELECT DISTINCT unnest(a) FROM ut ORDER BY unnest(a) NULLS FIRST`,
			"UNNEST(a) INT\nNULL\n1\n2\n5\n"},
		{`SELECT id, unnest(r) FROM ut WHERE id = 4`,
			"id INT, UNNEST(r) ROW<x INT, s STRING>\n4|NULL\n4|{'x': 3, 's': NULL}\n"},
		{`SELECT *, unnest(a) FROM (SELECT id, a FROM ut WHERE id = 1) AS s ORDER BY 3`,
			"id INT, a ARRAY<INT>, UNNEST(a) INT\n1|[1, 2]|1\n1|[1, 2]|2\n"},
		{`SELECT unnest(a), unnest(a) + 1 FROM ut WHERE id = 1`,
			"UNNEST(a) INT, UNNEST(a) + 1 INT\n1|2\n2|3\n"},
	}
	for _, c := range cases {
		if got := unnestText(t, e, c.q); got != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.q, got, c.want)
		}
	}
}

// TestUnnestErrors: what UNNEST refuses, in one line naming the problem.
func TestUnnestErrors(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, unnestDDL)
	cases := []struct{ q, want string }{
		{`SELECT * FROM ut, UNNEST(ut.id)`, `cannot UNNEST column ut.id of type INT: UNNEST takes an ARRAY or a MAP`},
		{`SELECT * FROM UNNEST('abc')`, `cannot UNNEST 'abc' of type STRING`},
		{`SELECT * FROM UNNEST(ut.a)`, `UNNEST reads the columns of the FROM items before it`},
		{`SELECT * FROM UNNEST(a), ut`, `unknown column "a" in the arguments of UNNEST (UNNEST reads the columns of the FROM items before it: FROM t, UNNEST(t.a))`},
		{`SELECT * FROM UNNEST([1]) AS u(x, y)`, `UNNEST(LIST_VALUE(1)) gives 1 column(s) but 2 names are given in u(…); give at most 1`},
		{`SELECT * FROM ut RIGHT JOIN UNNEST(a) ON true`, `RIGHT JOIN UNNEST(…) is not supported`},
		{`SELECT * FROM ut FULL JOIN UNNEST(a) ON true`, `FULL JOIN UNNEST(…) is not supported`},
		{`SELECT * FROM ut JOIN UNNEST(a) AS u(id) USING (id)`, `USING (…) is not supported`},
		{`SELECT * FROM ut, UNNEST(a) AS ut`, `alias "ut" appears twice in FROM`},
		{`SELECT * FROM ut JOIN UNNEST(a) AS u(x) ON x`, `JOIN … ON needs a BOOLEAN condition`},
		{`SELECT * FROM UNNEST()`, `UNNEST needs at least one ARRAY or MAP argument`},
		{`SELECT unnest(m) FROM ut`, `cannot UNNEST column m of type MAP<STRING, BIGINT>: UNNEST takes an ARRAY (a MAP unnests in FROM`},
		{`SELECT unnest(id) FROM ut`, `cannot UNNEST column id of type INT`},
		{`SELECT id FROM ut WHERE unnest(a) = 1`, `unnest() is not allowed in WHERE`},
		{`SELECT id, unnest(a) FROM ut GROUP BY id`, `cannot be combined with GROUP BY or HAVING`},
		{`SELECT count(*), unnest(a) FROM ut`, `cannot be combined with aggregates or window functions`},
		{`SELECT unnest(unnest([[1]]))`, `unnest() cannot be nested`},
		{`SELECT unnest(a, b) FROM ut`, `unnest() in the select list takes one ARRAY`},
	}
	for _, c := range cases {
		_, err := e.Exec(context.Background(), c.q)
		if err == nil {
			t.Errorf("%s: no error, want %q", c.q, c.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s:\n got %q\nwant one line containing %q", c.q, msg, c.want)
		}
	}
}

var unnestDuckQueries = []string{
	`SELECT ut.id, u.x FROM ut, UNNEST(ut.a) AS u(x) ORDER BY 1, 2 NULLS LAST`,
	`SELECT id, x FROM ut CROSS JOIN UNNEST(a) AS u(x) ORDER BY 1, 2 NULLS LAST`,
	`SELECT id, x FROM ut JOIN UNNEST(a) AS u(x) ON true ORDER BY 1, 2 NULLS LAST`,
	`SELECT id, x FROM ut LEFT JOIN UNNEST(a) AS u(x) ON true ORDER BY 1, 2 NULLS LAST`,
	`SELECT id, x FROM ut LEFT JOIN UNNEST(a) AS u(x) ON u.x > 1 ORDER BY 1, 2 NULLS LAST`,
	`SELECT id, s FROM ut LEFT JOIN UNNEST(b) AS u(s) ON s <> 'q' WHERE id < 4 ORDER BY 1, 2 NULLS LAST`,
	`SELECT id, x, n FROM ut, UNNEST(a) WITH ORDINALITY AS u(x, n) ORDER BY 1, 3`,
	`SELECT * FROM UNNEST([10, 20, 30]) WITH ORDINALITY AS u(x, n) ORDER BY n`,
	`SELECT * FROM UNNEST(['a', NULL, 'c']) AS u(s) ORDER BY s NULLS FIRST`,
	`SELECT count(*), sum(x), min(x) FROM ut, UNNEST(a) AS u(x)`,
	`SELECT id, count(s) FROM ut LEFT JOIN UNNEST(b) AS u(s) ON true GROUP BY id ORDER BY id`,
	`SELECT id, unnest(a) FROM ut ORDER BY 1, 2 NULLS LAST`,
	`SELECT id, unnest(a), unnest(b) FROM ut ORDER BY 1, 3 NULLS LAST, 2 NULLS LAST`,
	`SELECT id, unnest(a), unnest([7, 8, 9]) FROM ut ORDER BY 1, 3`,
	`SELECT unnest([1, 2, 3]) + 1 AS y ORDER BY y`,
	`SELECT DISTINCT unnest(b) AS s FROM ut ORDER BY s`,
	`SELECT id, unnest(b) FROM ut WHERE id <> 1 ORDER BY 1, 2`,
	`SELECT id, x.x FROM ut, UNNEST(r) AS u(x) ORDER BY 1, 2 NULLS LAST`,
}

// TestUnnestDuckDB: the UNNEST forms DuckDB shares answer as DuckDB does
// (it has no MAP UNNEST, zips no arguments in FROM, and gives an ARRAY of
// ROWs as one ROW column: the last query reads its field where silt's
// UNNEST already gives the fields, so it uses a select-list unnest).
func TestUnnestDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	e, _ := newTestEngine(t)
	mustExec(t, e, unnestDDL)
	mustExec(t, e, unnestRows)
	rowE, _ := newTestEngine(t)
	rowE.rowEngine = true
	mustExec(t, rowE, unnestDDL)
	mustExec(t, rowE, unnestRows)
	queries := unnestDuckQueries
	// silt expands the ROW: read the field through a select-list unnest.
	sq := slices.Clone(queries)
	sq[len(sq)-1] = `SELECT id, unnest(r).x FROM ut ORDER BY 1, 2 NULLS LAST`
	want := db.Run(t, []string{unnestDDL, unnestRows}, queries)
	checkPipelineRowDuckDB(t, e, rowE, sq, want)
}

// TestUnnestProjection: over silt's tables, which read only the columns a
// query needs, the columns UNNEST reads are read even when the select
// list does not name them, and WHERE still prunes through UNNEST.
func TestUnnestProjection(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, unnestDDL)
	mustExec(t, e, unnestRows)
	cases := []struct{ q, want string }{
		{`SELECT id, x FROM ut CROSS JOIN UNNEST(a) AS u(x) WHERE id > 1 ORDER BY 1, 2`,
			"id INT, x INT\n4|NULL\n4|5\n"},
		{`SELECT x FROM ut LEFT JOIN UNNEST(b) AS u(x) ON x <> id || '' WHERE id = 1 ORDER BY 1`,
			"x STRING\np\nq\nr\n"},
		{`SELECT unnest(m) IS NULL FROM ut WHERE id = 4`, "error: invalid: cannot UNNEST column m of type MAP<STRING, BIGINT>: UNNEST takes an ARRAY (a MAP unnests in FROM: FROM t, UNNEST(t.m) AS u(k, v))"},
		{`SELECT k FROM ut, UNNEST(m) AS u(k, v) WHERE id = 4`, "k STRING\nz\n"},
	}
	for _, c := range cases {
		got := unnestText(t, e, c.q)
		if strings.HasPrefix(c.want, "error: ") {
			got = strings.SplitN(got, "\n", 2)[0]
		}
		if got != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.q, got, c.want)
		}
	}
}

// BenchmarkUnnest: FROM t, UNNEST(t.a) over 2,000 rows of 50 elements,
// summed (100,000 unnested rows per query).
func BenchmarkUnnest(b *testing.B) {
	e, _ := newTestEngine(b)
	mustExec(b, e, `CREATE TABLE bu (id INT PRIMARY KEY, a BIGINT[])`)
	var rows []string
	for i := range 2000 {
		var el []string
		for j := range 50 {
			el = append(el, strconv.Itoa(i*50+j))
		}
		rows = append(rows, "("+strconv.Itoa(i)+", ["+strings.Join(el, ", ")+"])")
	}
	mustExec(b, e, "INSERT INTO bu VALUES "+strings.Join(rows, ", "))
	b.ResetTimer()
	for range b.N {
		res := mustExec(b, e, `SELECT count(*), sum(x) FROM bu, UNNEST(bu.a) AS u(x)`)
		if got := rowsText(res[0]); got != "100000|4999950000\n" {
			b.Fatalf("got %q", got)
		}
	}
	b.ReportMetric(float64(b.N)*100000/b.Elapsed().Seconds(), "rows/s")
}

// TestExplainUnnest: EXPLAIN and EXPLAIN ANALYZE show UNNEST as an operator
// over the rows before it, with exact counts, in FROM, after a LEFT JOIN
// and in the select list.
func TestExplainUnnest(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, `CREATE TABLE ut2 (id INT PRIMARY KEY, a INT[]);
		INSERT INTO ut2 VALUES (1, [1, 2, 3]), (2, []), (3, NULL), (4, [7])`)
	for _, c := range []struct{ sql, want string }{
		{"EXPLAIN SELECT id, x FROM ut2, UNNEST(ut2.a) AS u(x)", "UNNEST"},
		{"EXPLAIN ANALYZE SELECT id, x FROM ut2, UNNEST(ut2.a) AS u(x)", "4 rows out"},
		{"EXPLAIN ANALYZE SELECT id, x FROM ut2 LEFT JOIN UNNEST(ut2.a) AS u(x) ON true", "6 rows out"},
		{"EXPLAIN SELECT unnest(a) FROM ut2", "UNNEST"},
		{"EXPLAIN ANALYZE SELECT * FROM UNNEST([1, 2]) AS u(x)", "DUMMY_SCAN"},
	} {
		res := mustExec(t, e, c.sql)[0]
		text := ""
		for _, r := range res.Rows {
			text += fmt.Sprint(r...) + "\n"
		}
		if !strings.Contains(text, c.want) || !strings.Contains(text, "UNNEST") {
			t.Errorf("%s:\n%s\nwant a line with %q", c.sql, text, c.want)
		}
	}
}
