package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// freezer simulates SIGSTOP for one Kafka client: while frozen, every
// read and write on its connections blocks, so it sends no heartbeats and
// the group coordinator evicts it after the session timeout.
type freezer struct {
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
}

func newFreezer() *freezer { return &freezer{thaw: make(chan struct{})} }

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen {
		f.frozen, f.thaw = true, make(chan struct{})
	}
}

func (f *freezer) unfreeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		f.frozen = false
		close(f.thaw)
	}
}

func (f *freezer) wait() {
	f.mu.Lock()
	frozen, thaw := f.frozen, f.thaw
	f.mu.Unlock()
	if frozen {
		<-thaw
	}
}

func (f *freezer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	f.wait()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	return &frozenConn{Conn: c, f: f}, nil
}

type frozenConn struct {
	net.Conn
	f *freezer
}

func (c *frozenConn) Read(p []byte) (int, error) {
	c.f.wait()
	n, err := c.Conn.Read(p)
	c.f.wait() // a reply that arrives while frozen is not seen until thawed
	return n, err
}

func (c *frozenConn) Write(p []byte) (int, error) {
	c.f.wait()
	return c.Conn.Write(p)
}

// TestZombieSinkFenced pauses a sink in the middle of a commit (its Kafka
// connections and its table commit both stop, as under SIGSTOP or a long
// GC pause), lets the group hand its partitions to another sink that
// commits, and then resumes it: its commit must be rejected (fenced by the
// stored offsets), and the table must still hold every record exactly
// once.
func TestZombieSinkFenced(t *testing.T) { zombie(t, false) }

// TestZombieWinsRace is the other order: the paused sink resumes and
// commits before the new owner's first commit lands. The zombie's batch
// is then legitimately applied (it started from the table's offsets), and
// the new owner is the one fenced: it replays from the zombie's offsets.
func TestZombieWinsRace(t *testing.T) { zombie(t, true) }

func zombie(t *testing.T, zombieFirst bool) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 6))
	const parts = 2
	c := newCluster(t, parts, "events")
	mem := objstore.NewMem()
	zfault, yfault := objstore.NewFault(mem), objstore.NewFault(mem)
	ztb := createTable(t, newCatalog(zfault), "counters", counterSchema())
	ytb, err := newCatalog(yfault).LoadTable(context.Background(), "db", "counters")
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFormat("json", ztb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newCounterProducer(manualProducer(t, c), "events", parts, 30, rand.New(rand.NewPCG(seed, 7)))
	opts := func(name string, extra ...kgo.Opt) Options {
		return Options{
			Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: name, Format: f,
			CommitInterval: 50 * time.Millisecond, ClientOpts: append(fastGroup(), extra...),
			Logf: testLogf(t), Rand: sinkRand(rng.Uint64()),
		}
	}

	fz := newFreezer()
	z, stopZ := runSink(t, ztb, opts("zombie", kgo.Dialer(fz.dial)))
	p.produce(t, 200)
	waitCaughtUp(t, ztb, "g", "events", p.ends(), 20*time.Second)

	// Pause the zombie at its next snapshot put: freeze its Kafka client
	// and hold the put until released.
	paused, release := gate(zfault, func() { fz.freeze() })
	p.produce(t, 100)
	select {
	case <-paused:
	case <-time.After(20 * time.Second):
		t.Fatal("the zombie never reached its commit")
	}
	t.Logf("zombie paused in its commit with offsets up to %v", p.ends())

	// Hand-over: the survivor joins; the frozen zombie is evicted after its
	// session timeout and the survivor consumes the partitions.
	var yPaused, yRelease chan struct{}
	if zombieFirst {
		yPaused, yRelease = gate(yfault, nil)
	}
	y, stopY := runSink(t, ytb, opts("survivor"))
	p.produce(t, 100)
	if zombieFirst {
		select {
		case <-yPaused:
		case <-time.After(30 * time.Second):
			t.Fatal("the survivor never reached its commit")
		}
		// The zombie resumes and commits first: its batch started at the
		// table's offsets, so it is applied; then the survivor's commit
		// must be fenced.
		close(release)
		fz.unfreeze()
		waitFor(t, "the zombie's commit", func() bool { return z.Metrics().Snapshot().Commits >= 2 })
		close(yRelease)
		waitFor(t, "the survivor to be fenced", func() bool { return y.Metrics().Snapshot().Fenced >= 1 })
		if n := z.Metrics().Snapshot().Fenced; n != 0 {
			t.Fatalf("the zombie was fenced %d times but committed first", n)
		}
	} else {
		waitCaughtUp(t, ytb, "g", "events", p.ends(), 30*time.Second)
		t.Logf("survivor committed up to %v", p.ends())
		// The zombie resumes: its commit must be fenced.
		close(release)
		fz.unfreeze()
		waitFor(t, "the zombie to be fenced", func() bool { return z.Metrics().Snapshot().Fenced >= 1 })
	}
	t.Logf("zombie: %v", z.Metrics().Snapshot())
	t.Logf("survivor: %v", y.Metrics().Snapshot())

	// Both keep going; the table is exact.
	p.produce(t, 150)
	waitCaughtUp(t, ytb, "g", "events", p.ends(), 30*time.Second)
	for _, stop := range []func() error{stopZ, stopY} {
		if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	checkCounters(t, ytb, p.oracle)
	checkSnapshotsMonotonic(t, ytb, "g")
	checkNoZombieCommit(t, ytb, z.User(), y.User())
}

// gate holds the next snapshot put through f: paused closes when it is
// reached (after calling onPause), and the put proceeds when release is
// closed.
func gate(f *objstore.Fault, onPause func()) (paused, release chan struct{}) {
	paused, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", Times: 1, Crash: func() {
		once.Do(func() {
			if onPause != nil {
				onPause()
			}
			close(paused)
			<-release
		})
	}})
	return paused, release
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkNoZombieCommit verifies that after the survivor's first commit the
// zombie committed nothing based on its stale batch: every APPEND commit
// must start from the offsets its parent held (the Check enforces it;
// this re-verifies it from the history).
func checkNoZombieCommit(t *testing.T, tb *table.Table, zombie, survivor string) {
	t.Helper()
	snaps, err := tb.Meta().Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, s := range snaps {
		if s.CommitKind == manifest.CommitAppend {
			seen[s.CommitUser]++
		}
	}
	if seen[survivor] == 0 {
		t.Fatalf("the survivor never committed: %v", seen)
	}
	t.Logf("append commits per user: %v", seen)
}

// TestFencedCheck exercises the commit precondition alone.
func TestFencedCheck(t *testing.T) {
	tp := TopicPartition{"t", 0}
	other := TopicPartition{"t", 1}
	plan := &batchPlan{group: "g", spans: map[TopicPartition]span{tp: {start: 10, origin: 10, next: 20}}}
	snap := func(props map[string]string) *manifest.Snapshot { return &manifest.Snapshot{ID: 3, Properties: props} }
	if err := plan.check(snap(map[string]string{OffsetKey("g", "t", 0): "10"})); err != nil {
		t.Fatal(err)
	}
	// Another partition moving does not matter.
	if err := plan.check(snap(map[string]string{OffsetKey("g", "t", 0): "10", OffsetKey("g", other.Topic, other.Partition): "99"})); err != nil {
		t.Fatal(err)
	}
	for _, props := range []map[string]string{
		{OffsetKey("g", "t", 0): "15"},
		{},
		{OffsetKey("g", "t", 0): "9"},
	} {
		if err := plan.check(snap(props)); !errors.Is(err, types.ErrFenced) {
			t.Fatalf("props %v: %v, want fenced", props, err)
		}
	}
	if err := plan.check(snap(map[string]string{OffsetKey("g", "t", 0): "x"})); !errors.Is(err, types.ErrCorruption) {
		t.Fatalf("garbled offset: %v", err)
	}
	fresh := &batchPlan{group: "g", spans: map[TopicPartition]span{tp: {start: noOffset, origin: 0, next: 5}}}
	if err := fresh.check(nil); err != nil {
		t.Fatal(err)
	}
	if err := fresh.check(snap(map[string]string{OffsetKey("g", "t", 0): "5"})); !errors.Is(err, types.ErrFenced) {
		t.Fatal(err)
	}
	// Keys of different groups and topics never collide.
	if OffsetKey("a.b", "c", 0) == OffsetKey("a", "b.c", 0) || OffsetKey("a/b", "c", 0) == OffsetKey("a", "b/c", 0) {
		t.Fatal("offset keys collide")
	}
	if plan.identifier() == fresh.identifier() {
		t.Fatal("identifiers collide")
	}
}
