package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Benchmarks of the sink end to end, into a table on the test MinIO (run
// them through scripts/test.sh; see docs/benchmarks.md):
//
//	bash scripts/test.sh ./stream/ -run '^$' -bench BenchmarkSink -benchtime 1x
//
// Kafka is kfake in-process; the raw franz-go consume rate of the same
// topic is the baseline.

const (
	benchPartitions = 4
	benchKeys       = 100_000
)

// benchTable creates an accounts table on a fresh MinIO bucket, behind the
// retrying store the CLI uses.
func benchTable(b *testing.B, name string) *table.Table {
	b.Helper()
	store := objstore.NewRetry(s3test.NewStore(b), objstore.RetryOptions{})
	cat := catalog.New(store, "", table.Env{})
	s := accountsSchema()
	s.Options = map[string]string{"bucket": "4"}
	return createTable(b, cat, name, s)
}

// debeziumBench encodes n Debezium events (80% updates of existing keys)
// with record timestamps left to the producer (produce time).
func debeziumBench(b testing.TB, s *types.Schema, topic string, n int, rng *rand.Rand) []*kgo.Record {
	b.Helper()
	enc, err := NewEncoder("debezium-json", s, Source{"bench", "accounts"})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		id := rng.Int64N(benchKeys)
		row := types.Row{id, fmt.Sprintf("owner-%d", id), types.Decimal(rng.Int64N(1_000_000)), types.Date(20000 + rng.IntN(365)),
			types.Timestamp(1767225600000000 + rng.Int64N(1e12)), rng.IntN(2) == 0}
		ev := Event{Op: OpInsert, After: row}
		if rng.IntN(5) != 0 {
			old := append(types.Row(nil), row...)
			old[2] = types.Decimal(rng.Int64N(1_000_000))
			ev = Event{Op: OpUpdate, Before: old, After: row}
		}
		k, v, err := enc.Encode(ev)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: k, Value: v})
	}
	return recs
}

func benchCluster(b *testing.B, topic string) *kfake.Cluster {
	b.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(benchPartitions, topic), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// rawConsume reads every record of topic with a plain franz-go group
// consumer and returns the rate.
func rawConsume(b *testing.B, c *kfake.Cluster, topic, group string, n int) float64 {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	got := 0
	for got < n {
		f := cl.PollRecords(ctx, 10000)
		if ctx.Err() != nil {
			b.Fatalf("raw consume: %d of %d", got, n)
		}
		got += f.NumRecords()
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkSinkCatchUp: a backlog of Debezium events applied into a MinIO
// table, against the raw consume rate of the same topic.
func BenchmarkSinkCatchUp(b *testing.B) {
	const n = 200_000
	for i := 0; i < b.N; i++ {
		topic := fmt.Sprintf("bench-%d", i)
		c := benchCluster(b, topic)
		tb := benchTable(b, fmt.Sprintf("catchup%d", i))
		recs := debeziumBench(b, tb.Schema(), topic, n, rand.New(rand.NewPCG(uint64(i), 11)))
		prod := producer(b, c)
		produceSync(b, prod, recs...)
		raw := rawConsume(b, c, topic, "raw", n)

		f, _ := NewFormat("debezium-json", tb.Schema(), FormatOptions{})
		start := time.Now()
		s, stop := runSink(b, tb, Options{
			Brokers: c.ListenAddrs(), Topics: []string{topic}, Group: "sink", Member: "bench", Format: f,
			CommitInterval: 2 * time.Second, ClientOpts: []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond)},
		})
		ends := endOffsets(b, c, topic)
		waitCaughtUp(b, tb, "sink", topic, ends, 10*time.Minute)
		elapsed := time.Since(start)
		_ = stop()
		m := s.Metrics().Snapshot()
		b.ReportMetric(float64(n)/elapsed.Seconds(), "sink-records/s")
		b.ReportMetric(raw, "raw-consume-records/s")
		b.ReportMetric(float64(m.CommitP50.Milliseconds()), "commit-p50-ms")
		b.Logf("catch-up of %d records: %s (%.0f records/s), raw consume %.0f records/s; %d commits; %v", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), raw, m.Commits, m)
	}
}

// BenchmarkSinkFreshness: a steady stream produced at a fixed rate; the
// sink's freshness histogram measures produce (record timestamp) → visible
// (commit returned) per record.
func BenchmarkSinkFreshness(b *testing.B) {
	for _, tc := range []struct {
		rate     int
		interval time.Duration
	}{{5_000, time.Second}, {5_000, 200 * time.Millisecond}, {20_000, time.Second}} {
		b.Run(fmt.Sprintf("rate=%d/commit=%s", tc.rate, tc.interval), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				topic := fmt.Sprintf("fresh-%d", i)
				c := benchCluster(b, topic)
				tb := benchTable(b, fmt.Sprintf("fresh%d", i))
				f, _ := NewFormat("debezium-json", tb.Schema(), FormatOptions{})
				s, stop := runSink(b, tb, Options{
					Brokers: c.ListenAddrs(), Topics: []string{topic}, Group: "sink", Member: "bench", Format: f,
					CommitInterval: tc.interval, ClientOpts: []kgo.Opt{kgo.FetchMaxWait(20 * time.Millisecond)},
				})
				prod := producer(b, c)
				rng := rand.New(rand.NewPCG(uint64(i), 12))
				const seconds = 10
				const ticks = 50 // produce in 20 ms slices
				per := tc.rate / ticks
				tick := time.NewTicker(time.Second / ticks)
				for j := 0; j < seconds*ticks; j++ {
					<-tick.C
					recs := debeziumBench(b, tb.Schema(), topic, per, rng)
					for _, r := range recs {
						prod.Produce(context.Background(), r, nil)
					}
				}
				tick.Stop()
				if err := prod.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
				waitCaughtUp(b, tb, "sink", topic, endOffsets(b, c, topic), 5*time.Minute)
				_ = stop()
				m := s.Metrics().Snapshot()
				b.ReportMetric(float64(m.FreshnessP50.Milliseconds()), "fresh-p50-ms")
				b.ReportMetric(float64(m.FreshnessP99.Milliseconds()), "fresh-p99-ms")
				b.ReportMetric(float64(m.CommitP99.Milliseconds()), "commit-p99-ms")
				b.Logf("%d records at %d/s, commit every %s: freshness p50 %s p99 %s; commit p50 %s p99 %s; %d commits",
					m.RecordsCommitted, tc.rate, tc.interval, m.FreshnessP50.Round(time.Millisecond), m.FreshnessP99.Round(time.Millisecond),
					m.CommitP50.Round(time.Millisecond), m.CommitP99.Round(time.Millisecond), m.Commits)
			}
		})
	}
}
