package query

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
)

// TestProjectionColumns checks the columns a SELECT asks the table for.
func TestProjectionColumns(t *testing.T) {
	e, cat := newTestEngine(t)
	mustExec(t, e, `
		CREATE TABLE p (dt DATE, id BIGINT, amount DECIMAL(8,2), name STRING, PRIMARY KEY (dt, id)) PARTITIONED BY (dt);
		INSERT INTO p VALUES ('2024-01-01', 1, 1.00, 'a'), ('2024-01-01', 2, 2.00, 'b'), ('2024-01-02', 1, 3.00, 'c');`)
	tab := cat.table("default", "p")
	for _, tt := range []struct{ sql, cols, rows string }{
		{"SELECT COUNT(*) FROM p", "[]", "3\n"},
		{"SELECT COUNT(name), SUM(amount) FROM p", "[2 3]", "3|6.00\n"},
		{"SELECT name FROM p WHERE id > 1", "[1 3]", "b\n"},
		{"SELECT * FROM p WHERE id = 2", "[0 1 2 3]", "2024-01-01|2|2.00|b\n"},
		{"SELECT id FROM p WHERE dt = '2024-01-02' ORDER BY amount", "[0 1 2]", "1\n"},
		{"SELECT dt, SUM(amount) FROM p GROUP BY dt HAVING COUNT(*) > 1", "[0 2]", "2024-01-01|3.00\n"},
		{"SELECT UPPER(name) || 'x' FROM p WHERE CASE WHEN id = 1 THEN amount > 2 ELSE false END", "[1 2 3]", "Cx\n"},
	} {
		if got := query(t, e, tt.sql); got != tt.rows {
			t.Errorf("%s: rows %q, want %q", tt.sql, got, tt.rows)
		}
		if got := fmt.Sprint(tab.scans[len(tab.scans)-1].Columns); got != tt.cols {
			t.Errorf("%s: Columns %s, want %s", tt.sql, got, tt.cols)
		}
	}
}

// TestProjectedAggregatesOnSilt runs aggregates over a real silt table with
// several sorted runs (upserts and deletes) through the projected scan and
// compares them with an in-memory oracle.
func TestProjectedAggregatesOnSilt(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE s (id BIGINT, name STRING, qty INT, amount DECIMAL(12,2), PRIMARY KEY (id)) WITH ('bucket' = '2', 'write-only' = 'true')`)
	type row struct {
		name   string
		qty    int64
		amount int64
	}
	oracle := map[int64]row{}
	for c := 0; c < 4; c++ {
		var vals []string
		seen := map[int64]bool{}
		for i := 0; i < 40; i++ {
			id := rng.Int64N(60)
			if seen[id] {
				continue
			}
			seen[id] = true
			r := row{name: fmt.Sprintf("n%d", rng.IntN(9)), qty: rng.Int64N(100), amount: rng.Int64N(1_000_000) - 500_000}
			oracle[id] = r
			vals = append(vals, fmt.Sprintf("(%d, '%s', %d, %s)", id, r.name, r.qty, fmtCents(r.amount)))
		}
		mustExec(t, e, "INSERT INTO s VALUES "+strings.Join(vals, ", "))
		del := rng.Int64N(60)
		delete(oracle, del)
		mustExec(t, e, fmt.Sprintf("DELETE FROM s WHERE id = %d", del))
	}
	var n, sumQty, sumAmount int64
	maxName := ""
	for _, r := range oracle {
		n++
		sumQty += r.qty
		sumAmount += r.amount
		maxName = max(maxName, r.name)
	}
	want := fmt.Sprintf("%d|%d|%s|%s\n", n, sumQty, fmtCents(sumAmount), maxName)
	if got := query(t, e, "SELECT COUNT(*), SUM(qty), SUM(amount), MAX(name) FROM s"); got != want {
		t.Fatalf("aggregates %q, want %q", got, want)
	}
	if got := query(t, e, "SELECT COUNT(qty) FROM s"); got != fmt.Sprintf("%d\n", n) {
		t.Fatalf("COUNT(qty) %q, want %d", got, n)
	}
}

func fmtCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
