package table

import (
	"context"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// BenchmarkWriteBatchBuffer measures WriteBatch alone: the checks, keys,
// buckets and buffering of 100,000 rows of the ingest benchmark's shape in
// change batches of 4,096 rows into a 4-bucket deduplicate table whose
// write buffer holds them all (no flush, no compaction). It reports
// process CPU per row (steadier than ns/op on a shared machine) and, with -benchmem, B/op for the 100,000 rows.
func BenchmarkWriteBatchBuffer(b *testing.B) {
	const n, keys, batchRows = 100_000, 250_000, 4096
	schema := ingestBenchSchema(map[string]string{OptWriteBufferSize: "1 gb"})
	batches := ingestBenchBatches(b, schema, n, keys, batchRows, n)
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
