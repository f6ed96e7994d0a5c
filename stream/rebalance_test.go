package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
)

// member is one sink process of a group in a test.
type member struct {
	name string
	s    *Sink
	stop func() error // kill (cancel) and wait
	done chan error
}

// TestRebalanceTwoSinks runs sinks of one group that join, crash, drain and
// rejoin at random while records keep coming, then checks the table
// against the oracle. A steady phase with two sinks that own different
// partitions checks that their commits never fence each other.
func TestRebalanceTwoSinks(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 4))
	const parts = 6
	c := newCluster(t, parts, "events")
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newCounterProducer(manualProducer(t, c), "events", parts, 60, rand.New(rand.NewPCG(seed, 5)))
	running := map[string]*member{}
	start := func(name string) *member {
		s, err := New(tb, Options{
			Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: name, Format: f,
			CommitInterval: time.Duration(30+rng.IntN(100)) * time.Millisecond, ClientOpts: fastGroup(),
			Logf: testLogf(t), Rand: sinkRand(rng.Uint64()),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		m := &member{name: name, s: s, done: make(chan error, 1)}
		go func() { m.done <- s.Run(ctx) }()
		m.stop = func() error { cancel(); return <-m.done }
		running[name] = m
		t.Cleanup(func() { cancel() })
		return m
	}
	finish := func(m *member, err error) {
		delete(running, m.name)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("sink %s failed: %v", m.name, err)
		}
	}
	names := []string{"a", "b", "c"}

	start("a")
	for step := 0; step < 10; step++ {
		p.produce(t, 50+rng.IntN(200))
		var up []string
		for n := range running {
			up = append(up, n)
		}
		sort.Strings(up)
		switch act := rng.IntN(4); {
		case act == 0 && len(up) < len(names):
			for _, n := range names {
				if running[n] == nil {
					t.Logf("step %d: %s joins", step, n)
					start(n)
					break
				}
			}
		case act == 1 && len(up) > 1:
			m := running[up[rng.IntN(len(up))]]
			t.Logf("step %d: %s crashes", step, m.name)
			finish(m, m.stop())
		case act == 2 && len(up) > 1:
			m := running[up[rng.IntN(len(up))]]
			t.Logf("step %d: %s drains and leaves", step, m.name)
			m.s.Drain()
			select {
			case err := <-m.done:
				m.done <- err
			case <-time.After(20 * time.Second):
				t.Fatalf("%s did not drain", m.name)
			}
			finish(m, m.stop())
		default:
			t.Logf("step %d: no change (%v running)", step, up)
		}
		time.Sleep(time.Duration(50+rng.IntN(300)) * time.Millisecond)
	}

	// Steady phase: exactly a and b own disjoint partitions.
	for _, m := range running {
		finish(m, m.stop())
	}
	a, b := start("a"), start("b")
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	waitAssigned(t, 20*time.Second, a.s, b.s)
	fencedBefore := a.s.Metrics().Snapshot().Fenced + b.s.Metrics().Snapshot().Fenced
	for i := 0; i < 5; i++ {
		p.produce(t, 200)
		time.Sleep(60 * time.Millisecond)
	}
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	ma, mb := a.s.Metrics().Snapshot(), b.s.Metrics().Snapshot()
	if ma.Commits == 0 || mb.Commits == 0 {
		t.Fatalf("both sinks should commit in the steady phase: a %d, b %d commits", ma.Commits, mb.Commits)
	}
	if got := ma.Fenced + mb.Fenced; got != fencedBefore {
		t.Fatalf("sinks owning different partitions fenced each other: %d fences", got-fencedBefore)
	}
	for _, m := range running {
		finish(m, m.stop())
	}
	checkCounters(t, tb, p.oracle)
	checkSnapshotsMonotonic(t, tb, "g")
	users := map[string]bool{}
	snaps, _ := tb.Meta().Snapshots(context.Background())
	for _, s := range snaps {
		if s.CommitKind == manifest.CommitAppend {
			users[s.CommitUser] = true
		}
	}
	t.Logf("commit users: %v", users)
	if len(users) < 2 {
		t.Fatalf("expected commits from several sinks, got %v", users)
	}
}

// waitAssigned waits until each sink owns at least one partition.
func waitAssigned(t *testing.T, timeout time.Duration, sinks ...*Sink) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, s := range sinks {
			s.mu.Lock()
			n := len(s.parts)
			s.mu.Unlock()
			if n == 0 {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("partitions were not spread over the sinks")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
