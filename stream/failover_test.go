package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/twmb/franz-go/pkg/kgo"
)

// netCutter simulates kill -9 for one Kafka client: kill closes its
// connections and refuses new ones, so the member neither heartbeats nor
// leaves the group; only the session timeout removes it.
type netCutter struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (n *netCutter) dial(ctx context.Context, network, host string) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut {
		return nil, errors.New("killed")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, host)
	if err == nil {
		n.conns = append(n.conns, c)
	}
	return c, err
}

func (n *netCutter) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = true
	for _, c := range n.conns {
		c.Close()
	}
}

// owned lists the partitions a sink owns now.
func owned(s *Sink) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for tp := range s.parts {
		out = append(out, tp.String())
	}
	sort.Strings(out)
	return out
}

// TestFailoverAfterKill: two sinks share a group with a 3s session
// timeout; one is killed (no leave-group, no commit); the other owns every
// partition within the session timeout plus a margin, reports the dead
// member's partitions as unowned lag meanwhile, and the table ends exact.
func TestFailoverAfterKill(t *testing.T) {
	for _, static := range []bool{false, true} {
		name := "dynamic members"
		if static {
			name = "static members"
		}
		t.Run(name, func(t *testing.T) { failoverAfterKill(t, static) })
	}
}

const (
	failoverSession = 3 * time.Second
	// failoverMargin covers the heartbeat that notices the rebalance, the
	// join and sync rounds and the assignment callback.
	failoverMargin = 4 * time.Second
)

func failoverOpts(t *testing.T, brokers []string, f Format, name string, static bool, extra ...kgo.Opt) Options {
	t.Helper()
	g := KafkaGroup{SessionTimeout: failoverSession.String(), StaticMembership: static}
	opts, err := g.clientOpts(name)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, kgo.FetchMaxWait(100*time.Millisecond), kgo.RebalanceTimeout(5*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	return Options{
		Brokers: brokers, Topics: []string{"events"}, Group: "g", Member: name, Format: f,
		CommitInterval: 100 * time.Millisecond, Logf: testLogf(t), ClientOpts: append(opts, extra...),
	}
}

func failoverAfterKill(t *testing.T, static bool) {
	seed := testSeed(t)
	const parts = 4
	c := newCluster(t, parts, "events")
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newCounterProducer(manualProducer(t, c), "events", parts, 50, rand.New(rand.NewPCG(seed, 7)))
	p.produce(t, 400)

	var cut netCutter
	victim, killVictim := runSink(t, tb, failoverOpts(t, c.ListenAddrs(), f, "victim", static, kgo.Dialer(cut.dial)))
	survivor, stopSurvivor := runSink(t, tb, failoverOpts(t, c.ListenAddrs(), f, "survivor", static))
	waitAssigned(t, 30*time.Second, victim, survivor)
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	theirs := owned(victim)
	t.Logf("before the kill: victim owns %v, survivor %v", theirs, owned(survivor))

	// Records keep coming while the victim is dead.
	stopProducing := make(chan struct{})
	produced := make(chan struct{})
	var prodMu sync.Mutex
	go func() {
		defer close(produced)
		for {
			select {
			case <-stopProducing:
				return
			case <-time.After(100 * time.Millisecond):
			}
			prodMu.Lock()
			p.produce(t, 20)
			prodMu.Unlock()
		}
	}()
	time.Sleep(300 * time.Millisecond)

	cut.kill()
	killed := time.Now()
	if err := killVictim(); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("victim: %v", err)
	}
	var sawUnowned bool
	deadline := killed.Add(failoverSession + failoverMargin + 10*time.Second)
	for len(owned(survivor)) != parts {
		if time.Now().After(deadline) {
			t.Fatalf("the survivor owns %v %s after the kill", owned(survivor), time.Since(killed))
		}
		if m := survivor.Metrics().Snapshot(); len(m.UnownedLag) > 0 {
			var lag int64
			var keys []string
			for k, l := range m.UnownedLag {
				lag += l
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if lag > 0 && equalStrings(keys, theirs) {
				sawUnowned = true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	takeover := time.Since(killed)
	t.Logf("takeover: the survivor owns all %d partitions %s after the kill (session timeout %s)", parts, takeover.Round(time.Millisecond), failoverSession)
	if takeover > failoverSession+failoverMargin {
		t.Fatalf("takeover took %s, more than the session timeout %s + %s", takeover, failoverSession, failoverMargin)
	}
	if !sawUnowned {
		t.Fatalf("while the victim's partitions %v waited, the survivor never reported them as unowned lag", theirs)
	}
	close(stopProducing)
	<-produced
	prodMu.Lock()
	defer prodMu.Unlock()
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	if m := survivor.Metrics().Snapshot(); len(m.UnownedLag) != 0 && len(m.Lag) != parts {
		t.Fatalf("after the takeover: lag %v, unowned %v", m.Lag, m.UnownedLag)
	}
	if err := stopSurvivor(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	checkCounters(t, tb, p.oracle)
	checkSnapshotsMonotonic(t, tb, "g")
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStaticMemberRestart: with static membership a member that stops
// (static members do not leave the group) and comes back under the same
// name within the session timeout gets its partitions back without a
// rebalance: the other member keeps its partitions throughout and nothing
// is revoked. The table ends exact.
func TestStaticMemberRestart(t *testing.T) {
	seed := testSeed(t)
	const parts = 4
	c := newCluster(t, parts, "events")
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newCounterProducer(manualProducer(t, c), "events", parts, 50, rand.New(rand.NewPCG(seed, 8)))
	p.produce(t, 300)
	a, stopA := runSink(t, tb, failoverOpts(t, c.ListenAddrs(), f, "a", true))
	// b's group changes, seen through its log lines.
	var changesMu sync.Mutex
	var bChanges []string
	bOpts := failoverOpts(t, c.ListenAddrs(), f, "b", true)
	bLog := bOpts.Logf
	bOpts.Logf = func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if strings.Contains(line, ": assigned ") || strings.Contains(line, ": revoked ") || strings.Contains(line, ": lost ") {
			changesMu.Lock()
			bChanges = append(bChanges, line)
			changesMu.Unlock()
		}
		bLog("%s", line)
	}
	bGroupChanges := func() []string {
		changesMu.Lock()
		defer changesMu.Unlock()
		return append([]string(nil), bChanges...)
	}
	b, stopB := runSink(t, tb, bOpts)
	waitAssigned(t, 30*time.Second, a, b)
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	// Wait for a stable group: both own their share for a while.
	aParts, bParts := owned(a), owned(b)
	for stable := time.Now(); time.Since(stable) < time.Second; time.Sleep(20 * time.Millisecond) {
		if na, nb := owned(a), owned(b); !equalStrings(na, aParts) || !equalStrings(nb, bParts) || len(na)+len(nb) != parts {
			aParts, bParts, stable = na, nb, time.Now()
		}
	}
	t.Logf("a owns %v, b owns %v", aParts, bParts)
	before := len(bGroupChanges())

	if err := stopA(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	p.produce(t, 200)
	// Down for half the session timeout: long enough for a rebalance to
	// move a's partitions to b if a had left the group.
	time.Sleep(failoverSession / 2)
	if changes := bGroupChanges()[before:]; len(changes) > 0 {
		t.Fatalf("b saw group changes while a was down (a rebalance): %q", changes)
	}
	restarted := time.Now()
	a2, stopA2 := runSink(t, tb, failoverOpts(t, c.ListenAddrs(), f, "a", true))
	for !equalStrings(owned(a2), aParts) {
		if !equalStrings(owned(b), bParts) {
			t.Fatalf("b's partitions changed from %v to %v while a restarted: a rebalance", bParts, owned(b))
		}
		if time.Since(restarted) > failoverSession {
			t.Fatalf("the restarted static member owns %v, not its partitions %v, %s after the restart", owned(a2), aParts, time.Since(restarted))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the restarted member got %v back %s after its restart", aParts, time.Since(restarted).Round(time.Millisecond))
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	if !equalStrings(owned(b), bParts) {
		t.Fatalf("b's partitions changed from %v to %v: a rebalance", bParts, owned(b))
	}
	if changes := bGroupChanges()[before:]; len(changes) > 0 {
		t.Fatalf("b saw group changes while a restarted (a rebalance): %q", changes)
	}
	for _, stop := range []func() error{stopA2, stopB} {
		if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	checkCounters(t, tb, p.oracle)
}
