package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
)

// pruneCatalog counts the files its scans plan; with strip it drops the
// pruning hints, giving the unpruned scan to compare with.
type pruneCatalog struct {
	*SiltCatalog
	strip          bool
	planned, total *int
}

func (c pruneCatalog) LoadTable(ctx context.Context, db, name string) (Table, error) {
	t, err := c.SiltCatalog.LoadTable(ctx, db, name)
	if err != nil {
		return nil, err
	}
	return &pruneTable{siltTable: t.(*siltTable), c: c}, nil
}

type pruneTable struct {
	*siltTable
	c pruneCatalog
}

func (t *pruneTable) Scan(ctx context.Context, spec ScanSpec) (Scan, error) {
	// This test measures the scan's pruning: a key list (WHERE pk IN …)
	// would be answered by point lookups instead (TestKeyInMatchesScan).
	spec.Keys = nil
	if t.c.strip {
		spec.Equals, spec.Ranges = nil, nil
	}
	sc, err := t.siltTable.Scan(ctx, spec)
	if err != nil {
		return nil, err
	}
	st := sc.(siltScan).s.Stats()
	*t.c.planned += st.FilesPlanned
	*t.c.total += st.FilesTotal
	return sc, nil
}

// Range conditions on partition columns and on the first key column
// prune partitions and files, and return the rows an unpruned scan does.
func TestRangePruning(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runRangePruning(t, seed)
		})
	}
}

func runRangePruning(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 91))
	e, cat := siltEngine(t)
	mustExec(t, e, `CREATE TABLE p (dt DATE, id BIGINT, v STRING, PRIMARY KEY (dt, id)) PARTITIONED BY (dt) WITH ('write-only' = 'true', 'bucket' = '2');
		CREATE TABLE k (id BIGINT PRIMARY KEY, v STRING) WITH ('write-only' = 'true')`)
	day := func(d int) string { return fmt.Sprintf("DATE '2026-01-%02d'", d+1) }
	for c := 0; c < 6; c++ {
		var pv, kv []string
		for i, n := 0, 1+rng.IntN(20); i < n; i++ {
			pv = append(pv, fmt.Sprintf("(%s, %d, 'v%d')", day(rng.IntN(6)), rng.IntN(50), rng.IntN(100)))
			kv = append(kv, fmt.Sprintf("(%d, 'v%d')", c*40+rng.IntN(40), rng.IntN(100)))
		}
		mustExec(t, e, "INSERT INTO p VALUES "+strings.Join(pv, ", ")+"; INSERT INTO k VALUES "+strings.Join(kv, ", "))
	}
	var planned, total, splanned, stotal int
	pruned := NewEngine(pruneCatalog{NewSiltCatalog(cat, "test"), false, &planned, &total}, EngineOptions{Now: e.now})
	full := NewEngine(pruneCatalog{NewSiltCatalog(cat, "test"), true, &splanned, &stotal}, EngineOptions{Now: e.now})
	cond := func(col string, val func(int) string, n int) string {
		a, b := rng.IntN(n), rng.IntN(n)
		switch rng.IntN(8) {
		case 0:
			return fmt.Sprintf("%s > %s", col, val(a))
		case 1:
			return fmt.Sprintf("%s >= %s", col, val(a))
		case 2:
			return fmt.Sprintf("%s < %s", col, val(a))
		case 3:
			return fmt.Sprintf("%s <= %s", col, val(a))
		case 4:
			return fmt.Sprintf("%s > %s", val(a), col)
		case 5:
			return fmt.Sprintf("%s BETWEEN %s AND %s", col, val(min(a, b)), val(max(a, b)))
		case 6:
			return fmt.Sprintf("%s IN (%s, %s)", col, val(a), val(b))
		}
		return fmt.Sprintf("%s NOT BETWEEN %s AND %s", col, val(min(a, b)), val(max(a, b)))
	}
	num := func(i int) string { return fmt.Sprint(i) }
	for q := 0; q < 40; q++ {
		var sql string
		if rng.IntN(2) == 0 {
			w := cond("dt", day, 7)
			if rng.IntN(2) == 0 {
				w += " AND " + cond("dt", day, 7)
			}
			if rng.IntN(3) == 0 {
				w += " AND " + cond("id", num, 50)
			}
			sql = "SELECT dt, id, v FROM p WHERE " + w + " ORDER BY dt, id"
		} else {
			w := cond("id", num, 250)
			if rng.IntN(2) == 0 {
				w += " AND " + cond("id", num, 250)
			}
			sql = "SELECT id, v FROM k WHERE " + w + " ORDER BY id"
		}
		p0, s0 := planned, splanned
		got, want := query(t, pruned, sql), query(t, full, sql)
		if got != want {
			t.Fatalf("%s\npruned:\n%s\nunpruned:\n%s", sql, got, want)
		}
		if planned-p0 > splanned-s0 {
			t.Fatalf("%s: pruned scan planned %d files, unpruned %d", sql, planned-p0, splanned-s0)
		}
	}
	// Deterministic: the last day and the last commit's keys.
	for _, sql := range []string{
		"SELECT * FROM p WHERE dt >= " + day(5),
		"SELECT * FROM p WHERE dt BETWEEN " + day(5) + " AND " + day(9),
		"SELECT * FROM p WHERE dt IN (" + day(5) + ", " + day(8) + ")",
		"SELECT * FROM k WHERE id > 200",
	} {
		p0, t0 := planned, total
		query(t, pruned, sql)
		if planned-p0 >= total-t0 {
			t.Errorf("%s: planned %d of %d files, want fewer", sql, planned-p0, total-t0)
		}
	}
	t.Logf("random queries: pruned scans planned %d files, unpruned %d", planned, splanned)
}
