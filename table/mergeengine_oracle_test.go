package table

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// oracleRun is one sorted run of the randomized LSM test: encoded data
// files covering a contiguous range of sequence numbers.
type oracleRun struct {
	files []lsm.EncodedFile
}

// TestLSMOracle runs, for every merge engine, random changelogs of random
// keys through the LSM path: contiguous runs flushed through write buffers
// into Parquet files, some adjacent runs compacted (merged with
// keepDeletes and rewritten), then a merged read of every run and point
// lookups. Both must equal a naive merge of each key's whole changelog, and
// lookups must open only files whose key range admits the key.
func TestLSMOracle(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	for name, s := range engineConfigs() {
		m := mustEngine(t, s)
		for it := 0; it < 8; it++ {
			rng := rand.New(rand.NewPCG(seed, uint64(it)<<8|uint64(len(name))))
			label := fmt.Sprintf("%s run %d", name, it)
			nkeys := 1 + rng.IntN(60)
			var changelog []lsm.Record
			byKey := map[string][]lsm.Record{}
			for seq := int64(0); seq < int64(50+rng.IntN(600)); seq++ {
				row := randEngineRow(rng, s, rng.Int64N(int64(nkeys))*3)
				key, err := types.EncodeRowKey(nil, row, []int{0})
				if err != nil {
					t.Fatal(err)
				}
				r := lsm.Record{Key: key, Seq: seq, Kind: randKind(rng), Row: row}
				changelog = append(changelog, r)
				byKey[string(key)] = append(byKey[string(key)], r)
			}
			// The oracle: each key's whole changelog merged at once.
			want := map[string]lsm.Record{}
			for k, recs := range byKey {
				if r := m.Merge(recs); r.Kind.IsAdd() {
					want[k] = r
				}
			}
			runs := writeRuns(t, rng, m, s, changelog)
			runs = compactRuns(t, ctx, rng, m, s, runs)

			// Merged read of every run.
			var srcs []iter.Seq2[lsm.Record, error]
			var fileSrcs []lsm.FileSource
			opened := map[int]int{}
			for _, run := range runs {
				var readers []*lsm.FileReader
				for _, f := range run.files {
					fr := openEncoded(t, f, s)
					readers = append(readers, fr)
					i, data := len(fileSrcs), f.Data
					fileSrcs = append(fileSrcs, lsm.FileSource{
						Meta: manifest.DataFile{MinKey: f.MinKey, MaxKey: f.MaxKey, Size: int64(len(data))},
						Open: func(ctx context.Context) (*lsm.FileReader, error) {
							opened[i]++
							return lsm.OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
						},
					})
				}
				srcs = append(srcs, concatRun(ctx, readers))
			}
			got := 0
			for r, err := range lsm.MergeRuns(ctx, srcs, m, false) {
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				w, ok := want[string(r.Key)]
				if !ok || visible(r) != visible(w) {
					t.Fatalf("%s: key %x read %s, want %s (present=%t)", label, r.Key, visible(r), visible(w), ok)
				}
				got++
			}
			if got != len(want) {
				t.Fatalf("%s: read %d rows, want %d", label, got, len(want))
			}

			// Point lookups of present, deleted and never-written keys.
			for probe := 0; probe < 60; probe++ {
				key, _ := types.EncodeKey(nil, rng.Int64N(int64(nkeys)*3+3)-1)
				clear(opened)
				r, ok, st, err := lsm.Lookup(ctx, fileSrcs, key, m)
				if err != nil {
					t.Fatalf("%s: lookup: %v", label, err)
				}
				w, wantOK := want[string(key)]
				if ok != wantOK || ok && visible(r) != visible(w) {
					t.Fatalf("%s: lookup %x = %t %s, want %t %s", label, key, ok, visible(r), wantOK, visible(w))
				}
				inRange := 0
				for i, fs := range fileSrcs {
					admits := bytes.Compare(key, fs.Meta.MinKey) >= 0 && bytes.Compare(key, fs.Meta.MaxKey) <= 0
					if admits {
						inRange++
					}
					if opened[i] > 0 && !admits {
						t.Fatalf("%s: lookup %x opened file %d outside its key range", label, key, i)
					}
				}
				if st.Opened != inRange {
					t.Fatalf("%s: lookup opened %d files, %d admit the key", label, st.Opened, inRange)
				}
			}
		}
	}
}

// writeRuns splits the changelog into contiguous runs, each flushed through
// a write buffer into one or more small Parquet files.
func writeRuns(t *testing.T, rng *rand.Rand, m lsm.Merger, s *types.Schema, changelog []lsm.Record) []oracleRun {
	t.Helper()
	var runs []oracleRun
	for len(changelog) > 0 {
		n := min(len(changelog), 1+rng.IntN(120))
		wb := lsm.NewWriteBuffer()
		for _, r := range changelog[:n] {
			wb.Add(r)
		}
		changelog = changelog[n:]
		files, err := lsm.WriteFiles(wb.Flush(m), s, lsm.WriterOptions{RowGroupRows: 1 + rng.IntN(10), TargetFileSize: int64(2000 + rng.IntN(6000))})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, oracleRun{files: files})
	}
	return runs
}

// compactRuns merges random groups of adjacent runs into one, as a
// compaction does: keepDeletes, so tombstones and retractions survive.
func compactRuns(t *testing.T, ctx context.Context, rng *rand.Rand, m lsm.Merger, s *types.Schema, runs []oracleRun) []oracleRun {
	t.Helper()
	for round := rng.IntN(3); round > 0 && len(runs) > 1; round-- {
		i := rng.IntN(len(runs) - 1)
		j := i + 2 + rng.IntN(min(3, len(runs)-i-1))
		j = min(j, len(runs))
		var srcs []iter.Seq2[lsm.Record, error]
		for _, run := range runs[i:j] {
			var readers []*lsm.FileReader
			for _, f := range run.files {
				readers = append(readers, openEncoded(t, f, s))
			}
			srcs = append(srcs, concatRun(ctx, readers))
		}
		var merged []lsm.Record
		for r, err := range lsm.MergeRuns(ctx, srcs, m, true) {
			if err != nil {
				t.Fatal(err)
			}
			merged = append(merged, r)
		}
		var out oracleRun
		if len(merged) > 0 {
			files, err := lsm.WriteFiles(merged, s, lsm.WriterOptions{RowGroupRows: 1 + rng.IntN(10), TargetFileSize: int64(2000 + rng.IntN(6000))})
			if err != nil {
				t.Fatal(err)
			}
			out.files = files
		}
		runs = slices.Replace(runs, i, j, out)
	}
	return runs
}

func openEncoded(t *testing.T, f lsm.EncodedFile, s *types.Schema) *lsm.FileReader {
	t.Helper()
	fr, err := lsm.OpenFile(context.Background(), bytes.NewReader(f.Data), int64(len(f.Data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// concatRun yields the records of a run's files, which are in key order.
func concatRun(ctx context.Context, readers []*lsm.FileReader) iter.Seq2[lsm.Record, error] {
	return func(yield func(lsm.Record, error) bool) {
		for _, fr := range readers {
			for r, err := range fr.All(ctx) {
				if !yield(r, err) || err != nil {
					return
				}
			}
		}
	}
}
