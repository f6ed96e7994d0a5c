package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// BenchmarkIngestShape is the shape of `silt bench ingest`: 500,000 +U
// rows over 250,000 uniformly random keys into a 4-bucket deduplicate
// table, change batches of 4,096 rows, a commit every 25,000 rows, inline
// compaction with the defaults and a catalog's metadata cache, on the
// in-memory and the local store. Close (which waits for the last
// compaction) is timed, as in the bench. Beyond
// rows/s it reports rows/cpu-s (process CPU, steadier on a shared machine),
// the time writes stalled on compaction, the share of CPU time spent while
// the writer was inside WriteBatch versus Commit, the share of wall time
// inside WriteBatch, Commit and Close (waiting for the last compactions),
// and the cores busy on average (process CPU ÷ wall time).
func BenchmarkIngestShape(b *testing.B) {
	const n, keys, commitEvery, batchRows = 500_000, 250_000, 25_000, 4096
	schema := ingestBenchSchema(nil)
	batches := ingestBenchBatches(b, schema, n, keys, batchRows, commitEvery)
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	ctx := context.Background()
	for _, kind := range []string{"mem", "local"} {
		b.Run(kind, func(b *testing.B) {
			var cpu, stall, writeCPU, commitCPU, writeWall, commitWall, closeWall float64
			for b.Loop() {
				var st objstore.Store = objstore.NewMem()
				if kind == "local" {
					l, err := objstore.NewLocal(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					st = l
				}
				tb, err := Open("db.t", st, "wh/db.db/t/", schema, Env{Meta: NewMetaCache(DefaultMetaCacheBytes)})
				if err != nil {
					b.Fatal(err)
				}
				w := tb.NewWriter("bench")
				c0 := cpuSeconds()
				done := 0
				for _, rec := range batches {
					c, t0 := cpuSeconds(), time.Now()
					if err := w.WriteBatch(ctx, rec); err != nil {
						b.Fatal(err)
					}
					writeCPU += cpuSeconds() - c
					writeWall += time.Since(t0).Seconds()
					done += int(rec.NumRows())
					if done%commitEvery == 0 {
						c, t0 := cpuSeconds(), time.Now()
						if _, err := w.Commit(ctx, fmt.Sprint(done)); err != nil {
							b.Fatal(err)
						}
						commitCPU += cpuSeconds() - c
						commitWall += time.Since(t0).Seconds()
					}
				}
				tc := time.Now()
				if err := w.Close(ctx); err != nil {
					b.Fatal(err)
				}
				closeWall += time.Since(tc).Seconds()
				cpu += cpuSeconds() - c0
				stall += w.Stats().StallTime.Seconds()
			}
			rowsDone := float64(n) * float64(b.N)
			b.ReportMetric(rowsDone/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(rowsDone/cpu, "rows/cpu-s")
			b.ReportMetric(stall/float64(b.N)*float64(time.Second/time.Millisecond), "stall-ms/op")
			b.ReportMetric(writeCPU/cpu, "cpu-share-in-writebatch")
			b.ReportMetric(commitCPU/cpu, "cpu-share-in-commit")
			el := b.Elapsed().Seconds()
			b.ReportMetric(writeWall/el, "wall-share-writebatch")
			b.ReportMetric(commitWall/el, "wall-share-commit")
			b.ReportMetric(cpu/el, "cores")
			b.ReportMetric(closeWall/el, "wall-share-close")
		})
	}
}

// ingestBenchSchema is the table of the ingest benchmark (bench/ingest.go):
// a BIGINT key and six value columns of common types, 4 buckets, plus
// opts.
func ingestBenchSchema(opts map[string]string) *types.Schema {
	s := &types.Schema{
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
		Options:        map[string]string{OptBucket: "4"},
	}
	for k, v := range opts {
		s.Options[k] = v
	}
	return s
}

// ingestBenchBatches are n +U rows of schema (ingestBenchSchema) over keys
// uniformly random keys (seed 1), as change batches of at most batchRows
// rows that end every commitEvery rows. The caller releases them.
func ingestBenchBatches(tb testing.TB, schema *types.Schema, n, keys, batchRows, commitEvery int) []arrow.Record {
	rng := rand.New(rand.NewPCG(1, 1))
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		tb.Fatal(err)
	}
	var batches []arrow.Record
	var rows []types.Row
	for i := 0; i < n; i++ {
		rows = append(rows, types.Row{rng.Int64N(int64(keys)), fmt.Sprintf("customer-%08d <user%08d@example.com>", rng.IntN(1e8), rng.IntN(1e8)),
			[]string{"Berlin", "Oslo", "Quito"}[rng.IntN(3)], types.Decimal(rng.Int64N(1e7)), int32(rng.IntN(1000)),
			rng.Float64() * 100, types.Timestamp(1_767_225_600_000_000 + rng.Int64N(86_400_000_000)), types.UpdateAfter})
		if len(rows) == batchRows || (i+1)%commitEvery == 0 || i == n-1 {
			rec, err := types.BuildRecord(nil, as, rows)
			if err != nil {
				tb.Fatal(err)
			}
			batches = append(batches, rec)
			rows = nil
		}
	}
	return batches
}
