package table

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// compactSchema is modelSchema with small files and eager compaction, so
// that a short test builds several levels, upgrades files and stalls.
func compactSchema(engine string) *types.Schema {
	s := modelSchema(engine, 2, true)
	s.Options[OptWriteBufferSize] = "24kb"
	s.Options[OptTargetFileSize] = "2kb"
	s.Options[OptRowGroupRows] = "16"
	s.Options[OptCompactionTrigger] = "3"
	s.Options[OptStopTrigger] = "5"
	s.Options[OptNumLevels] = "4"
	s.Options[OptMaxConcurrent] = "2"
	return s
}

// TestCompactionRandomized interleaves a writer (with inline compaction
// and write stalls), standalone compactions run by the test goroutine
// (normal, full, per partition), a second standalone compactor and a
// reader running concurrently, and checks every snapshot — old and new,
// APPEND and COMPACT — against the oracle, for every merge engine. It also
// checks the level invariant (each level >= 1 is one sorted run) of every
// snapshot and that no commit was made while its bucket had reached the
// stop trigger.
func TestCompactionRandomized(t *testing.T) {
	seed := testSeed(t)
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
		t.Run(engine, func(t *testing.T) {
			h := fnv.New64a()
			h.Write([]byte(engine))
			runCompactionModel(t, seed^h.Sum64(), objstore.NewMem(), compactSchema(engine))
		})
	}
}

// compactionModel is the shared state of one randomized run.
type compactionModel struct {
	t  *testing.T
	tb *Table

	mu      sync.Mutex
	history map[int64]map[modelKey]types.Row // APPEND snapshot -> state
	appends []int64                          // ascending

	conflicts, compactions, upgrades, diffs atomic.Int64
}

// stateAt is the oracle's state at any snapshot: that of the latest APPEND
// at or before it (compactions change no row).
func (cm *compactionModel) stateAt(id int64) (map[modelKey]types.Row, bool) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	i := sort.Search(len(cm.appends), func(i int) bool { return cm.appends[i] > id })
	if i == 0 {
		return nil, false
	}
	return cm.history[cm.appends[i-1]], true
}

// check reads snapshot id (full scan and point lookups) and compares it
// with the oracle.
func (cm *compactionModel) check(ctx context.Context, rng *rand.Rand, id int64) error {
	want, ok := cm.stateAt(id)
	if !ok {
		return nil
	}
	s, err := cm.tb.NewScan(ctx, ScanOptions{SnapshotID: id})
	if err != nil {
		return err
	}
	got := map[modelKey]types.Row{}
	for row, err := range s.Rows(ctx) {
		if err != nil {
			return err
		}
		got[modelKey{row[0].(string), row[1].(int32)}] = row
	}
	if d := diffStates(got, want); d != "" {
		cm.diffs.Add(1)
		return fmt.Errorf("snapshot %d differs from the oracle:\n%s", id, d)
	}
	for i := 0; i < 4; i++ {
		k := modelKey{[]string{"eu", "us", "ap", "a/b c"}[rng.IntN(4)], int32(rng.IntN(210))}
		row, ok, err := cm.tb.Get(ctx, id, k.region, k.id)
		if err != nil {
			return err
		}
		w, wok := want[k]
		if ok != wok || (ok && !rowsEqual(row, w)) {
			cm.diffs.Add(1)
			return fmt.Errorf("snapshot %d: Get %v = %v,%v, want %v,%v", id, k, row, ok, w, wok)
		}
	}
	return nil
}

// compact runs one standalone compaction; conflicts are expected.
func (cm *compactionModel) compact(ctx context.Context, rng *rand.Rand, user string) error {
	o := CompactOptions{Full: rng.IntN(3) == 0, User: user}
	if rng.IntN(3) == 0 {
		o.Partition = "region=" + []string{"eu", "us", "ap", "a/b c"}[rng.IntN(4)]
	}
	rep, err := cm.tb.Compact(ctx, o)
	if rep != nil {
		for _, b := range rep.Buckets {
			switch b.Status {
			case compaction.Committed:
				cm.compactions.Add(1)
				cm.upgrades.Add(int64(b.Stats.FilesUpgraded))
			case compaction.Conflict:
				cm.conflicts.Add(1)
			}
		}
	}
	if err != nil && !errors.Is(err, types.ErrConflict) {
		return err
	}
	return nil
}

func runCompactionModel(t *testing.T, seed uint64, store objstore.Store, schema *types.Schema) {
	ctx := context.Background()
	tb, err := Open("db.t", store, "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	cm := &compactionModel{t: t, tb: tb, history: map[int64]map[modelKey]types.Row{}}
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &model{engine: schema.Options[OptMergeEngine], state: map[modelKey]types.Row{}}

	// Background: a second standalone compactor and a reader of random
	// snapshots, until the writer is done.
	done := make(chan struct{})
	var wg sync.WaitGroup
	bgErr := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 2))
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Duration(rng.IntN(3000)) * time.Microsecond):
			}
			if err := cm.compact(ctx, rng, "bg-compactor"); err != nil {
				bgErr <- fmt.Errorf("background compactor: %w", err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 3))
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Duration(rng.IntN(4000)) * time.Microsecond):
			}
			// Only snapshots up to the last APPEND the oracle has recorded:
			// a newer one may belong to a commit whose state the writer
			// goroutine has not recorded yet.
			cm.mu.Lock()
			var last int64
			if n := len(cm.appends); n > 0 {
				last = cm.appends[n-1]
			}
			cm.mu.Unlock()
			if last == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			if err := cm.check(ctx, rng, 1+rng.Int64N(last)); err != nil {
				bgErr <- fmt.Errorf("background reader: %w", err)
				return
			}
		}
	}()

	w := tb.NewWriter("model")
	const commits, keys = 36, 200
	for c := 1; c <= commits; c++ {
		n := rng.IntN(150)
		// Half the commits touch a narrow key window, so that files of
		// different runs often do not overlap and compactions upgrade them.
		window := -1
		if rng.IntN(2) == 0 {
			window = rng.IntN(keys - 10)
		}
		for i := 0; i < n; i++ {
			r := randRow(rng, keys)
			if window >= 0 {
				r[1] = int32(window + rng.IntN(10))
			}
			kind := types.Insert
			switch p := rng.IntN(10); {
			case p < 2:
				kind = types.Delete
			case p < 3 && m.engine != EngineAggregation:
				kind = types.UpdateBefore // see runModel
			case p < 5:
				kind = types.UpdateAfter
			}
			if err := w.Write(ctx, kind, r); err != nil {
				t.Fatalf("write: %v", err)
			}
			m.apply(kind, r)
		}
		snap, err := w.Commit(ctx, fmt.Sprint(c))
		if err != nil {
			t.Fatalf("commit %d: %v", c, err)
		}
		if snap != nil {
			cm.mu.Lock()
			cm.history[snap.ID] = m.clone()
			cm.appends = append(cm.appends, snap.ID)
			cm.mu.Unlock()
		}
		switch p := rng.IntN(10); {
		case p < 3:
			if err := cm.compact(ctx, rng, "fg-compactor"); err != nil {
				t.Fatal(err)
			}
		case p < 4: // a restarted writer
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			w = tb.NewWriter("model")
		}
		if rng.IntN(3) == 0 {
			latest, err := tb.Latest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Latest is nil while no commit has written a row (a commit
			// of no rows publishes no snapshot); the empty table has
			// nothing to check yet.
			if latest != nil {
				if err := cm.check(ctx, rng, latest.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	close(bgErr)
	for err := range bgErr {
		t.Fatal(err)
	}
	ws := w.Stats()

	// A final full compaction leaves one run per bucket at the last level.
	if err := cm.compact(ctx, rand.New(rand.NewPCG(0, 0)), "final"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	stats, err := tb.BucketStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range stats {
		if b.SortedRuns != 1 || len(b.FilesPerLevel) != 4 || b.FilesPerLevel[3] != b.Files {
			t.Errorf("after a full compaction: %+v", b)
		}
	}

	// Every snapshot, old and new, against the oracle; the level invariant
	// everywhere; no APPEND committed into a stalled bucket.
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[manifest.CommitKind]int{}
	stop := tb.Options().Compaction.StopTrigger
	for i, s := range snaps {
		kinds[s.CommitKind]++
		if err := cm.check(ctx, rng, s.ID); err != nil {
			t.Fatal(err)
		}
		files, err := tb.Meta().Files(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range compaction.GroupBuckets(files) {
			if err := b.CheckLevels(); err != nil {
				t.Fatalf("snapshot %d: %v", s.ID, err)
			}
		}
		if s.CommitKind == manifest.CommitAppend && i > 0 {
			// Runs before this commit's own level-0 files.
			base := snaps[i-1].NextSequence
			before := map[compaction.BucketID]int{}
			for id, n := range compaction.CountRuns(files) {
				before[id] = n
			}
			for _, f := range files {
				if f.Level == 0 && f.SeqBase == base {
					before[compaction.BucketID{Partition: f.Partition, Bucket: f.Bucket}]--
				}
			}
			for _, f := range files {
				id := compaction.BucketID{Partition: f.Partition, Bucket: f.Bucket}
				if f.Level == 0 && f.SeqBase == base && before[id] >= stop {
					t.Fatalf("snapshot %d committed into %s, which had %d sorted runs (stop trigger %d)", s.ID, id, before[id], stop)
				}
			}
		}
	}
	t.Logf("%d snapshots (%v); standalone: %d bucket compactions (%d files upgraded), %d conflicts; last writer: %d inline compactions, %d conflicts, %d stalls; 0 differences",
		len(snaps), kinds, cm.compactions.Load(), cm.upgrades.Load(), cm.conflicts.Load(), ws.Compactions, ws.CompactionConflicts, ws.Stalls)
	if kinds[manifest.CommitCompact] == 0 {
		t.Error("no compaction committed")
	}
}
