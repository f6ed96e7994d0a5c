package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// TestVectorizedMatchesRowPath is the differential test of the vectorized
// SELECT pipeline: random tables (every column type, NULLs, every merge
// engine, several sorted runs, schema evolution) and random queries
// (WHERE, GROUP BY, HAVING, ORDER BY, LIMIT/OFFSET, time travel), each run
// on the pipeline and on the row path (Engine.rowEngine), collected and
// streamed, must give the same rows in the same order, or the same error.
func TestVectorizedMatchesRowPath(t *testing.T) {
	n := 4
	if testing.Short() {
		n = 1
	}
	for _, seed := range testkit.Seeds(t, n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runVecDiff(t, seed)
		})
	}
}

// vecDiffEngines are the merge engines the differential test draws from,
// with the options each needs.
var vecDiffEngines = []string{
	"'merge-engine' = 'deduplicate'",
	"'merge-engine' = 'first-row'",
	"'merge-engine' = 'partial-update'",
	"'merge-engine' = 'aggregation', 'fields.qty.aggregate-function' = 'sum', 'fields.customer.aggregate-function' = 'max', 'fields.score.aggregate-function' = 'min'",
}

func runVecDiff(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 77))
	e, cat := siltEngine(t)
	ctx := context.Background()
	eng := vecDiffEngines[rng.IntN(len(vecDiffEngines))]
	mustExec(t, e, fmt.Sprintf(`CREATE TABLE orders (id BIGINT PRIMARY KEY, customer STRING, amount DECIMAL(10,2), qty INT,
		d DATE, ts TIMESTAMP, score DOUBLE, flag BOOLEAN, data BYTES, f FLOAT, big DECIMAL(38,10), tags ARRAY<INT>,
		attrs MAP<STRING, BIGINT>, pt ROW<x INT, s STRING>) WITH ('bucket' = '%d', %s)`, 1+rng.IntN(2), eng))
	evolved := false
	commits := 2 + rng.IntN(4)
	for c := 0; c < commits; c++ {
		if !evolved && c > 0 && rng.IntN(2) == 0 {
			evolved = true
			mustExec(t, e, "ALTER TABLE orders ADD COLUMN note STRING DEFAULT 'n/a', ALTER COLUMN qty TYPE BIGINT, ALTER COLUMN f TYPE DOUBLE")
		}
		var vals []string
		for i, rows := 0, 1+rng.IntN(40); i < rows; i++ {
			vals = append(vals, vecDiffRow(rng, evolved))
		}
		cols := "id, customer, amount, qty, d, ts, score, flag, data, f, big, tags, attrs, pt"
		if evolved {
			cols += ", note"
		}
		mustExec(t, e, "INSERT INTO orders ("+cols+") VALUES "+strings.Join(vals, ", "))
		if rng.IntN(2) == 0 {
			del := fmt.Sprintf("DELETE FROM orders WHERE id %% 7 = %d", rng.IntN(7))
			if !strings.Contains(eng, "first-row") { // first-row refuses DELETE
				mustExec(t, e, del)
			}
		}
	}
	if rng.IntN(3) > 0 {
		// Queries read through scans that cut batches into pieces of 1 to
		// 8 rows.
		e = NewEngine(rebatchCatalog{NewSiltCatalog(cat, "test"), rand.New(rand.NewPCG(seed, 78))}, EngineOptions{Now: e.now})
	}
	g := queryGen{rng}
	ok, rows := 0, 0
	defer func() { t.Logf("%s: %d of 120 queries returned %d rows in all", eng, ok, rows) }()
	for i := 0; i < 120; i++ {
		sql := vecDiffQuery(g, evolved, commits)
		e.rowEngine = true
		want, werr := e.ExecStatement(ctx, sql)
		e.rowEngine = false
		got, gerr := e.ExecStatement(ctx, sql)
		if w, g := resultText(want, werr), resultText(got, gerr); w != g {
			t.Fatalf("%s\nrow path:\n%s\nvectorized:\n%s", sql, w, g)
		}
		if werr != nil && testing.Verbose() && i%4 == 0 {
			t.Logf("%s: %v", sql, werr)
		}
		if werr == nil {
			ok++
			rows += len(want.Rows)
		}
		if i%3 == 0 {
			format := []string{"csv", "json", "arrow"}[rng.IntN(3)]
			w, g := streamText(t, e, sql, format, true), streamText(t, e, sql, format, false)
			if w != g {
				t.Fatalf("%s (streamed, %s)\nrow path:\n%s\nvectorized:\n%s", sql, format, w, g)
			}
		}
	}
}

// vecDiffRow is one random row (with NULLs and edge values) as SQL.
func vecDiffRow(rng *rand.Rand, evolved bool) string {
	pick := func(xs ...string) string {
		if rng.IntN(6) == 0 {
			return "NULL"
		}
		return xs[rng.IntN(len(xs))]
	}
	num := func(lo, hi int) string { return fmt.Sprint(lo + rng.IntN(hi-lo+1)) }
	vals := []string{
		num(0, 59),
		pick("'alice'", "'bob'", "''", "'carol'", "'Émile'", "'a%b'"),
		pick(num(-99999, 99999)+".25", num(-50, 50), "0.01", "99999999.99", "-99999999.99"),
		pick(num(-5, 5), "2147483647", "-2147483648", num(-1000, 1000)),
		pick("'2024-01-0"+num(1, 9)+"'", "'1970-01-01'", "'2099-12-31'"),
		pick("'2024-01-0"+num(1, 9)+" 10:00:0"+num(0, 9)+"'", "'1969-12-31 23:59:59.999999'"),
		pick(num(-3, 3)+".5", "0", "-0.0", "1e308", "CAST('NaN' AS DOUBLE)", "CAST('-Inf' AS DOUBLE)"),
		pick("TRUE", "FALSE"),
		pick("X''", "X'00'", "X'ff01'", "X'0203'"),
		pick(num(-9, 9)+".125", "3.4e38", "CAST('NaN' AS FLOAT)"),
		pick(num(-99999, 99999)+"123456789012.0123456789", num(-50, 50), "-0.0000000001", "9999999999999999999999999999.9999999999",
			"-9999999999999999999999999999.9999999999", "18446744073709551616"),
		pick("[]", "["+num(-3, 3)+"]", "[1, NULL, "+num(0, 5)+"]", "[2147483647, -2147483648]"),
		pick("MAP {}", "MAP {'a': "+num(-3, 3)+"}", "MAP {'a': 1, 'b': NULL}", "MAP {'b': 9223372036854775807, 'c': "+num(0, 9)+"}"),
		pick("{'x': "+num(-2, 2)+", 's': 'p'}", "{'x': NULL, 's': ''}", "{'x': 7, 's': NULL}"),
	}
	if evolved {
		vals = append(vals, pick("'x'", "'n/a'", "'yy'"))
	}
	return "(" + strings.Join(vals, ", ") + ")"
}

// vecDiffQuery is a random SELECT over orders.
func vecDiffQuery(g queryGen, evolved bool, commits int) string {
	if g.r.IntN(4) == 0 {
		// Runtime errors in some rows only: the first one in row order
		// must win, and a streamed result must show the rows before it.
		risky := []string{"100 / (qty - %d)", "id / (id %% %d)", "CAST(customer AS INT) + %d", "amount / (id - %d)", "CAST(d AS STRING) || id / (qty + %d)",
			"big * big * %d", "big / (qty - %d)", "CAST(big AS BIGINT) + %d", "tags[%d] + attrs['a']"}
		expr := func() string { return fmt.Sprintf(g.pick(risky), g.r.IntN(6)) }
		sql := "SELECT id, " + expr() + ", " + expr() + " FROM orders"
		switch g.r.IntN(4) {
		case 0:
			sql += " WHERE " + fmt.Sprintf("id / (qty - %d) > 0", g.r.IntN(4))
		case 1:
			sql = "SELECT SUM(" + expr() + "), MAX(" + expr() + ") FROM orders"
		}
		if g.r.IntN(2) == 0 {
			sql += fmt.Sprintf(" LIMIT %d", g.r.IntN(20))
		}
		return sql
	}
	if g.r.IntN(4) == 0 {
		// Plain and sorted SELECTs with small OFFSETs and LIMITs.
		cols := []string{"id", "customer", "amount", "qty", "d", "ts", "score", "flag", "data", "f", "*", "qty + id", "UPPER(customer)",
			"big", "big * amount", "tags", "tags[1]", "attrs['b']", "pt.x", "CARDINALITY(tags)", "tags = [1, NULL, 3]", "pt"}
		sql := "SELECT " + g.pick(cols) + ", " + g.pick(cols) + " FROM orders"
		if g.r.IntN(2) == 0 {
			sql += " WHERE " + g.typed('b', 2)
		}
		if g.r.IntN(2) == 0 {
			sql += " ORDER BY " + g.pick([]string{"1", "2 DESC", "1 NULLS LAST, 2 DESC NULLS FIRST", "score", "data DESC", "big DESC, id", "pt.x, id"})
		}
		if g.r.IntN(4) > 0 {
			sql += fmt.Sprintf(" LIMIT %d", g.r.IntN(30))
		}
		if g.r.IntN(2) == 0 {
			sql += fmt.Sprintf(" OFFSET %d", g.r.IntN(20))
		}
		return sql
	}
	if g.r.IntN(2) > 0 {
		// The shared generator's SELECTs (plain, DISTINCT, ORDER BY, LIMIT,
		// grouped with HAVING).
		for {
			sql := g.typedStatement()
			if g.r.IntN(5) == 0 {
				sql = g.statement()
			}
			if strings.HasPrefix(sql, "SELECT") {
				return sql
			}
		}
	}
	cols := []string{"id", "customer", "amount", "qty", "d", "ts", "score", "flag", "data", "f", "big", "pt.x", "tags[2]", "attrs['a']"}
	if evolved {
		cols = append(cols, "note")
	}
	num := []string{"id", "amount", "qty", "score", "f", "qty * 2", "amount / 3", "CAST(qty AS DECIMAL(12,2))",
		"big", "big * amount", "big - big / 7", "CAST(amount AS DECIMAL(38,2))", "CARDINALITY(tags)", "pt.x"}
	var aggs []string
	for i, n := 0, 1+g.r.IntN(4); i < n; i++ {
		dist := ""
		if g.r.IntN(6) == 0 {
			dist = "DISTINCT "
		}
		switch g.r.IntN(5) {
		case 0:
			aggs = append(aggs, "COUNT(*)")
		case 1:
			aggs = append(aggs, "COUNT("+dist+g.pick(cols)+")")
		case 2:
			aggs = append(aggs, g.pick([]string{"SUM", "AVG"})+"("+dist+g.pick(num)+")")
		default:
			aggs = append(aggs, g.pick([]string{"MIN", "MAX"})+"("+dist+g.pick(cols)+")")
		}
	}
	from := "orders"
	if g.r.IntN(5) == 0 {
		from += fmt.Sprintf(" VERSION AS OF %d", 1+g.r.IntN(commits+1))
		if g.r.IntN(2) == 0 {
			from += " WITH CURRENT SCHEMA"
		}
	}
	where := ""
	if g.r.IntN(2) == 0 {
		where = " WHERE " + g.typed('b', 2)
	}
	if g.r.IntN(3) == 0 {
		return "SELECT " + strings.Join(aggs, ", ") + " FROM " + from + where
	}
	var keys []string
	for i, n := 0, 1+g.r.IntN(2); i < n; i++ {
		keys = append(keys, g.pick(append([]string{"id % 3", "qty > 0", "UPPER(customer)", "big", "CAST(big AS DECIMAL(38,0))", "tags"}, cols...)))
	}
	sql := "SELECT " + strings.Join(keys, ", ") + ", " + strings.Join(aggs, ", ") + " FROM " + from + where + " GROUP BY " + strings.Join(keys, ", ")
	if g.r.IntN(2) == 0 {
		sql += " HAVING " + g.pick([]string{"COUNT(*) > 1", aggs[0] + " IS NOT NULL", "MIN(id) < 30"})
	}
	if g.r.IntN(2) == 0 {
		sql += " ORDER BY " + g.pick([]string{"1", "2 DESC", "1 DESC NULLS LAST, 2"})
		if g.r.IntN(2) == 0 {
			sql += fmt.Sprintf(" LIMIT %d OFFSET %d", g.r.IntN(5), g.r.IntN(3))
		}
	}
	return sql
}

// resultText renders a result exactly (Go types and values) or an error.
func resultText(r *Result, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s | %s | snapshot %d\n", colsText(r), r.Message, r.SnapshotID)
	for _, row := range r.Rows {
		for j, v := range row {
			if j > 0 {
				b.WriteString("|")
			}
			fmt.Fprintf(&b, "%T:%v", v, v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// streamText runs sql with ExecStream and writes the streamed result in
// format; the Arrow stream is decoded to values, so batch boundaries do
// not count.
func streamText(t *testing.T, e *Engine, sql, format string, rowPath bool) string {
	t.Helper()
	e.rowEngine = rowPath
	defer func() { e.rowEngine = false }()
	var buf bytes.Buffer
	err := e.ExecStream(context.Background(), sql, func(r *Result) error { return WriteResult(&buf, r, format) })
	if format != "arrow" {
		return fmt.Sprintf("%s\nerr: %v", buf.String(), err)
	}
	var out strings.Builder
	if buf.Len() > 0 {
		rd, rerr := ipc.NewReader(bytes.NewReader(buf.Bytes()))
		if rerr != nil {
			t.Fatalf("%s: reading the Arrow stream: %v", sql, rerr)
		}
		fmt.Fprintf(&out, "schema %s\n", rd.Schema())
		for rd.Next() {
			for _, row := range types.RecordRows(rd.Record()) {
				fmt.Fprintf(&out, "%v\n", row)
			}
		}
		rd.Release()
	}
	fmt.Fprintf(&out, "err: %v", err)
	return out.String()
}

// FuzzVecMatchesRows: any SELECT gives the same result (or error) on the
// vectorized pipeline as on the row path.
func FuzzVecMatchesRows(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, s := range []string{
		"SELECT id, 10 / (qty - 2), CAST(customer AS INT) FROM orders LIMIT 2",
		"SELECT customer, SUM(amount), MAX(data), MIN(ts), AVG(score), COUNT(DISTINCT d) FROM orders WHERE flag IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1 OFFSET 1",
		"SELECT COUNT(*), SUM(qty), MAX(customer) FROM orders WHERE id / (qty - 5) > 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > maxFuzzInput {
			return
		}
		stmts, _, err := parseScript(context.Background(), sql)
		if err != nil || len(stmts) != 1 {
			return
		}
		if _, ok := stmts[0].stmt.(*selectStmt); !ok {
			return
		}
		if strings.Contains(stmts[0].stmt.String(), "UUID(") {
			return // gen_random_uuid() draws new values on each path
		}
		e, _ := ordersEngine(t)
		e.rowEngine = true
		want, werr := e.ExecStatement(context.Background(), sql)
		e.rowEngine = false
		got, gerr := e.ExecStatement(context.Background(), sql)
		if w, g := resultText(want, werr), resultText(got, gerr); w != g {
			t.Fatalf("%s\nrow path:\n%s\nvectorized:\n%s", sql, w, g)
		}
	})
}

// TestVecRemapsOlderSchema: batches of a scan that reports an older schema
// are mapped to the current one by field id (columns added since are
// NULL), as relation.remap maps rows; a batch of the wrong types is
// corrupt.
func TestVecRemapsOlderSchema(t *testing.T) {
	old := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt}, {ID: 1, Name: "a", Type: types.TString}}}
	cur := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt}, {ID: 2, Name: "b", Type: types.TInt}, {ID: 1, Name: "a", Type: types.TString}}}
	as, _ := types.ArrowSchema(old, false)
	rec, err := types.BuildRecord(nil, as, []types.Row{{int64(1), "x"}, {int64(2), nil}})
	if err != nil {
		t.Fatal(err)
	}
	tab := &memTable{schema: cur, scanSchema: old, batches: []arrow.Record{rec}}
	e := NewEngine(memCatalog{t: tab}, EngineOptions{})
	for _, rowPath := range []bool{true, false} {
		e.rowEngine = rowPath
		res, err := e.ExecStatement(context.Background(), "SELECT * FROM t")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rowsText(res), "1|NULL|x\n2|NULL|NULL\n"; got != want {
			t.Errorf("row path %v: %q, want %q", rowPath, got, want)
		}
	}
	// The scan claims the current schema but hands out the old batches.
	tab.scanSchema = nil
	e.rowEngine = false
	_, err = e.ExecStatement(context.Background(), "SELECT * FROM t")
	if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "returned a batch of 2 columns, want 3") {
		t.Fatalf("error %v, want a corrupt batch", err)
	}
}

// TestVecChecksDecimalPrecision: a DECIMAL beyond its column's precision
// (an aggregation table's sum may grow past it) is a corrupt value on
// both paths, reported after the rows before it, with the same text.
func TestVecChecksDecimalPrecision(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE a (id BIGINT PRIMARY KEY, amount DECIMAL(4,2)) WITH ('merge-engine' = 'aggregation', 'fields.amount.aggregate-function' = 'sum');
		INSERT INTO a VALUES (1, 1.00), (2, 60.00), (3, 2.00); INSERT INTO a VALUES (2, 60.00)`)
	for _, sql := range []string{"SELECT * FROM a", "SELECT SUM(amount) FROM a"} {
		e.rowEngine = true
		want, werr := e.ExecStatement(context.Background(), sql)
		e.rowEngine = false
		got, gerr := e.ExecStatement(context.Background(), sql)
		if werr == nil || !errors.Is(werr, types.ErrCorruption) {
			t.Fatalf("%s: row path error %v, want a corrupt value", sql, werr)
		}
		if w, g := resultText(want, werr), resultText(got, gerr); w != g {
			t.Fatalf("%s: row path %s, vectorized %s", sql, w, g)
		}
		for _, format := range []string{"csv", "arrow"} {
			if w, g := streamText(t, e, sql, format, true), streamText(t, e, sql, format, false); w != g {
				t.Fatalf("%s streamed as %s: row path\n%s\nvectorized\n%s", sql, format, w, g)
			}
		}
	}
}

// TestVecRemapTypeChanged: a column whose type changed since the scan's
// schema is a bad value on both paths, after the rows before it.
func TestVecRemapTypeChanged(t *testing.T) {
	old := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt}, {ID: 1, Name: "a", Type: types.TInt}}}
	cur := &types.Schema{Fields: []types.Field{{ID: 2, Name: "b", Type: types.TString}, {ID: 0, Name: "id", Type: types.TBigInt}, {ID: 1, Name: "a", Type: types.TBigInt}}}
	as, _ := types.ArrowSchema(old, false)
	rec, err := types.BuildRecord(nil, as, []types.Row{{int64(1), nil}, {int64(2), int32(5)}, {int64(3), nil}})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(memCatalog{t: &memTable{schema: cur, scanSchema: old, batches: []arrow.Record{rec}}}, EngineOptions{})
	for _, sql := range []string{"SELECT * FROM t", "SELECT COUNT(*) FROM t"} {
		e.rowEngine = true
		want, werr := e.ExecStatement(context.Background(), sql)
		e.rowEngine = false
		got, gerr := e.ExecStatement(context.Background(), sql)
		if !errors.Is(werr, types.ErrCorruption) {
			t.Fatalf("%s: row path error %v, want a bad value", sql, werr)
		}
		if w, g := resultText(want, werr), resultText(got, gerr); w != g {
			t.Fatalf("%s: row path %s, vectorized %s", sql, w, g)
		}
		if w, g := streamText(t, e, sql, "csv", true), streamText(t, e, sql, "csv", false); w != g || (sql == "SELECT * FROM t" && !strings.HasPrefix(w, "b,id,a\n,1,\n\nerr: corruption")) {
			t.Fatalf("%s streamed: row path\n%s\nvectorized\n%s", sql, w, g)
		}
	}
}

// TestVecCancelPerBatch: a canceled statement stops at the next batch, on
// every shape of the pipeline.
func TestVecCancelPerBatch(t *testing.T) {
	s := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt}, {ID: 1, Name: "a", Type: types.TString}}}
	as, _ := types.ArrowSchema(s, false)
	tab := &memTable{schema: s}
	for i := 0; i < 10; i++ {
		rec, err := types.BuildRecord(nil, as, []types.Row{{int64(i), "x"}})
		if err != nil {
			t.Fatal(err)
		}
		tab.batches = append(tab.batches, rec)
	}
	e := NewEngine(memCatalog{t: tab}, EngineOptions{})
	for _, sql := range []string{"SELECT * FROM t", "SELECT a, COUNT(*) FROM t GROUP BY a", "SELECT * FROM t ORDER BY id DESC LIMIT 2"} {
		ctx, cancel := context.WithCancel(context.Background())
		pulled := 0
		tab.onBatch = func(i int) {
			pulled = i + 1
			if i == 2 {
				cancel()
			}
		}
		_, err := e.ExecStatement(ctx, sql)
		if !errors.Is(err, context.Canceled) || pulled != 3 {
			t.Errorf("%s: error %v after %d batches, want context.Canceled after 3", sql, err, pulled)
		}
		cancel()
	}
}

// TestVecSumOverflow: SUM spills past int64 into an exact sum and reports
// overflow exactly as the row engine does, in one group and in many.
func TestVecSumOverflow(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, `CREATE TABLE t (id BIGINT PRIMARY KEY, g INT, b BIGINT, d DECIMAL(18,2));
		INSERT INTO t VALUES (1, 0, 9223372036854775807, 1), (2, 0, 10, 2),
		(3, 1, -9223372036854775808, -1), (4, 1, -5, 1), (5, 0, -20, -3), (6, 1, 5, -1)`)
	// Ten of the largest DECIMAL(18,2) overflow an int64, ten negatives
	// bring the sum back.
	var vals []string
	for i := 0; i < 20; i++ {
		sign := ""
		if i >= 10 {
			sign = "-"
		}
		vals = append(vals, fmt.Sprintf("(%d, %d, %d, %s9999999999999999.99)", 10+i, i%2, i, sign))
	}
	mustExec(t, e, "INSERT INTO t VALUES "+strings.Join(vals, ", "))
	// Sums of exactly 2^64, which a wrapping int64 would take for 0.
	vals = vals[:0]
	for i := 0; i < 19; i++ {
		b, d := "0", "9999999999999999.99"
		if i < 3 {
			b = []string{"9223372036854775807", "9223372036854775807", "2"}[i]
		}
		if i == 18 {
			d = "4467440737095516.34"
		}
		vals = append(vals, fmt.Sprintf("(%d, 2, %s, %s)", 100+i, b, d))
	}
	mustExec(t, e, "INSERT INTO t VALUES "+strings.Join(vals, ", "))
	for _, sql := range []string{
		"SELECT SUM(b) FROM t", "SELECT SUM(d) FROM t", "SELECT AVG(b), AVG(d) FROM t",
		"SELECT g, SUM(b), SUM(d), AVG(b), AVG(d) FROM t GROUP BY g ORDER BY g",
		"SELECT SUM(b) FROM t WHERE id < 3", "SELECT SUM(d) FROM t WHERE id < 20", "SELECT g, SUM(d) FROM t WHERE id <> 5 GROUP BY g",
		"SELECT SUM(d), AVG(d) FROM t WHERE id >= 10 AND id < 100", "SELECT g, SUM(d) FROM t WHERE id >= 10 AND id < 100 GROUP BY g",
		"SELECT SUM(b) FROM t WHERE id >= 100", "SELECT SUM(d) FROM t WHERE id >= 100", "SELECT g, SUM(b) FROM t WHERE id >= 100 GROUP BY g",
		"SELECT g, SUM(d) FROM t WHERE id >= 100 GROUP BY g",
	} {
		e.rowEngine = true
		want, werr := e.ExecStatement(context.Background(), sql)
		e.rowEngine = false
		got, gerr := e.ExecStatement(context.Background(), sql)
		if w, g := resultText(want, werr), resultText(got, gerr); w != g {
			t.Errorf("%s: row path %s, vectorized %s", sql, w, g)
		}
	}
}

// badVec is a faulty kernel: it returns an array of the wrong type.
type badVec struct{}

func (badVec) eval(_ context.Context, b arrow.Record) (arrow.Array, error) {
	return array.MakeArrayOfNull(memory.DefaultAllocator, arrow.PrimitiveTypes.Int8, int(b.NumRows())), nil
}

// TestVecFaultyKernelFallsBack: an expression array of the wrong type is
// caught before typed code reads it, and the batch is evaluated row by row
// instead, with the row path's results.
func TestVecFaultyKernelFallsBack(t *testing.T) {
	e, _ := ordersEngine(t)
	ctx := context.Background()
	for _, sql := range []string{
		"SELECT SUM(qty), MAX(customer) FROM orders",
		"SELECT customer, COUNT(*) FROM orders WHERE id > 1 GROUP BY customer ORDER BY 1",
		"SELECT qty + 1, customer FROM orders",
		"SELECT qty + 1, customer FROM orders ORDER BY 2 LIMIT 3",
	} {
		e.rowEngine = true
		want, err := e.ExecStatement(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		e.rowEngine = false
		stmts, _, err := parseScript(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.planSelect(ctx, stmts[0].stmt.(*selectStmt))
		if err != nil {
			t.Fatal(err)
		}
		vp := e.compileSelect(p)
		spoil := func(v vecExpr) vecExpr {
			if v == nil {
				return nil
			}
			return checkedVec{v: badVec{}, want: v.(checkedVec).want}
		}
		if p.agg {
			vp.args[0] = spoil(vp.args[0])
			if len(vp.groupBy) > 0 {
				vp.groupBy[0] = spoil(vp.groupBy[0])
			}
		} else {
			vp.outputs[0] = spoil(vp.outputs[0])
		}
		got, err := e.runSelectVec(ctx, vp)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if w, g := resultText(want, nil), resultText(got, nil); w != g {
			t.Errorf("%s: row path\n%s\nvectorized with a faulty kernel\n%s", sql, w, g)
		}
	}
}
