package query

import (
	"strconv"
	"strings"
	"testing"
)

// relExplainEngine has k (20 rows: id 1..20, g = id % 4, v = id * 10,
// one commit) and d (g 0, 1, 2, 5 with a name).
func relExplainEngine(t *testing.T) *Engine {
	t.Helper()
	e, _ := siltEngine(t)
	var vals []string
	for i := 1; i <= 20; i++ {
		vals = append(vals, "("+strconv.Itoa(i)+", "+strconv.Itoa(i%4)+", "+strconv.Itoa(i*10)+")")
	}
	mustExec(t, e, "CREATE TABLE k (id INT PRIMARY KEY, g INT, v INT); INSERT INTO k VALUES "+strings.Join(vals, ", "))
	mustExec(t, e, "CREATE TABLE d (g INT PRIMARY KEY, name STRING); INSERT INTO d VALUES (0, 'zero'), (1, 'one'), (2, 'two'), (5, 'five')")
	return e
}

// TestExplainRelPlan: EXPLAIN of joins, derived tables, set operations,
// WITH and subqueries prints the operator tree with each table's pruning,
// pushed filter and columns, and each join's keys and build side.
func TestExplainRelPlan(t *testing.T) {
	e := relExplainEngine(t)
	cases := []struct{ sql, want string }{
		{"SELECT k.id, d.name FROM k JOIN d ON k.g = d.g AND k.v > d.g WHERE k.v > 100",
			"plan (operators, output first):\n" +
				"  PROJECTION: id, name (vectorized)\n" +
				"  └─ FILTER: v > 100\n" +
				"     └─ HASH_JOIN INNER: keys k.g = d.g, condition k.v > d.g, build right (held in memory), probe left (streamed), vectorized\n" +
				"        ├─ TABLE_SCAN default.k: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 3 of 3 (id, g, v); filter v > 100\n" +
				"        └─ TABLE_SCAN default.d: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 2 of 2 (g, name)\n"},
		{"SELECT a.id FROM k a LEFT JOIN d b ON a.g = b.g WHERE a.id = 3",
			"plan (operators, output first):\n" +
				"  PROJECTION: id (vectorized)\n" +
				"  └─ FILTER: id = 3\n" +
				"     └─ HASH_JOIN LEFT: keys a.g = b.g, build right (held in memory), probe left (streamed), vectorized\n" +
				"        ├─ TABLE_SCAN default.k AS a: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1 (point lookup), pushed equalities id = 3, columns 2 of 3 (id, g); filter id = 3\n" +
				"        └─ TABLE_SCAN default.d AS b: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 2 (g)\n"},
		{"SELECT g FROM k EXCEPT SELECT g FROM d",
			"plan (operators, output first):\n" +
				"  EXCEPT: hash of whole rows, right side counted first\n" +
				"  ├─ PROJECTION: g (vectorized)\n" +
				"  │  └─ TABLE_SCAN default.k: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 3 (g)\n" +
				"  └─ PROJECTION: g (vectorized)\n" +
				"     └─ TABLE_SCAN default.d: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 2 (g)\n"},
		{"WITH x AS (SELECT g, COUNT(*) AS n FROM k GROUP BY g), y AS (SELECT * FROM d) SELECT * FROM x a JOIN x b ON a.g = b.g CROSS JOIN y",
			"plan (operators, output first):\n" +
				"  PROJECTION: g, n, g, n, g, name (rows)\n" +
				"  └─ CROSS_PRODUCT: build right (held in memory), probe left (streamed), rows\n" +
				"     ├─ HASH_JOIN INNER: keys a.g = b.g, build right (held in memory), probe left (streamed), rows\n" +
				"     │  ├─ CTE x: shared by 2 references, run once and held in memory\n" +
				"     │  │  └─ PROJECTION: g, n (vectorized)\n" +
				"     │  │     └─ AGGREGATE: 1 aggregate(s) GROUP BY g\n" +
				"     │  │        └─ TABLE_SCAN default.k: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 3 (g)\n" +
				"     │  └─ CTE x: shared, shown above\n" +
				"     └─ CTE y: streamed (referenced once)\n" +
				"        └─ PROJECTION: g, name (vectorized)\n" +
				"           └─ TABLE_SCAN default.d: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 2 of 2 (g, name)\n"},
		// The smaller side builds.
		{"SELECT d.name FROM d JOIN k ON d.g = k.g",
			"plan (operators, output first):\n" +
				"  PROJECTION: name (vectorized)\n" +
				"  └─ HASH_JOIN INNER: keys d.g = k.g, build left (held in memory, the smaller side), probe right (streamed), vectorized\n" +
				"     ├─ TABLE_SCAN default.d: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 2 of 2 (g, name)\n" +
				"     └─ TABLE_SCAN default.k: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 3 (g)\n"},
		// Joins nest; a key may be an expression; without a key every pair is compared.
		{"SELECT 1 FROM k JOIN d ON k.g = d.g JOIN d e ON e.g = k.g + 1 JOIN k f ON f.id < k.id",
			"plan (operators, output first):\n" +
				"  PROJECTION: `1` (vectorized)\n" +
				"  └─ NESTED_LOOP_JOIN INNER: condition f.id < k.id, build right (held in memory), probe left (streamed), vectorized\n" +
				"     ├─ HASH_JOIN INNER: keys (k.g + 1) = e.g, build right (held in memory), probe left (streamed), vectorized\n" +
				"     │  ├─ HASH_JOIN INNER: keys k.g = d.g, build right (held in memory), probe left (streamed), vectorized\n" +
				"     │  │  ├─ TABLE_SCAN default.k: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 2 of 3 (id, g)\n" +
				"     │  │  └─ TABLE_SCAN default.d: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 2 (g)\n" +
				"     │  └─ TABLE_SCAN default.d AS e: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 2 (g)\n" +
				"     └─ TABLE_SCAN default.k AS f: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 3 (id)\n"},
		{"VALUES (1, 'a'), (2, 'b')",
			"plan (operators, output first):\n" +
				"  VALUES: 2 rows\n"},
		{"SELECT id FROM k WHERE g IN (SELECT g FROM d WHERE name LIKE 't%')",
			"scan: default.k, snapshot 1 (latest)\n" +
				"pruning: partitions 1 of 1, buckets 1 of 1, files 1 of 1\n" +
				"pushed projection: 2 of 3 columns (id, g)\n" +
				"filter: g IN (SELECT g FROM d WHERE name LIKE 't%')\n" +
				"execution: vectorized (Arrow batches)\n" +
				"subqueries (each run once, before the statement):\n" +
				"  SUBQUERY g IN (SELECT g FROM d WHERE name LIKE 't%')\n" +
				"  └─ PROJECTION: g (vectorized)\n" +
				"     └─ FILTER: name LIKE 't%'\n" +
				"        └─ TABLE_SCAN default.d: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 2 of 2 (g, name)\n"},
	}
	for _, c := range cases {
		if got := query(t, e, "EXPLAIN "+c.sql); got != c.want {
			t.Errorf("EXPLAIN %s:\n%s\nwant\n%s", c.sql, got, c.want)
		}
	}
	// The row engine joins rows, building the right side.
	e.rowEngine = true
	sql := "SELECT d.name FROM d JOIN k ON d.g = k.g"
	want := "plan (operators, output first):\n" +
		"  PROJECTION: name (rows)\n" +
		"  └─ HASH_JOIN INNER: keys d.g = k.g, build right (held in memory), probe left (streamed), rows\n" +
		"     ├─ TABLE_SCAN default.d: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 2 of 2 (g, name)\n" +
		"     └─ TABLE_SCAN default.k: snapshot 1 (latest), partitions 1 of 1, buckets 1 of 1, files 1 of 1, columns 1 of 3 (g)\n"
	if got := query(t, e, "EXPLAIN "+sql); got != want {
		t.Errorf("EXPLAIN %s on rows:\n%s\nwant\n%s", sql, got, want)
	}
}

// TestExplainAnalyzeRelCounts: EXPLAIN ANALYZE of joins, set operations,
// derived tables, CTEs and subqueries reports the exact rows out of each
// operator.
func TestExplainAnalyzeRelCounts(t *testing.T) {
	e := relExplainEngine(t)
	cases := []struct{ sql, want string }{
		// k filtered to ids 11..20 before the join; 7 of them have a g in d.
		{"SELECT k.id, d.name FROM k JOIN d ON k.g = d.g WHERE k.v > 100",
			"  PROJECTION: 7 rows out\n" +
				"  └─ FILTER: 7 rows in, 7 rows out\n" +
				"     └─ HASH_JOIN INNER: 7 rows out, 1 batches\n" +
				"        ├─ TABLE_SCAN default.k: 10 rows out, 1 batches\n" +
				"        └─ TABLE_SCAN default.d: 4 rows out, 1 batches\n"},
		// The probe batch (15 matches, the 5 k rows of g = 3 padded),
		// then d's g = 5.
		{"SELECT * FROM k FULL JOIN d ON k.g = d.g",
			"  PROJECTION: 21 rows out\n" +
				"  └─ HASH_JOIN FULL: 21 rows out, 2 batches\n" +
				"     ├─ TABLE_SCAN default.k: 20 rows out, 1 batches\n" +
				"     └─ TABLE_SCAN default.d: 4 rows out, 1 batches\n"},
		{"SELECT * FROM k RIGHT JOIN d ON k.g = d.g LIMIT 3",
			// A batch at a time: the one probe batch's 15 matches.
			"  LIMIT: 15 rows in, 3 rows out\n" +
				"  └─ PROJECTION: 15 rows out\n" +
				"     └─ HASH_JOIN RIGHT: 15 rows out, 1 batches\n" +
				"        ├─ TABLE_SCAN default.k: 20 rows out, 1 batches\n" +
				"        └─ TABLE_SCAN default.d: 4 rows out, 1 batches\n"},
		{"SELECT g FROM k UNION ALL SELECT g FROM d",
			"  UNION_ALL: 24 rows out\n" +
				"  ├─ PROJECTION: 20 rows out\n" +
				"  │  └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n" +
				"  └─ PROJECTION: 4 rows out\n" +
				"     └─ TABLE_SCAN default.d: 4 rows out, 1 batches\n"},
		{"SELECT g FROM k INTERSECT SELECT g FROM d",
			"  INTERSECT: 3 rows out\n" +
				"  ├─ PROJECTION: 20 rows out\n" +
				"  │  └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n" +
				"  └─ PROJECTION: 4 rows out\n" +
				"     └─ TABLE_SCAN default.d: 4 rows out, 1 batches\n"},
		{"WITH x AS (SELECT g, COUNT(*) AS n FROM k GROUP BY g) SELECT * FROM x a JOIN x b ON a.g = b.g",
			"  PROJECTION: 4 rows out\n" +
				"  └─ HASH_JOIN INNER: 4 rows out\n" +
				"     ├─ CTE x: 4 rows out\n" +
				"     │  └─ PROJECTION: 4 rows out\n" +
				"     │     └─ AGGREGATE: 20 rows in, 4 groups out\n" +
				"     │        └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n" +
				"     └─ CTE x: shared, measured above\n"},
		{"SELECT * FROM (SELECT id, g FROM k WHERE id < 5) s CROSS JOIN (VALUES (1), (2)) v",
			"  PROJECTION: 8 rows out\n" +
				"  └─ CROSS_PRODUCT: 8 rows out\n" +
				"     ├─ PROJECTION: 4 rows out\n" +
				"     │  └─ FILTER: 20 rows in, 4 rows out\n" +
				"     │     └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n" +
				"     └─ VALUES: 2 rows out\n"},
		{"SELECT id FROM k WHERE g IN (SELECT g FROM d WHERE name LIKE 't%')",
			"  PROJECTION: 5 rows out\n" +
				"  └─ FILTER: 20 rows in, 5 rows out\n" +
				"     └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n" +
				"subqueries (each run once, before the statement):\n" +
				"  SUBQUERY g IN (SELECT g FROM d WHERE name LIKE 't%'): run once, before the statement\n" +
				"  └─ PROJECTION: 1 rows out\n" +
				"     └─ FILTER: 4 rows in, 1 rows out\n" +
				"        └─ TABLE_SCAN default.d: 4 rows out, 1 batches\n"},
	}
	for _, c := range cases {
		if got := analyzeTree(t, e, c.sql); got != c.want {
			t.Errorf("EXPLAIN ANALYZE %s:\n%s\nwant\n%s", c.sql, got, c.want)
		}
	}
	// The row engine counts row by row.
	e.rowEngine = true
	rowCases := []struct{ sql, want string }{
		// k filtered to ids 11..20 before the join; 7 of them have a g in d.
		{"SELECT k.id, d.name FROM k JOIN d ON k.g = d.g WHERE k.v > 100",
			"  PROJECTION: 7 rows out\n" +
				"  └─ FILTER: 7 rows in, 7 rows out\n" +
				"     └─ HASH_JOIN INNER: 7 rows out\n" +
				"        ├─ TABLE_SCAN default.k: 10 rows out\n" +
				"        └─ TABLE_SCAN default.d: 4 rows out\n"},
		// Every k row once (g = 3 padded), then d's unmatched g = 5.
		{"SELECT * FROM k FULL JOIN d ON k.g = d.g",
			"  PROJECTION: 21 rows out\n" +
				"  └─ HASH_JOIN FULL: 21 rows out\n" +
				"     ├─ TABLE_SCAN default.k: 20 rows out\n" +
				"     └─ TABLE_SCAN default.d: 4 rows out\n"},
		{"SELECT * FROM k RIGHT JOIN d ON k.g = d.g LIMIT 3",
			"  LIMIT: 3 rows in, 3 rows out\n" +
				"  └─ PROJECTION: 3 rows out\n" +
				"     └─ HASH_JOIN RIGHT: 3 rows out\n" +
				"        ├─ TABLE_SCAN default.k: 4 rows out\n" + // g = 3 matches nothing
				"        └─ TABLE_SCAN default.d: 4 rows out\n"},
	}
	for _, c := range rowCases {
		if got := analyzeTree(t, e, c.sql); got != c.want {
			t.Errorf("EXPLAIN ANALYZE on rows %s:\n%s\nwant\n%s", c.sql, got, c.want)
		}
	}
}
