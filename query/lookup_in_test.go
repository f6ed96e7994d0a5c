package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// TestKeyInMatchesScan: SELECT … WHERE pk IN (…) (a one-column key, and a
// composite key with an equality and an IN, or two INs) reads the keys
// through the table's key scan and yields the same rows, in the same
// order, as the same query forced to scan (an OR the pushdown cannot
// use), at the latest snapshot and at older ones, with and without the
// lookup index, over random writes, deletes and compactions.
func TestKeyInMatchesScan(t *testing.T) {
	seed := testkit.Seed(t)
	for _, indexed := range []bool{false, true} {
		t.Run(fmt.Sprintf("index=%v", indexed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, map[bool]uint64{false: 1, true: 2}[indexed]))
			testKeyIn(t, rng, indexed)
		})
	}
}

func testKeyIn(t *testing.T, rng *rand.Rand, indexed bool) {
	ctx := context.Background()
	env := table.Env{Now: time.Now}
	var reg *table.LookupIndexes
	if indexed {
		reg = table.NewLookupIndexes()
		defer reg.Close()
		env.LocalDir, env.Indexes, env.StoreID = t.TempDir(), reg, "test"
	}
	cat := catalog.New(objstore.NewMem(), "", env)
	e := NewEngine(NewSiltCatalog(cat, "test"), EngineOptions{})
	mustExec(t, e, `CREATE TABLE k1 (id BIGINT PRIMARY KEY, v STRING) WITH ('bucket' = '3', 'write-buffer-size' = '2kb', 'parquet.row-group-rows' = '5')`)
	mustExec(t, e, `CREATE TABLE k2 (region STRING, id INT, v BIGINT, PRIMARY KEY (region, id)) PARTITIONED BY (region) WITH ('bucket' = '2', 'write-buffer-size' = '2kb')`)
	regions := []string{"eu", "us", "ap"}
	var snaps []int64
	for c := 0; c < 8; c++ {
		var b strings.Builder
		for range 1 + rng.IntN(30) {
			id := rng.IntN(40)
			if rng.IntN(4) == 0 {
				fmt.Fprintf(&b, "DELETE FROM k1 WHERE id = %d; DELETE FROM k2 WHERE region = '%s' AND id = %d;", id, regions[rng.IntN(3)], id)
			} else {
				fmt.Fprintf(&b, "INSERT INTO k1 VALUES (%d, 'v%d'); INSERT INTO k2 VALUES ('%s', %d, %d);", id, rng.IntN(100), regions[rng.IntN(3)], id, rng.IntN(100))
			}
		}
		mustExec(t, e, b.String())
		if rng.IntN(3) == 0 {
			for _, name := range []string{"k1", "k2"} {
				tb, err := cat.LoadTable(ctx, "default", name)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tb.Compact(ctx, table.CompactOptions{Full: rng.IntN(2) == 0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if id := latestSnapshot(t, e, "k1"); id > 0 { // deletes alone on an empty table commit nothing
			snaps = append(snaps, id)
		}
		list := func(n int, f func() string) string {
			var xs []string
			for range n {
				xs = append(xs, f())
			}
			return strings.Join(xs, ", ")
		}
		id := func() string { return fmt.Sprint(rng.IntN(45)) }
		region := func() string { return "'" + []string{"eu", "us", "ap", "xx"}[rng.IntN(4)] + "'" }
		for range 6 {
			at := ""
			if len(snaps) > 0 && rng.IntN(2) == 0 {
				at = fmt.Sprintf(" VERSION AS OF %d", snaps[rng.IntN(len(snaps))])
			}
			qs := []string{
				fmt.Sprintf("SELECT * FROM k1%s WHERE id IN (%s)", at, list(rng.IntN(12), id)),
				fmt.Sprintf("SELECT v, id FROM k1%s WHERE id IN (%s, NULL) AND v <> 'v3'", at, list(1+rng.IntN(12), id)),
				fmt.Sprintf("SELECT * FROM k2 WHERE region = %s AND id IN (%s)", region(), list(1+rng.IntN(12), id)),
				fmt.Sprintf("SELECT * FROM k2 WHERE id IN (%s) AND region IN (%s)", list(1+rng.IntN(6), id), list(1+rng.IntN(3), region)),
			}
			for _, q := range qs {
				if strings.Contains(q, "IN ()") {
					continue // not SQL
				}
				before := lookups(ctx, t, cat)
				got := query(t, e, q)
				after := lookups(ctx, t, cat)
				want := query(t, e, q+" OR 1 = 0")
				if got != want {
					t.Fatalf("%s:\n%s\nforced scan:\n%s", q, got, want)
				}
				// A table without a snapshot (only deletes so far) has
				// nothing to look up: the read ends before the index.
				name := strings.Fields(q[strings.Index(q, "FROM ")+5:])[0]
				if indexed && at == "" && after == before && !strings.Contains(q, "IN (NULL") && latestSnapshot(t, e, name) > 0 {
					t.Fatalf("%s: the lookup index was not asked (%d lookups)", q, after)
				}
			}
		}
	}
}

func lookups(ctx context.Context, t *testing.T, cat *catalog.Catalog) int64 {
	t.Helper()
	var n int64
	for _, name := range []string{"k1", "k2"} {
		tb, err := cat.LoadTable(ctx, "default", name)
		if err != nil {
			t.Fatal(err)
		}
		n += tb.LookupIndexStats().IndexLookups + tb.LookupIndexStats().FileLookups
	}
	return n
}

func latestSnapshot(t *testing.T, e *Engine, name string) int64 {
	t.Helper()
	out := strings.Fields(query(t, e, "SELECT max(snapshot_id) FROM "+name+"$snapshots"))
	var id int64
	if len(out) == 1 {
		fmt.Sscan(out[0], &id)
	}
	return id
}

// TestPushdownKeys: which WHERE clauses become key lists.
func TestPushdownKeys(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE k (a STRING, b INT, c INT, PRIMARY KEY (a, b))`)
	for _, c := range []struct{ where, want string }{
		{"a = 'x' AND b IN (1, 2)", "[[x 1] [x 2]]"},
		{"b IN (1, NULL) AND a IN ('x', 'y') AND c = 3", "[[x 1] [y 1]]"},
		{"a = 'x' AND b = 1", "[]"},        // a point lookup already
		{"a = 'x' AND b NOT IN (1)", "[]"}, // not a key list
		{"a = 'x' OR b IN (1)", "[]"},
		{"a = 'x' AND b IN (1, c)", "[]"},
		{"b IN (1)", "[]"},
	} {
		w := bindWhere(t, e, "k", c.where)
		got := pushdownKeys(w, []int{0, 1})
		if s := fmt.Sprint(got); (got == nil && c.want != "[]") || (got != nil && s != c.want) {
			t.Errorf("%s: %v, want %s", c.where, got, c.want)
		}
	}
}

// bindWhere binds a WHERE clause over table name.
func bindWhere(t *testing.T, e *Engine, name, where string) bexpr {
	t.Helper()
	ctx := context.Background()
	rel, err := e.resolveTable(ctx, tableName{table: name})
	if err != nil {
		t.Fatal(err)
	}
	stmts, _, err := parseScript(ctx, "SELECT * FROM "+name+" WHERE "+where)
	if err != nil {
		t.Fatal(err)
	}
	b := &binder{ctx: ctx, sc: rel.scope(""), now: time.Now(), clause: "WHERE"}
	w, err := b.bind(stmts[0].stmt.(*selectStmt).where)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
