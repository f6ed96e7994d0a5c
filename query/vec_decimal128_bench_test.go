package query

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// BenchmarkVecDecimal128: DECIMAL(38,10) expressions and aggregates over
// 1M rows in memory, vectorized and on the row path:
//
//	go test ./query -run '^$' -bench BenchmarkVecDecimal128 -benchtime 5x
func BenchmarkVecDecimal128(b *testing.B) {
	const rows = 1 << 20
	t := decimal128Table(b, rows)
	for _, q := range []struct{ name, sql string }{
		{"sum", "SELECT SUM(a) FROM t"},
		{"sum a*b", "SELECT SUM(a * b) FROM t"},
		{"arith", "SELECT COUNT(*) FROM t WHERE a + b > a / b"},
		{"filter", "SELECT COUNT(*) FROM t WHERE a > b"},
		{"group by", "SELECT k, COUNT(a), SUM(a), AVG(b), MIN(a), MAX(b) FROM t GROUP BY k"},
		{"group by decimal", "SELECT CAST(a AS DECIMAL(38,0)) AS g, COUNT(*) FROM t GROUP BY g"},
		{"top-k", "SELECT k FROM t ORDER BY a DESC LIMIT 10"},
		{"cast", "SELECT SUM(CAST(a AS DOUBLE)), SUM(CAST(k AS DECIMAL(38,2))) FROM t"},
	} {
		for _, rowPath := range []bool{false, true} {
			name := q.name + "/vectorized"
			if rowPath {
				name = q.name + "/rows"
			}
			b.Run(name, func(b *testing.B) {
				e := NewEngine(memCatalog{t: t}, EngineOptions{})
				e.rowEngine = rowPath
				ctx := context.Background()
				for i := 0; i < b.N; i++ {
					if _, err := e.ExecStatement(ctx, q.sql); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
			})
		}
	}
}

// decimal128Table is a table of two DECIMAL(38,10) columns (values up to
// a million, ten decimals, about one NULL in 20) and an INT of 100 groups.
func decimal128Table(b *testing.B, rows int) *memTable {
	s := &types.Schema{Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "a", Type: types.TDecimal(38, 10)},
		{ID: 2, Name: "b", Type: types.TDecimal(38, 10)},
		{ID: 3, Name: "k", Type: types.TInt},
	}, PrimaryKeys: []string{"id"}}
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 8))
	dec := func() types.Value {
		if rng.IntN(20) == 0 {
			return nil
		}
		return types.Decimal128(decimal128.FromI64(rng.Int64N(2e16) - 1e16 + 1))
	}
	t := &memTable{schema: s, rows: rows}
	for lo := 0; lo < rows; lo += 64 << 10 {
		var batch []types.Row
		for k := lo; k < min(rows, lo+64<<10); k++ {
			batch = append(batch, types.Row{int64(k), dec(), dec(), int32(rng.IntN(100))})
		}
		rec, err := types.BuildRecord(nil, as, batch)
		if err != nil {
			b.Fatal(err)
		}
		t.batches = append(t.batches, rec)
	}
	return t
}
