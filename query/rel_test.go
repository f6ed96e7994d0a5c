package query

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestJoinTimeTravel joins a table with itself at an older snapshot and
// with its system table: each FROM item reads its own snapshot.
func TestJoinTimeTravel(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING);
		INSERT INTO t VALUES (1, 'a'), (2, 'b');
		UPDATE t SET v = 'B' WHERE id = 2;
		INSERT INTO t VALUES (3, 'c')`)
	for _, tt := range []struct{ sql, want string }{
		{"SELECT id, old.v, new.v FROM t VERSION AS OF 1 AS old FULL JOIN t AS new USING (id) ORDER BY id",
			"1|a|a\n2|b|B\n3|NULL|c\n"},
		{"SELECT new.id FROM t new LEFT JOIN t FOR SYSTEM_TIME AS OF '2000-01-01' old ON old.id = new.id WHERE old.id IS NULL ORDER BY 1",
			""}, // an older snapshot than any: an error, checked below
		{"SELECT s.snapshot_id, count(*) FROM t$snapshots s JOIN t VERSION AS OF 2 x ON x.id <= s.snapshot_id GROUP BY s.snapshot_id ORDER BY 1",
			"1|1\n2|2\n3|2\n"},
		{"SELECT s.snapshot_id, s.commit_kind FROM t$snapshots s WHERE s.snapshot_id IN (SELECT max(snapshot_id) FROM t$snapshots)",
			"3|APPEND\n"},
		{"SELECT x.v FROM (SELECT * FROM t VERSION AS OF 1) x EXCEPT SELECT v FROM t",
			"b\n"},
	} {
		res, err := e.ExecStatement(context.Background(), tt.sql)
		if strings.Contains(tt.sql, "2000-01-01") {
			if err == nil || !strings.Contains(err.Error(), "no snapshot of table") {
				t.Errorf("%s: err %v, want no snapshot", tt.sql, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.sql, err)
		}
		if got := rowsText(res); got != tt.want {
			t.Errorf("%s:\n got  %q\n want %q", tt.sql, got, tt.want)
		}
	}
}

// TestRelErrors: what the relational layer rejects, in one line naming
// the problem.
func TestRelErrors(t *testing.T) {
	e, _ := ordersEngine(t)
	mustExec(t, e, "CREATE TABLE c (name STRING PRIMARY KEY, city STRING)")
	for _, tt := range []struct{ sql, want string }{
		{"SELECT id FROM orders o WHERE EXISTS (SELECT 1 FROM c WHERE c.name = o.customer)",
			"invalid: correlated subqueries are not supported: the subquery at 1:31 refers to o.customer of the outer query; rewrite it as a join"},
		{"SELECT id FROM orders WHERE qty > (SELECT count(*) FROM c WHERE city = customer)",
			"invalid: correlated subqueries are not supported: the subquery at 1:35 refers to customer of the outer query; rewrite it as a join"},
		{"SELECT * FROM orders o, (SELECT * FROM c WHERE c.name = o.customer) x",
			"invalid: a subquery in FROM cannot refer to o.customer of another FROM item (LATERAL is not supported); join on it instead"},
		{"SELECT (SELECT id FROM orders)",
			"invalid: the scalar subquery at 1:8 returned 5 rows; it must return at most one (add LIMIT 1 or an aggregate)"},
		{"SELECT 1 WHERE 1 IN (SELECT id, qty FROM orders)",
			"invalid: the subquery at 1:18 returns 2 columns; IN (SELECT …) needs exactly one"},
		{"SELECT 1 FROM orders JOIN orders ON true",
			`invalid: table name or alias "orders" appears twice in FROM; give one of them another alias`},
		{"SELECT id FROM orders a JOIN orders b ON a.id = b.id",
			`invalid: column reference "id" is ambiguous in the FROM clause; qualify it with a table name or alias`},
		{"SELECT * FROM orders JOIN c USING (name)",
			`invalid: column "name" of USING is not in the left side of the join`},
		{"SELECT * FROM orders JOIN c USING (customer)",
			`invalid: column "customer" of USING is not in the right side of the join`},
		{"SELECT * FROM orders a JOIN orders b USING (customer, qty, customer)",
			`invalid: column "customer" appears twice in USING`},
		{"SELECT * FROM orders JOIN c ON id",
			"invalid: JOIN … ON needs a BOOLEAN condition, got BIGINT"},
		{"SELECT * FROM orders JOIN c ON count(*) > 1",
			"invalid: aggregate function COUNT is not allowed in JOIN … ON"},
		{"SELECT * FROM orders JOIN c USING (id)",
			`invalid: column "id" of USING is not in the right side of the join`},
		{"SELECT id FROM orders UNION SELECT name, city FROM c",
			"invalid: each side of UNION must return the same number of columns, got 1 and 2"},
		{"SELECT id FROM orders INTERSECT SELECT name FROM c",
			"invalid: INTERSECT cannot combine column 1: id (BIGINT) with name (STRING)"},
		{"SELECT z.x FROM (SELECT 1 AS y) z",
			`invalid: unknown column "x" in subquery z`},
		{"SELECT * FROM (SELECT 1) z (a, b)",
			"invalid: subquery z has 1 columns but 2 column names are given"},
		{"WITH w AS (SELECT 1) SELECT * FROM w VERSION AS OF 1",
			"invalid: time travel applies to tables, not to the common table expression w"},
		{"UPDATE orders SET qty = (SELECT qty FROM orders) WHERE id = 1",
			"invalid: the scalar subquery at 1:25 returned 5 rows; it must return at most one (add LIMIT 1 or an aggregate)"},
		{"VALUES (1), ('x')",
			"invalid: VALUES column 1 has incompatible types INT (1) and STRING ('x')"},
	} {
		_, err := e.ExecStatement(context.Background(), tt.sql)
		if err == nil {
			t.Errorf("%s: no error, want %s", tt.sql, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.sql, err, tt.want)
		}
	}
}

// TestRelQueries covers forms the DuckDB comparison cannot: CTE scoping,
// INSERT from a set operation, streaming of a join, and the columns of
// a result.
func TestRelQueries(t *testing.T) {
	e, _ := ordersEngine(t)
	mustExec(t, e, "CREATE TABLE c (name STRING PRIMARY KEY, city STRING); INSERT INTO c SELECT 'alice', 'paris' UNION ALL VALUES ('bob', 'rome')")
	for _, tt := range []struct{ sql, cols, rows string }{
		{"SELECT * FROM c ORDER BY 1", "name STRING, city STRING", "alice|paris\nbob|rome\n"},
		{"WITH c AS (SELECT 'x' AS name) SELECT name FROM c", "name STRING", "x\n"},
		{"WITH a AS (SELECT 1 AS v), b AS (WITH a AS (SELECT 2 AS v) SELECT v FROM a) SELECT a.v, b.v FROM a, b", "v INT, v INT", "1|2\n"},
		{"WITH a AS (SELECT 1 AS v) SELECT v FROM a WHERE v IN (SELECT v FROM a)", "v INT", "1\n"},
		{"SELECT o.id, c.city FROM orders o JOIN c ON o.customer = c.name ORDER BY o.id DESC LIMIT 2", "id BIGINT, city STRING", "3|paris\n2|rome\n"},
		{"SELECT NULL AS n UNION ALL SELECT NULL", "n STRING", "NULL\nNULL\n"},
		{"VALUES (1, 2.5), (NULL, 3)", "col0 INT, col1 DECIMAL(2,1)", "1|2.5\nNULL|3.0\n"},
		{"SELECT * FROM orders o WHERE o.id IN (SELECT 2) AND EXISTS (VALUES (1))", "", ""},
		{"(SELECT 2 AS x) UNION (SELECT 1) ORDER BY x", "x INT", "1\n2\n"},
		{"SELECT count(*) FROM orders a, orders b, orders c", "COUNT(*) BIGINT", "125\n"},
		{"SELECT * FROM (SELECT id FROM orders WHERE id < 3 UNION ALL SELECT id FROM orders) u LIMIT 3", "id BIGINT", "1\n2\n1\n"},
		{"SELECT * FROM (SELECT id FROM orders UNION SELECT qty FROM orders) u LIMIT 2", "id BIGINT", "1\n2\n"},
	} {
		res, err := e.ExecStatement(context.Background(), tt.sql)
		if err != nil {
			t.Fatalf("%s: %v", tt.sql, err)
		}
		if tt.cols == "" {
			if len(res.Rows) != 1 || res.Rows[0][0] != int64(2) {
				t.Errorf("%s: %s", tt.sql, rowsText(res))
			}
			continue
		}
		if got := colsText(res); got != tt.cols {
			t.Errorf("%s: columns %s, want %s", tt.sql, got, tt.cols)
		}
		if got := rowsText(res); got != tt.rows {
			t.Errorf("%s:\n got  %q\n want %q", tt.sql, got, tt.rows)
		}
	}
	// Subqueries in UPDATE, DELETE and INSERT … VALUES run before the
	// statement changes anything.
	mustExec(t, e, `UPDATE orders SET qty = (SELECT count(*) FROM c) WHERE customer IN (SELECT name FROM c);
		DELETE FROM orders WHERE id NOT IN (SELECT id FROM orders WHERE qty = 2);
		INSERT INTO orders (id, customer) VALUES ((SELECT max(id) + 1 FROM orders), 'new')`)
	if got := query(t, e, "SELECT id, customer, qty FROM orders ORDER BY id"); got != "1|alice|2\n2|bob|2\n3|alice|2\n4|new|NULL\n" {
		t.Errorf("after subqueries in DML: %q", got)
	}
	// A join streams through ExecStream like a single-table SELECT.
	var rows int
	err := e.ExecStream(context.Background(), "SELECT a.id, b.id FROM orders a CROSS JOIN orders b LIMIT 7", func(r *Result) error {
		for _, err := range r.All() {
			if err != nil {
				return err
			}
			rows++
		}
		return nil
	})
	if err != nil || rows != 7 {
		t.Fatalf("streamed join: %d rows, %v", rows, err)
	}
}

// TestJoinPushdown: WHERE conjuncts over one table of a join reach that
// table's scan (equalities prune, the rest filters before the join), with
// the columns the query reads; never through the NULL-padded side of an
// outer join.
func TestJoinPushdown(t *testing.T) {
	e, cat := ordersEngine(t)
	mustExec(t, e, "CREATE TABLE c (name STRING PRIMARY KEY, city STRING, pop INT); INSERT INTO c VALUES ('alice', 'paris', 1), ('bob', 'rome', 2)")
	orders, c := cat.table("default", "orders"), cat.table("default", "c")
	for _, tt := range []struct{ sql, rows, ordersSpec, cSpec string }{
		{"SELECT o.id, c.city FROM orders o JOIN c ON o.customer = c.name WHERE o.id = 2 AND c.pop > 1",
			"2|rome\n", "map[0:2] [0 1]", "map[] [0 1 2]"},
		{"SELECT o.id FROM orders o LEFT JOIN c ON o.customer = c.name WHERE c.city = 'rome'",
			"2\n", "map[] [0 1]", "map[] [0 1]"},
		{"SELECT o.id FROM orders o LEFT JOIN c ON o.customer = c.name WHERE c.city IS NULL ORDER BY 1",
			"4\n5\n", "map[] [0 1]", "map[] [0 1]"},
		{"SELECT count(*) FROM c RIGHT JOIN orders o ON c.name = o.customer WHERE o.id = 1 AND c.city IS NULL",
			"0\n", "map[0:1] [0 1]", "map[] [0 1]"},
		{"SELECT o.id FROM orders o FULL JOIN c ON o.customer = c.name WHERE o.id = 3",
			"3\n", "map[] [0 1]", "map[] [0]"},
		{"SELECT * FROM c, orders o WHERE c.name = 'bob' AND o.id = 2",
			"bob|rome|2|2|bob|20.00|NULL|2024-01-02|2024-01-02 11:00:00|NULL|false|NULL\n", "map[0:2] [0 1 2 3 4 5 6 7 8]", "map[0:bob] [0 1 2]"},
	} {
		if got := query(t, e, tt.sql); got != tt.rows {
			t.Errorf("%s: rows %q, want %q", tt.sql, got, tt.rows)
		}
		spec := func(s ScanSpec) string {
			if s.Columns == nil {
				return fmt.Sprint(s.Equals) + " all"
			}
			return fmt.Sprint(s.Equals) + " " + fmt.Sprint(s.Columns)
		}
		if got := spec(orders.scans[len(orders.scans)-1]); got != tt.ordersSpec {
			t.Errorf("%s: orders scan %s, want %s", tt.sql, got, tt.ordersSpec)
		}
		if got := spec(c.scans[len(c.scans)-1]); got != tt.cSpec {
			t.Errorf("%s: c scan %s, want %s", tt.sql, got, tt.cSpec)
		}
	}
}

// TestCTESharedOnce: a CTE referenced several times is planned and run
// once, so CTEs that each join the previous one with itself cost linear
// work (inlined copies would double at every level).
func TestCTESharedOnce(t *testing.T) {
	e, _ := newTestEngine(t)
	var b strings.Builder
	b.WriteString("WITH c0 AS (SELECT CAST(1 AS BIGINT) AS v)")
	const levels = 40
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, ", c%d AS (SELECT x.v + y.v AS v FROM c%d x JOIN c%d y ON x.v = y.v)", i, i-1, i-1)
	}
	fmt.Fprintf(&b, " SELECT v FROM c%d", levels)
	if got := query(t, e, b.String()); got != "1099511627776\n" {
		t.Fatalf("got %q, want 2^40", got)
	}
}

// TestJoinDerivedBatches: a derived table read through the vectorized
// scan (several batches of strings) keeps its values when a join holds
// its rows.
func TestJoinDerivedBatches(t *testing.T) {
	e, _ := siltEngine(t)
	var b strings.Builder
	b.WriteString("CREATE TABLE t (id BIGINT PRIMARY KEY, s STRING); INSERT INTO t VALUES ")
	const n = 5000
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, 'value-%d')", i, i)
	}
	mustExec(t, e, b.String())
	got := query(t, e, `SELECT count(*), count(DISTINCT x.s), min(x.s = 'value-' || CAST(x.id AS STRING)), min(y.s = x.s)
		FROM (SELECT id, s FROM t) x JOIN (SELECT id, s FROM t WHERE id >= 0) y ON x.id = y.id`)
	if got != "5000|5000|true|true\n" {
		t.Fatalf("got %q", got)
	}
}
