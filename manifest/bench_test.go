package manifest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
)

// BenchmarkCommitSequential measures one committer appending one file per
// commit on a Mem store (so it measures CPU and encoding, not network):
// every MaxManifests commits rewrite the whole live-file set, so the cost
// grows with the table. "compacting" keeps the live set small by deleting
// the previous file in every commit (which also loads the live files).
func BenchmarkCommitSequential(b *testing.B) {
	for _, mode := range []string{"append", "compacting"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			tb, _ := newTestTable(b, objstore.NewMem())
			prev := ""
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c := appendCommit("bench", fmt.Sprint(i), file(fmt.Sprintf("data/bucket-0/f-%09d.parquet", i), 100))
				if mode == "compacting" && prev != "" {
					c.Deleted = []DataFile{{Path: prev}}
				}
				if _, err := tb.Commit(ctx, c); err != nil {
					b.Fatal(err)
				}
				prev = c.Added[0].Path
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
		})
	}
}
