package query

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// vecDecimal128Value is vecValue for a DECIMAL of more than 18 digits:
// edges (the largest values, units, values just past int64) or small
// values with a fraction.
func vecDecimal128Value(r *rand.Rand, t types.DataType, edge bool) types.Value {
	if edge {
		lim, _ := sub128(pow10n[t.Precision], decimal128.FromI64(1))
		v := []decimal128.Num{{}, decimal128.FromI64(1), decimal128.FromI64(-1), lim, lim.Negate(), pow10n[t.Scale],
			pow10n[min(t.Precision-1, 19)], decimal128.New(0, 1<<63), decimal128.FromI64(-1 << 63), pow10n[t.Precision/2].Negate()}[r.IntN(10)]
		return types.Decimal128(v)
	}
	v, _ := mul128(decimal128.FromI64(int64(r.IntN(41)-20)), pow10n[t.Scale])
	v, _ = divRound128(v, decimal128.FromI64(4))
	return types.Decimal128(v)
}

// TestVecDecimal128Kernels: comparisons, arithmetic, CAST, IN, BETWEEN
// and CASE over DECIMALs of 19 to 38 digits run as kernels (no row by row
// sub-expression) and agree with the row engine: values, NULLs, and the
// first failing row with its error (overflow, division by zero, lost
// digits).
func TestVecDecimal128Kernels(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 12))
	sc, as := vecSchema(t)
	for _, src := range []string{
		"(w < w4)", "(w = w2)", "(w2 >= l)", "(w3 <> m2)", "(w > 1.5)", "(w3 <= i)", "(w = 12345678901234567890.123)", "(m3 > m2)",
		"(w + w4)", "(w - w2)", "(w * w3)", "(w / w4)", "(w % w2)", "(w2 * w2)", "(w * l)", "(i - w3)", "(m2 / w)", "(w / 3)", "(- w)",
		"(w * w4 + w2)", "(w2 / 0.0000001)",
		"CAST(w AS BIGINT)", "CAST(w AS INT)", "CAST(w AS DOUBLE)", "CAST(w AS FLOAT)", "CAST(w AS STRING)", "CAST(w AS DECIMAL(38,0))",
		"CAST(w AS DECIMAL(10,2))", "CAST(w3 AS DECIMAL(38,30))", "CAST(l AS DECIMAL(38,20))", "CAST(m2 AS DECIMAL(25,5))",
		"CAST(g AS DECIMAL(38,10))", "CAST(f AS DECIMAL(20,2))", "CAST(s AS DECIMAL(38,10))", "CAST(w2 AS DECIMAL(18,0))", "CAST(g AS DECIMAL(10,2))",
		"(w IN (1, 2.5, w4, l))", "(w2 NOT IN (0, 1, -1, 2, 3, 4, 5, 6, 7, 99999999999999999999999999999999999999))",
		"(w BETWEEN w4 AND w2)", "(w IS NULL)", "CASE WHEN w > 0 THEN w ELSE w2 END", "COALESCE(w, w4)",
	} {
		e, err := bindVecExpr(sc, src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		top, ok := compileVec(e).(*vecTop)
		if !ok {
			t.Fatalf("%s: no kernel", src)
		}
		if _, rows := kernNodes(top.k); rows != 0 {
			t.Errorf("%s: %d sub-expressions run row by row", src, rows)
		}
		for j := 0; j < 30; j++ {
			rec := vecBatch(t, r, as, []int{1, 7, 64, 200}[r.IntN(4)])
			if d := vecDiff(e, rec); d != "" {
				t.Fatalf("seed %d: %s: %s\nbatch:\n%s", seed, src, d, dumpBatch(rec))
			}
			rec.Release()
		}
	}
}

// TestVecAgg128Typed: SUM, AVG, MIN, MAX and COUNT of a DECIMAL(38) keep
// typed 128-bit state, not the row engine's boxed states.
func TestVecAgg128Typed(t *testing.T) {
	arg := &colB{idx: 0, t: types.TDecimal(38, 10)}
	for _, name := range []string{"SUM", "AVG", "MIN", "MAX", "COUNT"} {
		if _, boxed := newVecAgg(&aggCall{name: name, arg: arg, t: arg.t}).(*boxedAgg); boxed {
			t.Errorf("%s of a DECIMAL(38,10) keeps the row engine's boxed state", name)
		}
	}
}

// TestVecDecimal128Queries is the differential test of DECIMAL(38)
// aggregates, GROUP BY keys, ORDER BY with LIMIT (top-k) and filters:
// random batches with NULLs, extremes whose sums leave 128 bits, and
// duplicates, on the pipeline and on the row path, must give the same
// rows in the same order, or the same error.
func TestVecDecimal128Queries(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 3) {
		t.Run("", func(t *testing.T) {
			testkit.LogSeed(t, seed)
			r := rand.New(rand.NewPCG(seed, 13))
			s := &types.Schema{Fields: []types.Field{
				{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
				{ID: 1, Name: "a", Type: types.TDecimal(38, 10)},
				{ID: 2, Name: "b", Type: types.TDecimal(38, 0)},
				{ID: 3, Name: "c", Type: types.TDecimal(20, 2)},
				{ID: 4, Name: "k", Type: types.TInt},
			}, PrimaryKeys: []string{"id"}}
			as, err := types.ArrowSchema(s, false)
			if err != nil {
				t.Fatal(err)
			}
			huge := r.IntN(3) == 0 // sums overflow DECIMAL(38)
			val := func(ft types.DataType) types.Value {
				if r.IntN(8) == 0 {
					return nil
				}
				if huge && r.IntN(4) == 0 {
					return vecDecimal128Value(r, ft, true)
				}
				return types.Decimal128(decimal128.FromI64(int64(r.IntN(2001)-1000) * int64(r.IntN(1000000))))
			}
			tbl := &memTable{schema: s}
			for nb := 1 + r.IntN(4); nb > 0; nb-- {
				var rows []types.Row
				for i := r.IntN(300); i > 0; i-- {
					rows = append(rows, types.Row{int64(tbl.rows), val(s.Fields[1].Type), val(s.Fields[2].Type), val(s.Fields[3].Type), int32(r.IntN(5))})
					tbl.rows++
				}
				rec, err := types.BuildRecord(nil, as, rows)
				if err != nil {
					t.Fatal(err)
				}
				tbl.batches = append(tbl.batches, rec)
			}
			e := NewEngine(memCatalog{t: tbl}, EngineOptions{})
			ctx := context.Background()
			for _, sql := range []string{
				"SELECT SUM(a), AVG(a), MIN(a), MAX(a), COUNT(a), SUM(b), AVG(b), MIN(c), MAX(c), SUM(c) FROM t",
				"SELECT k, SUM(a), AVG(b), MIN(a), MAX(b), COUNT(c) FROM t GROUP BY k ORDER BY k",
				"SELECT c, COUNT(*), SUM(a) FROM t GROUP BY c ORDER BY c NULLS FIRST",
				"SELECT b, k, MAX(a) FROM t GROUP BY b, k ORDER BY b DESC, k LIMIT 7",
				"SELECT id, a FROM t ORDER BY a DESC NULLS LAST, id LIMIT 5",
				"SELECT id, c FROM t ORDER BY c, id LIMIT 9 OFFSET 2",
				"SELECT COUNT(*), SUM(a * c), SUM(a + b) FROM t WHERE a > c AND b IN (0, 1, 2, 3, 4, 5, 6, 7, 8)",
				"SELECT id, a * b, a / c FROM t WHERE b <> 0 ORDER BY id LIMIT 20",
				"SELECT SUM(CAST(a AS DOUBLE)), MAX(CAST(b AS BIGINT)), MIN(CAST(c AS STRING)) FROM t",
				"SELECT DISTINCT c FROM t ORDER BY c",
			} {
				e.rowEngine = true
				want, werr := e.ExecStatement(ctx, sql)
				e.rowEngine = false
				got, gerr := e.ExecStatement(ctx, sql)
				if w, g := resultText(want, werr), resultText(got, gerr); w != g {
					t.Fatalf("seed %d: %s\nrow path:\n%s\nvectorized:\n%s", seed, sql, w, g)
				}
			}
		})
	}
}
