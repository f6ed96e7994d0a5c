package query

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// The executor's own speed: the scan benchmark's queries (bench/scan.go)
// over batches already in memory, so that only the pipeline is measured.
//
//	go test ./query -run '^$' -bench BenchmarkVecScanQueries -benchtime 20x

// memTable is a table whose scan hands out prebuilt batches.
type memTable struct {
	schema  *types.Schema
	batches []arrow.Record
	rows    int
	// scanSchema, when set, is the schema the scan reports (the batches'
	// schema), as a scan of an older schema version does.
	scanSchema *types.Schema
	// onBatch, when set, runs before batch i is handed out.
	onBatch func(i int)
}

func (t *memTable) Schema() *types.Schema                        { return t.schema }
func (t *memTable) Scan(context.Context, ScanSpec) (Scan, error) { return memScan{t}, nil }
func (t *memTable) Apply(context.Context, []Change) (int64, error) {
	return 0, fmt.Errorf("%w: read-only", types.ErrInvalid)
}
func (t *memTable) Snapshots(context.Context) ([]*manifest.Snapshot, error) { return nil, nil }
func (t *memTable) Files(context.Context, ScanSpec) (int64, []FileInfo, error) {
	return 0, nil, nil
}

type memScan struct{ t *memTable }

func (s memScan) SnapshotID() int64 { return 1 }
func (s memScan) Schema() *types.Schema {
	if s.t.scanSchema != nil {
		return s.t.scanSchema
	}
	return s.t.schema
}
func (s memScan) Rows(ctx context.Context) iter.Seq2[types.Row, error] {
	return batchRows(s.Batches(ctx))
}
func (s memScan) Batches(context.Context) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		for i, b := range s.t.batches {
			if s.t.onBatch != nil {
				s.t.onBatch(i)
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}

// memCatalog serves one memTable as default.t.
type memCatalog struct {
	Catalog // nil: only LoadTable is used
	t       *memTable
}

func (c memCatalog) LoadTable(context.Context, string, string) (Table, error) { return c.t, nil }

// benchTable builds the scan benchmark's table (bench/data.go) in memory.
func benchTable(b *testing.B, rows int) *memTable {
	s := &types.Schema{Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "name", Type: types.TString},
		{ID: 2, Name: "city", Type: types.TString},
		{ID: 3, Name: "amount", Type: types.TDecimal(12, 2)},
		{ID: 4, Name: "qty", Type: types.TInt},
		{ID: 5, Name: "score", Type: types.TDouble},
		{ID: 6, Name: "updated", Type: types.TTimestamp},
	}, PrimaryKeys: []string{"id"}}
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	t := &memTable{schema: s, rows: rows}
	for lo := 0; lo < rows; lo += 64 << 10 {
		var batch []types.Row
		for k := lo; k < min(rows, lo+64<<10); k++ {
			batch = append(batch, types.Row{int64(k), fmt.Sprintf("name-%06d", rng.IntN(100000)), fmt.Sprintf("city-%02d", rng.IntN(50)),
				types.Decimal(rng.Int64N(10_000_000)), int32(rng.IntN(1000)), float64(rng.IntN(1_000_000)) / 100,
				types.Timestamp(1_767_225_600_000_000 + rng.Int64N(86_400_000_000))})
		}
		rec, err := types.BuildRecord(nil, as, batch)
		if err != nil {
			b.Fatal(err)
		}
		t.batches = append(t.batches, rec)
	}
	return t
}

func BenchmarkVecScanQueries(b *testing.B) {
	const rows = 1 << 20
	t := benchTable(b, rows)
	for _, q := range []struct{ name, sql string }{
		{"2 columns", "SELECT COUNT(qty), SUM(amount) FROM t"},
		{"all columns", "SELECT COUNT(*), SUM(id), MAX(name), MAX(city), SUM(amount), SUM(qty), SUM(score), MAX(updated) FROM t"},
		{"group by", "SELECT city, COUNT(*), SUM(amount), MAX(score) FROM t GROUP BY city"},
		{"filter", "SELECT COUNT(*), SUM(amount) FROM t WHERE qty < 100"},
		{"top-k", "SELECT id, name FROM t ORDER BY amount DESC, name LIMIT 10"},
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
