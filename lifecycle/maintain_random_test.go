package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestMaintainRandomInFlight: several writers, compaction and Maintain
// (expiry and orphan cleanup at the smallest allowed orphan.grace-period)
// run concurrently while the injected clock races ahead, so the grace
// period elapses many times during the run and some commits hold their
// files past it. Commits refused for holding their files too long are not
// acknowledged; every acknowledged write must read back, every retained
// snapshot must be readable in full, and no snapshot may reference a
// missing object, before and after a final cleanup.
func TestMaintainRandomInFlight(t *testing.T) {
	clock := newFakeClock()
	st := newClockStore(objstore.NewMem(), clock.Now)
	runMaintainRandom(t, testSeed(t), clock, st, 40, 2*time.Minute)
}

// TestMaintainRandomInFlightMinIO is a shorter run on MinIO, whose
// requests take milliseconds: the clock runs slower so that most commits
// still finish within half the grace period.
func TestMaintainRandomInFlightMinIO(t *testing.T) {
	clock := newFakeClock()
	st := newClockStore(s3test.NewStore(t), clock.Now)
	runMaintainRandom(t, testSeed(t), clock, st, 10, 15*time.Second)
}

// ackedWrite is one row change of an acknowledged commit.
type ackedWrite struct {
	snap int64
	del  bool
	v    string
}

// runMaintainRandom runs the test; the clock advances by up to maxStep per
// millisecond of real time.
func runMaintainRandom(t *testing.T, seed uint64, clock *fakeClock, st *clockStore, commits int, maxStep time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const (
		writers = 3
		keys    = 40
	)
	grace := table.MinOrphanGracePeriod
	tb, err := table.Open("db.t", st, "wh/db.db/t/", gcSchema(map[string]string{
		table.OptSnapshotNumRetainedMin: "2",
		table.OptSnapshotNumRetainedMax: "8",
		table.OptSnapshotTimeRetained:   "10m",
		table.OptOrphanGracePeriod:      grace.String(),
		table.OptWriteOnly:              "true", // compaction runs in its own loop
	}), lifecycleEnv(clock, st, objstore.NewMem()))
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		last     = map[int64]ackedWrite{} // the oracle: last acknowledged write per key
		failures []string
		stats    = map[string]int{}
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
		cancel()
	}
	count := func(k string, n int) { mu.Lock(); stats[k] += n; mu.Unlock() }

	var writersDone atomic.Bool
	var bg, wg sync.WaitGroup
	// The clock races (in memory, up to 2 minutes of fake time per
	// millisecond), so a writer that pauses between its first flush and
	// its commit holds its files past half the grace period.
	bg.Add(1)
	go func() {
		defer bg.Done()
		rng := rand.New(rand.NewPCG(seed, 1<<20))
		for !writersDone.Load() && ctx.Err() == nil {
			clock.Advance(time.Duration(rng.Int64N(int64(maxStep))))
			time.Sleep(time.Millisecond)
		}
	}()
	for wi := 0; wi < writers; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(wi)))
			w := tb.NewWriter(fmt.Sprintf("writer-%d", wi))
			defer w.Close(context.Background())
			for c := 0; c < commits && ctx.Err() == nil; c++ {
				type op struct {
					k   int64
					del bool
					v   string
				}
				var ops []op
				for i := 0; i < 1+rng.IntN(60); i++ {
					o := op{k: rng.Int64N(keys), del: rng.IntN(6) == 0, v: fmt.Sprintf("w%d-c%d-%d-%s", wi, c, i, strings.Repeat("x", rng.IntN(80)))}
					kind, row := types.Insert, types.Row{o.k, o.v}
					if o.del {
						kind, row = types.Delete, types.Row{o.k, nil}
					}
					if err := w.Write(ctx, kind, row); err != nil {
						fail("writer %d: %v", wi, err)
						return
					}
					ops = append(ops, o)
					if rng.IntN(20) == 0 {
						if err := w.Flush(ctx); err != nil {
							fail("writer %d flush: %v", wi, err)
							return
						}
					}
				}
				if rng.IntN(3) == 0 { // a slow commit: the clock runs on
					time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
				}
				snap, err := w.Commit(ctx, fmt.Sprint(c))
				switch {
				case errors.Is(err, manifest.ErrHeldTooLong):
					count("commits refused (held too long)", 1)
					continue
				case err != nil:
					if ctx.Err() == nil {
						fail("writer %d commit %d: %v", wi, c, err)
					}
					return
				}
				count("commits acknowledged", 1)
				mu.Lock()
				for _, o := range ops {
					if prev, ok := last[o.k]; !ok || prev.snap <= snap.ID {
						last[o.k] = ackedWrite{snap: snap.ID, del: o.del, v: o.v}
					}
				}
				mu.Unlock()
				time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
			}
		}()
	}
	loop := func(salt uint64, body func(rng *rand.Rand)) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			rng := rand.New(rand.NewPCG(seed, salt))
			for !writersDone.Load() && ctx.Err() == nil {
				body(rng)
			}
		}()
	}
	loop(100, func(rng *rand.Rand) {
		_, err := tb.Compact(ctx, table.CompactOptions{Full: rng.IntN(3) == 0, User: "compactor"})
		switch {
		case err == nil:
			count("compactions", 1)
		case errors.Is(err, types.ErrConflict):
			count("compaction conflicts", 1)
		case errors.Is(err, manifest.ErrHeldTooLong):
			count("compactions refused (held too long)", 1)
		case isNotFound(err):
			// Its inputs were replaced and expired while it ran longer
			// than time-retained: the compaction fails, nothing is lost.
			count("compactions outlived time-retained", 1)
		case ctx.Err() != nil:
		default:
			fail("compaction: %v", err)
		}
		time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
	})
	loop(200, func(rng *rand.Rand) {
		rep, err := Maintain(ctx, tb, MaintainOptions{})
		if err != nil {
			if ctx.Err() == nil {
				fail("maintain: %v", err)
			}
			return
		}
		count("maintain runs", 1)
		count("snapshots expired", rep.SnapshotsExpired)
		count("orphans deleted", rep.OrphansDeleted)
		time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
	})
	// A watchdog: a table that lost a file makes every compaction fail,
	// and writers then stall for good waiting for one.
	watchdog := time.AfterFunc(2*time.Minute, func() { fail("the run did not finish in 2 minutes (writers stalled?)") })
	wg.Wait()
	watchdog.Stop()
	writersDone.Store(true)
	bg.Wait()
	t.Logf("stats: %v", stats)
	if len(failures) > 0 {
		t.Errorf("seed %d: %d failures, first: %s", seed, len(failures), strings.Join(failures[:min(5, len(failures))], "\n"))
		checkRetained(t, context.Background(), tb, st, nil)
		t.FailNow()
	}
	if stats["commits acknowledged"] == 0 {
		t.Fatalf("no commit was acknowledged: the test proves nothing")
	}

	want := map[int64]string{}
	for k, a := range last {
		if !a.del {
			want[k] = a.v
		}
	}
	checkRetained(t, ctx, tb, st, want)
	// A cleanup long after everything: referenced objects survive it.
	clock.Advance(2 * grace)
	if _, err := Maintain(ctx, tb, MaintainOptions{}); err != nil {
		t.Fatal(err)
	}
	checkRetained(t, ctx, tb, st, want)
}

// checkRetained: every object a retained snapshot reaches exists, every
// retained snapshot reads in full, and the latest holds exactly want
// (unless want is nil).
func checkRetained(t *testing.T, ctx context.Context, tb *table.Table, st objstore.Store, want map[int64]string) {
	t.Helper()
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) == 0 {
		t.Fatal("no snapshot retained")
	}
	for _, s := range snaps {
		r, err := tb.Meta().ReachableFrom(ctx, s.ManifestList, s.ChangelogManifestList)
		if err != nil {
			t.Fatalf("snapshot %d: %v", s.ID, err)
		}
		paths := append(append([]string(nil), r.ManifestLists...), r.Manifests...)
		for _, f := range r.DataFiles {
			paths = append(paths, f.Path)
		}
		sort.Strings(paths)
		for _, p := range paths {
			if _, err := st.Stat(ctx, tb.Root()+p); err != nil {
				t.Fatalf("snapshot %d references %s: %v", s.ID, p, err)
			}
		}
		got, err := readSnapshot(t, tb, s.ID)
		if err != nil {
			t.Fatalf("snapshot %d is unreadable: %v", s.ID, err)
		}
		if want == nil || s.ID != snaps[len(snaps)-1].ID {
			continue
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("latest snapshot %d: key %d = %q, want the last acknowledged %q", s.ID, k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Fatalf("latest snapshot %d: key %d = %q was never acknowledged (or was deleted)", s.ID, k, v)
			}
		}
	}
}
