package compaction_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
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

// TestBatchPathMatchesBoxed: a compaction reading its inputs as Arrow
// batches and writing unmerged rows from their arrays writes, byte for
// byte, the files and manifest entries of the boxed-record path, for
// random inputs: every merge engine (sequence.field too), every row kind
// and the Reset bit as the engines set them, NULLs, overlapping and
// disjoint runs of several files and row groups, commit-local sequence
// numbers, files of an older schema, with and without dropping deletes, a
// TTL and row-group copying.
func TestBatchPathMatchesBoxed(t *testing.T) {
	engines := []map[string]string{
		{},
		{table.OptSequenceField: "ts"},
		{table.OptMergeEngine: table.EngineFirstRow},
		{table.OptMergeEngine: table.EnginePartialUpdate},
		{table.OptMergeEngine: table.EngineAggregation, "fields.n.aggregate-function": "sum",
			"fields.ts.aggregate-function": "max", "fields.v.aggregate-function": "last_non_null_value"},
	}
	var total compaction.Stats
	seeds := testkit.Seeds(t, 4)
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 25))
			var all compaction.Stats
			for _, opts := range engines {
				schema := engineSchema(opts)
				schema.ID = 2
				merger, err := table.NewMergeEngine(schema)
				if err != nil {
					t.Fatal(err)
				}
				gen := func(ws *types.Schema, keys, base int64, now time.Time, tag string) []lsm.Record {
					recs := randomRecords(t, rng, schema, merger, keys, base, now, tag)
					for j := range recs {
						recs[j].Row = recs[j].Row[:len(ws.Fields)]
					}
					return recs
				}
				for round := range 5 {
					all.Add(diffBatchBoxed(t, rng, schema, oldSchema(schema), merger, gen, 3, fmt.Sprintf("%v round %d", opts, round)))
				}
			}
			checkCoverage(t, all)
			total.Add(all)
		})
	}
	if len(seeds) > 1 && total.RowGroupsCopied == 0 {
		t.Fatalf("no seed copied a row group: %+v", total)
	}
}

// oldSchema is schema before its last column was added.
func oldSchema(s *types.Schema) *types.Schema {
	o := *s
	o.ID = 1
	o.Fields = s.Fields[:len(s.Fields)-1]
	o.HighestFieldID = o.Fields[len(o.Fields)-1].ID
	return &o
}

// recordGen returns merged records of schema ws, one per key of some
// random key ranges below keys, with sequence numbers from base.
type recordGen func(ws *types.Schema, keys, base int64, now time.Time, tag string) []lsm.Record

// diffBatchBoxed compacts random runs (files of schema or of old) with
// both paths and compares their results; ttl is the TTL column.
func diffBatchBoxed(t *testing.T, rng *rand.Rand, schema, old *types.Schema, merger lsm.Merger, gen recordGen, ttl int, name string) compaction.Stats {
	t.Helper()
	ctx := context.Background()
	store := objstore.NewMem()
	now := time.UnixMilli(1_700_000_000_000)
	keys := int64(300 + rng.IntN(3000))
	nRuns := 1 + rng.IntN(5)
	e := schema.Options[table.OptMergeEngine]
	resets := e == table.EnginePartialUpdate || e == table.EngineAggregation
	var inputs []compaction.Run
	nFiles := 0
	for i := range nRuns {
		level := 0
		if i == nRuns-1 {
			level = 3
		}
		base := int64(nRuns-i) * 10000
		ws := schema
		if rng.IntN(4) == 0 {
			ws = old
		}
		recs := gen(ws, keys, base, now, fmt.Sprintf("r%d.", i))
		for j := range recs {
			// Merged state after a deletion, as partial-update and
			// aggregation write it.
			if resets && rng.IntN(8) == 0 {
				recs[j].Reset = true
			}
		}
		local := rng.IntN(2) == 0
		if local {
			for j := range recs {
				recs[j].Seq -= base
			}
		}
		rgRows := 20 + rng.IntN(60)
		enc, err := lsm.WriteFiles(recs, ws, lsm.WriterOptions{TargetFileSize: int64(4<<10 + rng.IntN(32<<10)), RowGroupRows: rgRows})
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
			sum, err := f.Checksum()
			if err != nil {
				t.Fatal(err)
			}
			df := manifest.DataFile{Path: path, Level: level, RowCount: f.RowCount, DeleteCount: f.DeleteCount,
				Size: int64(len(f.Data)), MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq,
				SchemaID: ws.ID, Checksum: sum}
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
	o := compaction.Options{RowGroupRows: 20 + rng.IntN(60), TargetFileSize: int64(4<<10 + rng.IntN(48<<10)), UpgradeMinSize: 1 << 40,
		NoRowGroupCopy: rng.IntN(3) == 0}
	if rng.IntN(3) == 0 {
		o.UpgradeMinSize = int64(rng.IntN(16 << 10))
	}
	if rng.IntN(2) == 0 {
		o.Expire = &compaction.Expire{Field: ttl, After: time.Hour}
	}
	if rng.IntN(2) == 0 { // small buffers: flushes cut where the record sizes say
		o.MaxBufferBytes = int64(8<<10 + rng.IntN(128<<10))
	}
	results := make([]*compaction.Result, 2)
	for i, boxed := range []bool{true, false} {
		ids := 0
		ex := &compaction.Executor{Store: store, Root: mergeRoot, Schema: schema, Merger: merger, Options: o,
			Now: func() time.Time { return now }, NewID: func() string { ids++; return fmt.Sprintf("out-%t-%d", boxed, ids) }}
		compaction.SetBoxed(ex, boxed)
		res, err := ex.Execute(ctx, p)
		if err != nil {
			t.Fatalf("%s (boxed %t): %v", name, boxed, err)
		}
		results[i] = res
	}
	want, got := results[0], results[1]
	what := fmt.Sprintf("%s (drop deletes %t, copy %t, ttl %t)", name, p.DropDeletes, !o.NoRowGroupCopy, o.Expire != nil)
	if got.Stats != want.Stats {
		t.Fatalf("%s: stats %+v, boxed %+v", what, got.Stats, want.Stats)
	}
	if fmt.Sprint(got.Upgrades) != fmt.Sprint(want.Upgrades) || len(got.Deleted) != len(want.Deleted) {
		t.Fatalf("%s: upgrades %v deleted %d, boxed %v deleted %d", what, got.Upgrades, len(got.Deleted), want.Upgrades, len(want.Deleted))
	}
	if len(got.Added) != len(want.Added) {
		t.Fatalf("%s: %d files, boxed %d", what, len(got.Added), len(want.Added))
	}
	for i := range got.Added {
		g, w := got.Added[i], want.Added[i]
		gd, _, err := store.Get(ctx, mergeRoot+g.Path)
		if err != nil {
			t.Fatal(err)
		}
		wd, _, err := store.Get(ctx, mergeRoot+w.Path)
		if err != nil {
			t.Fatal(err)
		}
		g.Path, w.Path = "", ""
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			t.Fatalf("%s: file %d: entry\n%+v\nboxed\n%+v", what, i, g, w)
		}
		if !bytes.Equal(gd, wd) {
			gr := readOutput(t, store, schema, got.Added[i:i+1])
			wr := readOutput(t, store, schema, want.Added[i:i+1])
			t.Fatalf("%s: file %d: %d bytes differ from the boxed path's %d (records equal %t)", what, i, len(gd), len(wd), fmt.Sprint(gr) == fmt.Sprint(wr))
		}
	}
	return got.Stats
}

// checkCoverage fails unless the compactions st adds up exercised what
// the differential tests are for (copying, rarer, is checked over all
// seeds).
func checkCoverage(t *testing.T, st compaction.Stats) {
	t.Helper()
	t.Logf("%+v", st)
	if st.RecordsWritten == 0 || st.RowGroupsMerged == 0 || st.DeletesDropped == 0 || st.Expired == 0 || st.FilesWritten <= st.FilesRead/4 {
		t.Fatalf("the compactions did not write, merge, drop deletes, expire and cut files: %+v", st)
	}
}
