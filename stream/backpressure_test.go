package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBackpressurePausesFetching stalls the table (every data-file upload
// takes a second, as when the store throttles or compaction is behind) and
// checks that the sink pauses fetching instead of buffering: no fetch
// requests reach Kafka while it is stalled, the open batch stays within
// the memory budget, and it catches up exactly once afterwards.
func TestBackpressurePausesFetching(t *testing.T) {
	seed := testSeed(t)
	c := newCluster(t, 2, "events")
	var fetches atomic.Int64
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		fetches.Add(1)
		return nil, nil, false
	})
	fault := objstore.NewFault(objstore.NewMem())
	tb := createTable(t, newCatalog(fault), "counters", counterSchema())
	f, _ := NewFormat("json", tb.Schema(), FormatOptions{})
	p := newCounterProducer(manualProducer(t, c), "events", 2, 500, rand.New(rand.NewPCG(seed, 10)))
	s, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m", Format: f,
		CommitInterval: 100 * time.Millisecond, StallThreshold: 100 * time.Millisecond, MemoryBudget: MinMemoryBudget,
		ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	p.produce(t, 1000)
	waitCaughtUp(t, tb, "g", "events", p.ends(), 20*time.Second)

	fault.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "/data/", Times: 2, Latency: 1200 * time.Millisecond})
	p.produce(t, 3000)
	deadline := time.Now().Add(10 * time.Second)
	for !s.Metrics().Snapshot().FetchPaused {
		if time.Now().After(deadline) {
			t.Fatal("fetching was never paused")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let an in-flight fetch finish
	before := fetches.Load()
	var maxBatch int64
	for i := 0; i < 40; i++ {
		m := s.Metrics().Snapshot()
		if !m.FetchPaused {
			break
		}
		maxBatch = max(maxBatch, m.BatchBytes)
		time.Sleep(10 * time.Millisecond)
	}
	if n := fetches.Load() - before; n > 1 {
		t.Fatalf("%d fetch requests while paused", n)
	}
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	// The watchdog resumes fetching (and adds the stall to StallTime)
	// asynchronously, after the commit that made the table catch up.
	m := s.Metrics().Snapshot()
	for deadline := time.Now().Add(10 * time.Second); m.FetchPaused && time.Now().Before(deadline); m = s.Metrics().Snapshot() {
		time.Sleep(5 * time.Millisecond)
	}
	if m.FetchPauses < 1 || m.StallTime < 500*time.Millisecond || m.FetchPaused {
		t.Fatalf("pauses %d, stalled %s, paused now %v", m.FetchPauses, m.StallTime, m.FetchPaused)
	}
	if maxBatch > MinMemoryBudget {
		t.Fatalf("open batch %d bytes over the %d budget", maxBatch, MinMemoryBudget)
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	checkCounters(t, tb, p.oracle)
	t.Log(m)
}

// TestWriteStallPausesFetching uses the table's own write stall: with
// write-only and a low stop trigger, the writer blocks once a bucket has
// too many sorted runs until a standalone compaction catches up. The sink
// must pause fetching meanwhile and finish exactly once after the
// compaction.
func TestWriteStallPausesFetching(t *testing.T) {
	seed := testSeed(t)
	c := newCluster(t, 2, "events")
	sc := counterSchema()
	sc.Options["bucket"] = "1"
	sc.Options["write-only"] = "true"
	sc.Options["num-sorted-run.compaction-trigger"] = "2"
	sc.Options["num-sorted-run.stop-trigger"] = "3"
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", sc)
	f, _ := NewFormat("json", tb.Schema(), FormatOptions{})
	p := newCounterProducer(manualProducer(t, c), "events", 2, 100, rand.New(rand.NewPCG(seed, 13)))
	s, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m", Format: f,
		CommitInterval: 20 * time.Millisecond, StallThreshold: 50 * time.Millisecond,
		ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	deadline := time.Now().Add(20 * time.Second)
	for !s.Metrics().Snapshot().FetchPaused {
		if time.Now().After(deadline) {
			t.Fatalf("the write stall never paused fetching: %v", s.Metrics().Snapshot())
		}
		p.produce(t, 50)
		time.Sleep(30 * time.Millisecond)
	}
	t.Logf("stalled after %d commits", s.Metrics().Snapshot().Commits)
	if _, err := tb.Compact(context.Background(), table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, tb, "g", "events", p.ends(), 30*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	m := s.Metrics().Snapshot()
	if m.FetchPauses < 1 || m.StallTime <= 0 {
		t.Fatalf("pauses %d, stalled %s", m.FetchPauses, m.StallTime)
	}
	checkCounters(t, tb, p.oracle)
}
