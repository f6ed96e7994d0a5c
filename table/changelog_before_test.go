package table

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// loadedLookupTable opens a deduplicate table with the lookup producer and
// a lookup index, loads keys 0..n-1 in three commits (several files per
// bucket) and returns it with its writer.
func loadedLookupTable(t *testing.T, store objstore.Store, n int64) (*Table, *Writer) {
	t.Helper()
	ctx := context.Background()
	s := simpleSchema(2)
	s.Options[OptChangelogProducer] = ProducerLookup
	s.Options[OptRowGroupRows] = "16"
	s.Options[OptWriteOnly] = "true" // no inline compaction: a fixed set of files
	s.Options[OptStopTrigger] = "10000"
	reg := NewLookupIndexes()
	t.Cleanup(func() { reg.Close() })
	tb := indexedTable(t, store, s, t.TempDir(), reg)
	w := tb.NewWriter("w")
	t.Cleanup(func() { _ = w.Close(ctx) })
	for c := int64(0); c < 3; c++ {
		for i := c; i < n; i += 3 {
			mustWrite(t, w, types.Insert, types.Row{i, fmt.Sprint("v", i)})
		}
		if _, err := w.Commit(ctx, fmt.Sprint("load", c)); err != nil {
			t.Fatal(err)
		}
	}
	return tb, w
}

// TestChangelogLookupIndexBusy: when the lookup index cannot answer (here:
// another goroutine holds its catch-up slot), the before-images of a commit
// are read from the parent's data files once for all keys, not by a point
// lookup per key that reads the manifests and files again each time.
func TestChangelogLookupIndexBusy(t *testing.T) {
	ctx := context.Background()
	store := &getCountingStore{Store: objstore.NewMem()}
	tb, w := loadedLookupTable(t, store, 600)
	base, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tb.Meta().Files(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	x := tb.lookupIndex()
	x.sem <- struct{}{} // busy: the index stays behind base
	defer func() { <-x.sem }()
	for i := int64(0); i < 200; i++ {
		mustWrite(t, w, types.Insert, types.Row{i * 3, "new"})
	}
	st0 := tb.LookupIndexStats()
	store.dataGets.Store(0)
	snap, err := w.Commit(ctx, "upserts")
	if err != nil {
		t.Fatal(err)
	}
	gets := store.dataGets.Load()
	st := tb.LookupIndexStats()
	if st.IndexLookups != st0.IndexLookups || st.FileLookups-st0.FileLookups != 200 {
		t.Fatalf("index lookups %d, file lookups %d: want all 200 from the files", st.IndexLookups-st0.IndexLookups, st.FileLookups-st0.FileLookups)
	}
	// The base's files at most once each, plus the commit's own new files
	// (read back to know what it wrote).
	added := 0
	if all, err := tb.Meta().Files(ctx, snap); err == nil {
		added = len(all) - len(files)
	}
	if limit := int64(len(files) + added); gets > limit {
		t.Fatalf("commit read data files %d times; the base has %d files and the commit added %d", gets, len(files), added)
	}
	cs := collectChanges(t, ctx, tb, base, snap)
	if len(cs) != 400 || cs[0].Kind != types.UpdateBefore || cs[1].Kind != types.UpdateAfter {
		t.Fatalf("%d changes, first %v: want 200 -U/+U pairs", len(cs), cs[:min(len(cs), 2)])
	}
}

// TestChangelogLookupIndexCatchesUpToBase: the before-images are read at
// the snapshot the commit resolved as the latest; when another commit (a
// compaction) lands before they are read, the index still catches up to
// that snapshot and answers every key instead of leaving them all to the
// data files.
func TestChangelogLookupIndexCatchesUpToBase(t *testing.T) {
	ctx := context.Background()
	tb, w := loadedLookupTable(t, objstore.NewMem(), 300)
	if _, _, err := tb.Get(ctx, 0, int64(1)); err != nil { // the index, current at the load
		t.Fatal(err)
	}
	for i := int64(0); i < 50; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "second"})
	}
	base, err := w.Commit(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil { // lands after base
		t.Fatal(err)
	}
	for i := int64(0); i < 100; i++ {
		mustWrite(t, w, types.Insert, types.Row{i * 2, "third"})
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st0 := tb.LookupIndexStats()
	files, _, err := w.lookupChangelog(ctx, base, w.pending, w.seq)
	if err != nil {
		t.Fatal(err)
	}
	w.t.deleteFiles(ctx, files)
	st := tb.LookupIndexStats()
	if got := st.IndexLookups - st0.IndexLookups; got != 100 || st.FileLookups != st0.FileLookups {
		t.Fatalf("index answered %d of 100 keys (%d from files)", got, st.FileLookups-st0.FileLookups)
	}
}

// TestChangelogLookupPaths checks the lookup changelog of random commits,
// for every merge engine, against two oracles: the model (the exact
// per-key spec) and the changelog computed by the reference path, a
// LookupRecord of each written key in the parent's data files. The
// before-images come in turn from the table's lookup index, from the
// writer's private index (no index in the Env: from its second commit
// on), from the data files with the index busy, from GetMany's file path
// and from the bucket merge (small and large thresholds), for all buckets
// at once or in batches, with compactions in between.
// Replay: go test ./table -run TestChangelogLookupPaths -seed N.
func TestChangelogLookupPaths(t *testing.T) {
	seed := testSeed(t)
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
		for _, index := range []string{"files", "private", "table"} {
			name := fmt.Sprintf("%s/index=%s", engine, index)
			t.Run(name, func(t *testing.T) {
				h := fnv.New64a()
				h.Write([]byte(name))
				rng := rand.New(rand.NewPCG(seed, h.Sum64()))
				runChangelogPaths(t, rng, engine, index, 10, 60)
			})
		}
	}
}

// runChangelogPaths: index is where before-images come from when they can
// ("table": the Env's lookup index, "private": the writer's own, "files":
// the data files only).
func runChangelogPaths(t *testing.T, rng *rand.Rand, engine string, index string, commits, keys int) {
	ctx := context.Background()
	schema := modelSchema(engine, 1+rng.IntN(3), rng.IntN(2) == 0)
	schema.Options[OptChangelogProducer] = ProducerLookup
	schema.Options[OptWriteOnly] = "true" // compactions only where the test makes them
	schema.Options[OptStopTrigger] = "10000"
	indexed := index == "table"
	var env Env
	switch index {
	case "table":
		reg := NewLookupIndexes()
		defer reg.Close()
		env = Env{LocalDir: t.TempDir(), Indexes: reg, StoreID: "test"}
	case "private":
		env = Env{LocalDir: t.TempDir()}
	}
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, env)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{engine: engine, state: map[modelKey]types.Row{}}
	var prevSnap *manifest.Snapshot
	w := tb.NewWriter("model")
	w.cl.noIndex = index == "files"
	defer func() {
		if err := w.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		if index == "private" { // the private index is deleted
			if left, err := os.ReadDir(env.LocalDir); err != nil || len(left) != 0 {
				t.Errorf("after Close the local directory holds %d entries, %v", len(left), err)
			}
		}
	}()
	for c := 1; c <= commits; c++ {
		fromIndex := w.cl.lookups.FromIndex
		w.cl.lookupKeys = []int{0, 1, 1 + rng.IntN(20)}[rng.IntN(3)]
		w.cl.batchKeys = []int{0, 1, 1 + rng.IntN(60)}[rng.IntN(3)] // 1: a batch per bucket
		busy := indexed && rng.IntN(4) == 0
		if indexed && rng.IntN(3) == 0 {
			_, _, _ = tb.Get(ctx, 0, "eu", int32(0)) // the index current before the commit
		}
		prev := m.clone()
		n := 1 + rng.IntN(120)
		for i := 0; i < n; i++ {
			r := randRow(rng, keys)
			kind := types.Insert
			switch p := rng.IntN(10); {
			case p < 2:
				kind = types.Delete
			case p < 3 && engine != EngineAggregation:
				kind = types.UpdateBefore
			case p < 5:
				kind = types.UpdateAfter
			}
			if err := w.Write(ctx, kind, r); err != nil {
				t.Fatalf("write %v %v: %v", kind, r, err)
			}
			m.apply(kind, r)
		}
		var x *lookupIndex
		if busy {
			if x = tb.lookupIndex(); x != nil {
				x.sem <- struct{}{}
			}
		}
		snap, err := w.Commit(ctx, fmt.Sprint(c))
		if x != nil {
			<-x.sem
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, ctx, tb, snap.ID); diffStates(got, m.state) != "" {
			t.Fatalf("commit %d: table differs from the model:\n%s", c, diffStates(got, m.state))
		}
		cs := collectChanges(t, ctx, tb, prevSnap, snap)
		if err := checkLookupChangelog(prev, m.state, cs); err != nil {
			t.Fatalf("commit %d (snapshot %d, %d rows written, threshold %d, index busy %v): changelog is not exact:\n%s", c, snap.ID, n, w.cl.lookupKeys, busy, err)
		}
		if prevSnap != nil {
			ref := referenceChangelog(t, ctx, tb, prevSnap, snap)
			got, want := changesByKey(cs), changesByKey(ref)
			for k := range want {
				if fmtChanges(got[k]) != fmtChanges(want[k]) {
					t.Fatalf("commit %d: key %v: changelog %s, reference path %s", c, k, fmtChanges(got[k]), fmtChanges(want[k]))
				}
			}
			if len(cs) != len(ref) {
				t.Fatalf("commit %d: %d changelog rows, the reference path gives %d", c, len(cs), len(ref))
			}
		}
		switch got := w.cl.lookups.FromIndex - fromIndex; {
		case index == "private" && c > 1 && got == 0 && w.cl.lookups.Keys > 0:
			t.Fatalf("commit %d: the writer's private lookup index answered no before-image", c)
		case index != "table" && (index == "files" || c == 1) && got != 0:
			t.Fatalf("commit %d: %d before-images from an index, want none (index=%s)", c, got, index)
		}
		prevSnap = snap
		if rng.IntN(3) == 0 {
			if _, err := tb.Compact(ctx, CompactOptions{Full: rng.IntN(2) == 0}); err != nil {
				t.Fatal(err)
			}
			if prevSnap, err = tb.Latest(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// referenceChangelog computes the lookup changelog of the APPEND commit
// snap on parent by the reference path: the commit's merged record of each
// key, and its before-image by LookupRecord's file path in the parent.
func referenceChangelog(t *testing.T, ctx context.Context, tb *Table, parent, snap *manifest.Snapshot) []Change {
	t.Helper()
	old, err := tb.Meta().Files(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	had := map[string]bool{}
	for _, f := range old {
		had[f.Path] = true
	}
	all, err := tb.Meta().Files(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	var added []manifest.DataFile
	for _, f := range all {
		if !had[f.Path] {
			added = append(added, f)
		}
	}
	groups, ids := filesByBucket(added)
	var out []Change
	for _, g := range ids {
		for rec, err := range tb.readGroup(ctx, groups[g], true) {
			if err != nil {
				t.Fatal(err)
			}
			rec.Seq += parent.NextSequence
			before, ok, err := tb.lookupFiles(ctx, parent, g.partition, g.bucket, rec.Key)
			if err != nil {
				t.Fatal(err)
			}
			tb.change(tb.canonicalKind(before, ok), ok, rec, func(_ []byte, kind types.RowKind, row types.Row) {
				out = append(out, Change{Kind: kind, Row: row})
			})
		}
	}
	return out
}

// failChangelogStore fails the uploads of changelog files after the first.
type failChangelogStore struct {
	objstore.Store
	mu   sync.Mutex
	puts int
}

func (s *failChangelogStore) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	if strings.Contains(key, "/changelog-") {
		s.mu.Lock()
		s.puts++
		n := s.puts
		s.mu.Unlock()
		if n > 1 {
			return objstore.ObjectInfo{}, errors.New("injected upload failure")
		}
	}
	return s.Store.Put(ctx, key, data)
}

// TestChangelogLookupUploadFails: when one of a commit's changelog uploads
// (made together, one per bucket) fails, the commit fails and leaves no
// changelog file behind.
func TestChangelogLookupUploadFails(t *testing.T) {
	ctx := context.Background()
	store := &failChangelogStore{Store: objstore.NewMem()}
	s := simpleSchema(4)
	s.Options[OptChangelogProducer] = ProducerLookup
	tb, err := Open("db.t", store, "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	defer func() { _ = w.Close(ctx) }()
	for i := int64(0); i < 40; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "v"})
	}
	if _, err := w.Commit(ctx, "1"); err == nil || !strings.Contains(err.Error(), "injected upload failure") {
		t.Fatalf("commit: %v, want the upload failure", err)
	}
	objs, err := store.List(ctx, "t/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.Contains(o.Key, "/changelog-") {
			t.Fatalf("changelog file %s left behind", o.Key)
		}
	}
}
