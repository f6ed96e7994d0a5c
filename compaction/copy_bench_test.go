package compaction

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
)

// BenchmarkCompactRowGroupCopy compacts a mostly non-overlapping workload
// with and without row-group copying: one old leveled file of 400,000
// records (row groups of 16,384) and four new level-0 files of 2,000
// updates each in narrow key ranges (2 % of the keys). Every input is
// rewritten (the old file overlaps the new ones, so it cannot be
// upgraded); with copying, only the row groups the updates touch are
// decoded. b.SetBytes is the input size, so MB/s is input compacted per
// second.
func BenchmarkCompactRowGroupCopy(b *testing.B) {
	ctx := context.Background()
	fx := &fixture{t: &testing.T{}, store: objstore.NewMem(), root: "wh/db.db/t/"}
	rng := rand.New(rand.NewPCG(1, 2))
	const keys = 400_000
	old := make([]row, keys)
	for i := range old {
		old[i] = row{id: int64(i), v: fmt.Sprintf("customer-%06d-%08x", rng.IntN(1_000_000), rng.Uint32()), ts: rng.Int64N(1e15)}
	}
	runs := []Run{}
	var in int64
	for i := range 4 {
		from := rng.Int64N(keys - 2000)
		upd := make([]row, 2000)
		for j := range upd {
			upd[j] = row{id: from + int64(j), v: fmt.Sprintf("update-%d-%d", i, j), ts: rng.Int64N(1e15)}
		}
		f := benchRun(b, fx, 0, int64(10_000_000*(5-i)), upd)
		runs = append(runs, Run{Level: 0, Files: f})
		in += f[0].Size
	}
	f := benchRun(b, fx, 3, 0, old)
	runs = append(runs, Run{Level: 3, Files: f})
	in += f[0].Size
	p := Plan{Inputs: runs, OutputLevel: 3}
	for _, mode := range []struct {
		name   string
		noCopy bool
	}{{"copy", false}, {"nocopy", true}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(in)
			var st Stats
			for i := 0; b.Loop(); i++ {
				n := 0
				ex := &Executor{Store: fx.store, Root: fx.root, Schema: testSchema(), Merger: lastWins{},
					Options: Options{RowGroupRows: 16 << 10, NoRowGroupCopy: mode.noCopy},
					Now:     time.Now, NewID: func() string { n++; return fmt.Sprintf("%s-%d-%d", mode.name, i, n) }}
				res, err := ex.Execute(ctx, p)
				if err != nil {
					b.Fatal(err)
				}
				st = res.Stats
				if err := ex.Discard(ctx, res); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.RowGroupsCopied), "rg-copied")
			b.ReportMetric(float64(st.RowGroupsMerged), "rg-merged")
			b.ReportMetric(float64(st.BytesWritten)/float64(in), "out/in")
		})
	}
}

// benchRun writes rows as one file of a run (fixture.run for benchmarks).
func benchRun(b *testing.B, fx *fixture, level int, seq int64, rows []row) []manifest.DataFile {
	b.Helper()
	recs := make([]lsm.Record, len(rows))
	for i, r := range rows {
		recs[i] = record(b, r, seq+int64(i))
	}
	enc, err := lsm.WriteFiles(recs, testSchema(), lsm.WriterOptions{RowGroupRows: 16 << 10})
	if err != nil {
		b.Fatal(err)
	}
	f := enc[0]
	fx.n++
	path := DataFilePath("", 0, fmt.Sprintf("in-%d", fx.n))
	if _, err := fx.store.Put(context.Background(), fx.root+path, f.Data); err != nil {
		b.Fatal(err)
	}
	return []manifest.DataFile{{Path: path, Level: level, RowCount: f.RowCount, DeleteCount: f.DeleteCount,
		Size: int64(len(f.Data)), MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq, SchemaID: 3}}
}
