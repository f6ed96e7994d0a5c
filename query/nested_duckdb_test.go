package query

import (
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
)

const nestedConfDDL = `CREATE TABLE n (id INT PRIMARY KEY, a INT[], m MAP(VARCHAR, BIGINT), r STRUCT(x INT, s VARCHAR), l INT[][])`

const nestedConfRows = `INSERT INTO n VALUES
	(1, [1, 2], MAP {'k': 1, 'j': 2}, {'x': 1, 's': 'a'}, [[1], [2, 3]]),
	(2, [3], MAP {'k': 5}, {'x': 2, 's': NULL}, [[]]),
	(3, [], MAP {}, NULL, []),
	(4, NULL, NULL, {'x': NULL, 's': 'z'}, NULL),
	(5, [1, 2], MAP {'j': 7}, {'x': 1, 's': 'a'}, [[4, 5, 6]])`

var nestedConfQueries = []string{
	`SELECT id, a[1], a[2], a[-1], a[5] FROM n ORDER BY id`,
	`SELECT id, m['k'], m['j'], m['zz'] FROM n ORDER BY id`,
	`SELECT id, r.x, r['s'], l[1][1], l[2][2] FROM n ORDER BY id`,
	`SELECT id, len(a), array_length(a), cardinality(m), len(l) FROM n ORDER BY id`,
	`SELECT id FROM n WHERE a = [1, 2] ORDER BY id`,
	`SELECT id FROM n WHERE r = {'x': 1, 's': 'a'} ORDER BY id`,
	`SELECT id FROM n WHERE a <> [1, 2] ORDER BY id`,
	`SELECT [1, 2, 3][2], {'a': 5}.a, MAP {'x': 1}['x'], [[1, 2], [3]][2][1], len([]), ARRAY[4, 5][2]`,
	`SELECT r.x + 1, COUNT(*) FROM n GROUP BY r.x ORDER BY r.x NULLS FIRST`,
}

// TestNestedConformanceDuckDB: element access, lengths and comparisons of
// nested values answer as DuckDB does, through the pipeline and the row
// path.
func TestNestedConformanceDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	e, _ := newTestEngine(t)
	mustExec(t, e, nestedConfDDL)
	mustExec(t, e, nestedConfRows)
	want := db.Run(t, []string{nestedConfDDL, nestedConfRows}, nestedConfQueries)
	rowE, _ := newTestEngine(t)
	rowE.rowEngine = true
	mustExec(t, rowE, nestedConfDDL)
	mustExec(t, rowE, nestedConfRows)
	checkPipelineRowDuckDB(t, e, rowE, nestedConfQueries, want)
}
