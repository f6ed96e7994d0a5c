package query

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// Limits on statement size and cancellation in every phase: parsing,
// binding and printing are linear in the size of an expression, oversized
// or overly nested expressions fail with one clear line, and a canceled
// context stops a statement wherever it is.

// sumOf returns "t + t + … + t" with n terms.
func sumOf(term string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(" + ")
		}
		b.WriteString(term)
	}
	return b.String()
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLargeExpressionLinear: a SELECT of 2,000 or 8,000 added terms runs
// with memory linear in its size. Binding used to print every subtree
// (quadratic: 8,000 terms allocated over 600 MB), and a GROUP BY query
// keyed every node by printing its subtree.
func TestLargeExpressionLinear(t *testing.T) {
	e, _ := ordersEngine(t)
	for _, n := range []int{2000, 8000} {
		for _, c := range []struct{ sql, want string }{
			{"SELECT " + sumOf("1", n), strconv.Itoa(n) + "\n"},
			{"SELECT " + sumOf("qty", n) + " AS s FROM orders WHERE id = 1", strconv.Itoa(2*n) + "\n"},
			{"SELECT customer, SUM(" + sumOf("qty", n) + ") FROM orders WHERE id = 1 GROUP BY customer ORDER BY " + sumOf("1", n), "alice|" + strconv.Itoa(2*n) + "\n"},
		} {
			var res []*Result
			var err error
			bytes := allocated(func() { res, err = e.Exec(context.Background(), c.sql) })
			if err != nil {
				t.Fatalf("%d terms: %v", n, err)
			}
			t.Logf("%d terms, %.30s…: %d bytes allocated", n, c.sql, bytes)
			if got := rowsText(res[0]); got != c.want {
				t.Fatalf("%d terms: got %q, want %q", n, got, c.want)
			}
			// Linear: 8 KB per term at most (measured: 1-3 KB;
			// the quadratic binder needed 20-80 KB).
			if limit := uint64(8192 * n); bytes > limit {
				t.Errorf("%d terms (%.40s…): allocated %d bytes, more than %d", n, c.sql, bytes, limit)
			}
		}
	}
}

func TestExpressionTooLarge(t *testing.T) {
	e, _ := ordersEngine(t)
	in := make([]string, 25000)
	for i := range in {
		in[i] = strconv.Itoa(i)
	}
	for _, sql := range []string{
		"SELECT " + sumOf("1", 20000),
		"SELECT id FROM orders WHERE " + sumOf("qty", 12000) + " > 0",
		"SELECT 1" + strings.Repeat(" IS NULL", 30000),
		"SELECT id FROM orders WHERE id IN (" + strings.Join(in, ", ") + ")",
		"SELECT " + strings.Repeat("-1 * ", 30000) + "1",
		"INSERT INTO orders (id, qty) VALUES (1, " + sumOf("1", 100000) + ")",
	} {
		_, err := e.Exec(context.Background(), sql)
		if err == nil || !errors.Is(err, types.ErrInvalid) ||
			!strings.Contains(err.Error(), "too large: more than 20000 terms (operands and operators); split the statement into smaller ones") {
			t.Errorf("%.40s…: got %v, want the expression-size error", sql, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("%.40s…: error of %d bytes, want one short line", sql, len(err.Error()))
		}
	}
	// The limit is on one expression, not on the statement.
	items := make([]string, 5)
	for i := range items {
		items[i] = sumOf("1", 9000)
	}
	if _, err := e.Exec(context.Background(), "SELECT "+strings.Join(items, ", ")); err != nil {
		t.Errorf("five expressions of 9000 terms: %v", err)
	}
}

// TestDeepNesting: nesting of every kind stops at the depth limit with one
// clear line, never a stack overflow.
func TestDeepNesting(t *testing.T) {
	e, _ := ordersEngine(t)
	const n = 100000
	for _, sql := range []string{
		"SELECT " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n),
		"SELECT " + strings.Repeat("NOT ", n) + "TRUE",
		"SELECT " + strings.Repeat("- ", n) + "1",
		"SELECT " + strings.Repeat("ABS(", n) + "1" + strings.Repeat(")", n),
		"SELECT " + strings.Repeat("CAST(", n) + "1" + strings.Repeat(" AS INT)", n),
		"SELECT " + strings.Repeat("CASE WHEN ", n) + "TRUE",
		"SELECT 1 IN (" + strings.Repeat("1 IN (", n),
		"SELECT " + strings.Repeat("(", n),
	} {
		_, err := e.Exec(context.Background(), sql)
		if err == nil || !errors.Is(err, types.ErrInvalid) ||
			!strings.Contains(err.Error(), "expression nested too deeply (limit 200); simplify it or split the statement") {
			t.Errorf("%.40s…: got %v, want the nesting error", sql, err)
		}
	}
}

// cancelingCatalog cancels its statement's context when the statement
// loads a table, which is after parsing and before binding.
type cancelingCatalog struct {
	Catalog
	cancel context.CancelFunc
}

func (c *cancelingCatalog) LoadTable(ctx context.Context, db, name string) (Table, error) {
	c.cancel()
	return c.Catalog.LoadTable(ctx, db, name)
}

// TestCancelDuringBind: a statement canceled after parsing stops while
// binding: the binder checks the context.
func TestCancelDuringBind(t *testing.T) {
	_, cat := ordersEngine(t)
	for _, sql := range []string{
		"SELECT " + sumOf("qty", 10000) + " FROM orders",
		"SELECT customer, SUM(" + sumOf("qty", 10000) + ") FROM orders GROUP BY customer",
		"UPDATE orders SET qty = " + sumOf("qty", 10000) + " WHERE id = 1",
		"DELETE FROM orders WHERE " + sumOf("qty", 9000) + " = 0",
	} {
		ctx, cancel := context.WithCancel(context.Background())
		e := NewEngine(&cancelingCatalog{Catalog: cat, cancel: cancel}, EngineOptions{})
		_, err := e.Exec(ctx, sql)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%.40s…: got %v, want context.Canceled", sql, err)
		}
	}

	// The binder stops within checkEvery nodes.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stmts, _, err := parseScript(context.Background(), "SELECT "+sumOf("1", 10000))
	if err != nil {
		t.Fatal(err)
	}
	b := &binder{ctx: ctx, sc: &scope{}}
	if _, err := b.bind(stmts[0].stmt.(*selectStmt).items[0].expr); !errors.Is(err, context.Canceled) || b.nodes > checkEvery {
		t.Errorf("bind with a canceled context: %v after %d nodes", err, b.nodes)
	}
}

// TestCancelWriteCommitsNothing: a write canceled before its commit leaves
// the table as it was.
func TestCancelWriteCommitsNothing(t *testing.T) {
	_, cat := ordersEngine(t)
	rows := make([]string, 3000)
	for i := range rows {
		rows[i] = "(" + strconv.Itoa(1000+i) + ", 'x')"
	}
	for _, sql := range []string{
		"INSERT INTO orders (id, customer) VALUES " + strings.Join(rows, ", "),
		"UPDATE orders SET qty = " + sumOf("1", 5000),
	} {
		ctx, cancel := context.WithCancel(context.Background())
		e := NewEngine(&cancelingCatalog{Catalog: cat, cancel: cancel}, EngineOptions{})
		if _, err := e.Exec(ctx, sql); !errors.Is(err, context.Canceled) {
			t.Errorf("%.40s…: got %v, want context.Canceled", sql, err)
		}
		tb, err := cat.LoadTable(context.Background(), "default", "orders")
		if err != nil {
			t.Fatal(err)
		}
		if snaps, _ := tb.Snapshots(context.Background()); len(snaps) != 1 {
			t.Errorf("%.40s…: the canceled statement committed (%d snapshots, want 1)", sql, len(snaps))
		}
	}
}

// TestCancelDuringParse: parsing a long script stops on a canceled
// context (before, it parsed to the end and reported the syntax error).
func TestCancelDuringParse(t *testing.T) {
	e, _ := ordersEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	script := strings.Repeat("SELECT 1 + 2; ", 2000) + "SELECT FROM"
	if _, err := e.Exec(ctx, script); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if _, _, err := parseScript(ctx, "SELECT "+sumOf("1", 5000)); !errors.Is(err, context.Canceled) {
		t.Errorf("one long expression: got %v, want context.Canceled", err)
	}
}

// TestTermsCountPerExpression: the size limit applies to each expression
// on its own, DEFAULT constants included.
func TestTermsCountPerExpression(t *testing.T) {
	cols := make([]string, 21000)
	for i := range cols {
		cols[i] = "c" + strconv.Itoa(i) + " INT DEFAULT -1"
	}
	if _, _, err := parseScript(context.Background(), "CREATE TABLE t (id INT PRIMARY KEY, "+strings.Join(cols, ", ")+")"); err != nil {
		t.Errorf("21000 DEFAULT constants: %v", err)
	}
}

// TestLongChainsRoundTrip: the canonical form of a long chain of
// operators parses back to itself. It used to parenthesise every left
// operand, "((a + b) + c) + d", so a chain of more than 200 terms printed
// deeper than the nesting limit.
func TestLongChainsRoundTrip(t *testing.T) {
	for _, op := range []string{" + ", " - ", " * ", " || ", " AND ", " OR ", " = "} {
		terms := make([]string, 5000)
		for i := range terms {
			terms[i] = "c" + strconv.Itoa(i%10)
		}
		sql := "SELECT " + strings.Join(terms, op)
		stmts, _, err := parseScript(context.Background(), sql)
		if err != nil {
			t.Fatalf("%q chain: %v", op, err)
		}
		printed := stmts[0].stmt.String()
		again, _, err := parseScript(context.Background(), printed)
		if err != nil || again[0].stmt.String() != printed {
			t.Errorf("%q chain printed as %.60s… does not parse back: %v", op, printed, err)
		}
	}
}
