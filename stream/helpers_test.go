package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testSeed returns the test's seed and logs it for replay.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	return testkit.Seed(t)
}

// newCluster starts an in-process Kafka (kfake) on loopback with fast
// group timeouts and the given topics.
func newCluster(t testing.TB, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(partitions, topics...),
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// fastGroup are franz-go options that make group changes quick in tests.
func fastGroup() []kgo.Opt {
	return []kgo.Opt{
		kgo.SessionTimeout(1500 * time.Millisecond),
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(3 * time.Second),
		kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
	}
}

// producer returns a client producing to the cluster.
func producer(t testing.TB, c *kfake.Cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produceSync(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// consumeAll reads every record of a topic (direct, not a group).
func consumeAll(t testing.TB, c *kfake.Cluster, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends := endOffsets(t, c, topic)
	var want int64
	for _, e := range ends {
		want += e
	}
	var out []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for int64(len(out)) < want {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records of %s", len(out), want, topic)
		}
		out = append(out, f.Records()...)
	}
	return out
}

// endOffsets returns the high watermark of every partition of a topic.
func endOffsets(t testing.TB, c *kfake.Cluster, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := listEnds(ctx, cl, topic)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// newCatalog returns a catalog on an in-memory store.
func newCatalog(store objstore.Store) *catalog.Catalog {
	return catalog.New(store, "", table.Env{})
}

func createTable(t testing.TB, cat *catalog.Catalog, name string, s *types.Schema) *table.Table {
	t.Helper()
	ctx := context.Background()
	if err := cat.CreateDatabase(ctx, "db", true); err != nil {
		t.Fatal(err)
	}
	tb, err := cat.CreateTable(ctx, "db", name, s, false)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// counterSchema is the exactly-once probe: an aggregation table where every
// applied record adds 1 to cnt and its offset to sum_off, and last_off is
// the last record's offset (last_value: the later commit wins). A record
// applied twice or never changes cnt or sum_off.
func counterSchema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{Name: "k", Type: types.TBigInt},
			{Name: "cnt", Type: types.TBigInt},
			{Name: "sum_off", Type: types.TBigInt},
			{Name: "last_off", Type: types.TBigInt},
		},
		PrimaryKeys: []string{"k"},
		Options: map[string]string{
			"bucket": "3", "merge-engine": "aggregation",
			"fields.cnt.aggregate-function":      "sum",
			"fields.sum_off.aggregate-function":  "sum",
			"fields.last_off.aggregate-function": "last_value",
		},
	}
}

// counterRecord is one record for the counter table: key k, payload with
// its own partition/offset unknown until produced, so the value carries a
// sequence number that equals the offset when records are produced in
// order to a partition.
type counterOracle struct {
	mu    sync.Mutex
	state map[int64][3]int64 // k → cnt, sum_off, last_off
}

func newCounterOracle() *counterOracle { return &counterOracle{state: map[int64][3]int64{}} }

func (o *counterOracle) apply(k, off int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.state[k]
	s[0]++
	s[1] += off
	s[2] = off
	o.state[k] = s
}

// counterProducer produces counter records: partition p gets keys with
// k % partitions == p, and the value names the offset the record will get
// (it produces to each partition in order, one at a time per partition).
type counterProducer struct {
	cl     *kgo.Client
	topic  string
	parts  int32
	next   map[int32]int64
	rng    *rand.Rand
	keys   int64
	oracle *counterOracle
}

func newCounterProducer(cl *kgo.Client, topic string, parts int32, keys int64, rng *rand.Rand) *counterProducer {
	return &counterProducer{cl: cl, topic: topic, parts: parts, next: map[int32]int64{}, rng: rng, keys: keys, oracle: newCounterOracle()}
}

// produce n records synchronously.
func (p *counterProducer) produce(t testing.TB, n int) {
	t.Helper()
	recs := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		k := p.rng.Int64N(p.keys)
		part := int32(k % int64(p.parts))
		off := p.next[part]
		p.next[part]++
		v, _ := json.Marshal(map[string]int64{"k": k, "cnt": 1, "sum_off": off, "last_off": off})
		recs = append(recs, &kgo.Record{Topic: p.topic, Partition: part, Key: []byte(fmt.Sprint(k)), Value: v})
		p.oracle.apply(k, off)
	}
	produceSync(t, p.cl, recs...)
}

// ends returns the next offset of every partition produced to.
func (p *counterProducer) ends() map[int32]int64 {
	out := map[int32]int64{}
	for i := int32(0); i < p.parts; i++ {
		out[i] = p.next[i]
	}
	return out
}

// manualPartitioner sends records to Record.Partition.
func manualProducer(t testing.TB, c *kfake.Cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// tableCounters reads the counter table.
func tableCounters(t testing.TB, tb *table.Table) map[int64][3]int64 {
	t.Helper()
	ctx := context.Background()
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][3]int64{}
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out[row[0].(int64)] = [3]int64{row[1].(int64), row[2].(int64), row[3].(int64)}
	}
	return out
}

// checkCounters compares the table with the oracle and reports the first
// differences.
func checkCounters(t testing.TB, tb *table.Table, o *counterOracle) {
	t.Helper()
	got := tableCounters(t, tb)
	o.mu.Lock()
	defer o.mu.Unlock()
	var diffs []string
	for k, w := range o.state {
		if g, ok := got[k]; !ok || g != w {
			diffs = append(diffs, fmt.Sprintf("key %d: table %v (present %v), oracle [cnt sum_off last_off] %v", k, g, ok, w))
		}
	}
	for k, g := range got {
		if _, ok := o.state[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("key %d: table %v, not in oracle", k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("table differs from the oracle in %d keys; first: %v", len(diffs), diffs[:min(len(diffs), 5)])
	}
}

// caughtUp reports whether the table's stored offsets for group reach ends.
func caughtUp(t testing.TB, tb *table.Table, group, topic string, ends map[int32]int64) bool {
	t.Helper()
	snap, err := tb.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	offs, err := StoredOffsets(snap, group)
	if err != nil {
		t.Fatal(err)
	}
	for p, e := range ends {
		if e > 0 && offs[TopicPartition{topic, p}] != e {
			return false
		}
	}
	return true
}

// waitCaughtUp waits until the table's stored offsets for group reach ends.
func waitCaughtUp(t testing.TB, tb *table.Table, group, topic string, ends map[int32]int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		snap, err := tb.Latest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		offs, err := StoredOffsets(snap, group)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for p, e := range ends {
			if e > 0 && offs[TopicPartition{topic, p}] != e {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("table offsets %v did not reach %v within %s", offs, ends, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runSink starts a sink in a goroutine; the returned func cancels it and
// returns Run's error.
func runSink(t testing.TB, tb *table.Table, o Options) (*Sink, func() error) {
	t.Helper()
	s, err := New(tb, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var res error
	stop := func() error {
		once.Do(func() {
			cancel()
			res = <-done
		})
		return res
	}
	t.Cleanup(func() { stop() })
	return s, stop
}

func testLogf(t testing.TB) func(string, ...any) {
	return func(format string, args ...any) {
		t.Logf(time.Now().Format("15:04:05.000 ")+format, args...)
	}
}

// sinkRand is a sink's own random source (the test's rng is not shared
// with the sink's goroutines).
func sinkRand(seed uint64) func(int64) int64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 99))
	return func(n int64) int64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Int64N(n)
	}
}
