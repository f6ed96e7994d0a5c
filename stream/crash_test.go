package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// crashPoint is where a randomized round kills the sink.
type crashPoint struct {
	name string
	// install adds fault rules to f that call kill; nth picks which call.
	install func(f *objstore.Fault, nth int, kill func())
	// survives: the fault does not kill the sink (it must recover alone).
	survives bool
}

var crashPoints = []crashPoint{
	{name: "during data file upload", install: func(f *objstore.Fault, nth int, kill func()) {
		f.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "/data/", Nth: nth, Crash: kill})
	}},
	{name: "between upload and manifest", install: func(f *objstore.Fault, nth int, kill func()) {
		f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "manifest/manifest-", Nth: nth, Crash: kill})
	}},
	{name: "before the snapshot put", install: func(f *objstore.Fault, nth int, kill func()) {
		f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", Nth: nth, Crash: kill})
	}},
	{name: "snapshot put applied, answer lost, then killed", install: func(f *objstore.Fault, nth int, kill func()) {
		f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", Nth: nth, ApplyThenFail: true, Err: objstore.ErrInjected})
		f.Add(objstore.Rule{Op: objstore.OpGet, KeyContains: "snapshot/snapshot-", Nth: 0, Times: 1, Crash: kill})
	}},
	{name: "after the commit, before anything else", install: func(f *objstore.Fault, nth int, kill func()) {
		f.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "snapshot/LATEST", Nth: nth, Crash: kill})
	}},
	{name: "snapshot put applied, answer lost (no kill)", survives: true, install: func(f *objstore.Fault, nth int, _ func()) {
		f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", Nth: nth, ApplyThenFail: true, Err: objstore.ErrInjected})
	}},
	{name: "snapshot put fails (no kill)", survives: true, install: func(f *objstore.Fault, nth int, _ func()) {
		f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", Nth: nth, Times: 3, Err: objstore.ErrInjected})
	}},
	{name: "snapshot put fails for good (the sink replays the batch)", survives: true, install: func(f *objstore.Fault, nth int, _ func()) {
		f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", Nth: nth, Err: errGaveUp})
	}},
	{name: "data upload fails for good (the sink replays the batch)", survives: true, install: func(f *objstore.Fault, nth int, _ func()) {
		f.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "/data/", Nth: nth, Err: errGaveUp})
	}},
	{name: "at a random moment", install: func(*objstore.Fault, int, func()) {}},
}

// errGaveUp is what a retrying store returns after its last attempt: the
// commit fails at once and the sink must drop and replay its batch.
var errGaveUp = fmt.Errorf("injected: %w", objstore.ErrGaveUp)

// crashRestart runs rounds of: produce records, start a sink with a random
// crash point, let it die (or stop it), restart. It then lets a sink catch
// up and compares the counter table with the oracle: every (partition,
// offset) applied exactly once, the last offset of each key wins.
func crashRestart(t *testing.T, base objstore.Store, rounds int) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	const parts = 4
	c := newCluster(t, parts, "events")
	fault := objstore.NewFault(base)
	tb := createTable(t, newCatalog(fault), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newCounterProducer(manualProducer(t, c), "events", parts, 40, rand.New(rand.NewPCG(seed, 3)))
	opts := func() Options {
		return Options{
			Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m1", Format: f,
			CommitInterval: time.Duration(20+rng.IntN(80)) * time.Millisecond, ClientOpts: fastGroup(),
			Logf: testLogf(t), MemoryBudget: MinMemoryBudget, Rand: sinkRand(rng.Uint64()),
		}
	}
	var replays int64
	for round := 0; round < rounds; round++ {
		cp := crashPoints[rng.IntN(len(crashPoints))]
		nth := 1 + rng.IntN(3)
		t.Logf("round %d: crash %s (call %d)", round, cp.name, nth)
		s, err := New(tb, opts())
		if err != nil {
			t.Fatal(err)
		}
		ctx, kill := context.WithCancel(context.Background())
		cp.install(fault, nth, kill)
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		// Produce a few chunks while the sink runs, then wait until it
		// dies at its crash point or has caught up (then kill it there).
		var runErr error
		start := time.Now()
		randomKill := time.Duration(rng.IntN(500)) * time.Millisecond
		chunks := 1 + rng.IntN(4)
	wait:
		for i := 0; ; i++ {
			select {
			case runErr = <-done:
				break wait
			default:
			}
			switch {
			case i < chunks:
				p.produce(t, 20+rng.IntN(150))
			case cp.name == "at a random moment" && time.Since(start) > randomKill,
				caughtUp(t, tb, "g", "events", p.ends()):
				kill()
				runErr = <-done
				break wait
			case time.Since(start) > 20*time.Second:
				t.Fatalf("round %d (%s): the sink neither died nor caught up", round, cp.name)
			}
			time.Sleep(time.Duration(5+rng.IntN(40)) * time.Millisecond)
		}
		kill()
		fault.Clear()
		if runErr != nil && !errors.Is(runErr, context.Canceled) {
			t.Fatalf("round %d (%s): sink failed: %v", round, cp.name, runErr)
		}
		m := s.Metrics().Snapshot()
		t.Logf("round %d: %d commits, %d failed, %d records committed, %d duplicates skipped", round, m.Commits, m.CommitFailures, m.RecordsCommitted, m.DuplicatesSkipped)
		replays += m.Resets
	}
	t.Logf("%d batches dropped and replayed without a restart", replays)
	p.produce(t, 100)
	_, stop := runSink(t, tb, opts())
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	checkCounters(t, tb, p.oracle)
	checkSnapshotsMonotonic(t, tb, "g")
}

// checkSnapshotsMonotonic verifies that along the snapshot history every
// stored offset only moves forward.
func checkSnapshotsMonotonic(t *testing.T, tb *table.Table, group string) {
	t.Helper()
	snaps, err := tb.Meta().Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	last := map[TopicPartition]int64{}
	for _, s := range snaps {
		offs, err := StoredOffsets(s, group)
		if err != nil {
			t.Fatal(err)
		}
		for tp, o := range offs {
			if o < last[tp] {
				t.Fatalf("snapshot %d: %s went back from %d to %d", s.ID, tp, last[tp], o)
			}
			last[tp] = o
		}
		for tp := range last {
			if _, ok := offs[tp]; !ok {
				t.Fatalf("snapshot %d lost the offset of %s", s.ID, tp)
			}
		}
	}
	t.Logf("%d snapshots, offsets %v", len(snaps), fmt.Sprint(last))
}

func TestExactlyOnceCrashRestartMem(t *testing.T) {
	crashRestart(t, objstore.NewMem(), 30)
}

func TestExactlyOnceCrashRestartLocal(t *testing.T) {
	st, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	crashRestart(t, st, 12)
}

func TestExactlyOnceCrashRestartS3(t *testing.T) {
	crashRestart(t, s3test.NewStore(t), 12)
}
