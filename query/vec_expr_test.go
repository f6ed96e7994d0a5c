package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// The kernels are checked against rowVec, the row engine over a batch:
// same values, same NULLs, the same error (by message) or none.

// vecCols is the schema of the test batches: every column type, some
// twice so that columns meet columns of their own and of other types.
var vecCols = []scopeCol{
	{"b", types.TBoolean}, {"b2", types.TBoolean},
	{"i", types.TInt}, {"i2", types.TInt},
	{"l", types.TBigInt}, {"l2", types.TBigInt},
	{"f", types.TFloat}, {"f2", types.TFloat},
	{"g", types.TDouble}, {"g2", types.TDouble},
	{"m", types.TDecimal(5, 2)}, {"m2", types.TDecimal(18, 4)}, {"m3", types.TDecimal(18, 0)}, {"m4", types.TDecimal(5, 2)},
	{"w", types.TDecimal(38, 10)}, {"w2", types.TDecimal(38, 0)}, {"w3", types.TDecimal(20, 20)}, {"w4", types.TDecimal(38, 10)},
	{"s", types.TString}, {"s2", types.TString},
	{"y", types.TBytes}, {"y2", types.TBytes},
	{"d", types.TDate}, {"d2", types.TDate},
	{"t", types.TTimestamp}, {"t2", types.TTimestamp},
	{"z", types.TTimestampLTZ}, {"z2", types.TTimestampLTZ},
	{"h", types.TTime}, {"h2", types.TTime},
	{"u", types.TUUID}, {"u2", types.TUUID},
	{"na", types.TArray(types.TInt)}, {"na2", types.TArray(types.TInt)}, {"nm", types.TMap(types.TString, types.TBigInt)},
	{"nr", vecRowType}, {"nr2", vecRowType}, {"nw", types.TArray(types.TDecimal(38, 10))},
}

func vecSchema(t testing.TB) (*scope, *arrow.Schema) {
	sc := &scope{cols: vecCols, where: "in the test batch"}
	fs := make([]types.Field, len(vecCols))
	for i, c := range vecCols {
		fs[i] = types.Field{Name: c.name, Type: c.t}
	}
	as, err := types.ArrowSchema(&types.Schema{Fields: fs}, false)
	if err != nil {
		t.Fatal(err)
	}
	return sc, as
}

var vecStrings = []string{"", "a", "abc", "ab", "A", "%", "_", "\\", "a%b", "a_c", "\\%", "é", "éa", "\xff", "a\xffb",
	"2024-01-02", "2024-01-02 10:00:00", "12", "-7", "1.5", " 7 ", "1e3", "NaN", "Inf", "true", "FALSE", "0", "99999.999", "abcabc"}

// vecValue is a random value of type t, often an edge value.
func vecValue(r *rand.Rand, t types.DataType) types.Value {
	if r.IntN(6) == 0 {
		return nil
	}
	edge := r.IntN(3) == 0
	switch t.Kind {
	case types.Boolean:
		return r.IntN(2) == 0
	case types.Int:
		if edge {
			return []int32{0, 1, -1, math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, 46341, -46341}[r.IntN(8)]
		}
		return int32(r.IntN(21) - 10)
	case types.BigInt:
		if edge {
			return []int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MaxInt32 + 1, math.MinInt32, 3037000500, 86400000000}[r.IntN(9)]
		}
		return int64(r.IntN(21) - 10)
	case types.Float:
		if edge {
			return []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
				math.MaxFloat32, math.SmallestNonzeroFloat32, 0.1, 1e10, -3e9}[r.IntN(10)]
		}
		return float32(r.IntN(41)-20) / 4
	case types.Double:
		if edge {
			return []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
				math.SmallestNonzeroFloat64, 0.1, 1e300, 9.3e18, -9.3e18, 2147483648.5, 1e18}[r.IntN(14)]
		}
		return float64(r.IntN(41)-20) / 4
	case types.DecimalKind:
		if t.Is128() {
			return vecDecimal128Value(r, t, edge)
		}
		lim := pow10i[t.Precision] - 1
		if edge {
			return types.Decimal([]int64{0, 1, -1, lim, -lim, lim / 2, pow10i[t.Scale]}[r.IntN(7)])
		}
		return types.Decimal(int64(r.IntN(41)-20) * pow10i[t.Scale] / 4)
	case types.String:
		return vecStrings[r.IntN(len(vecStrings))]
	case types.Bytes:
		return []byte(vecStrings[r.IntN(len(vecStrings))])
	case types.DateKind:
		if edge {
			return types.Date([]int32{0, -1, math.MaxInt32, math.MinInt32, 19724, -719162, 2932896}[r.IntN(7)])
		}
		return types.Date(19720 + r.IntN(10))
	case types.TimestampKind:
		if edge {
			return types.Timestamp([]int64{0, -1, math.MaxInt64, math.MinInt64, 1704103200000000, -62135596800000000, 1704067200000000}[r.IntN(7)])
		}
		return types.Timestamp(1704067200000000 + int64(r.IntN(5))*43200000000)
	}
	if v := vecTemporalValue(r, t, edge); v != nil {
		return v
	}
	if t.IsNested() {
		return vecNestedValue(r, t)
	}
	panic("no values of " + t.String())
}

// vecBatch is a random batch of n rows, sometimes a slice of a larger
// one so that kernels meet arrays with offsets.
func vecBatch(t testing.TB, r *rand.Rand, as *arrow.Schema, n int) arrow.Record {
	pre, post := 0, 0
	if r.IntN(3) == 0 {
		pre, post = r.IntN(11), r.IntN(3)
	}
	rows := make([]types.Row, pre+n+post)
	for i := range rows {
		rows[i] = make(types.Row, len(vecCols))
		for c, col := range vecCols {
			rows[i][c] = vecValue(r, col.t)
		}
	}
	rec, err := types.BuildRecord(memory.DefaultAllocator, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	if pre == 0 && post == 0 {
		return rec
	}
	defer rec.Release()
	return rec.NewSlice(int64(pre), int64(pre+n))
}

// vecGen writes random expressions over vecCols.
type vecGen struct{ r *rand.Rand }

func (g vecGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

var vecLits = map[byte][]string{
	'n': {"0", "1", "-1", "2", "7", "2147483647", "-2147483648", "2147483648", "9223372036854775807", "-9223372036854775808",
		"0.5", "1.25", "-0.01", "99999999999999999.9", "0.000000000000000001", "1e308", "1e-308", "0.0", "NULL",
		"CAST('NaN' AS DOUBLE)", "CAST('-Inf' AS DOUBLE)", "CAST(-0.0 AS DOUBLE)", "CAST(1.5 AS FLOAT)", "CAST(3 AS BIGINT)",
		"12345678901234567890.123", "-0.00000000000000000001", "CAST(2 AS DECIMAL(38,10))", "99999999999999999999999999999999999999"},
	's': {"'a'", "''", "'abc'", "'%'", "'a%'", "'%b%'", "'_b_'", "'a\\%'", "'\\'", "'é'", "'A%'", "'%c'", "'12'", "'1.5'", "'2024-01-02'", "NULL"},
	'b': {"TRUE", "FALSE", "NULL"},
	'd': {"DATE '2024-01-02'", "TIMESTAMP '2024-01-01 12:00:00'", "'2024-01-03'", "DATE '1970-01-01'", "TIMESTAMPTZ '2024-01-01 12:00:00+00'", "NULL"},
	'y': {"X'00ff'", "X''", "X'61'", "NULL"},
	'h': {"TIME '12:00:00'", "TIME '00:00:00'", "'23:59:59.999999'", "TIME '06:30:00.5'", "NULL"},
	'u': {"UUID '00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "UUID '7f7f7f7f-0000-7f7f-0000-7f7f7f7f7f7f'", "NULL"},
}

var vecColsOf = map[byte][]string{
	'n': {"i", "i2", "l", "l2", "f", "f2", "g", "g2", "m", "m2", "m3", "m4", "w", "w2", "w3", "w4",
		"na[1]", "na[i]", "nm['a']", "nr.x", "CARDINALITY(na)", "nw[2]", "CARDINALITY(nm)"},
	's': {"s", "s2", "nr.y"},
	'b': {"b", "b2", "(na = na2)", "(nr <> nr2)", "(na < na2)", "(nm = nm)", "(nr >= nr2)"},
	'd': {"d", "d2", "t", "t2", "z", "z2"},
	'y': {"y", "y2"},
	'h': {"h", "h2"},
	'u': {"u", "u2"},
}

func (g vecGen) leaf(k byte) string {
	if g.r.IntN(3) == 0 {
		return g.pick(vecLits[k]...)
	}
	return g.pick(vecColsOf[k]...)
}

// expr returns an expression of kind k: 'n'umeric, 's'tring, 'b'oolean,
// 'd'ate/time, b'y'tes.
func (g vecGen) expr(k byte, depth int) string {
	if depth <= 0 || g.r.IntN(4) == 0 {
		return g.leaf(k)
	}
	sub := func(k byte) string { return g.expr(k, depth-1) }
	any := func() byte { return "nsbdyhu"[g.r.IntN(7)] }
	if g.r.IntN(4) == 0 { // the functions of functions_*.go
		return g.fnExpr(k, sub)
	}
	switch k {
	case 'n':
		switch g.r.IntN(8) {
		case 0, 1, 2:
			return "(" + sub('n') + " " + g.pick("+", "-", "*", "/", "%") + " " + sub('n') + ")"
		case 3:
			return "(- " + sub('n') + ")"
		case 4:
			return "CAST(" + sub(g.pick("n", "n", "s", "b")[0]) + " AS " + g.pick("INT", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL(5,2)", "DECIMAL(18,6)", "DECIMAL(18,0)", "DECIMAL(3,0)", "DECIMAL(38,10)", "DECIMAL(38,0)", "DECIMAL(25,5)") + ")"
		case 5:
			return "COALESCE(" + sub('n') + ", " + sub('n') + ")"
		case 6:
			return "CASE WHEN " + sub('b') + " THEN " + sub('n') + " ELSE " + sub('n') + " END"
		}
		return g.pick("ABS(", "LENGTH(") + sub(g.pick("n", "s")[0]) + ")"
	case 's':
		switch g.r.IntN(4) {
		case 0:
			return "(" + sub('s') + " || " + sub(any()) + ")"
		case 1:
			return "CAST(" + sub(any()) + " AS STRING)"
		case 2:
			return g.pick("UPPER(", "LOWER(") + sub('s') + ")"
		}
		return "COALESCE(" + sub('s') + ", " + sub('s') + ")"
	case 'd':
		return "CAST(" + sub(g.pick("d", "s")[0]) + " AS " + g.pick("DATE", "TIMESTAMP", "TIMESTAMPTZ") + ")"
	case 'h':
		return g.pick("CAST("+sub(g.pick("d", "s", "h")[0])+" AS TIME)", "COALESCE("+sub('h')+", "+sub('h')+")")
	case 'u':
		return g.pick("CAST("+sub(g.pick("s", "u")[0])+" AS UUID)", "COALESCE("+sub('u')+", "+sub('u')+")")
	case 'y':
		return "CAST(" + sub(g.pick("s", "y")[0]) + " AS BYTES)"
	}
	c := any()
	switch g.r.IntN(10) {
	case 8:
		return "CAST(" + sub(g.pick("n", "s", "b")[0]) + " AS BOOLEAN)"
	case 0, 1, 2:
		return "(" + sub(c) + " " + g.pick("=", "<>", "<", "<=", ">", ">=") + " " + sub(c) + ")"
	case 3:
		return "(" + sub('b') + " " + g.pick("AND", "OR") + " " + sub('b') + ")"
	case 4:
		return "(NOT " + sub('b') + ")"
	case 5:
		return "(" + sub(c) + " IS " + g.pick("", "NOT ") + "NULL)"
	case 6:
		list := sub(c)
		for j := g.r.IntN(4); j > 0; j-- {
			list += ", " + sub(c)
		}
		if g.r.IntN(3) == 0 { // a long list of constants: IN's hash set
			list = g.pick(vecLits[c]...)
			for j := minInSet + g.r.IntN(4); j > 0; j-- {
				if c == 'n' && g.r.IntN(2) == 0 {
					list += ", " + fmt.Sprint(g.r.IntN(21)-10)
				} else {
					list += ", " + g.pick(vecLits[c]...)
				}
			}
			return "(" + g.pick(vecColsOf[c]...) + g.pick("", " NOT") + " IN (" + list + "))"
		}
		return "(" + sub(c) + g.pick("", " NOT") + " IN (" + list + "))"
	case 7:
		return "(" + sub(c) + g.pick("", " NOT") + " BETWEEN " + sub(c) + " AND " + sub(c) + ")"
	}
	pat := sub('s')
	if g.r.IntN(2) == 0 {
		pat = "'" + g.likePattern() + "'"
	}
	return "(" + sub('s') + g.pick("", " NOT") + " LIKE " + pat + ")"
}

// likePattern is a random LIKE pattern over a few runes, wildcards and
// escapes.
func (g vecGen) likePattern() string {
	var sb strings.Builder
	for j := g.r.IntN(5); j > 0; j-- {
		sb.WriteString(g.pick("a", "b", "c", "%", "%", "_", "\\%", "\\_", "\\", "é", "''"))
	}
	return sb.String()
}

// bindVecExpr parses and binds one expression over the test columns.
func bindVecExpr(sc *scope, src string) (bexpr, error) {
	ctx := context.Background()
	stmts, _, err := parseScript(ctx, "SELECT "+src)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("not one statement")
	}
	sel, ok := stmts[0].stmt.(*selectStmt)
	if !ok || len(sel.items) != 1 || sel.items[0].expr == nil || sel.from != nil || sel.where != nil ||
		sel.groupBy != nil || sel.having != nil || sel.orderBy != nil || sel.limit >= 0 || sel.distinct {
		return nil, fmt.Errorf("not one expression")
	}
	x := sel.items[0].expr
	if containsAggregate(x) {
		return nil, fmt.Errorf("aggregate")
	}
	b := &binder{ctx: ctx, sc: sc, now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), clause: "SELECT"}
	return b.bind(x)
}

// vecDiff compares the kernels of e with rowVec on rec; "" when they
// agree. When both fail, they must fail at the same row (the row engine's
// first failing row), and the rows after it are compared again.
func vecDiff(e bexpr, rec arrow.Record) string {
	for round := 0; round < 50; round++ {
		d, failed := vecDiffOnce(e, rec)
		if d != "" || failed < 0 {
			return d
		}
		rec = rec.NewSlice(int64(failed+1), rec.NumRows())
		defer rec.Release()
	}
	return ""
}

// vecDiffOnce is vecDiff without the retries: it returns the row both
// failed at (-1: none).
func vecDiffOnce(e bexpr, rec arrow.Record) (string, int) {
	ctx := context.Background()
	want, werr := (&rowVec{e: e}).eval(ctx, rec)
	got, gerr := compileVec(e).eval(ctx, rec)
	if want != nil {
		defer want.Release()
	}
	if got != nil {
		defer got.Release()
	}
	switch {
	case werr != nil || gerr != nil:
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			return fmt.Sprintf("error %v, row engine %v", gerr, werr), -1
		}
		wantRow := -1
		for i, row := range types.RecordRows(rec) {
			if _, err := e.Eval(row); err != nil {
				wantRow = i
				break
			}
		}
		gotRow := wantRow
		if top, ok := compileVec(e).(*vecTop); ok {
			a, f := top.k.run(ctx, rec, vsel{n: int(rec.NumRows())})
			a.Release()
			if f == nil {
				return "kernel did not fail on its second run", -1
			}
			gotRow = f.row
		}
		if gotRow != wantRow {
			return fmt.Sprintf("error %v at row %d, row engine at row %d", gerr, gotRow, wantRow), -1
		}
		return "", wantRow
	case !arrow.TypeEqual(got.DataType(), want.DataType()):
		return fmt.Sprintf("type %s, row engine %s", got.DataType(), want.DataType()), -1
	case got.Len() != want.Len():
		return fmt.Sprintf("%d rows, row engine %d", got.Len(), want.Len()), -1
	}
	for i := 0; i < got.Len(); i++ {
		g, w := types.ValueAt(got, i), types.ValueAt(want, i)
		if !sameValue(g, w) {
			return fmt.Sprintf("row %d: %#v, row engine %#v", i, g, w), -1
		}
	}
	return "", -1
}

// sameValue is equality that tells -0 from 0 and takes NaN as itself.
func sameValue(a, b types.Value) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && (math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y))
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || (x != x && y != y))
	}
	if (a == nil) != (b == nil) {
		return false
	}
	return types.Compare(a, b) == 0 && fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

// dumpBatch prints a batch for a failure message.
func dumpBatch(rec arrow.Record) string {
	var sb strings.Builder
	for i, row := range types.RecordRows(rec) {
		fmt.Fprintf(&sb, "  %d: %v\n", i, row)
	}
	return sb.String()
}

// TestVecKernelsMatchRowEngine is the differential test: random
// expressions of every node type over random batches with NULLs and edge
// values evaluate as rowVec evaluates them.
func TestVecKernelsMatchRowEngine(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 7))
	g := vecGen{r}
	sc, as := vecSchema(t)
	exprs := 1500
	if testing.Short() {
		exprs = 300
	}
	bound, kerneled, failed := 0, 0, 0
	kernNodesN, rowNodesN := 0, 0
	for i := 0; i < exprs; i++ {
		src := g.expr("nsbdybbbbb"[r.IntN(10)], 1+r.IntN(4))
		e, err := bindVecExpr(sc, src)
		if err != nil {
			continue
		}
		bound++
		if top, ok := compileVec(e).(*vecTop); ok {
			kerneled++
			a, b := kernNodes(top.k)
			kernNodesN, rowNodesN = kernNodesN+a, rowNodesN+b
		}
		for j := 0; j < 3; j++ {
			rec := vecBatch(t, r, as, []int{0, 1, 7, 64, 200}[r.IntN(5)])
			if _, err := (&rowVec{e: e}).eval(context.Background(), rec); err != nil {
				failed++
			}
			if d := vecDiff(e, rec); d != "" {
				t.Fatalf("%s: %s\nbatch:\n%s", src, d, dumpBatch(rec))
			}
			rec.Release()
		}
	}
	t.Logf("%d of %d expressions bound, %d with kernels (%d kernel nodes, %d row-by-row sub-expressions), %d evaluations failed",
		bound, exprs, kerneled, kernNodesN, rowNodesN, failed)
	if bound < exprs/3 || kerneled < bound/3 {
		t.Errorf("only %d expressions bound and %d had kernels: the generator no longer tests the kernels", bound, kerneled)
	}
}

// TestDivRound64MatchesDivRound checks the int64 rounding division of the
// decimal kernels against the row engine's, ties included.
func TestDivRound64MatchesDivRound(t *testing.T) {
	for x := int64(-60); x <= 60; x++ {
		for _, y := range []int64{1, -1, 2, -2, 3, -3, 4, -4, 8, 10, -10, 100, 7, -7} {
			want, _ := divRound(big.NewInt(x), big.NewInt(y))
			if got := divRound64(x, y); got != want.Int64() {
				t.Fatalf("divRound64(%d, %d) = %d, divRound %d", x, y, got, want)
			}
		}
	}
}

// TestLikeMatchers checks the kernels' LIKE matchers (rune by rune over
// a string, and bytewise for plain patterns) against likeMatch on random
// strings with invalid UTF-8.
func TestLikeMatchers(t *testing.T) {
	r := rand.New(rand.NewPCG(testkit.Seed(t), 3))
	str := func(alpha ...string) string {
		var sb strings.Builder
		for j := r.IntN(6); j > 0; j-- {
			sb.WriteString(alpha[r.IntN(len(alpha))])
		}
		return sb.String()
	}
	for i := 0; i < 20000; i++ {
		p := compileLike(str("a", "b", "%", "_", "\\", "é", "\xff", "\xc3", "\ufffd"))
		s := str("a", "b", "é", "\xff", "\xc3", "\xa9", "\ufffd", "%")
		want := likeMatch([]rune(s), p)
		if got := likeMatchStr(s, p); got != want {
			t.Fatalf("likeMatchStr(%q, %v) = %v, likeMatch %v", s, p, got, want)
		}
		if f := likeFast(p); f != nil && f(s) != want {
			t.Fatalf("likeFast(%v)(%q) = %v, likeMatch %v", p, s, f(s), want)
		}
	}
}

// TestMulOK checks the kernels' overflow test of int64 products against
// intOp's, at the edges.
func TestMulOK(t *testing.T) {
	vals := []int64{0, 1, -1, 2, -2, 3, 10, math.MaxInt64, math.MinInt64, math.MaxInt64 / 2, math.MinInt64 / 2,
		math.MaxInt64/2 + 1, 3037000499, 3037000500, -3037000500, math.MaxInt32, math.MinInt32, 1 << 32, -(1 << 32)}
	for _, x := range vals {
		for _, y := range vals {
			want, err := intOp("*", x, y, &literal{text: "x"})
			got, ok := mulOK(x, y)
			if ok != (err == nil) || (ok && got != want) {
				t.Errorf("mulOK(%d, %d) = %d, %v; intOp %d, %v", x, y, got, ok, want, err)
			}
		}
	}
}

// TestVecCanceled: a canceled statement stops before evaluating.
func TestVecCanceled(t *testing.T) {
	sc, as := vecSchema(t)
	rec := vecBatch(t, rand.New(rand.NewPCG(1, 1)), as, 10)
	defer rec.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, src := range []string{"i + 1 > l", "UPPER(s) = 'A'"} {
		e, err := bindVecExpr(sc, src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := compileVec(e).eval(ctx, rec); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: eval with a canceled context: %v, want context.Canceled", src, err)
		}
	}
}

// TestVecConcurrent: a compiled expression is immutable, so statements
// may share it across goroutines (run with -race).
func TestVecConcurrent(t *testing.T) {
	sc, as := vecSchema(t)
	rec := vecBatch(t, rand.New(rand.NewPCG(2, 2)), as, 64)
	defer rec.Release()
	e, err := bindVecExpr(sc, "CASE WHEN i IN (1, 2, 3, 4, 5, 6, 7, 8, 9) THEN s || 'x' ELSE CAST(m + 1 AS STRING) END LIKE '%1%' AND l > 0")
	if err != nil {
		t.Fatal(err)
	}
	v := compileVec(e)
	want := vecDiff(e, rec)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				a, err := v.eval(context.Background(), rec)
				if err != nil {
					t.Error(err)
					return
				}
				a.Release()
			}
		}()
	}
	wg.Wait()
	if want != "" {
		t.Fatal(want)
	}
}

// poisonAlloc overwrites memory as it frees it, so that an array still
// pointing into a released batch reads garbage.
type poisonAlloc struct{ *memory.CheckedAllocator }

func (p poisonAlloc) Free(b []byte) {
	for i := range b {
		b[i] = 0xa5
	}
	p.CheckedAllocator.Free(b)
}

// TestVecResultsOutliveTheirBatch: a kernel's result owns its memory (or
// holds a reference): releasing the batch does not change it, and no
// batch memory leaks.
func TestVecResultsOutliveTheirBatch(t *testing.T) {
	sc, as := vecSchema(t)
	r := rand.New(rand.NewPCG(3, 3))
	rows := types.RecordRows(vecBatch(t, r, as, 40))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, src := range []string{"-i", "CAST(i AS BIGINT)", "CAST(l AS INT)", "s LIKE 'a%'", "NOT b", "i IS NULL", "l", "i + 1", "CAST(g AS STRING)"} {
		e, err := bindVecExpr(sc, src)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := types.BuildRecord(nil, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := (&rowVec{e: e}).eval(context.Background(), plain)
		plain.Release()
		rec, err := types.BuildRecord(poisonAlloc{mem}, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		got, gerr := compileVec(e).eval(context.Background(), rec)
		rec.Release()
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: error %v, row engine %v", src, gerr, werr)
		}
		if werr != nil {
			continue
		}
		for i := 0; i < want.Len(); i++ {
			if g, w := types.ValueAt(got, i), types.ValueAt(want, i); !sameValue(g, w) {
				t.Fatalf("%s: row %d after the batch was released: %#v, want %#v", src, i, g, w)
			}
		}
		got.Release()
		want.Release()
	}
}

// kernNodes counts the nodes of a compiled tree that have kernels and
// those evaluated row by row (a rowKern counts once, whatever its size).
func kernNodes(k kern) (kernels, rows int) {
	var kids []kern
	switch x := k.(type) {
	case *rowKern:
		return 0, 1
	case *cmpK:
		kids = []kern{x.l, x.r}
	case *logicK:
		kids = []kern{x.l, x.r}
	case *notK:
		kids = []kern{x.x}
	case *isNullK:
		kids = []kern{x.x}
	case *arithK:
		kids = []kern{x.l, x.r}
	case *negK:
		kids = []kern{x.x}
	case *concatK:
		kids = []kern{x.l, x.r}
	case *castK:
		kids = []kern{x.x}
	case *inK:
		kids = []kern{x.x}
		for _, it := range x.items {
			kids = append(kids, it.k)
		}
	case *likeK:
		kids = []kern{x.x, x.pattern}
	case *coalesceK:
		kids = x.args
	case *caseK:
		if x.operand != nil {
			kids = append(kids, x.operand)
		}
		for _, w := range x.whens {
			kids = append(kids, w.cond, w.result)
		}
		if x.els != nil {
			kids = append(kids, x.els)
		}
	case *funcK:
		kids = x.args
	case *cardinalityK:
		kids = []kern{x.x}
	case *fieldK:
		kids = []kern{x.x}
	case *extractK:
		kids = []kern{x.x, x.idx}
	case *nestedCmpK:
		kids = []kern{x.l, x.r}
	}
	kernels = 1
	for _, c := range kids {
		a, b := kernNodes(c)
		kernels, rows = kernels+a, rows+b
	}
	return kernels, rows
}
