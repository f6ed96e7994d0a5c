package query

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// queryGen produces random, mostly well-formed statements over the orders
// table, so that binding and evaluation (not just the parser) meet edge
// values, NULLs and type mixes.
type queryGen struct{ r *rand.Rand }

var genCols = []string{"id", "customer", "amount", "qty", "d", "ts", "score", "flag", "data"}

var genLits = []string{
	"0", "1", "-1", "2147483647", "-2147483648", "9223372036854775807", "-9223372036854775808",
	"0.5", "99999999999999999.9", "0.000000000000000001", "1e308", "-1e-308", "NULL", "TRUE", "FALSE",
	"'a'", "''", "'alice'", "'2024-01-02'", "'%a_'", "'1.5'", "DATE '2024-01-02'",
	"TIMESTAMP '2024-01-01 10:00:00'", "X'00ff'", "CAST('NaN' AS DOUBLE)", "CAST('Inf' AS DOUBLE)",
}

func (g queryGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g queryGen) expr(depth int) string {
	if depth <= 0 || g.r.IntN(4) == 0 {
		if g.r.IntN(2) == 0 {
			return g.pick(genCols)
		}
		return g.pick(genLits)
	}
	a, b := g.expr(depth-1), g.expr(depth-1)
	switch g.r.IntN(14) {
	case 0:
		return "(" + a + " " + g.pick([]string{"+", "-", "*", "/", "%", "||"}) + " " + b + ")"
	case 1:
		return "(" + a + " " + g.pick([]string{"=", "<>", "<", "<=", ">", ">="}) + " " + b + ")"
	case 2:
		return "(" + a + " " + g.pick([]string{"AND", "OR"}) + " " + b + ")"
	case 3:
		return "(NOT " + a + ")"
	case 4:
		return "(- " + a + ")" // "--" would start a comment
	case 5:
		return "(" + a + " IS " + g.pick([]string{"", "NOT "}) + "NULL)"
	case 6:
		return "(" + a + g.pick([]string{"", " NOT"}) + " IN (" + b + ", " + g.expr(depth-1) + "))"
	case 7:
		return "(" + a + " BETWEEN " + b + " AND " + g.expr(depth-1) + ")"
	case 8:
		return "(" + a + g.pick([]string{"", " NOT"}) + " LIKE " + b + ")"
	case 9:
		return "CAST(" + a + " AS " + g.pick([]string{"INT", "BIGINT", "DOUBLE", "FLOAT", "DECIMAL(5,2)", "DECIMAL(18,0)", "STRING", "DATE", "TIMESTAMP", "BOOLEAN", "BYTES"}) + ")"
	case 10:
		return "COALESCE(" + a + ", " + b + ")"
	case 11:
		return "CASE WHEN " + a + " THEN " + b + " ELSE " + g.expr(depth-1) + " END"
	case 12:
		return g.pick([]string{"UPPER", "LOWER", "LENGTH", "ABS"}) + "(" + a + ")"
	}
	return g.pick([]string{"COUNT", "SUM", "MIN", "MAX", "AVG"}) + "(" + g.pick([]string{"", "DISTINCT "}) + a + ")"
}

func (g queryGen) statement() string {
	e := func() string { return g.expr(3) }
	switch g.r.IntN(8) {
	case 0:
		return "INSERT INTO orders (id, " + g.pick(genCols[1:]) + ") VALUES (" + g.pick(genLits) + ", " + e() + ")"
	case 1:
		return "UPDATE orders SET " + g.pick(genCols[1:]) + " = " + e() + " WHERE " + e()
	case 2:
		return "DELETE FROM orders WHERE " + e()
	case 3:
		return "SELECT " + g.pick(genCols) + ", " + e() + " FROM orders GROUP BY " + g.pick(genCols) + " HAVING " + e() + " ORDER BY 1"
	}
	sql := "SELECT " + g.pick([]string{"", "DISTINCT "}) + e() + ", " + e() + " FROM orders"
	if g.r.IntN(3) > 0 {
		sql += " WHERE " + e()
	}
	if g.r.IntN(2) == 0 {
		sql += " ORDER BY " + g.pick([]string{"1", "2", e()}) + g.pick([]string{"", " DESC"})
	}
	if g.r.IntN(3) == 0 {
		sql += " LIMIT " + g.pick([]string{"0", "2", "9223372036854775807"}) + " OFFSET " + g.pick([]string{"0", "1", "9223372036854775807"})
	}
	return sql
}

// typed returns an expression of kind k ('n'umeric, 's'tring, 'b'oolean,
// 'd'ate), so that most generated statements bind and evaluate.
func (g queryGen) typed(k byte, depth int) string {
	if g.r.IntN(12) == 0 {
		return g.expr(depth) // occasionally anything at all
	}
	leaf := depth <= 0 || g.r.IntN(3) == 0
	sub := func(k byte) string { return g.typed(k, depth-1) }
	switch k {
	case 'n':
		if leaf {
			return g.pick([]string{"id", "amount", "qty", "score", "0", "1", "-1", "2147483647", "9223372036854775807", "0.5", "1e308", "NULL"})
		}
		switch g.r.IntN(7) {
		case 0, 1:
			return "(" + sub('n') + " " + g.pick([]string{"+", "-", "*", "/", "%"}) + " " + sub('n') + ")"
		case 2:
			return "(- " + sub('n') + ")"
		case 3:
			return "CAST(" + sub(g.pick([]string{"n", "s"})[0]) + " AS " + g.pick([]string{"INT", "BIGINT", "DOUBLE", "DECIMAL(5,2)", "DECIMAL(18,6)"}) + ")"
		case 4:
			return "COALESCE(" + sub('n') + ", " + sub('n') + ")"
		case 5:
			return "CASE WHEN " + sub('b') + " THEN " + sub('n') + " ELSE " + sub('n') + " END"
		}
		return g.pick([]string{"ABS(", "LENGTH("}) + sub(g.pick([]string{"n", "s"})[0]) + ")"
	case 's':
		if leaf {
			return g.pick([]string{"customer", "'a'", "''", "'alice'", "'x%'", "NULL"})
		}
		switch g.r.IntN(4) {
		case 0:
			return "(" + sub('s') + " || " + sub(g.pick([]string{"s", "n", "d"})[0]) + ")"
		case 1:
			return g.pick([]string{"UPPER(", "LOWER("}) + sub('s') + ")"
		case 2:
			return "CAST(" + sub(g.pick([]string{"n", "d", "b"})[0]) + " AS STRING)"
		}
		return "COALESCE(" + sub('s') + ", " + sub('s') + ")"
	case 'd':
		if leaf {
			return g.pick([]string{"d", "ts", "DATE '2024-01-02'", "TIMESTAMP '2024-01-02 11:00:00'", "'2024-01-01'", "CURRENT_DATE"})
		}
		return g.pick([]string{"CAST(ts AS DATE)", "CAST(d AS TIMESTAMP)", "COALESCE(d, DATE '2024-01-01')"})
	}
	if leaf {
		return g.pick([]string{"flag", "TRUE", "FALSE", "NULL"})
	}
	c := g.pick([]string{"n", "s", "d"})[0]
	switch g.r.IntN(8) {
	case 0, 1:
		return "(" + sub(c) + " " + g.pick([]string{"=", "<>", "<", "<=", ">", ">="}) + " " + sub(c) + ")"
	case 2:
		return "(" + sub('b') + " " + g.pick([]string{"AND", "OR"}) + " " + sub('b') + ")"
	case 3:
		return "(NOT " + sub('b') + ")"
	case 4:
		return "(" + sub(c) + " IS " + g.pick([]string{"", "NOT "}) + "NULL)"
	case 5:
		return "(" + sub(c) + g.pick([]string{"", " NOT"}) + " IN (" + sub(c) + ", " + sub(c) + "))"
	case 6:
		return "(" + sub(c) + g.pick([]string{"", " NOT"}) + " BETWEEN " + sub(c) + " AND " + sub(c) + ")"
	}
	return "(" + sub('s') + g.pick([]string{"", " NOT"}) + " LIKE " + sub('s') + ")"
}

func (g queryGen) typedStatement() string {
	n, s, b := func() string { return g.typed('n', 3) }, func() string { return g.typed('s', 3) }, func() string { return g.typed('b', 3) }
	switch g.r.IntN(8) {
	case 0:
		return "INSERT INTO orders (id, qty, customer) VALUES (" + g.pick([]string{"6", "7", "1"}) + ", " + n() + ", " + s() + ")"
	case 1:
		return "UPDATE orders SET " + g.pick([]string{"qty", "amount", "score"}) + " = " + n() + ", customer = " + s() + " WHERE " + b()
	case 2:
		return "DELETE FROM orders WHERE " + b()
	case 3:
		return "SELECT " + g.pick([]string{"customer", "d", "flag"}) + ", " + g.pick([]string{"SUM", "AVG", "MIN", "MAX", "COUNT"}) + "(" +
			g.pick([]string{"", "DISTINCT "}) + n() + "), COUNT(*) FROM orders WHERE " + b() + " GROUP BY 1 HAVING COUNT(*) > " + g.pick([]string{"0", "1"}) + " ORDER BY 2 DESC, 1"
	}
	sql := "SELECT " + g.pick([]string{"", "DISTINCT "}) + n() + ", " + s() + ", " + b() + " FROM orders"
	if g.r.IntN(4) > 0 {
		sql += " WHERE " + b()
	}
	if g.r.IntN(2) == 0 {
		sql += " ORDER BY " + g.pick([]string{"1", "2 DESC", "3 NULLS LAST"})
	}
	if g.r.IntN(3) == 0 {
		sql += " LIMIT " + g.pick([]string{"0", "2", "9223372036854775807"}) + " OFFSET " + g.pick([]string{"0", "1", "9223372036854775807"})
	}
	return sql
}

// TestRandomQueries runs generated statements: none may panic, every error
// must be a single line wrapping one of silt's sentinel errors, and every
// result must be writable in every output format.
func TestRandomQueries(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	g := queryGen{rand.New(rand.NewPCG(1, 2))}
	e, _ := ordersEngine(t)
	ok := 0
	for i := 0; i < n; i++ {
		sql := g.typedStatement()
		if i%4 == 0 {
			sql = g.statement()
		}
		res, err := e.ExecStatement(context.Background(), sql)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "internal") {
				t.Errorf("%s: bad error %q", sql, err)
			}
			if !errors.Is(err, types.ErrInvalid) && !errors.Is(err, types.ErrNotFound) {
				t.Errorf("%s: error %v wraps no sentinel", sql, err)
			}
			continue
		}
		ok++
		for _, f := range Formats() {
			if err := WriteResult(io.Discard, res, f); err != nil {
				t.Errorf("%s: WriteResult %s: %v", sql, f, err)
			}
		}
	}
	if ok < n/4 {
		t.Errorf("only %d of %d generated statements succeeded; the generator is too hostile to test evaluation", ok, n)
	}
}

// TestPushdownNeverChangesResults compares queries whose WHERE clause can
// be pushed down with the same predicate wrapped in "OR FALSE", which
// disables pushdown but keeps the meaning. Failure injection check: the
// fake table filters on ScanSpec.Equals, so a wrongly coerced pushed value
// drops rows.
func TestPushdownNeverChangesResults(t *testing.T) {
	g := queryGen{rand.New(rand.NewPCG(3, 4))}
	e, cat := ordersEngine(t)
	mustExec(t, e, "INSERT INTO orders (id, customer, amount, qty, d, score) VALUES (6, 'bob', 10.5, 2, '2024-01-01', 2.5), (7, '', 0, 0, '2024-02-01', 0)")
	eqs := []string{
		"id = 1", "id = 1.0", "id = '3'", "id = 2147483648", "customer = 'alice'", "customer = ''", "'bob' = customer",
		"amount = 10.5", "amount = 10.50", "amount = 10.501", "amount = 7.25", "qty = 2", "qty = 2.0", "qty = 3000000000",
		"d = '2024-01-02'", "d = DATE '2024-01-01'", "d = TIMESTAMP '2024-01-01 00:00:00'", "ts = '2024-01-02 11:00:00'",
		"ts = DATE '2024-01-03'", "score = 2.5", "score = 0", "score = CAST(0.1 AS FLOAT)", "flag = TRUE", "data = X'01'", "data = ''",
	}
	tab := cat.table("default", "orders")
	pushed := 0
	for i := 0; i < 2000; i++ {
		where := g.pick(eqs)
		if g.r.IntN(2) == 0 {
			where += " AND " + g.pick(eqs)
		}
		if g.r.IntN(2) == 0 {
			where += " AND " + g.typed('b', 2)
		}
		q1 := "SELECT id FROM orders WHERE " + where
		r1, err1 := e.ExecStatement(context.Background(), q1)
		if len(tab.scans[len(tab.scans)-1].Equals) > 0 {
			pushed++
		}
		r2, err2 := e.ExecStatement(context.Background(), "SELECT id FROM orders WHERE ("+where+") OR FALSE")
		// Rows pruned by pushdown are never evaluated, so pushdown may avoid
		// a runtime error (0 % 0 on a pruned row) but must never add one.
		if err1 != nil && (err2 == nil || err1.Error() != err2.Error()) {
			t.Fatalf("%s: pushdown changed the error: %v vs %v", q1, err1, err2)
		}
		if err2 != nil {
			continue
		}
		if err1 == nil && rowsText(r1) != rowsText(r2) {
			t.Fatalf("%s: pushdown changed the result:\n%s vs\n%s", q1, rowsText(r1), rowsText(r2))
		}
	}
	if pushed < 500 {
		t.Errorf("only %d queries pushed predicates down", pushed)
	}
}
