package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// cpuSeconds is the user and system CPU time of the process.
func cpuSeconds() float64 { return testkit.ProcessCPU().Seconds() }

// BenchmarkIngest upserts 200,000 rows over 100,000 keys into a 4-bucket
// deduplicate table on the in-memory store, committing every 25,000 rows
// with inline compaction (the defaults), through Write row by row and
// through WriteBatch in batches of 4,096 rows built beforehand. rows/cpu-s
// (process CPU time) is steadier than rows/s on a shared machine.
func BenchmarkIngest(b *testing.B) {
	const n, keys, commitEvery, batchRows = 200_000, 100_000, 25_000, 4096
	schema := ingestBenchSchema(nil)
	rng := rand.New(rand.NewPCG(1, 1))
	rows := make([]types.Row, n)
	for i := range rows {
		rows[i] = types.Row{rng.Int64N(keys), fmt.Sprintf("customer-%08d <user%08d@example.com>", rng.IntN(1e8), rng.IntN(1e8)),
			[]string{"Berlin", "Oslo", "Quito"}[rng.IntN(3)], types.Decimal(rng.Int64N(1e7)), int32(rng.IntN(1000)),
			rng.Float64() * 100, types.Timestamp(1_767_225_600_000_000 + rng.Int64N(86_400_000_000))}
	}
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		b.Fatal(err)
	}
	var batches []arrow.Record
	for lo := 0; lo < n; lo += commitEvery {
		for bl := lo; bl < lo+commitEvery; bl += batchRows {
			var br []types.Row
			for _, r := range rows[bl:min(bl+batchRows, lo+commitEvery)] {
				br = append(br, append(r[:len(r):len(r)], types.UpdateAfter))
			}
			rec, err := types.BuildRecord(nil, as, br)
			if err != nil {
				b.Fatal(err)
			}
			batches = append(batches, rec)
		}
	}
	ctx := context.Background()
	run := func(b *testing.B, ingest func(w *Writer) error) {
		cpu := 0.0
		for b.Loop() {
			tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
			if err != nil {
				b.Fatal(err)
			}
			w := tb.NewWriter("bench")
			c0 := cpuSeconds()
			if err := ingest(w); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				b.Fatal(err)
			}
			cpu += cpuSeconds() - c0
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(n)*float64(b.N)/cpu, "rows/cpu-s")
	}
	b.Run("write", func(b *testing.B) {
		run(b, func(w *Writer) error {
			for i, r := range rows {
				if err := w.Write(ctx, types.UpdateAfter, r); err != nil {
					return err
				}
				if (i+1)%commitEvery == 0 {
					if _, err := w.Commit(ctx, fmt.Sprint(i)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
	b.Run("writebatch", func(b *testing.B) {
		run(b, func(w *Writer) error {
			done := 0
			for _, rec := range batches {
				if err := w.WriteBatch(ctx, rec); err != nil {
					return err
				}
				done += int(rec.NumRows())
				if done%commitEvery == 0 {
					if _, err := w.Commit(ctx, fmt.Sprint(done)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}
