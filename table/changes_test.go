package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// applyChangeList applies changes to a copy of state.
func applyChangeList(state map[modelKey]types.Row, changes []Change) map[modelKey]types.Row {
	out := make(map[modelKey]types.Row, len(state))
	for k, v := range state {
		out[k] = v
	}
	for _, c := range changes {
		k := modelKey{c.Row[0].(string), c.Row[1].(int32)}
		if c.Kind.IsAdd() {
			out[k] = c.Row
		} else {
			delete(out, k)
		}
	}
	return out
}

func changeList(ctx context.Context, tb *Table, from, to *manifest.Snapshot, lookupKeys int) ([]Change, error) {
	var out []Change
	for c, err := range tb.changes(ctx, from, to, lookupKeys) {
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// checkChangeOrder checks that changes come by snapshot id within (from,
// to], and within one snapshot by partition, bucket and key.
func checkChangeOrder(tb *Table, from, to int64, changes []Change) error {
	type pos struct {
		id        int64
		partition string
		bucket    int
		key       []byte
	}
	var prev *pos
	for i, c := range changes {
		if c.SnapshotID <= from || c.SnapshotID > to {
			return fmt.Errorf("change %d: snapshot %d outside (%d, %d]", i, c.SnapshotID, from, to)
		}
		b, err := tb.bucketOf(c.Row)
		if err != nil {
			return err
		}
		key, err := types.EncodeRowKey(nil, c.Row, tb.keyIdx)
		if err != nil {
			return err
		}
		p := &pos{c.SnapshotID, tb.partitionPath(c.Row), b, key}
		if prev != nil {
			less := prev.id < p.id || prev.id == p.id && (prev.partition < p.partition ||
				prev.partition == p.partition && (prev.bucket < p.bucket ||
					prev.bucket == p.bucket && bytes.Compare(prev.key, p.key) <= 0))
			if !less {
				return fmt.Errorf("change %d (%v %v) out of order after %+v", i, c.Kind, c.Row, *prev)
			}
		}
		prev = p
	}
	return nil
}

// TestChangesRandomized builds a random history of APPEND, COMPACT,
// OVERWRITE (a bucket cleared) and REPLACE (content of an older snapshot)
// commits, with some snapshots expired, for every merge engine, and checks
// that Changes(a, b) applied to the state at a yields the state at b for
// random pairs a < b (a may be the empty table), both diff strategies
// (point lookups and bucket merges), that changes are ordered, and that a
// COMPACT commit yields no change.
func TestChangesRandomized(t *testing.T) {
	seed := testSeed(t)
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
		t.Run(engine, func(t *testing.T) {
			h := fnv.New64a()
			h.Write([]byte(engine))
			runChangesModel(t, seed^h.Sum64(), engine)
		})
	}
}

func runChangesModel(t *testing.T, seed uint64, engine string) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	store := objstore.NewMem()
	tb, err := Open("db.t", store, "wh/db.db/t/", compactSchema(engine), Env{})
	if err != nil {
		t.Fatal(err)
	}
	var snaps []*manifest.Snapshot // every snapshot, expired ones included
	states := map[int64]map[modelKey]types.Row{}
	record := func(s *manifest.Snapshot) {
		t.Helper()
		if s == nil {
			return
		}
		if n := len(snaps); n > 0 && snaps[n-1].ID == s.ID {
			return
		}
		snaps = append(snaps, s)
		states[s.ID] = readAll(t, ctx, tb, s.ID)
	}
	latest := func() *manifest.Snapshot {
		t.Helper()
		s, err := tb.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const keys = 120
	w := tb.NewWriter("model")
	kinds := map[manifest.CommitKind]int{}
	expired := map[int64]bool{}
	for c := 1; c <= 26; c++ {
		switch p := rng.IntN(10); {
		case p < 6 || len(snaps) == 0:
			n := rng.IntN(80)
			window := -1
			if rng.IntN(2) == 0 {
				window = rng.IntN(keys - 8)
			}
			for i := 0; i < n; i++ {
				r := randRow(rng, keys)
				if window >= 0 {
					r[1] = int32(window + rng.IntN(8))
				}
				kind := []types.RowKind{types.Insert, types.Insert, types.UpdateAfter, types.Delete, types.UpdateBefore}[rng.IntN(5)]
				if kind == types.UpdateBefore && engine == EngineAggregation {
					kind = types.Delete
				}
				if err := w.Write(ctx, kind, r); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
				t.Fatal(err)
			}
		case p < 8:
			if _, err := tb.Compact(ctx, CompactOptions{Full: rng.IntN(2) == 0, User: "compactor"}); err != nil && !errors.Is(err, types.ErrConflict) {
				t.Fatal(err)
			}
		case p < 9:
			// OVERWRITE: clear one bucket (again if the writer's background
			// compaction replaced one of its files first).
			for attempt := 0; ; attempt++ {
				cur := latest()
				files, err := tb.meta.Files(ctx, cur)
				if err != nil {
					t.Fatal(err)
				}
				if len(files) == 0 {
					break
				}
				pick := files[rng.IntN(len(files))]
				var del []manifest.DataFile
				for _, f := range files {
					if f.Partition == pick.Partition && f.Bucket == pick.Bucket {
						del = append(del, f)
					}
				}
				_, err = tb.meta.Commit(ctx, manifest.Commit{User: "overwrite", Identifier: fmt.Sprint(c, "-", attempt),
					Kind: manifest.CommitOverwrite, SchemaID: tb.schema.ID, Deleted: del})
				if err == nil {
					break
				}
				if !errors.Is(err, types.ErrConflict) || attempt == 10 {
					t.Fatal(err)
				}
			}
		default:
			// REPLACE with an older snapshot's content.
			src := snaps[rng.IntN(len(snaps))]
			if _, err := tb.meta.Commit(ctx, manifest.Commit{User: "rollback", Identifier: fmt.Sprint(c),
				Kind: manifest.CommitReplace, Source: src}); err != nil {
				t.Fatal(err)
			}
		}
		s := latest()
		record(s)
		if s != nil {
			kinds[s.CommitKind]++
		}
		// Expire a random older snapshot now and then (its object only:
		// its files stay, as a lease or tag would keep them).
		if len(snaps) > 3 && rng.IntN(6) == 0 {
			victim := snaps[rng.IntN(len(snaps)-1)]
			if err := store.Delete(ctx, tb.Root()+manifest.SnapshotPath(victim.ID)); err != nil {
				t.Fatal(err)
			}
			expired[victim.ID] = true
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d snapshots %v, %d expired", len(snaps), kinds, len(expired))

	strategies := []int{0, 2, changesLookupKeys, 1 << 30}
	check := func(a, b int, lookupKeys int) {
		t.Helper()
		var from *manifest.Snapshot
		var fromID int64
		want := map[modelKey]types.Row{}
		if a >= 0 {
			from, fromID = snaps[a], snaps[a].ID
			want = states[fromID]
		}
		to := snaps[b]
		got, err := changeList(ctx, tb, from, to, lookupKeys)
		if err != nil {
			t.Fatalf("changes (%d, %d]: %v", fromID, to.ID, err)
		}
		if d := diffStates(applyChangeList(want, got), states[to.ID]); d != "" {
			t.Fatalf("changes (%d, %d] (lookup threshold %d) applied to snapshot %d do not give snapshot %d:\n%s", fromID, to.ID, lookupKeys, fromID, to.ID, d)
		}
		if err := checkChangeOrder(tb, fromID, to.ID, got); err != nil {
			t.Fatalf("changes (%d, %d]: %v", fromID, to.ID, err)
		}
	}
	// Every single commit.
	for i := range snaps {
		check(i-1, i, strategies[rng.IntN(len(strategies))])
		// A COMPACT commit right after its parent changes nothing (a
		// recorded COMPACT snapshot may also follow unrecorded commits when
		// the writer's background compaction landed after them).
		if snaps[i].CommitKind == manifest.CommitCompact && i > 0 && snaps[i-1].ID == snaps[i].ID-1 {
			got, err := changeList(ctx, tb, snaps[i-1], snaps[i], changesLookupKeys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Fatalf("compaction snapshot %d yields %d changes", snaps[i].ID, len(got))
			}
		}
	}
	// Random pairs, including from the empty table.
	for n := 0; n < 40; n++ {
		b := rng.IntN(len(snaps))
		a := rng.IntN(b+1) - 1
		check(a, b, strategies[rng.IntN(len(strategies))])
	}
	// Misuse is an error, not a panic.
	if len(snaps) > 1 {
		if _, err := changeList(ctx, tb, snaps[1], snaps[0], 0); !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("changes with from after to: %v", err)
		}
	}
	if got, err := changeList(ctx, tb, nil, nil, 0); err != nil || len(got) != 0 {
		t.Fatalf("changes of nothing: %v %v", got, err)
	}
}

// TestChangesUseChangelogFiles checks that a commit with changelog files
// yields their rows as written (sorted by bucket, key and sequence)
// instead of a diff.
func TestChangesUseChangelogFiles(t *testing.T) {
	ctx := context.Background()
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", simpleSchema(1), Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	mustWrite(t, w, types.Insert, types.Row{int64(1), "a"})
	s1, err := w.Commit(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	// A data file updating key 1 and a changelog file that (deliberately)
	// says something a diff would not: the changelog wins.
	enc := func(recs []lsm.Record) manifest.DataFile {
		t.Helper()
		files, err := lsm.WriteFiles(recs, tb.schema, lsm.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f := files[0]
		path := tb.dataFilePath("", 0)
		if _, err := tb.store.Put(ctx, tb.root+path, f.Data); err != nil {
			t.Fatal(err)
		}
		return manifest.DataFile{Path: path, RowCount: f.RowCount, DeleteCount: f.DeleteCount, Size: int64(len(f.Data)),
			MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq, SchemaID: tb.schema.ID}
	}
	key := func(id int64) []byte {
		k, _ := types.EncodeRowKey(nil, types.Row{id, nil}, tb.keyIdx)
		return k
	}
	data := enc([]lsm.Record{{Key: key(1), Seq: 0, Kind: types.UpdateAfter, Row: types.Row{int64(1), "b"}, Merged: true}})
	cl := enc([]lsm.Record{
		{Key: key(1), Seq: 0, Kind: types.UpdateBefore, Row: types.Row{int64(1), "a"}, Merged: true},
		{Key: key(1), Seq: 1, Kind: types.UpdateAfter, Row: types.Row{int64(1), "b"}, Merged: true},
		{Key: key(7), Seq: 1, Kind: types.Insert, Row: types.Row{int64(7), "x"}, Merged: true},
	})
	s2, err := tb.meta.Commit(ctx, manifest.Commit{User: "p", Identifier: "2", Kind: manifest.CommitAppend,
		SchemaID: tb.schema.ID, Added: []manifest.DataFile{data}, Changelog: []manifest.DataFile{cl}, SeqCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := changeList(ctx, tb, s1, s2, changesLookupKeys)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, fmt.Sprintf("%d %v %v", c.SnapshotID, c.Kind, c.Row))
	}
	want := []string{"2 -U [1 a]", "2 +U [1 b]", "2 +I [7 x]"}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", lines, want)
	}
	// Without the changelog the same commit diffs to an update only.
	got, err = changeList(ctx, tb, nil, s2, changesLookupKeys)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].SnapshotID < got[j].SnapshotID })
	if len(got) != 4 || got[0].Kind != types.Insert || got[0].SnapshotID != 1 {
		t.Fatalf("changes from the empty table: %v", got)
	}
}
