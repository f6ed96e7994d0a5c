package compaction_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

var rounds = flag.Int("merge-rounds", 0, "rounds of TestExecuteMatchesMergeRuns per engine (0: default)")

// engineSchema: id BIGINT key, v STRING, n BIGINT, ts TIMESTAMP (the TTL
// and sequence field), with the table options opts.
func engineSchema(opts map[string]string) *types.Schema {
	return &types.Schema{
		ID: 1,
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "v", Type: types.TString},
			{ID: 2, Name: "n", Type: types.TBigInt},
			{ID: 3, Name: "ts", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 3,
		Options:        opts,
	}
}

// TestExecuteMatchesMergeRuns: the executor, which pulls its inputs row
// group by row group through lsm.MergeSources, writes exactly the records
// of a reference compaction built the way the executor used to work —
// every input file read with FileReader.All, the files of a run chained
// into one iterator, the runs merged by lsm.MergeRuns (a coroutine per
// run), then tombstones dropped as Dropper allows and rows expired — for
// random multi-run inputs (level-0 runs and a multi-file deeper run,
// commit-local sequence numbers, all row kinds, NULLs), with the real merge
// engines, with and without dropping deletes, a TTL and row-group copying.
func TestExecuteMatchesMergeRuns(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 8))
	engines := []map[string]string{
		{},
		{table.OptSequenceField: "ts"},
		{table.OptMergeEngine: table.EngineFirstRow},
		{table.OptMergeEngine: table.EnginePartialUpdate},
		{table.OptMergeEngine: table.EngineAggregation, "fields.n.aggregate-function": "sum",
			"fields.ts.aggregate-function": "max", "fields.v.aggregate-function": "last_non_null_value"},
	}
	n := 20
	if *rounds > 0 {
		n = *rounds
	}
	var copied, dropped, expired int64
	for _, opts := range engines {
		schema := engineSchema(opts)
		merger, err := table.NewMergeEngine(schema)
		if err != nil {
			t.Fatal(err)
		}
		for round := range n {
			c, d, x := checkAgainstMergeRuns(t, rng, schema, merger, fmt.Sprintf("%v round %d", opts, round))
			copied, dropped, expired = copied+c, dropped+d, expired+x
		}
	}
	t.Logf("row groups copied %d, deletes dropped %d, rows expired %d", copied, dropped, expired)
	if copied == 0 || dropped == 0 || expired == 0 {
		t.Fatalf("the test did not exercise copying (%d), dropping (%d) and expiry (%d)", copied, dropped, expired)
	}
}

const mergeRoot = "wh/db.db/t/"

// checkAgainstMergeRuns runs one random compaction and compares it with
// the reference.
func checkAgainstMergeRuns(t *testing.T, rng *rand.Rand, schema *types.Schema, merger lsm.Merger, name string) (copied, dropped, expired int64) {
	t.Helper()
	ctx := context.Background()
	store := objstore.NewMem()
	now := time.UnixMilli(1_700_000_000_000)
	const keys = 2000
	nRuns := 2 + rng.IntN(4)
	var inputs []compaction.Run
	nFiles := 0
	for i := range nRuns {
		level := 0
		if i == nRuns-1 {
			level = 3
		}
		base := int64(nRuns-i) * 10000 // newer runs, higher sequence numbers
		recs := randomRecords(t, rng, schema, merger, keys, base, now, fmt.Sprintf("r%d.", i))
		local := rng.IntN(2) == 0
		if local {
			for j := range recs {
				recs[j].Seq -= base
			}
		}
		enc, err := lsm.WriteFiles(recs, schema, lsm.WriterOptions{TargetFileSize: int64(4<<10 + rng.IntN(16<<10)), RowGroupRows: 40})
		if err != nil {
			t.Fatal(err)
		}
		var files []manifest.DataFile
		for _, f := range enc {
			nFiles++
			path := compaction.DataFilePath("", 0, fmt.Sprintf("in-%d", nFiles))
			if _, err := store.Put(ctx, mergeRoot+path, f.Data); err != nil {
				t.Fatal(err)
			}
			df := manifest.DataFile{Path: path, Level: level, RowCount: f.RowCount, DeleteCount: f.DeleteCount,
				Size: int64(len(f.Data)), MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq, SchemaID: schema.ID}
			if local {
				df.SeqBase = base
				df.MinSeq += base
				df.MaxSeq += base
			}
			files = append(files, df)
		}
		if level == 0 {
			for _, f := range files {
				inputs = append(inputs, compaction.Run{Level: 0, Files: []manifest.DataFile{f}})
			}
			continue
		}
		inputs = append(inputs, compaction.Run{Level: level, Files: files})
	}
	p := compaction.Plan{Inputs: inputs, OutputLevel: 4, DropDeletes: rng.IntN(3) != 0}
	o := compaction.Options{RowGroupRows: 40, TargetFileSize: int64(8<<10 + rng.IntN(32<<10)), UpgradeMinSize: 1 << 40,
		NoRowGroupCopy: rng.IntN(3) == 0}
	if rng.IntN(2) == 0 {
		o.Expire = &compaction.Expire{Field: 3, After: time.Hour}
	}
	ids := 0
	ex := &compaction.Executor{Store: store, Root: mergeRoot, Schema: schema, Merger: merger, Options: o,
		Now: func() time.Time { return now }, NewID: func() string { ids++; return fmt.Sprintf("out-%d", ids) }}
	res, err := ex.Execute(ctx, p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, st := referenceCompaction(t, store, schema, merger, p, o.Expire, now)
	got := readOutput(t, store, schema, res.Added)
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%s (drop deletes %t, copy %t, ttl %t): record %d: executor %s, reference %s",
					name, p.DropDeletes, !o.NoRowGroupCopy, o.Expire != nil, i, got[i], want[i])
			}
		}
		t.Fatalf("%s: executor wrote %d records, reference %d", name, len(got), len(want))
	}
	if res.Stats.DeletesDropped != st.DeletesDropped || res.Stats.Expired != st.Expired || res.Stats.RecordsWritten != int64(len(want)) {
		t.Fatalf("%s: stats %+v, reference dropped %d, expired %d, wrote %d", name, res.Stats, st.DeletesDropped, st.Expired, len(want))
	}
	return int64(res.Stats.RowGroupsCopied), st.DeletesDropped, st.Expired
}

// randomRecords returns one merged record per key of a few random key
// intervals, with sequence numbers from base, every row kind, and ts old,
// fresh or NULL. Each is a random record merged alone by merger, as the
// records of the files a writer or a compaction writes are.
func randomRecords(t *testing.T, rng *rand.Rand, schema *types.Schema, merger lsm.Merger, keys, base int64, now time.Time, tag string) []lsm.Record {
	t.Helper()
	ids := map[int64]bool{}
	for range 1 + rng.IntN(3) {
		from := rng.Int64N(keys)
		for i := from; i < min(keys, from+10+rng.Int64N(keys/3)); i++ {
			if rng.IntN(6) != 0 {
				ids[i] = true
			}
		}
	}
	sorted := slices.Sorted(func(yield func(int64) bool) {
		for id := range ids {
			if !yield(id) {
				return
			}
		}
	})
	var out []lsm.Record
	for _, id := range sorted {
		var v, n, ts types.Value
		if rng.IntN(5) != 0 {
			v = fmt.Sprintf("%s%d", tag, id)
		}
		if rng.IntN(5) != 0 {
			n = rng.Int64N(100)
		}
		switch rng.IntN(3) {
		case 0:
			ts = types.Timestamp(now.Add(-2 * time.Hour).UnixMicro())
		case 1:
			ts = types.Timestamp(now.Add(-time.Duration(rng.IntN(3000)) * time.Second).UnixMicro())
		}
		kind := types.Insert
		switch rng.IntN(10) {
		case 0:
			kind = types.Delete
		case 1:
			kind = types.UpdateBefore
		case 2, 3:
			kind = types.UpdateAfter
		}
		row := types.Row{id, v, n, ts}
		key, err := types.EncodeRowKey(nil, row, schema.KeyIndexes())
		if err != nil {
			t.Fatal(err)
		}
		rec := merger.Merge([]lsm.Record{{Key: key, Seq: base + int64(len(out)), Kind: kind, Row: row}})
		rec.Merged = true
		out = append(out, rec)
	}
	return out
}

// referenceCompaction is the executor's merge as it was before it pulled
// row groups directly: a chained iterator per run merged by lsm.MergeRuns.
func referenceCompaction(t *testing.T, store objstore.Store, schema *types.Schema, merger lsm.Merger, p compaction.Plan,
	x *compaction.Expire, now time.Time) ([]string, compaction.Stats) {
	t.Helper()
	ctx := context.Background()
	var sources []iter.Seq2[lsm.Record, error]
	for _, r := range p.Inputs {
		files := slices.Clone(r.Files)
		slices.SortFunc(files, func(a, b manifest.DataFile) int { return bytes.Compare(a.MinKey, b.MinKey) })
		var readers []*lsm.FileReader
		for _, f := range files {
			data, _, err := store.Get(ctx, mergeRoot+f.Path)
			if err != nil {
				t.Fatal(err)
			}
			fr, err := lsm.OpenFile(ctx, bytes.NewReader(data), f.Size, schema, f.SeqBase)
			if err != nil {
				t.Fatal(err)
			}
			readers = append(readers, fr)
		}
		sources = append(sources, func(yield func(lsm.Record, error) bool) {
			for _, fr := range readers {
				for rec, err := range fr.All(ctx) {
					if !yield(rec, err) || err != nil {
						return
					}
				}
			}
		})
	}
	dropper, _ := merger.(compaction.Dropper)
	var st compaction.Stats
	var out []string
	for rec, err := range lsm.MergeRuns(ctx, sources, merger, true) {
		if err != nil {
			t.Fatal(err)
		}
		if p.DropDeletes {
			if !rec.Kind.IsAdd() && dropper != nil && dropper.CanDrop(&rec) {
				st.DeletesDropped++
				continue
			}
			if x != nil && rec.Kind.IsAdd() {
				if ts, ok := rec.Row[x.Field].(types.Timestamp); ok && int64(ts) < now.Add(-x.After).UnixMicro() {
					st.Expired++
					continue
				}
			}
		}
		out = append(out, render(&rec))
	}
	return out, st
}

// readOutput renders the records of files in key order.
func readOutput(t *testing.T, store objstore.Store, schema *types.Schema, files []manifest.DataFile) []string {
	t.Helper()
	ctx := context.Background()
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b manifest.DataFile) int { return bytes.Compare(a.MinKey, b.MinKey) })
	var out []string
	for _, f := range files {
		data, _, err := store.Get(ctx, mergeRoot+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := lsm.OpenFile(ctx, bytes.NewReader(data), f.Size, schema, f.SeqBase)
		if err != nil {
			t.Fatal(err)
		}
		for rec, err := range fr.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, render(&rec))
		}
	}
	return out
}

func render(r *lsm.Record) string {
	return fmt.Sprintf("%x/%d/%s/%t/%v", r.Key, r.Seq, r.Kind, r.Reset, r.Row)
}
