package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/manifest"
)

// lastSnapshot returns the latest snapshot of default.name.
func lastSnapshot(t *testing.T, cat *catalog.Catalog, name string) *manifest.Snapshot {
	t.Helper()
	ctx := context.Background()
	tbl, err := cat.LoadTable(ctx, "default", name)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := tbl.Meta().Snapshots(ctx)
	if err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots of %s: %v", name, err)
	}
	return snaps[len(snaps)-1]
}

// TestInsertOverwrite: each mode of INSERT OVERWRITE is one OVERWRITE
// commit with the documented scope.
func TestInsertOverwrite(t *testing.T) {
	e, cat := siltEngine(t)
	mustExec(t, e, `CREATE TABLE u (id INT PRIMARY KEY, v STRING);
		INSERT INTO u VALUES (1, 'a'), (2, 'b'), (3, 'c');
		CREATE TABLE p (dt STRING, id INT, v INT, PRIMARY KEY (dt, id)) PARTITIONED BY (dt) WITH ('bucket' = '2');
		INSERT INTO p VALUES ('d1', 1, 10), ('d1', 2, 20), ('d2', 1, 30), ('d3', 1, 40)`)

	// Unpartitioned: the whole table is replaced.
	res := mustExec(t, e, "INSERT OVERWRITE u VALUES (2, 'x'), (9, 'y')")[0]
	if res.Message != "INSERT OVERWRITE 2" || res.SnapshotID != 2 {
		t.Errorf("unpartitioned overwrite: %+v", res)
	}
	if got := query(t, e, "SELECT id, v FROM u ORDER BY id"); got != "2|x\n9|y\n" {
		t.Errorf("unpartitioned overwrite left %q", got)
	}
	if s := lastSnapshot(t, cat, "u"); s.CommitKind != manifest.CommitOverwrite || s.TotalRecordCount != 2 {
		t.Errorf("unpartitioned overwrite committed %s with %d records", s.CommitKind, s.TotalRecordCount)
	}
	if got := query(t, e, "SELECT COUNT(*) FROM u VERSION AS OF 1"); got != "3\n" {
		t.Errorf("time travel before the overwrite: %q", got)
	}

	// Partitioned, no PARTITION: only the partitions written are replaced.
	mustExec(t, e, "INSERT OVERWRITE TABLE p SELECT 'd1', 5, 50 UNION ALL SELECT 'd4', 1, 60")
	if got := query(t, e, "SELECT dt, id, v FROM p ORDER BY dt, id"); got != "d1|5|50\nd2|1|30\nd3|1|40\nd4|1|60\n" {
		t.Errorf("dynamic overwrite left %q", got)
	}
	// A query without rows changes nothing in dynamic mode.
	before := lastSnapshot(t, cat, "p").ID
	if res := mustExec(t, e, "INSERT OVERWRITE p SELECT dt, id, v FROM p WHERE id < 0")[0]; res.SnapshotID != 0 {
		t.Errorf("empty dynamic overwrite committed %d", res.SnapshotID)
	}
	if after := lastSnapshot(t, cat, "p").ID; after != before {
		t.Errorf("empty dynamic overwrite moved the table from %d to %d", before, after)
	}

	// Static PARTITION: that partition is replaced, the query gives the
	// other columns.
	mustExec(t, e, "INSERT OVERWRITE p PARTITION (dt = 'd2') VALUES (7, 70), (8, 80)")
	if got := query(t, e, "SELECT dt, id, v FROM p ORDER BY dt, id"); got != "d1|5|50\nd2|7|70\nd2|8|80\nd3|1|40\nd4|1|60\n" {
		t.Errorf("static overwrite left %q", got)
	}
	// Static with a column list, and with no rows: the partition empties.
	mustExec(t, e, "INSERT OVERWRITE p PARTITION (dt = 'd3') (v, id) VALUES (90, 2)")
	if got := query(t, e, "SELECT id, v FROM p WHERE dt = 'd3'"); got != "2|90\n" {
		t.Errorf("static overwrite with a column list left %q", got)
	}
	mustExec(t, e, "INSERT OVERWRITE p PARTITION (dt = 'd4') SELECT id, v FROM p WHERE false")
	if got := query(t, e, "SELECT DISTINCT dt FROM p ORDER BY dt"); got != "d1\nd2\nd3\n" {
		t.Errorf("static overwrite without rows left partitions %q", got)
	}
	if s := lastSnapshot(t, cat, "p"); s.CommitKind != manifest.CommitOverwrite {
		t.Errorf("static overwrite committed %s", s.CommitKind)
	}

	for sql, want := range map[string]string{
		"INSERT OVERWRITE u PARTITION (id = 1) VALUES ('a')":             "not partitioned",
		"INSERT OVERWRITE p PARTITION (v = 1) VALUES (1, 'a')":           `"v" is not a partition column of table default.p (partition columns: dt)`,
		"INSERT OVERWRITE p PARTITION (dt = 'a', dt = 'b') VALUES (1)":   "given twice",
		"INSERT OVERWRITE p PARTITION (dt = 'a') (dt, id) VALUES (1, 2)": "leave it out of the column list",
		"INSERT OVERWRITE p PARTITION (dt = 'a') VALUES (1, 2, 3)":       "2 target columns but row 1 has 3 values",
		"INSERT OVERWRITE p PARTITION (dt = id) VALUES (1, 2)":           "cannot refer to columns",
		"INSERT OVERWRITE u$snapshots VALUES (1)":                        "read-only",
		"INSERT OVERWRITE p PARTITION dt = 'a' VALUES (1, 2)":            "expected (",
		"INSERT u VALUES (1, 'a')":                                       "expected INTO or OVERWRITE",
	} {
		if err := execErr(t, e, sql); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", sql, err, want)
		}
	}
	// A failed statement commits nothing.
	if got := query(t, e, "SELECT COUNT(*) FROM p"); got != "4\n" {
		t.Errorf("after the failed statements: %q rows", got)
	}
}

// TestInsertOverwriteChangelog: an overwrite of a table with an input
// changelog producer commits (an OVERWRITE carries no changelog files) and
// table_changes reports what it changed from the snapshot diff.
func TestInsertOverwriteChangelog(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE c (id INT PRIMARY KEY, v STRING) WITH ('changelog-producer' = 'input');
		INSERT INTO c VALUES (1, 'a'), (2, 'b');
		INSERT OVERWRITE c VALUES (2, 'b'), (3, 'c')`)
	if got := query(t, e, "SELECT id, v FROM c ORDER BY id"); got != "2|b\n3|c\n" {
		t.Fatalf("after the overwrite: %q", got)
	}
	got := query(t, e, "SELECT rowkind, id FROM table_changes('c', 1, 2) ORDER BY id")
	if got != "-D|1\n+I|3\n" {
		t.Errorf("changes of the overwrite: %q", got)
	}
}

// owRow is a row of the random test's table (dt, id) -> v.
type owRow struct {
	dt string
	id int
	v  int
}

// TestInsertOverwriteRandom runs random INSERT, INSERT OVERWRITE (every
// mode) and DELETE statements on partitioned and unpartitioned tables and
// compares the table with an oracle map after each.
func TestInsertOverwriteRandom(t *testing.T) {
	n := 6
	if testing.Short() {
		n = 2
	}
	for _, seed := range testkit.Seeds(t, n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runOverwriteRandom(t, seed)
		})
	}
}

func runOverwriteRandom(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	e, _ := siltEngine(t)
	partitioned := rng.IntN(3) > 0
	ddl := "CREATE TABLE r (dt STRING, id INT, v INT, PRIMARY KEY (dt, id))"
	if partitioned {
		ddl += " PARTITIONED BY (dt)"
	}
	ddl += fmt.Sprintf(" WITH ('bucket' = '%d')", 1+rng.IntN(3))
	mustExec(t, e, ddl)
	type key struct {
		dt string
		id int
	}
	oracle := map[key]int{}
	dts := []string{"a", "b", "c", "d"}
	randRows := func(n int, dt string) []owRow {
		rows := make([]owRow, n)
		for i := range rows {
			d := dt
			if d == "" {
				d = dts[rng.IntN(len(dts))]
			}
			rows[i] = owRow{d, rng.IntN(6), rng.IntN(1000)}
		}
		return rows
	}
	values := func(rows []owRow, static bool) string {
		parts := make([]string, len(rows))
		for i, r := range rows {
			if static {
				parts[i] = fmt.Sprintf("(%d, %d)", r.id, r.v)
			} else {
				parts[i] = fmt.Sprintf("('%s', %d, %d)", r.dt, r.id, r.v)
			}
		}
		return "VALUES " + strings.Join(parts, ", ")
	}
	for step := range 25 {
		var sql string
		switch op := rng.IntN(5); {
		case op == 0: // INSERT
			rows := randRows(1+rng.IntN(5), "")
			sql = "INSERT INTO r " + values(rows, false)
			for _, r := range rows {
				oracle[key{r.dt, r.id}] = r.v
			}
		case op == 1: // DELETE
			dt := dts[rng.IntN(len(dts))]
			sql = fmt.Sprintf("DELETE FROM r WHERE dt = '%s' AND id < %d", dt, rng.IntN(6))
			lim := 0
			fmt.Sscanf(sql[strings.LastIndex(sql, "<")+2:], "%d", &lim)
			for k := range oracle {
				if k.dt == dt && k.id < lim {
					delete(oracle, k)
				}
			}
		case op == 2 && partitioned: // static overwrite, VALUES or an empty query
			dt := dts[rng.IntN(len(dts))]
			rows := randRows(rng.IntN(4), dt)
			src := values(rows, true)
			if len(rows) == 0 {
				src = "SELECT id, v FROM r WHERE id < 0"
			}
			sql = fmt.Sprintf("INSERT OVERWRITE r PARTITION (dt = '%s') %s", dt, src)
			for k := range oracle {
				if k.dt == dt {
					delete(oracle, k)
				}
			}
			for _, r := range rows {
				oracle[key{r.dt, r.id}] = r.v
			}
		default: // overwrite from a query over the table itself, or VALUES
			var rows []owRow
			if rng.IntN(2) == 0 {
				rows = randRows(rng.IntN(5), "")
				sql = "INSERT OVERWRITE r " + values(rows, false)
				if len(rows) == 0 {
					sql = "INSERT OVERWRITE r SELECT dt, id, v FROM r WHERE false"
				}
			} else {
				// Rewrite some rows into other partitions and keys.
				shift := rng.IntN(3)
				sql = fmt.Sprintf("INSERT OVERWRITE r SELECT CASE WHEN id %% 2 = 0 THEN 'd' ELSE dt END, id + %d, v + 1 FROM r WHERE id >= %d", shift, shift)
				for k, v := range oracle {
					if k.id >= shift {
						d := k.dt
						if k.id%2 == 0 {
							d = "d"
						}
						rows = append(rows, owRow{d, k.id + shift, v + 1})
					}
				}
				// Rows with the same new key: the query's order decides
				// which one wins, so keep the statement deterministic.
				seen := map[key]bool{}
				dup := false
				for _, r := range rows {
					if seen[key{r.dt, r.id}] {
						dup = true
					}
					seen[key{r.dt, r.id}] = true
				}
				if dup {
					continue
				}
			}
			replaced := map[string]bool{}
			for _, r := range rows {
				replaced[r.dt] = true
			}
			for k := range oracle {
				if !partitioned || replaced[k.dt] {
					delete(oracle, k)
				}
			}
			for _, r := range rows {
				oracle[key{r.dt, r.id}] = r.v
			}
		}
		if _, err := e.Exec(context.Background(), sql); err != nil {
			t.Fatalf("step %d: %s: %v", step, sql, err)
		}
		var want []string
		for k, v := range oracle {
			want = append(want, fmt.Sprintf("%s|%d|%d", k.dt, k.id, v))
		}
		slices.Sort(want)
		got := strings.Fields(query(t, e, "SELECT dt, id, v FROM r"))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: after %s\n silt   %v\n oracle %v", step, sql, got, want)
		}
	}
}

// TestInsertOverwriteDuckDB: a script of overwrites leaves the table
// DuckDB holds after the equivalent DELETE + INSERT statements.
func TestInsertOverwriteDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	setup := []string{
		"CREATE TABLE p (dt VARCHAR, id INTEGER, v DOUBLE, PRIMARY KEY (dt, id))",
		"INSERT INTO p VALUES ('x', 1, 1.5), ('x', 2, 2.5), ('y', 1, 3.5), ('z', 7, NULL)",
		"CREATE TABLE u (id INTEGER PRIMARY KEY, s VARCHAR)",
		"INSERT INTO u VALUES (1, 'one'), (2, 'two')",
	}
	steps := []struct{ silt, duck string }{
		{"INSERT OVERWRITE p SELECT dt, id + 10, v * 2 FROM p WHERE dt = 'x'",
			"DELETE FROM p WHERE dt = 'x'; INSERT INTO p VALUES ('x', 11, 3), ('x', 12, 5)"},
		{"INSERT OVERWRITE p PARTITION (dt = 'y') VALUES (4, 4.25), (5, NULL)",
			"DELETE FROM p WHERE dt = 'y'; INSERT INTO p VALUES ('y', 4, 4.25), ('y', 5, NULL)"},
		{"INSERT OVERWRITE p PARTITION (dt = 'z') SELECT id, v FROM p WHERE false",
			"DELETE FROM p WHERE dt = 'z'"},
		{"INSERT OVERWRITE u SELECT id * 10, upper(s) FROM u",
			"CREATE TEMP TABLE u2 AS SELECT id * 10 AS id, upper(s) AS s FROM u; DELETE FROM u; INSERT INTO u SELECT * FROM u2"},
	}
	var duckSetup []string
	duckSetup = append(duckSetup, setup...)
	for _, st := range steps {
		duckSetup = append(duckSetup, strings.Split(st.duck, "; ")...)
	}
	finals := []string{"SELECT dt, id, v FROM p ORDER BY dt, id", "SELECT id, s FROM u ORDER BY id"}
	want := db.Run(t, duckSetup, finals)

	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE p (dt STRING, id INT, v DOUBLE, PRIMARY KEY (dt, id)) PARTITIONED BY (dt);
		INSERT INTO p VALUES ('x', 1, 1.5), ('x', 2, 2.5), ('y', 1, 3.5), ('z', 7, NULL);
		CREATE TABLE u (id INT PRIMARY KEY, s STRING);
		INSERT INTO u VALUES (1, 'one'), (2, 'two')`)
	for _, st := range steps {
		mustExec(t, e, st.silt)
	}
	for i, q := range finals {
		if want[i].Err != "" {
			t.Fatalf("DuckDB: %s: %s", q, want[i].Err)
		}
		res := mustExec(t, e, q)[0]
		if got, exp := siltRows(res), duckRows(want[i]); !slices.Equal(got, exp) {
			t.Errorf("%s:\n silt   %q\n DuckDB %q", q, got, exp)
		}
	}
}
