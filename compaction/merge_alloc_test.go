package compaction

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
)

// pickLast is deduplicate without sequence.field: the last record wins,
// picked without reading rows (lsm.Picker).
type pickLast struct{ lastWins }

func (pickLast) PickRule() lsm.PickRule { return lsm.PickLast }

// TestExecuteAllocsPerRow: merging allocates per row group, not per row.
// Two runs of n and of n/2 overlapping keys are compacted for two sizes
// of n; the allocations the larger one adds per added row must stay far
// below one (the merge loop's record once escaped to the heap, one
// allocation per merged row).
func TestExecuteAllocsPerRow(t *testing.T) {
	ctx := context.Background()
	allocs := func(n int) float64 {
		st := objstore.NewMem()
		root := "wh/db.db/t/"
		put := func(name string, level int, seq int64, from, step int) manifest.DataFile {
			var recs []lsm.Record
			for id := from; id < n; id += step {
				recs = append(recs, record(t, row{id: int64(id), v: fmt.Sprintf("value-%d", id), ts: int64(id)}, seq+int64(id)))
			}
			enc, err := lsm.WriteFiles(recs, testSchema(), lsm.WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f := enc[0]
			path := DataFilePath("", 0, name)
			if _, err := st.Put(ctx, root+path, f.Data); err != nil {
				t.Fatal(err)
			}
			return manifest.DataFile{Path: path, Level: level, RowCount: f.RowCount, Size: int64(len(f.Data)),
				MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq, SchemaID: 3}
		}
		newer := put("new", 0, 1_000_000, 0, 2)
		older := put("old", 3, 0, 0, 1)
		p := Plan{Inputs: []Run{{Level: 0, Files: []manifest.DataFile{newer}}, {Level: 3, Files: []manifest.DataFile{older}}}, OutputLevel: 3}
		i := 0
		return testing.AllocsPerRun(3, func() {
			i++
			ex := &Executor{Store: st, Root: root, Schema: testSchema(), Merger: pickLast{},
				Now: time.Now, NewID: func() string { return fmt.Sprintf("out-%d", i) }}
			res, err := ex.Execute(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := ex.Discard(ctx, res); err != nil {
				t.Fatal(err)
			}
		})
	}
	const small, large = 4_000, 20_000
	a, b := allocs(small), allocs(large)
	// Rows read: n + n/2 per plan.
	per := (b - a) / float64((large-small)*3/2)
	t.Logf("%.0f allocations for %d keys, %.0f for %d: %.3f per added row", a, small, b, large, per)
	if per > 0.1 {
		t.Fatalf("%.3f allocations per merged row, want < 0.1", per)
	}
}
