package table

import (
	"context"
	"fmt"
	"testing"

	"github.com/siltdb/silt/types"
)

// BenchmarkHiddenRows computes the hidden rows of scanBenchTable's 5
// overlapping runs per bucket: with no cache (a fresh table handle each
// time), from the cache, and after a small commit (the bucket extended
// from the new files). BatchesFullScan is the columnar scan of the same
// snapshot, for comparison.
func BenchmarkHiddenRows(b *testing.B) {
	ctx := context.Background()
	tb := scanBenchTable(b, false)
	snap, err := tb.Latest(ctx)
	if err != nil {
		b.Fatal(err)
	}
	fresh := func() *Table {
		v := *tb
		v.hidden = newHiddenCache(hiddenCacheBytes)
		return &v
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := fresh().HiddenRows(ctx, snap); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		v := fresh()
		if _, err := v.HiddenRows(ctx, snap); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := v.HiddenRows(ctx, snap); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("after-commit", func(b *testing.B) {
		v := fresh()
		n := 0
		for b.Loop() {
			b.StopTimer()
			if _, err := v.HiddenRows(ctx, snap); err != nil { // the cached base
				b.Fatal(err)
			}
			w := v.NewWriter("bench")
			for i := range 100 {
				row := types.Row{int64(i * 97), "x", types.Decimal(1), int32(1), 1.0, types.Timestamp(1.7e15)}
				if err := w.Write(ctx, types.Insert, row); err != nil {
					b.Fatal(err)
				}
			}
			next, err := w.Commit(ctx, fmt.Sprint("bench-", n))
			if err != nil {
				b.Fatal(err)
			}
			n++
			b.StartTimer()
			if _, err := v.HiddenRows(ctx, next); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(v.hidden.snapshotStats().extended)/float64(n), "extended/op")
	})
	b.Run("BatchesFullScan", func(b *testing.B) {
		for b.Loop() {
			s, err := tb.NewScan(ctx, ScanOptions{SnapshotID: snap.ID})
			if err != nil {
				b.Fatal(err)
			}
			for _, err := range s.Batches(ctx) {
				if err != nil {
					b.Fatal(err)
				}
			}
			_ = s.Close(ctx)
		}
	})
}
