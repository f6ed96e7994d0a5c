package query

import (
	"context"
	"fmt"
	"testing"

	"github.com/siltdb/silt/types"
)

// The join's own speed: a fact table of 1M rows joined with a dimension
// of 100k on a BIGINT key, over batches already in memory, on rows (the
// row join and the row pipeline) and vectorized.
//
//	go test ./query -run '^$' -bench BenchmarkJoin -benchtime 3x

// memTables serves memTables by name.
type memTables struct {
	Catalog // nil: only LoadTable is used
	ts      map[string]*memTable
}

func (c memTables) LoadTable(_ context.Context, _, name string) (Table, error) {
	t, ok := c.ts[name]
	if !ok {
		return nil, fmt.Errorf("%w: no table %s", types.ErrNotFound, name)
	}
	return t, nil
}

// memBatches builds a memTable of n rows of schema s, row i made by row.
func memBatches(b *testing.B, s *types.Schema, n int, row func(i int) types.Row) *memTable {
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		b.Fatal(err)
	}
	t := &memTable{schema: s, rows: n}
	rows := make([]types.Row, 0, vecRowsPerBatch)
	flush := func() {
		rec, err := types.BuildRecord(nil, as, rows)
		if err != nil {
			b.Fatal(err)
		}
		t.batches = append(t.batches, rec)
		rows = rows[:0]
	}
	for i := range n {
		rows = append(rows, row(i))
		if len(rows) == vecRowsPerBatch {
			flush()
		}
	}
	if len(rows) > 0 {
		flush()
	}
	return t
}

func BenchmarkJoin(b *testing.B) {
	const facts, dims = 1_000_000, 100_000
	fact := memBatches(b, &types.Schema{Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "k", Type: types.TBigInt},
		{ID: 2, Name: "v", Type: types.TDouble},
	}}, facts, func(i int) types.Row {
		return types.Row{int64(i), int64((i * 7919) % (dims + dims/10)), float64(i%1000) / 10}
	})
	dim := memBatches(b, &types.Schema{Fields: []types.Field{
		{ID: 0, Name: "k", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "name", Type: types.TString},
		{ID: 2, Name: "w", Type: types.TInt},
	}}, dims, func(i int) types.Row {
		return types.Row{int64(i), "name-" + fmt.Sprint(i%5000), int32(i % 100)}
	})
	cat := memTables{ts: map[string]*memTable{"f": fact, "d": dim}}
	queries := []struct{ name, sql string }{
		{"inner_aggregate", "SELECT COUNT(*), SUM(f.v), MAX(d.name) FROM f JOIN d ON f.k = d.k"},
		{"inner_filtered_rows", "SELECT f.id, d.name FROM f JOIN d ON f.k = d.k WHERE d.w < 10"},
		{"left_residual_count", "SELECT COUNT(*), COUNT(d.k) FROM f LEFT JOIN d ON f.k = d.k AND d.w <> 3"},
	}
	for _, q := range queries {
		for _, rows := range []bool{true, false} {
			name := "vectorized"
			if rows {
				name = "rows"
			}
			b.Run(q.name+"/"+name, func(b *testing.B) {
				e := NewEngine(cat, EngineOptions{})
				e.rowEngine = rows
				ctx := context.Background()
				b.ResetTimer()
				for range b.N {
					if _, err := e.ExecStatement(ctx, q.sql); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(facts)*float64(b.N)/b.Elapsed().Seconds(), "factrows/s")
			})
		}
	}
}
