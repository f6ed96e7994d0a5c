package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// BenchmarkWriteBatchBuffer measures WriteBatch alone: the checks, keys,
// buckets and buffering of 100,000 rows of the ingest benchmark's shape in
// change batches of 4,096 rows into a 4-bucket deduplicate table whose
// write buffer holds them all (no flush, no compaction). It reports
// process CPU per row (steadier than ns/op on a shared machine) and, with -benchmem, B/op for the 100,000 rows.
func BenchmarkWriteBatchBuffer(b *testing.B) {
	const n, keys, batchRows = 100_000, 250_000, 4096
	schema := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "city", Type: types.TString},
			{ID: 3, Name: "amount", Type: types.TDecimal(12, 2)},
			{ID: 4, Name: "qty", Type: types.TInt},
			{ID: 5, Name: "score", Type: types.TDouble},
			{ID: 6, Name: "updated", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 6,
		Options:        map[string]string{OptBucket: "4", OptWriteBufferSize: "1 gb"},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		b.Fatal(err)
	}
	var batches []arrow.Record
	var rows []types.Row
	for i := 0; i < n; i++ {
		rows = append(rows, types.Row{rng.Int64N(keys), fmt.Sprintf("customer-%08d <user%08d@example.com>", rng.IntN(1e8), rng.IntN(1e8)),
			[]string{"Berlin", "Oslo", "Quito"}[rng.IntN(3)], types.Decimal(rng.Int64N(1e7)), int32(rng.IntN(1000)),
			rng.Float64() * 100, types.Timestamp(1_767_225_600_000_000 + rng.Int64N(86_400_000_000)), types.UpdateAfter})
		if len(rows) == batchRows || i == n-1 {
			rec, err := types.BuildRecord(nil, as, rows)
			if err != nil {
				b.Fatal(err)
			}
			batches = append(batches, rec)
			rows = nil
		}
	}
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	ctx := context.Background()
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
	if err != nil {
		b.Fatal(err)
	}
	w := tb.NewWriter("bench")
	c0 := cpuSeconds()
	for b.Loop() {
		for _, rec := range batches {
			if err := w.WriteBatch(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := w.Abort(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric((cpuSeconds()-c0)*1e9/float64(n*b.N), "cpu-ns/row")
}
