package compaction

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

func testSeed(t testing.TB) uint64 {
	t.Helper()
	return testkit.Seed(t)
}

// concat is an associative merge engine whose result lists every value it
// merged: a record merged one time too many, or not at all, shows.
type concat struct{}

func (concat) Merge(recs []lsm.Record) lsm.Record {
	if len(recs) == 1 {
		return recs[0] // a merged record alone is final (lsm.Merger)
	}
	var vs []string
	for _, r := range recs {
		if v, ok := r.Row[1].(string); ok {
			vs = append(vs, v)
		}
	}
	last := recs[len(recs)-1]
	row := slices.Clone(last.Row)
	row[1] = strings.Join(vs, "+")
	last.Row = row
	return last
}

func (concat) CanDrop(*lsm.Record) bool { return true }

// dump reads files in key order and renders every record with its
// absolute sequence number, checking each file's manifest facts and that
// the files are sorted and disjoint.
func (fx *fixture) dump(files []manifest.DataFile) []string {
	t := fx.t
	ctx := context.Background()
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b manifest.DataFile) int { return bytes.Compare(a.MinKey, b.MinKey) })
	var out []string
	var last []byte
	for _, f := range files {
		data, _, err := fx.store.Get(ctx, fx.root+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := lsm.OpenFile(ctx, bytes.NewReader(data), f.Size, testSchema(), f.SeqBase)
		if err != nil {
			t.Fatal(err)
		}
		var n, dels int64
		minSeq, maxSeq := int64(-1), int64(-1)
		for r, err := range fr.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if last != nil && bytes.Compare(r.Key, last) <= 0 && n == 0 {
				t.Fatalf("file %s starts at key %x, not after %x", f.Path, r.Key, last)
			}
			if n == 0 {
				if !bytes.Equal(r.Key, f.MinKey) {
					t.Fatalf("file %s: MinKey %x, first key %x", f.Path, f.MinKey, r.Key)
				}
				minSeq, maxSeq = r.Seq, r.Seq
			}
			last = r.Key
			n++
			if !r.Kind.IsAdd() {
				dels++
			}
			minSeq, maxSeq = min(minSeq, r.Seq), max(maxSeq, r.Seq)
			out = append(out, fmt.Sprintf("%x/%d/%s/%t/%v", r.Key, r.Seq, r.Kind, r.Reset, r.Row))
		}
		if n != f.RowCount || dels != f.DeleteCount || !bytes.Equal(last, f.MaxKey) || minSeq != f.MinSeq || maxSeq != f.MaxSeq {
			t.Fatalf("file %s: manifest says %d rows, %d deletes, max key %x, seq [%d,%d]; file has %d, %d, %x, [%d,%d]",
				f.Path, f.RowCount, f.DeleteCount, f.MaxKey, f.MinSeq, f.MaxSeq, n, dels, last, minSeq, maxSeq)
		}
	}
	return out
}

// randomRows returns rows of a few random key intervals of [0, keys).
func randomRows(rng *rand.Rand, keys int64, tag string) []row {
	ids := map[int64]bool{}
	for range 1 + rng.IntN(3) {
		from := rng.Int64N(keys)
		to := min(keys, from+10+rng.Int64N(keys/3))
		for i := from; i < to; i++ {
			if rng.IntN(8) != 0 {
				ids[i] = true
			}
		}
	}
	var out []row
	for _, id := range slices.Sorted(func(yield func(int64) bool) {
		for id := range ids {
			if !yield(id) {
				return
			}
		}
	}) {
		r := row{id: id, kind: types.Insert, v: fmt.Sprintf("%s%d", tag, id)}
		switch rng.IntN(12) {
		case 0:
			r.kind = types.Delete
		case 1:
			r.kind = types.UpdateAfter
		}
		out = append(out, r)
	}
	return out
}

// TestExecuteCopiesRowGroups: compactions with row-group copying produce
// exactly the records of compactions without it (same keys, sequence
// numbers, kinds and rows, in the same order, with correct manifest facts),
// for random plans whose inputs overlap partly, with engines with and
// without Dropper, and copying does happen.
func TestExecuteCopiesRowGroups(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(testSeed(t), 31))
	var total Stats
	for round := range 40 {
		fx := newFixture(t)
		const keys = 3000
		nRuns := 2 + rng.IntN(4)
		var inputs []Run
		for i := range nRuns {
			level := 0
			if i == nRuns-1 && rng.IntN(2) == 0 {
				level = 3
			}
			rows := randomRows(rng, keys, fmt.Sprintf("r%d.", i))
			if len(rows) == 0 {
				rows = seqRows(0, 1, "x")
			}
			base := int64(nRuns-i) * 10000
			files := fx.run(level, base, rng.IntN(2) == 0, int64(4<<10+rng.IntN(32<<10)), rows)
			if level == 0 {
				for _, f := range files { // each level-0 file is its own run
					inputs = append(inputs, Run{Level: 0, Files: []manifest.DataFile{f}})
				}
				continue
			}
			inputs = append(inputs, Run{Level: level, Files: files})
		}
		// Level-0 runs are newest first, so sequence numbers must fall with
		// the run index: fx.run gave each interval's files one base, the
		// files of an interval are disjoint, so the order holds.
		p := Plan{Inputs: inputs, OutputLevel: 4, DropDeletes: rng.IntN(2) == 0}
		merger := []lsm.Merger{lastWins{}, droppingLastWins{}, concat{}}[rng.IntN(3)]
		o := Options{RowGroupRows: 50, TargetFileSize: int64(8<<10 + rng.IntN(64<<10)), UpgradeMinSize: int64(rng.IntN(2)) << 40}
		with, err := fx.executor(merger, o).Execute(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		o.NoRowGroupCopy = true
		ex := fx.executor(merger, o)
		n := 0
		ex.NewID = func() string { n++; return fmt.Sprintf("nocopy-%d", n) }
		without, err := ex.Execute(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if without.Stats.RowGroupsCopied != 0 {
			t.Fatalf("round %d: %d row groups copied with copying off", round, without.Stats.RowGroupsCopied)
		}
		got, want := fx.dump(with.Added), fx.dump(without.Added)
		if !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("round %d (%T, drop %t): record %d: with copying %s, without %s", round, merger, p.DropDeletes, i, got[i], want[i])
				}
			}
			t.Fatalf("round %d: %d records with copying, %d without", round, len(got), len(want))
		}
		if with.Stats.RecordsWritten != without.Stats.RecordsWritten || with.Stats.DeletesDropped != without.Stats.DeletesDropped ||
			!slices.Equal(with.Upgrades, without.Upgrades) {
			t.Fatalf("round %d: stats with copying %+v, without %+v", round, with.Stats, without.Stats)
		}
		if with.Stats.RowGroupsCopied > 0 && with.Stats.RowsCopied == 0 {
			t.Fatalf("round %d: stats %+v", round, with.Stats)
		}
		total.Add(with.Stats)
	}
	t.Logf("row groups copied %d (%d rows, %d bytes), merged %d, re-encoded %d",
		total.RowGroupsCopied, total.RowsCopied, total.BytesCopied, total.RowGroupsMerged, total.RowGroupsReencoded)
	if total.RowGroupsCopied == 0 || total.RowGroupsReencoded != 0 {
		t.Fatalf("row groups copied %d, re-encoded %d", total.RowGroupsCopied, total.RowGroupsReencoded)
	}
}

// TestExecuteCopyDetectsCorruption: a flipped bit in a row group that
// would be copied fails the compaction with ErrCorruption instead of
// being copied into the output.
func TestExecuteCopyDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	old := fx.run(3, 0, false, 1<<20, seqRows(0, 500, "old"))
	upd := fx.run(0, 1000, false, 1<<20, seqRows(0, 10, "new"))
	p := Plan{Inputs: []Run{{0, upd}, {3, old}}, OutputLevel: 3}
	res, err := fx.executor(lastWins{}, Options{RowGroupRows: 50, UpgradeMinSize: 1}).Execute(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.RowGroupsCopied != 9 || res.Stats.RowGroupsMerged != 2 {
		t.Fatalf("stats %+v, want 9 row groups copied and 2 merged", res.Stats)
	}
	key := fx.root + old[0].Path
	data, _, err := fx.store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rgs := pf.Metadata().RowGroups
	at := rgs[len(rgs)-1].Columns[3].MetaData.DataPageOffset + 5 // a page of the last row group's "v"
	data = bytes.Clone(data)
	data[at] ^= 0x10
	if _, err := fx.store.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	ex := fx.executor(lastWins{}, Options{RowGroupRows: 50, UpgradeMinSize: 1})
	ex.NewID = func() string { return "after-flip" }
	if _, err := ex.Execute(ctx, p); !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "row group 9") {
		t.Fatalf("compaction over a damaged row group: %v, want ErrCorruption in row group 9", err)
	}
}
