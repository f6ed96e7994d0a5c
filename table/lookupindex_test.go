package table

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

var lookupLong = flag.Bool("lookup-long", false, "run the long randomized lookup-index tests")

// getCountingStore counts GETs, separately for data files.
type getCountingStore struct {
	objstore.Store
	gets, dataGets atomic.Int64
}

func (c *getCountingStore) count(key string) {
	c.gets.Add(1)
	if strings.Contains(key, "/data/") {
		c.dataGets.Add(1)
	}
}

func (c *getCountingStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	c.count(key)
	return c.Store.Get(ctx, key)
}

func (c *getCountingStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	c.count(key)
	return c.Store.GetRange(ctx, key, off, n)
}

// indexedTable opens the table at root with a lookup index under dir
// registered in reg.
func indexedTable(t *testing.T, store objstore.Store, schema *types.Schema, dir string, reg *LookupIndexes) *Table {
	t.Helper()
	tb, err := Open("db.t", store, "wh/db.db/t/", schema, Env{LocalDir: dir, Indexes: reg, StoreID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestLookupIndexOracle: random writes, deletes, commits and compactions
// for every merge engine; after each commit, Get at the latest snapshot
// and at random older ones with the index enabled must equal the model
// and the same table read without an index, and LookupRecord must agree
// with the file path up to tombstones a compaction may drop. Mid-run the
// index directory is wiped, its files corrupted, or single Pebble values
// garbled; every such event must be survived with identical answers.
func TestLookupIndexOracle(t *testing.T) {
	seed := testSeed(t)
	commits := 14
	if *lookupLong {
		commits = 80
	}
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
		for _, buckets := range []int{1, 3} {
			name := fmt.Sprintf("%s/buckets=%d", engine, buckets)
			t.Run(name, func(t *testing.T) {
				h := fnv.New64a()
				h.Write([]byte(name))
				rng := rand.New(rand.NewPCG(seed, h.Sum64()))
				runLookupIndexModel(t, rng, engine, buckets, commits)
			})
		}
	}
}

func runLookupIndexModel(t *testing.T, rng *rand.Rand, engine string, buckets, commits int) {
	ctx := context.Background()
	const keys = 30
	schema := modelSchema(engine, buckets, buckets > 1)
	schema.Options[OptWriteOnly] = "true" // compactions only where the test says: replayable
	schema.Options[OptStopTrigger] = "10000"
	store := objstore.NewMem()
	localDir := t.TempDir()
	reg := NewLookupIndexes()
	defer func() { reg.Close() }()
	tb := indexedTable(t, store, schema, localDir, reg)
	plain, err := Open("db.t", store, "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	dir := tb.lk.dir("")
	m := &model{engine: engine, state: map[modelKey]types.Row{}}
	history := map[int64]map[modelKey]types.Row{}
	var ids []int64
	var total LookupIndexStats // counters of closed registries
	chaos := map[string]int{}

	randKey := func() modelKey {
		return modelKey{[]string{"eu", "us", "ap", "a/b c"}[rng.IntN(4)], int32(rng.IntN(keys + 3))}
	}
	check := func(k modelKey, id int64, want map[modelKey]types.Row) {
		t.Helper()
		row, ok, err := tb.Get(ctx, id, k.region, k.id)
		if err != nil {
			t.Fatalf("get %v at %d: %v", k, id, err)
		}
		w, wok := want[k]
		if ok != wok || (ok && !rowsEqual(row, w)) {
			t.Fatalf("get %v at snapshot %d (indexed): got %v,%v want %v,%v", k, id, row, ok, w, wok)
		}
		// The SQL path: a scan whose equalities cover the key.
		sc, err := tb.NewScan(ctx, ScanOptions{SnapshotID: id, Equals: map[int]types.Value{0: k.region, 1: k.id}})
		if err != nil {
			t.Fatalf("scan %v at %d: %v", k, id, err)
		}
		var srows []types.Row
		for r, err := range sc.Rows(ctx) {
			if err != nil {
				t.Fatalf("scan %v at %d: %v", k, id, err)
			}
			srows = append(srows, r)
		}
		_ = sc.Close(ctx)
		if len(srows) > 1 || (len(srows) == 1) != ok || (ok && !rowsEqual(srows[0], row)) {
			t.Fatalf("point scan %v at %d: %v, Get %v,%v", k, id, srows, row, ok)
		}
		prow, pok, err := plain.Get(ctx, id, k.region, k.id)
		if err != nil {
			t.Fatalf("plain get %v at %d: %v", k, id, err)
		}
		if pok != ok || (ok && !rowsEqual(prow, row)) {
			t.Fatalf("get %v at snapshot %d: indexed %v,%v, files %v,%v", k, id, row, ok, prow, pok)
		}
	}

	w := tb.NewWriter("model")
	for c := 1; c <= commits; c++ {
		for range rng.IntN(50) {
			r := randRow(rng, keys)
			kind := types.Insert
			switch p := rng.IntN(10); {
			case p < 2:
				kind = types.Delete
			case p < 3:
				// Aggregation: a -U of a missing row leaves retractions the
				// model does not track; retract existing rows only.
				if _, ok := m.state[modelKey{r[0].(string), r[1].(int32)}]; engine != EngineAggregation || ok {
					kind = types.UpdateBefore
				}
			case p < 5:
				kind = types.UpdateAfter
			}
			if err := w.Write(ctx, kind, r); err != nil {
				t.Fatalf("write %v %v: %v", kind, r, err)
			}
			m.apply(kind, r)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(4) == 0 {
			if _, err := tb.Compact(ctx, CompactOptions{Full: rng.IntN(2) == 0}); err != nil {
				t.Fatal(err)
			}
		}
		latest, err := tb.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if latest == nil {
			continue
		}
		if _, seen := history[latest.ID]; !seen {
			ids = append(ids, latest.ID)
		}
		history[latest.ID] = m.clone()

		for range 8 {
			check(randKey(), 0, m.state)
		}
		for range 4 {
			id := ids[rng.IntN(len(ids))]
			check(randKey(), id, history[id])
		}
		for range 4 {
			compareLookupRecord(t, ctx, tb, plain, latest.ID, randKey())
		}

		switch p := rng.IntN(12); {
		case p == 0 || p == 1: // the process restarts and finds the directory wiped or corrupted
			total.add(reg.Stats())
			if err := reg.Close(); err != nil {
				t.Fatal(err)
			}
			if p == 0 {
				chaos["wiped"]++
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			} else {
				chaos["corrupted files"]++
				corruptDir(t, rng, filepath.Join(dir, "db"))
			}
			reg = NewLookupIndexes()
			tb = indexedTable(t, store, schema, localDir, reg)
			w = tb.NewWriter("model")
		case p == 2: // one record's value garbled while open
			k := randKey()
			if x := tb.lookupIndex(); x != nil {
				partition, bucket, key, _ := tb.pointKey(map[int]types.Value{0: k.region, 1: k.id})
				x.mu.RLock()
				if x.db != nil && x.db.Set(recordKey(nil, partition, bucket, key), []byte{1, 9, 9}, pebble.NoSync) == nil {
					chaos["garbled record"]++
				}
				x.mu.RUnlock()
			}
			check(k, 0, m.state)
		}
	}
	check(randKey(), 0, m.state) // every wipe is followed by a lookup at the latest snapshot
	total.add(reg.Stats())
	t.Logf("%d snapshots; chaos %v; index stats %+v", len(ids), chaos, total)
	if total.IndexLookups == 0 || total.RecordsApplied == 0 {
		t.Fatalf("the index never answered a lookup: %+v", total)
	}
	if total.Rebuilds < 1+int64(chaos["wiped"]) {
		t.Fatalf("%d rebuilds after %d wipes", total.Rebuilds, chaos["wiped"])
	}
	if chaos["garbled record"] > 0 && total.Failures == 0 {
		t.Fatalf("a garbled record went unnoticed: %+v", total)
	}
}

// compareLookupRecord compares LookupRecord through the index with the
// file path (the plain table) at snapshot id: live records must be
// identical; a record only one side has must be one the merge engine lets
// a compaction drop.
func compareLookupRecord(t *testing.T, ctx context.Context, tb, plain *Table, id int64, k modelKey) {
	t.Helper()
	snap, err := tb.Resolve(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	partition, bucket, key, ok := tb.pointKey(map[int]types.Value{0: k.region, 1: k.id})
	if !ok {
		t.Fatalf("no point key for %v", k)
	}
	ri, ei, err := tb.LookupRecord(ctx, snap, partition, bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	rf, ef, err := plain.LookupRecord(ctx, snap, partition, bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	droppable := func(r lsm.Record) bool {
		d, ok := tb.merger.(interface{ CanDrop(*lsm.Record) bool })
		return ok && d.CanDrop(&r)
	}
	switch {
	case ei && ef:
		if ri.Kind != rf.Kind || (ri.Kind.IsAdd() && (ri.Seq != rf.Seq || !rowsEqual(ri.Row, rf.Row))) {
			t.Fatalf("LookupRecord %v at %d: index %v seq %d %v, files %v seq %d %v", k, id, ri.Kind, ri.Seq, ri.Row, rf.Kind, rf.Seq, rf.Row)
		}
	case ei:
		if ri.Kind.IsAdd() || !droppable(ri) {
			t.Fatalf("LookupRecord %v at %d: index has %v %v, the files nothing", k, id, ri.Kind, ri.Row)
		}
	case ef:
		if rf.Kind.IsAdd() || !droppable(rf) {
			t.Fatalf("LookupRecord %v at %d: files have %v %v, the index nothing", k, id, rf.Kind, rf.Row)
		}
	}
}

// corruptDir overwrites a random stretch of every file in dir.
func corruptDir(t *testing.T, rng *rand.Rand, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		off := rng.IntN(len(b))
		for i := off; i < min(len(b), off+64); i++ {
			b[i] ^= byte(1 + rng.IntN(255))
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLookupIndexIncremental: after the index is built, one small commit
// is caught up by reading only the data files that commit added, a
// compaction by reading none, and lookups at the caught-up snapshot read
// no data file at all.
func TestLookupIndexIncremental(t *testing.T) {
	ctx := context.Background()
	schema := modelSchema(EngineDeduplicate, 3, false)
	schema.Options[OptWriteOnly] = "true"
	schema.Options[OptWriteBufferSize] = "64mb"
	store := &getCountingStore{Store: objstore.NewMem()}
	reg := NewLookupIndexes()
	defer reg.Close()
	tb := indexedTable(t, store, schema, t.TempDir(), reg)

	w := tb.NewWriter("inc")
	for c := range 4 {
		for i := range 200 {
			if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(i), int64(c), "v", nil}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	get := func(id int32) types.Row {
		t.Helper()
		row, ok, err := tb.Get(ctx, 0, "eu", id)
		if err != nil || !ok {
			t.Fatalf("get %d: %v %v", id, ok, err)
		}
		return row
	}
	get(1) // builds the index
	st := tb.LookupIndexStats()
	if st.Rebuilds != 1 || st.FilesRead != 12 || st.RecordsApplied != 200 {
		t.Fatalf("build: %+v (want 1 rebuild of 12 files, 200 keys)", st)
	}

	// One row in one bucket.
	if err := w.Write(ctx, types.UpdateAfter, types.Row{"eu", int32(7), int64(99), "new", nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "small"); err != nil {
		t.Fatal(err)
	}
	before, beforeGets := store.dataGets.Load(), store.gets.Load()
	if row := get(7); row[2] != int64(99) || row[3] != "new" {
		t.Fatalf("after the small commit: %v", row)
	}
	got := tb.LookupIndexStats()
	if d := store.dataGets.Load() - before; d != 1 {
		t.Fatalf("catch-up of a one-file commit read %d data files", d)
	}
	if got.Rebuilds != 1 || got.CatchUps != 1 || got.SnapshotsApplied != 1 || got.RecordsApplied-st.RecordsApplied != 1 || got.FilesRead-st.FilesRead != 1 {
		t.Fatalf("catch-up: %+v, before %+v", got, st)
	}
	t.Logf("catch-up of one APPEND: %d GETs in all (1 data file)", store.gets.Load()-beforeGets)

	// A compaction changes no content: advancing reads no data file.
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	before = store.dataGets.Load()
	if row := get(7); row[2] != int64(99) {
		t.Fatalf("after compaction: %v", row)
	}
	if row := get(150); row[2] != int64(3) {
		t.Fatalf("after compaction: %v", row)
	}
	if d := store.dataGets.Load() - before; d != 0 {
		t.Fatalf("catch-up over a compaction read %d data files", d)
	}
	if s := tb.LookupIndexStats(); s.Rebuilds != 1 || s.SnapshotsApplied != 2 {
		t.Fatalf("after compaction: %+v", s)
	}

	// Pinned to the indexed snapshot: no store request at all.
	latest, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before = store.gets.Load()
	for i := range 50 {
		if _, ok, err := tb.Get(ctx, latest.ID, "eu", int32(i)); err != nil || !ok {
			t.Fatalf("pinned get %d: %v %v", i, ok, err)
		}
	}
	if d := store.gets.Load() - before; d != 0 {
		t.Fatalf("50 pinned lookups at the indexed snapshot made %d GETs", d)
	}
}

// TestLookupIndexRebuildTriggers: a REPLACE commit
// (rollback) and a catch-up across an expired snapshot rebuild the index;
// answers stay right.
func TestLookupIndexRebuildTriggers(t *testing.T) {
	ctx := context.Background()
	schema := modelSchema(EngineDeduplicate, 2, false)
	schema.Options[OptWriteOnly] = "true"
	store := objstore.NewMem()
	reg := NewLookupIndexes()
	defer reg.Close()
	tb := indexedTable(t, store, schema, t.TempDir(), reg)
	w := tb.NewWriter("rb")
	commit := func(id int32, amount int64) {
		t.Helper()
		if err := w.Write(ctx, types.Insert, types.Row{"eu", id, amount, nil, nil}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(id, amount)); err != nil {
			t.Fatal(err)
		}
	}
	want := func(id int32, amount int64) {
		t.Helper()
		row, ok, err := tb.Get(ctx, 0, "eu", id)
		if err != nil || !ok || row[2] != amount {
			t.Fatalf("get %d: %v %v %v, want amount %d", id, row, ok, err, amount)
		}
	}
	commit(1, 10)
	want(1, 10)
	commit(1, 11)
	commit(1, 12)
	third, _ := tb.Latest(ctx)
	// Snapshots 1 and 2 expire before the index (at 1) catches up to 3.
	for _, id := range []string{"1", "2"} {
		if err := store.Delete(ctx, "wh/db.db/t/snapshot/snapshot-"+id); err != nil {
			t.Fatal(err)
		}
	}
	want(1, 12)
	if s := tb.LookupIndexStats(); s.Rebuilds != 2 {
		t.Fatalf("catch-up across an expired snapshot: %+v, want a rebuild", s)
	}
	commit(1, 13)
	want(1, 13)
	// Roll back to the third snapshot: a REPLACE commit.
	if _, err := tb.Rollback(ctx, Ref{SnapshotID: third.ID}); err != nil {
		t.Fatal(err)
	}
	want(1, 12)
	if s := tb.LookupIndexStats(); s.Rebuilds != 3 {
		t.Fatalf("after a REPLACE commit: %+v, want a rebuild", s)
	}
}

// TestLookupIndexLockedElsewhere: a second registry (as another process
// would) cannot lock the directory and reads the data files.
func TestLookupIndexLockedElsewhere(t *testing.T) {
	ctx := context.Background()
	schema := modelSchema(EngineDeduplicate, 1, false)
	store := objstore.NewMem()
	dir := t.TempDir()
	r1, r2 := NewLookupIndexes(), NewLookupIndexes()
	defer r1.Close()
	defer r2.Close()
	t1 := indexedTable(t, store, schema, dir, r1)
	t2 := indexedTable(t, store, schema, dir, r2)
	w := t1.NewWriter("lk")
	if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(1), int64(5), nil, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*Table{t1, t2} {
		row, ok, err := tb.Get(ctx, 0, "eu", int32(1))
		if err != nil || !ok || row[2] != int64(5) {
			t.Fatalf("get: %v %v %v", row, ok, err)
		}
	}
	if s := r1.Stats(); s.IndexLookups != 1 {
		t.Fatalf("first registry: %+v", s)
	}
	if t2.lookupIndex() != nil || r2.Stats() != (LookupIndexStats{}) {
		t.Fatalf("second registry opened a locked index: %+v", r2.Stats())
	}
}

// TestLookupIndexConcurrent: concurrent Gets while a writer commits; every
// answer is a state some snapshot had (run with -race).
func TestLookupIndexConcurrent(t *testing.T) {
	ctx := context.Background()
	schema := modelSchema(EngineDeduplicate, 3, false)
	schema.Options[OptWriteOnly] = "true"
	store := objstore.NewMem()
	reg := NewLookupIndexes()
	defer reg.Close()
	tb := indexedTable(t, store, schema, t.TempDir(), reg)
	w := tb.NewWriter("cc")
	const rounds = 20
	done := make(chan error, 4)
	var committed atomic.Int64
	for g := range 4 {
		go func() {
			for i := 0; committed.Load() < rounds; i++ {
				row, ok, err := tb.Get(ctx, 0, "eu", int32((g+i)%10))
				if err != nil {
					done <- err
					return
				}
				// Every row ever written has amount = its round, and
				// rounds only grow; a row must never go backwards to
				// missing after it existed.
				if ok && (row[2].(int64) < 0 || row[2].(int64) >= rounds) {
					done <- fmt.Errorf("bad row %v", row)
					return
				}
			}
			done <- nil
		}()
	}
	for r := range rounds {
		for k := range 10 {
			if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(k), int64(r), nil, nil}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, fmt.Sprint(r)); err != nil {
			t.Fatal(err)
		}
		if r%7 == 6 {
			if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
		}
		committed.Add(1)
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for k := range 10 {
		row, ok, err := tb.Get(ctx, 0, "eu", int32(k))
		if err != nil || !ok || row[2] != int64(rounds-1) {
			t.Fatalf("final get %d: %v %v %v", k, row, ok, err)
		}
	}
	t.Logf("stats %+v", tb.LookupIndexStats())
}

// TestLookupIndexOverwrite: an OVERWRITE that removes a partition's files
// (partition expiry) is applied by clearing that partition's buckets, not
// by a rebuild, and reads no data file.
func TestLookupIndexOverwrite(t *testing.T) {
	ctx := context.Background()
	schema := modelSchema(EngineDeduplicate, 2, true)
	store := &getCountingStore{Store: objstore.NewMem()}
	reg := NewLookupIndexes()
	defer reg.Close()
	tb := indexedTable(t, store, schema, t.TempDir(), reg)
	w := tb.NewWriter("ow")
	for i := range 20 {
		for _, region := range []string{"eu", "us"} {
			if err := w.Write(ctx, types.Insert, types.Row{region, int32(i), int64(i), nil, nil}); err != nil {
				t.Fatal(err)
			}
		}
	}
	snap, err := w.Commit(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tb.Get(ctx, 0, "us", int32(3)); err != nil || !ok {
		t.Fatalf("before: %v %v", ok, err)
	}
	files, err := tb.meta.Files(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	var del []manifest.DataFile
	for _, f := range files {
		if f.Partition == "region=us" {
			del = append(del, f)
		}
	}
	if len(del) == 0 {
		t.Fatal("no files in region=us")
	}
	if _, err := tb.meta.Commit(ctx, manifest.Commit{User: "expire", Identifier: "1", Kind: manifest.CommitOverwrite, SchemaID: snap.SchemaID, Deleted: del}); err != nil {
		t.Fatal(err)
	}
	before := store.dataGets.Load()
	for i := range 20 {
		if _, ok, err := tb.Get(ctx, 0, "us", int32(i)); err != nil || ok {
			t.Fatalf("us %d after the overwrite: %v %v", i, ok, err)
		}
		if row, ok, err := tb.Get(ctx, 0, "eu", int32(i)); err != nil || !ok || row[2] != int64(i) {
			t.Fatalf("eu %d after the overwrite: %v %v %v", i, row, ok, err)
		}
	}
	if d := store.dataGets.Load() - before; d != 0 {
		t.Fatalf("the overwrite read %d data files", d)
	}
	if s := tb.LookupIndexStats(); s.Rebuilds != 1 || s.SnapshotsApplied != 1 || s.IndexLookups != 41 {
		t.Fatalf("stats %+v", s)
	}
}

// TestLookupIndexSchemaChange: a table opened with a newer schema version
// takes the index over (rebuild in its schema); a table still on the older
// schema then reads files instead of taking it back.
func TestLookupIndexSchemaChange(t *testing.T) {
	ctx := context.Background()
	old := modelSchema(EngineDeduplicate, 1, false)
	store := objstore.NewMem()
	reg := NewLookupIndexes()
	defer reg.Close()
	dir := t.TempDir()
	t0 := indexedTable(t, store, old, dir, reg)
	w := t0.NewWriter("sc")
	if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(1), int64(5), "x", nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := t0.Get(ctx, 0, "eu", int32(1)); err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	newer := modelSchema(EngineDeduplicate, 1, false)
	newer.ID = 1
	newer.Comment = "v2"
	t1 := indexedTable(t, store, newer, dir, reg)
	for _, tb := range []*Table{t1, t0, t1} {
		row, ok, err := tb.Get(ctx, 0, "eu", int32(1))
		if err != nil || !ok || row[2] != int64(5) {
			t.Fatalf("get: %v %v %v", row, ok, err)
		}
	}
	if s := reg.Stats(); s.Rebuilds != 2 || s.FileLookups != 1 || s.IndexLookups != 3 {
		t.Fatalf("stats %+v: want the schema-1 table to rebuild once and the schema-0 table to read files", s)
	}
}
