package query

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/types"
)

// seededEngine is an engine whose random source is ChaCha8 with seed.
func seededEngine(t *testing.T, seed byte, rowEngine bool) *Engine {
	t.Helper()
	var key [32]byte
	key[0] = seed
	e := NewEngine(newFakeCatalog(), EngineOptions{Now: func() time.Time { return testNow }, Rand: rand.NewChaCha8(key)})
	e.rowEngine = rowEngine
	mustExec(t, e, `CREATE TABLE g (id INT PRIMARY KEY, v INT)`)
	mustExec(t, e, `INSERT INTO g VALUES (1, 10), (2, 20), (3, 30)`)
	return e
}

// TestGenRandomUUID: gen_random_uuid() and uuid() give a version 4 UUID,
// a new one for each row, from the engine's random source: the same seed
// gives the same UUIDs on the pipeline and the row path.
func TestGenRandomUUID(t *testing.T) {
	q := `SELECT id, gen_random_uuid(), uuid() FROM g ORDER BY id`
	var first string
	for _, rowEngine := range []bool{false, true} {
		e := seededEngine(t, 7, rowEngine)
		res := mustExec(t, e, q)[0]
		seen := map[types.UUID]bool{}
		for _, row := range res.Rows {
			for _, v := range row[1:] {
				u, ok := v.(types.UUID)
				if !ok {
					t.Fatalf("rowEngine=%v: %T %v is not a UUID", rowEngine, v, v)
				}
				if u[6]>>4 != 4 || u[8]>>6 != 2 {
					t.Errorf("rowEngine=%v: %s is not a version 4 RFC 4122 UUID", rowEngine, u)
				}
				if seen[u] {
					t.Errorf("rowEngine=%v: %s repeats: every row and call needs its own", rowEngine, u)
				}
				seen[u] = true
			}
		}
		// The same seed replays: the same UUIDs in the same places; the
		// pipeline, which computes a column at a time, draws the same ones
		// in another order than the row path.
		if again := rowsText(mustExec(t, seededEngine(t, 7, rowEngine), q)[0]); again != rowsText(res) {
			t.Errorf("rowEngine=%v: seed 7 gave\n%s\nthen\n%s", rowEngine, rowsText(res), again)
		}
		set := uuidSet(res)
		if first == "" {
			first = set
		} else if set != first {
			t.Errorf("the pipeline drew\n%s\nthe row path\n%s\n(same seed)", first, set)
		}
	}
	if other := uuidSet(mustExec(t, seededEngine(t, 8, false), q)[0]); other == first {
		t.Errorf("seeds 7 and 8 gave the same UUIDs:\n%s", other)
	}
	// The default source (crypto/rand) works too.
	e, _ := newTestEngine(t)
	res := mustExec(t, e, `SELECT gen_random_uuid() <> gen_random_uuid()`)[0]
	if len(res.Rows) != 1 || res.Rows[0][0] != true {
		t.Errorf("two calls gave %v, want different UUIDs", res.Rows)
	}
}

// TestGenRandomUUIDWrite: UUIDs as keys of INSERT … VALUES and INSERT …
// SELECT, and in UPDATE … SET; refused where a clause takes no volatile
// function.
func TestGenRandomUUIDWrite(t *testing.T) {
	e := seededEngine(t, 1, false)
	mustExec(t, e, `CREATE TABLE k (u UUID PRIMARY KEY, v INT)`)
	mustExec(t, e, `INSERT INTO k VALUES (gen_random_uuid(), 1), (uuid(), 2)`)
	mustExec(t, e, `INSERT INTO k SELECT gen_random_uuid(), v FROM g`)
	if got := rowsText(mustExec(t, e, `SELECT count(DISTINCT u), count(*) FROM k`)[0]); got != "5|5\n" {
		t.Errorf("distinct keys, rows: %q, want 5|5", got)
	}
	mustExec(t, e, `CREATE TABLE w (id INT PRIMARY KEY, u UUID)`)
	mustExec(t, e, `INSERT INTO w VALUES (1, NULL), (2, NULL)`)
	mustExec(t, e, `UPDATE w SET u = gen_random_uuid()`)
	if got := rowsText(mustExec(t, e, `SELECT count(DISTINCT u) FROM w`)[0]); got != "2\n" {
		t.Errorf("UPDATE SET gen_random_uuid() gave %q distinct values, want 2", got)
	}
	for _, q := range []string{
		`SELECT count(*) FROM g GROUP BY gen_random_uuid()`,
		`SELECT gen_random_uuid(1)`,
	} {
		_, err := e.Exec(context.Background(), q)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want a one-line error", q, err)
		}
	}
}

// uuidSet lists the UUIDs of a result's rows, sorted.
func uuidSet(r *Result) string {
	var out []string
	for _, row := range r.Rows {
		for _, v := range row {
			if u, ok := v.(types.UUID); ok {
				out = append(out, u.String())
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
