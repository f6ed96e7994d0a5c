package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// scanBenchRows is the live rows of BenchmarkScanBatches' tables.
const scanBenchRows = 200_000

// scanBenchTable loads scanBenchRows rows (plus 25% updates of random
// keys) in 5 commits into a 4-bucket table on the in-memory store: with
// compacted, fully compacted (one sorted run per bucket); otherwise
// write-only, 5 sorted runs per bucket. It mirrors `silt bench scan`.
func scanBenchTable(b *testing.B, compacted bool) *Table {
	b.Helper()
	ctx := context.Background()
	s := &types.Schema{
		ID: 1,
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "amount", Type: types.TDecimal(12, 2)},
			{ID: 3, Name: "qty", Type: types.TInt},
			{ID: 4, Name: "score", Type: types.TDouble},
			{ID: 5, Name: "updated", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 5,
		Options:        map[string]string{OptBucket: "4", OptWriteOnly: "true", OptStopTrigger: "100"},
	}
	tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	total := scanBenchRows * 5 / 4
	for c := 0; c < 5; c++ {
		w := tb.NewWriter("bench")
		for i := c * total / 5; i < (c+1)*total/5; i++ {
			id := int64(i)
			if i >= scanBenchRows {
				id = rng.Int64N(scanBenchRows)
			}
			row := types.Row{id, fmt.Sprintf("customer-%d", rng.IntN(100000)), types.Decimal(rng.Int64N(1e9)),
				int32(rng.IntN(1000)), rng.Float64(), types.Timestamp(1.7e15 + rng.Int64N(1e12))}
			if err := w.Write(ctx, types.Insert, row); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if compacted {
		if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
			b.Fatal(err)
		}
	}
	return tb
}

// BenchmarkScanBatches scans a compacted table and one with 5 sorted runs
// per bucket, all columns and 2 columns (amount, qty), through the
// columnar Batches and through Rows (rowBatches: Rows turned into
// batches, what Batches did before).
func BenchmarkScanBatches(b *testing.B) {
	ctx := context.Background()
	for _, compacted := range []bool{true, false} {
		tb := scanBenchTable(b, compacted)
		layout := "5runs"
		if compacted {
			layout = "compacted"
		}
		for _, cols := range []struct {
			name string
			cols []int
		}{{"all", nil}, {"2cols", []int{2, 3}}} {
			for _, path := range []string{"Batches", "Rows"} {
				b.Run(fmt.Sprintf("%s/%s/%s", layout, cols.name, path), func(b *testing.B) {
					cpu := processCPU()
					for b.Loop() {
						s, err := tb.NewScan(ctx, ScanOptions{Columns: cols.cols})
						if err != nil {
							b.Fatal(err)
						}
						it := s.Batches(ctx)
						if path == "Rows" {
							it = s.rowBatches(ctx)
						}
						n := 0
						for rec, err := range it {
							if err != nil {
								b.Fatal(err)
							}
							n += int(rec.NumRows())
						}
						if n != scanBenchRows {
							b.Fatalf("%d rows, want %d", n, scanBenchRows)
						}
					}
					b.ReportMetric(float64(scanBenchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
					b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*scanBenchRows), "cpu-ns/row")
				})
			}
		}
	}
}
