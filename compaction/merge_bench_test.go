//go:build unix

package compaction

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// ingestSchema is the row shape of `silt bench ingest`.
func ingestSchema() *types.Schema {
	return &types.Schema{
		ID: 3,
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
	}
}

// BenchmarkCompactIngestShape compacts one bucket of the ingest benchmark's
// shape: a compacted run of 60,000 keys (of 62,500) and six level-0 runs of
// 6,250 +U upserts each over the same keys, every input merged (no row
// group can be copied). It reports rows read per CPU second of the process
// and bytes allocated per row read.
// ingestShapePlan stores the inputs of BenchmarkCompactIngestShape and
// returns their plan and row count.
func ingestShapePlan(b *testing.B, st objstore.Store, root string) (Plan, int64) {
	ctx := context.Background()
	const keys, big, l0, l0Rows = 62_500, 60_000, 6, 6_250
	rng := rand.New(rand.NewPCG(1, 3))
	schema := ingestSchema()
	put := func(level int, seq int64, ids []int64) manifest.DataFile {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		recs := make([]lsm.Record, len(ids))
		for i, id := range ids {
			row := types.Row{id, fmt.Sprintf("customer-%08d <user%08d@example.com>", rng.IntN(1e8), rng.IntN(1e8)),
				[]string{"Berlin", "Oslo", "Quito"}[rng.IntN(3)], types.Decimal(rng.Int64N(1e7)), int32(rng.IntN(1000)),
				rng.Float64() * 100, types.Timestamp(1_767_225_600_000_000 + rng.Int64N(86_400_000_000))}
			key, err := types.EncodeRowKey(nil, row, []int{0})
			if err != nil {
				b.Fatal(err)
			}
			recs[i] = lsm.Record{Key: key, Seq: seq + int64(i), Kind: types.UpdateAfter, Row: row, Merged: true}
		}
		enc, err := lsm.WriteFiles(recs, schema, lsm.WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		f := enc[0]
		path := DataFilePath("", 0, fmt.Sprintf("in-%d-%d", level, seq))
		if _, err := st.Put(ctx, root+path, f.Data); err != nil {
			b.Fatal(err)
		}
		return manifest.DataFile{Path: path, Level: level, RowCount: f.RowCount, DeleteCount: f.DeleteCount,
			Size: int64(len(f.Data)), MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq, SchemaID: 3}
	}
	var runs []Run
	var rows int64
	for i := range l0 {
		ids := make([]int64, l0Rows)
		for j := range ids {
			ids[j] = rng.Int64N(keys)
		}
		f := put(0, int64(1_000_000*(l0+1-i)), ids)
		runs = append(runs, Run{Level: 0, Files: []manifest.DataFile{f}})
		rows += f.RowCount
	}
	ids := make([]int64, big)
	for j, k := range rng.Perm(keys)[:big] {
		ids[j] = int64(k)
	}
	f := put(5, 0, ids)
	runs = append(runs, Run{Level: 5, Files: []manifest.DataFile{f}})
	rows += f.RowCount
	return Plan{Inputs: runs, OutputLevel: 5}, rows
}

func BenchmarkCompactIngestShape(b *testing.B) {
	ctx := context.Background()
	st := objstore.NewMem()
	root := "wh/db.db/t/"
	schema := ingestSchema()
	p, rows := ingestShapePlan(b, st, root)
	var cpu time.Duration
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	// One Executor for every compaction, as a table's compactor has.
	n := 0
	ex := &Executor{Store: st, Root: root, Schema: schema, Merger: pickLast{},
		Now: time.Now, NewID: func() string { n++; return fmt.Sprintf("out-%d", n) }}
	for b.Loop() {
		c := processCPU()
		res, err := ex.Execute(ctx, p)
		cpu += processCPU() - c
		if err != nil {
			b.Fatal(err)
		}
		if err := ex.Discard(ctx, res); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&ms1)
	read := float64(rows) * float64(b.N)
	b.ReportMetric(read/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/read, "B/row")
}

// processCPU is the CPU time (user + system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCompactReadMerge is BenchmarkCompactIngestShape without the
// output: the inputs are read, decoded and merged as a compaction does
// (runSource, MergeSources with the copy merger), and each merged record
// is only counted, so rows/cpu-s and B/row measure the read and merge side
// alone.
func BenchmarkCompactReadMerge(b *testing.B) {
	ctx := context.Background()
	st := objstore.NewMem()
	root := "wh/db.db/t/"
	p, rows := ingestShapePlan(b, st, root)
	ex := &Executor{Store: st, Root: root, Schema: ingestSchema(), Merger: pickLast{}}
	ex.defaults()
	var cpu time.Duration
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		c := processCPU()
		j := &job{Executor: ex, plan: p, schema: ex.Schema, merger: ex.Merger}
		var files []inputFile
		for i, r := range p.Inputs {
			for _, f := range r.Files {
				files = append(files, inputFile{f, i})
			}
		}
		srcs := make([]*runSource, len(p.Inputs))
		sources := make([]lsm.RecordSource, len(p.Inputs))
		for i, r := range p.Inputs {
			srcs[i] = &runSource{j: j, ctx: ctx, files: r.Files, all: files}
			sources[i] = srcs[i].next
		}
		prefetch(srcs)
		var n, size int64
		for rec, err := range lsm.MergeSources(ctx, sources, newCopyMerger(j.merger), true) {
			if err != nil {
				b.Fatal(err)
			}
			n++
			size += rec.ApproxBytes()
		}
		releaseSources(j, srcs)
		cpu += processCPU() - c
		if n == 0 || size == 0 {
			b.Fatal("nothing merged")
		}
	}
	runtime.ReadMemStats(&ms1)
	read := float64(rows) * float64(b.N)
	b.ReportMetric(read/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/read, "B/row")
}

// releaseSources returns the sources' decode buffers as rewrite does.
func releaseSources(j *job, srcs []*runSource) {
	for _, s := range srcs {
		if s.scratch != nil {
			j.putScratch(s.scratch)
			s.scratch = nil
		}
	}
}
