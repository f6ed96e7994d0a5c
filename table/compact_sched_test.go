package table

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// schedTable opens a table of simpleSchema(buckets) with trigger 2 and the
// given stop trigger on a fault store whose reads of bucket hold's data files
// (only compactions read data files) block until release is closed; held
// is closed at the first such read. keys[b] are ten keys of bucket b.
func schedTable(t *testing.T, buckets, maxConcurrent, stop, hold int) (tb *Table, keys [][]int64, held, release chan struct{}) {
	t.Helper()
	s := stallSchema(false)
	s.Options[OptBucket] = fmt.Sprint(buckets)
	s.Options[OptStopTrigger] = fmt.Sprint(stop)
	s.Options[OptMaxConcurrent] = fmt.Sprint(maxConcurrent)
	fault := objstore.NewFault(objstore.NewMem())
	tb, err := Open("db.t", fault, "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	keys = make([][]int64, buckets)
	for k, full := int64(0), 0; full < buckets; k++ {
		b, err := tb.bucketOf(types.Row{k, ""})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys[b]) < 10 {
			keys[b] = append(keys[b], k)
			if len(keys[b]) == 10 {
				full++
			}
		}
	}
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	block := func() {
		once.Do(func() { close(held) })
		<-release
	}
	for _, op := range []objstore.Op{objstore.OpGet, objstore.OpGetRange} {
		fault.Add(objstore.Rule{Op: op, KeyContains: fmt.Sprintf("data/bucket-%d/", hold), Crash: block})
	}
	return tb, keys, held, release
}

// commitKeys writes keys with value ident and commits.
func commitKeys(ctx context.Context, w *Writer, keys []int64, ident string) error {
	for _, k := range keys {
		if err := w.Write(ctx, types.Insert, types.Row{k, ident}); err != nil {
			return err
		}
	}
	_, err := w.Commit(ctx, ident)
	return err
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// compactedBuckets returns, for each COMPACT snapshot in order, the buckets
// whose files it changed.
func compactedBuckets(t *testing.T, tb *Table) [][]int {
	t.Helper()
	ctx := context.Background()
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]int
	prev := map[string]int{}
	for _, s := range snaps {
		files, err := tb.Meta().Files(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		cur := map[string]int{}
		for _, f := range files {
			cur[f.Path] = f.Bucket
		}
		if s.CommitKind == manifest.CommitCompact {
			changed := map[int]bool{}
			for p, b := range cur {
				if _, ok := prev[p]; !ok {
					changed[b] = true
				}
			}
			for p, b := range prev {
				if _, ok := cur[p]; !ok {
					changed[b] = true
				}
			}
			var bs []int
			for b := range changed {
				bs = append(bs, b)
			}
			slices.Sort(bs)
			out = append(out, bs)
		}
		prev = cur
	}
	return out
}

// TestInlineCompactionBucketsIndependent: with compaction.max-concurrent =
// 2 a bucket's inline compaction does not wait for another bucket's. While
// bucket 1's compaction is held, bucket 0 keeps being compacted and
// committed, so writes into bucket 0 past its stop trigger go on.
func TestInlineCompactionBucketsIndependent(t *testing.T) {
	ctx := context.Background()
	tb, keys, held, release := schedTable(t, 2, 2, 3, 1)
	closeOnExit(t, release)
	w := tb.NewWriter("w")
	for c := 0; c < 2; c++ {
		if err := commitKeys(ctx, w, keys[1], fmt.Sprint("b1-", c)); err != nil {
			t.Fatal(err)
		}
	}
	waitClosed(t, held, "bucket 1's compaction to start")

	// Six commits into bucket 0: it passes the stop trigger (3) twice
	// unless it is compacted meanwhile.
	short, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for c := 0; c < 6; c++ {
		if err := commitKeys(short, w, keys[0], fmt.Sprint("b0-", c)); err != nil {
			t.Fatalf("commit into bucket 0 while bucket 1's compaction is held: %v", err)
		}
	}
	if got := compactedBuckets(t, tb); len(got) == 0 || slices.ContainsFunc(got, func(bs []int) bool { return !slices.Equal(bs, []int{0}) }) {
		t.Errorf("COMPACT snapshots changed buckets %v while bucket 1 was held, want only bucket 0's", got)
	}
	close(release)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stats, err := tb.BucketStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range stats {
		if b.SortedRuns >= 3 {
			t.Errorf("bucket %d still at the stop trigger: %+v", b.Bucket, b)
		}
	}
	got := readIDs(t, tb)
	for _, k := range keys[0] {
		if got[k] != "b0-5" {
			t.Errorf("key %d = %q, want b0-5", k, got[k])
		}
	}
	for _, k := range keys[1] {
		if got[k] != "b1-1" {
			t.Errorf("key %d = %q, want b1-1", k, got[k])
		}
	}
	checkNoOrphans(t, tb)
}

// TestInlineCompactionFullestBucketFirst: with one compaction at a time,
// the queued bucket with the most sorted runs (the closest to the stop
// trigger) is compacted first once the running compaction ends, each in a
// COMPACT snapshot of its own.
func TestInlineCompactionFullestBucketFirst(t *testing.T) {
	ctx := context.Background()
	tb, keys, held, release := schedTable(t, 3, 1, 4, 2)
	closeOnExit(t, release)
	w := tb.NewWriter("w")
	commit := func(b, c int) {
		t.Helper()
		if err := commitKeys(ctx, w, keys[b], fmt.Sprintf("b%d-%d", b, c)); err != nil {
			t.Fatal(err)
		}
	}
	commit(2, 0)
	commit(2, 1)
	waitClosed(t, held, "bucket 2's compaction to start")
	commit(0, 0)
	commit(0, 1) // bucket 0 is due (trigger 2)
	commit(1, 0)
	commit(1, 1)
	commit(1, 2) // bucket 1 is due with one run more
	close(release)
	// The worker's order is the one under test: Close would have its
	// helper take a queued bucket beside the worker, so wait for the three
	// rounds before closing.
	for deadline := time.Now().Add(20 * time.Second); len(compactedBuckets(t, tb)) < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := compactedBuckets(t, tb), [][]int{{2}, {1}, {0}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("COMPACT snapshots changed buckets %v, want %v", got, want)
	}
	checkNoOrphans(t, tb)
}

// TestInlineCompactionStalledWriterCompacts: a bucket a writer is stalled
// on and no worker is compacting is compacted at once by the writer's stall
// helper, without waiting for the workers' other buckets: with the only
// worker (compaction.max-concurrent = 1) held on bucket 1, writes into
// bucket 0 past its stop trigger go on.
func TestInlineCompactionStalledWriterCompacts(t *testing.T) {
	ctx := context.Background()
	tb, keys, held, release := schedTable(t, 2, 1, 3, 1)
	closeOnExit(t, release)
	w := tb.NewWriter("w")
	for c := 0; c < 2; c++ {
		if err := commitKeys(ctx, w, keys[1], fmt.Sprint("b1-", c)); err != nil {
			t.Fatal(err)
		}
	}
	waitClosed(t, held, "bucket 1's compaction to start")
	short, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for c := 0; c < 6; c++ {
		if err := commitKeys(short, w, keys[0], fmt.Sprint("b0-", c)); err != nil {
			t.Fatalf("commit into bucket 0 while the worker is held on bucket 1: %v", err)
		}
	}
	s := w.Stats()
	if s.Stalls == 0 || s.Compactions == 0 {
		t.Errorf("want stalls ended by the writer's own compactions: %+v", s)
	}
	if got := compactedBuckets(t, tb); len(got) == 0 || slices.ContainsFunc(got, func(bs []int) bool { return !slices.Equal(bs, []int{0}) }) {
		t.Errorf("COMPACT snapshots changed buckets %v while bucket 1 was held, want only bucket 0's", got)
	}
	close(release)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := readIDs(t, tb)
	for _, k := range keys[0] {
		if got[k] != "b0-5" {
			t.Errorf("key %d = %q, want b0-5", k, got[k])
		}
	}
	checkNoOrphans(t, tb)
}

// TestInlineSchedulingRandomized runs the randomized writer, compactor and
// reader model of TestCompactionRandomized with random bucket counts,
// compaction.max-concurrent and triggers, over several fresh seeds: inline
// compactions run per bucket, most urgent first, committed one bucket per
// snapshot, next to standalone compactions.
func TestInlineSchedulingRandomized(t *testing.T) {
	engines := []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow}
	n := 3
	if testing.Short() {
		n = 1
	}
	for _, seed := range testkit.Seeds(t, n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 9))
			engine := engines[rng.IntN(len(engines))]
			s := compactSchema(engine)
			buckets := 1 + rng.IntN(4)
			s.Options[OptBucket] = fmt.Sprint(buckets)
			trigger := 2 + rng.IntN(3)
			s.Options[OptCompactionTrigger] = fmt.Sprint(trigger)
			s.Options[OptStopTrigger] = fmt.Sprint(trigger + rng.IntN(3))
			s.Options[OptMaxConcurrent] = fmt.Sprint(1 + rng.IntN(3))
			t.Logf("%s, %d buckets, trigger %s, stop trigger %s, max-concurrent %s", engine, buckets,
				s.Options[OptCompactionTrigger], s.Options[OptStopTrigger], s.Options[OptMaxConcurrent])
			h := fnv.New64a()
			h.Write([]byte(engine))
			runCompactionModel(t, seed^h.Sum64(), objstore.NewMem(), s)
		})
	}
}

// TestInlineSchedulingBounds: a writer committing random keys into random
// buckets, with random triggers and compaction.max-concurrent, never runs
// two compactions of one bucket at once nor more than max-concurrent + 1
// (the stall helper) in all, and its table reads as the oracle (the last
// value written per key) after every commit.
func TestInlineSchedulingBounds(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(seed, 10))
			s := simpleSchema(1 + rng.IntN(6))
			trigger := 2 + rng.IntN(3)
			maxConcurrent := 1 + rng.IntN(3)
			s.Options[OptCompactionTrigger] = fmt.Sprint(trigger)
			s.Options[OptStopTrigger] = fmt.Sprint(trigger + rng.IntN(3))
			s.Options[OptMaxConcurrent] = fmt.Sprint(maxConcurrent)
			t.Logf("%s buckets, trigger %d, stop trigger %s, max-concurrent %d", s.Options[OptBucket], trigger, s.Options[OptStopTrigger], maxConcurrent)
			tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{})
			if err != nil {
				t.Fatal(err)
			}
			w := tb.NewWriter("w")
			var mu sync.Mutex
			running := map[int]int{}
			total, peak := 0, 0
			var violation string
			w.compactions().comp.Progress = func(e compaction.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch e.Kind {
				case compaction.EventStarted:
					running[e.Bucket.Bucket]++
					total++
					peak = max(peak, total)
					if running[e.Bucket.Bucket] > 1 && violation == "" {
						violation = fmt.Sprintf("two compactions of bucket %d at once", e.Bucket.Bucket)
					}
					if total > maxConcurrent+1 && violation == "" {
						violation = fmt.Sprintf("%d compactions at once, max-concurrent %d", total, maxConcurrent)
					}
				case compaction.EventExecuted:
					running[e.Bucket.Bucket]--
					total--
				}
			}
			want := map[int64]string{}
			for c := 0; c < 40; c++ {
				ident := fmt.Sprint(c)
				for i, n := 0, 1+rng.IntN(30); i < n; i++ {
					k := rng.Int64N(60)
					if err := w.Write(ctx, types.Insert, types.Row{k, ident}); err != nil {
						t.Fatal(err)
					}
					want[k] = ident
				}
				if _, err := w.Commit(ctx, ident); err != nil {
					t.Fatal(err)
				}
				if rng.IntN(8) == 0 {
					got := readIDs(t, tb)
					if len(got) != len(want) {
						t.Fatalf("commit %d: %d keys, want %d", c, len(got), len(want))
					}
					for k, v := range want {
						if got[k] != v {
							t.Fatalf("commit %d: key %d = %q, want %q", c, k, got[k], v)
						}
					}
				}
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			got := readIDs(t, tb)
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("key %d = %q, want %q", k, got[k], v)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if violation != "" {
				t.Fatal(violation)
			}
			st := w.Stats()
			t.Logf("%d compactions (peak %d at once), %d stalls, %d conflicts", st.Compactions, peak, st.Stalls, st.CompactionConflicts)
			if st.CompactionConflicts != 0 {
				t.Errorf("%d conflicts between the writer's own compactions", st.CompactionConflicts)
			}
			checkNoOrphans(t, tb)
		})
	}
}
