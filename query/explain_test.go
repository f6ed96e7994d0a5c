package query

import (
	"strings"
	"testing"
)

// TestExplain: EXPLAIN names the table and snapshot, the pruning the
// table's planner did, what was pushed down and the execution mode, and
// reads no data; EXPLAIN ANALYZE adds what the scan yielded.
func TestExplain(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE DATABASE IF NOT EXISTS default;
		CREATE TABLE t (dt DATE, id INT, name STRING, n BIGINT, PRIMARY KEY (dt, id)) PARTITIONED BY (dt) WITH ('bucket' = '2');
		INSERT INTO t VALUES (DATE '2024-01-01', 1, 'a', 10), (DATE '2024-01-01', 2, 'b', 20), (DATE '2024-01-02', 3, 'c', 30);
		INSERT INTO t VALUES (DATE '2024-01-03', 4, 'd', 40)`)
	plan := query(t, e, "EXPLAIN SELECT name, SUM(n) FROM t WHERE dt = '2024-01-01' AND n > 5 GROUP BY name ORDER BY 2 DESC LIMIT 1")
	for _, want := range []string{
		"scan: default.t, snapshot 2 (latest)\n",
		"pruning: partitions 1 of 3, buckets ",
		"pushed equalities: dt = 2024-01-01\n",
		"pushed projection: 3 of 4 columns (dt, name, n)\n",
		"filter: (dt = '2024-01-01') AND (n > 5)\n",
		"aggregate: 1 aggregate(s) GROUP BY name\n",
		"sort: 2 DESC\n",
		"limit: 1\n",
		"execution: vectorized (Arrow batches)\n",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("EXPLAIN lacks %q:\n%s", want, plan)
		}
	}
	if plan := query(t, e, "EXPLAIN SELECT * FROM t VERSION AS OF 1 WHERE dt = DATE '2024-01-02' AND id = 3"); !strings.Contains(plan, "snapshot 1 (time travel)") ||
		!strings.Contains(plan, "files 1 of 2 (point lookup)") || !strings.Contains(plan, "pushed projection: all 4 columns") {
		t.Errorf("EXPLAIN of a point lookup in time travel:\n%s", plan)
	}
	an := query(t, e, "EXPLAIN ANALYZE SELECT COUNT(*) FROM t WHERE n >= 20")
	if !strings.Contains(an, "└─ TABLE_SCAN default.t: 4 rows out, 3 batches") || !strings.Contains(an, "└─ FILTER: 4 rows in, 3 rows out") ||
		!strings.Contains(an, "└─ AGGREGATE: 3 rows in, 1 groups out") || !strings.Contains(an, "1 rows returned") {
		t.Errorf("EXPLAIN ANALYZE:\n%s", an)
	}
	e.rowEngine = true
	an = query(t, e, "EXPLAIN ANALYZE SELECT id FROM t WHERE n >= 20 ORDER BY id")
	if !strings.Contains(an, "execution: rows") || !strings.Contains(an, "└─ TABLE_SCAN default.t: 4 rows out, 0 batches") ||
		!strings.Contains(an, "  ORDER_BY: 3 rows in, 3 rows out") || !strings.Contains(an, "3 rows returned") {
		t.Errorf("EXPLAIN ANALYZE on rows:\n%s", an)
	}
	if err := execErr(t, e, "EXPLAIN INSERT INTO t VALUES (1)"); !strings.Contains(err.Error(), "EXPLAIN takes a query") {
		t.Errorf("EXPLAIN INSERT: %v", err)
	}
	// Queries over several relations are explained as operator trees
	// (explain_rel_test.go has their details).
	for sql, want := range map[string]string{
		"EXPLAIN SELECT 1 UNION SELECT 2":                   "  UNION: hash of whole rows\n",
		"EXPLAIN SELECT * FROM t a JOIN t b ON a.id = b.id": "HASH_JOIN INNER: keys a.id = b.id",
	} {
		if plan := query(t, e, sql); !strings.Contains(plan, want) {
			t.Errorf("%s:\n%s\nlacks %q", sql, plan, want)
		}
	}
}
