package query

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// analyzeTree returns the operator lines of an EXPLAIN ANALYZE with the
// times removed, output first.
func analyzeTree(t *testing.T, e *Engine, sql string) string {
	t.Helper()
	plan := query(t, e, "EXPLAIN ANALYZE "+sql)
	_, tree, ok := strings.Cut(plan, "analyze (operators, output first):\n")
	if !ok {
		t.Fatalf("%s: no operator tree:\n%s", sql, plan)
	}
	tree, _, _ = strings.Cut(tree, "analyze total:")
	tree = regexp.MustCompile(`, [0-9.]+[µnm]?s\b`).ReplaceAllString(tree, "")
	tree = regexp.MustCompile(`, \d+ bytes`).ReplaceAllString(tree, "")
	return tree
}

// TestExplainAnalyzeCounts: EXPLAIN ANALYZE reports the rows out of each
// operator of a query over a known table, vectorized and on rows.
func TestExplainAnalyzeCounts(t *testing.T) {
	e, _ := siltEngine(t)
	// 20 rows in one commit: one file, one scan batch. g = id % 4, v = id * 10.
	var vals []string
	for i := 1; i <= 20; i++ {
		vals = append(vals, "("+strconv.Itoa(i)+", "+strconv.Itoa(i%4)+", "+strconv.Itoa(i*10)+")")
	}
	mustExec(t, e, "CREATE TABLE k (id INT PRIMARY KEY, g INT, v INT); INSERT INTO k VALUES "+strings.Join(vals, ", "))
	cases := []struct{ sql, want string }{
		{"SELECT id FROM k WHERE v > 150",
			"  PROJECTION: 5 rows out\n" +
				"  └─ FILTER: 20 rows in, 5 rows out\n" +
				"     └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n"},
		{"SELECT id FROM k WHERE v > 50 LIMIT 3 OFFSET 1",
			"  LIMIT: 15 rows in, 3 rows out\n" +
				"  └─ PROJECTION: 15 rows out\n" +
				"     └─ FILTER: 20 rows in, 15 rows out\n" +
				"        └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n"},
		{"SELECT g, SUM(v) FROM k WHERE id > 2 GROUP BY g HAVING SUM(v) > 400 ORDER BY g DESC LIMIT 2",
			// ids 3..20: every group's sum passes HAVING; the top-k keeps 2.
			"  LIMIT: 2 rows in, 2 rows out\n" +
				"  └─ TOP_K: 4 rows in, 2 rows out\n" +
				"     └─ PROJECTION: 4 rows out\n" +
				"        └─ AGGREGATE: 18 rows in, 4 groups out\n" +
				"           └─ FILTER: 20 rows in, 18 rows out\n" +
				"              └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n"},
		{"SELECT COUNT(*) FROM k",
			"  PROJECTION: 1 rows out\n" +
				"  └─ AGGREGATE: 20 rows in, 1 groups out\n" +
				"     └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n"},
		{"SELECT DISTINCT g FROM k WHERE id <= 10",
			"  DISTINCT: 10 rows in, 4 rows out\n" +
				"  └─ PROJECTION: 10 rows out\n" +
				"     └─ FILTER: 20 rows in, 10 rows out\n" +
				"        └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n"},
		{"SELECT id, ROW_NUMBER() OVER (PARTITION BY g ORDER BY id) FROM k WHERE g = 1 ORDER BY id",
			"  ORDER_BY: 5 rows in, 5 rows out\n" +
				"  └─ PROJECTION: 5 rows out\n" +
				"     └─ WINDOW: 5 rows\n" +
				"        └─ FILTER: 20 rows in, 5 rows out\n" +
				"           └─ TABLE_SCAN default.k: 20 rows out, 1 batches\n"},
		{"SELECT 1",
			"  PROJECTION: 1 rows out\n" +
				"  └─ DUMMY_SCAN: 1 row out\n"},
	}
	for _, c := range cases {
		if got := analyzeTree(t, e, c.sql); got != c.want {
			t.Errorf("EXPLAIN ANALYZE %s:\n%s\nwant\n%s", c.sql, got, c.want)
		}
	}
	// The row path counts the same rows.
	e.rowEngine = true
	want := "  LIMIT: 4 rows in, 3 rows out\n" +
		"  └─ PROJECTION: 4 rows out\n" +
		"     └─ FILTER: 5 rows in, 4 rows out\n" +
		"        └─ TABLE_SCAN default.k: 5 rows out, 0 batches\n"
	if got := analyzeTree(t, e, "SELECT id FROM k WHERE v > 10 LIMIT 3 OFFSET 1"); got != want {
		t.Errorf("EXPLAIN ANALYZE on rows with LIMIT:\n%s\nwant\n%s", got, want)
	}
}
