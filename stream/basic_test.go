package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestSinkBasic: a sink consumes from the offsets in the table, not from
// Kafka's committed offsets (which it only updates, for monitoring).
func TestSinkBasic(t *testing.T) {
	seed := testSeed(t)
	c := newCluster(t, 3, "events")
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newCounterProducer(manualProducer(t, c), "events", 3, 50, rand.New(rand.NewPCG(seed, 1)))
	p.produce(t, 500)
	// Misleading committed offsets in Kafka: the sink must ignore them.
	kafkaCommit(t, c, "g", "events", map[int32]int64{0: 100, 1: 5000, 2: 1})
	s, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m1", Format: f,
		CommitInterval: 100 * time.Millisecond, ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	waitCaughtUp(t, tb, "g", "events", p.ends(), 20*time.Second)
	p.produce(t, 300)
	waitCaughtUp(t, tb, "g", "events", p.ends(), 20*time.Second)
	// The table's offsets are mirrored to Kafka for lag monitors.
	deadline := time.Now().Add(10 * time.Second)
	for got := kafkaCommitted(t, c, "g", "events"); !equalOffsets(got, p.ends()); got = kafkaCommitted(t, c, "g", "events") {
		if time.Now().After(deadline) {
			t.Fatalf("kafka committed offsets %v, want %v", got, p.ends())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	checkCounters(t, tb, p.oracle)
	m := s.Metrics().Snapshot()
	if m.RecordsCommitted != 800 || len(m.Lag) != 3 || m.Commits < 2 || m.FreshnessP99 <= 0 || m.CommitP50 <= 0 {
		t.Fatalf("metrics: %v", m)
	}
	t.Log(m)
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// kafkaCommit commits offsets for a group with no members (an admin
// commit).
func kafkaCommit(t testing.TB, c *kfake.Cluster, group, topic string, offs map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.MaxVersions(kversion.V3_0_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	for p, o := range offs {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p, o
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// kafkaCommitted returns a group's committed offsets in Kafka.
func kafkaCommitted(t testing.TB, c *kfake.Cluster, group, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.MaxVersions(kversion.V3_0_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{0, 1, 2}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.Offset >= 0 {
				out[rp.Partition] = rp.Offset
			}
		}
	}
	return out
}
