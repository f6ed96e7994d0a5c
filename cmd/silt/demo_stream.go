package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/siltdb/silt/stream"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The demo's Kafka side: an in-process kfake cluster on loopback, a
// Debezium changelog produced to it phase by phase, and one sink run per
// phase that resumes from the offsets stored in the table, applies the
// phase and commits it as one snapshot.
const (
	demoTopic      = "demo.accounts.cdc"
	demoDLQ        = "demo.accounts.dlq"
	demoChanges    = "demo.accounts.changes"
	demoGroup      = "silt-demo"
	demoPartitions = 4
)

type demoKafka struct {
	out     io.Writer
	cluster *kfake.Cluster
	prod    *kgo.Client
	enc     stream.Encoder
	metrics *stream.Metrics
	dlq     int
}

func startDemoKafka(ctx context.Context, out io.Writer) (*demoKafka, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(demoPartitions, demoTopic, demoDLQ, demoChanges))
	if err != nil {
		return nil, fmt.Errorf("demo: start kafka: %w", err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(0))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("demo: kafka producer: %w", err)
	}
	fmt.Fprintf(out, "started an in-process Kafka (kfake) on %s: topic %s (%d partitions, keyed by id), dead-letter topic %s\n\n",
		strings.Join(c.ListenAddrs(), ","), demoTopic, demoPartitions, demoDLQ)
	return &demoKafka{out: out, cluster: c, prod: prod, metrics: stream.NewMetrics()}, nil
}

func (k *demoKafka) close() {
	k.prod.Close()
	k.cluster.Close()
}

// debeziumRecords turns changelog rows into Debezium events: an insert is
// op c, a -U/+U pair one op u with its before and after images, a delete
// op d with the before image.
func (k *demoKafka) debeziumRecords(t *table.Table, changes []change) ([]*kgo.Record, [3]int, error) {
	if k.enc == nil {
		enc, err := stream.NewEncoder("debezium-json", t.Schema(), stream.Source{Database: "demo", Table: "accounts"})
		if err != nil {
			return nil, [3]int{}, err
		}
		k.enc = enc
	}
	var recs []*kgo.Record
	var counts [3]int // c, u, d
	for i := 0; i < len(changes); i++ {
		ch := changes[i]
		ev := stream.Event{TimeMillis: time.Now().UnixMilli()}
		switch ch.kind {
		case types.Insert:
			ev.Op, ev.After = stream.OpInsert, ch.row
			counts[0]++
		case types.UpdateBefore:
			if i+1 >= len(changes) || changes[i+1].kind != types.UpdateAfter {
				return nil, counts, fmt.Errorf("demo: an update without its after image")
			}
			ev.Op, ev.Before, ev.After = stream.OpUpdate, ch.row, changes[i+1].row
			i++
			counts[1]++
		case types.Delete:
			ev.Op, ev.Before = stream.OpDelete, ch.row
			counts[2]++
		default:
			continue
		}
		key, val, err := k.enc.Encode(ev)
		if err != nil {
			return nil, counts, err
		}
		recs = append(recs, &kgo.Record{Topic: demoTopic, Key: key, Value: val})
	}
	return recs, counts, nil
}

// phase produces one phase of the changelog (plus bad malformed records)
// and runs the sink until it has applied it, then drains it: one commit.
func (k *demoKafka) phase(ctx context.Context, t *table.Table, n int, changes []change, bad, liveKeys int) error {
	recs, counts, err := k.debeziumRecords(t, changes)
	if err != nil {
		return err
	}
	for i := 0; i < bad; i++ {
		v := `{"op":"c","after":{"id":"not-a-number","owner":"mallory"}}`
		if i%2 == 1 {
			v = `{"op":"c","after":{"id":` // truncated: not JSON
		}
		recs = append(recs, &kgo.Record{Topic: demoTopic, Key: []byte(fmt.Sprintf(`{"id":"bad-%d"}`, i)), Value: []byte(v)})
	}
	if err := k.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("demo: produce: %w", err)
	}
	before := k.metrics.Snapshot()
	f, err := stream.NewFormat("debezium-json", t.Schema(), stream.FormatOptions{})
	if err != nil {
		return err
	}
	s, err := stream.New(t, stream.Options{
		Brokers: k.cluster.ListenAddrs(), Topics: []string{demoTopic}, Group: demoGroup, Member: "demo",
		Format: f, DLQTopic: demoDLQ, CommitInterval: time.Minute, Metrics: k.metrics,
		ClientOpts: []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)},
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	want := before.RecordsConsumed + int64(len(recs))
	for k.metrics.Snapshot().RecordsConsumed < want {
		select {
		case err := <-done:
			return fmt.Errorf("demo: the sink stopped early: %w", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.Drain()
	if err := <-done; err != nil {
		return fmt.Errorf("demo: sink: %w", err)
	}
	snap, err := t.Latest(ctx)
	if err != nil {
		return err
	}
	m := k.metrics.Snapshot()
	line := fmt.Sprintf("phase %d: produced %4d Debezium events (%4d c, %4d u, %4d d)", n, len(recs)-bad, counts[0], counts[1], counts[2])
	if bad > 0 {
		line += fmt.Sprintf(" + %d malformed", bad)
	}
	fmt.Fprintf(k.out, "%s -> sink applied %d rows, dead-lettered %d -> snapshot %d, %d live keys\n",
		line, m.RowsWritten-before.RowsWritten, m.DLQTotal-before.DLQTotal, snap.ID, liveKeys)
	return nil
}

// summary prints the stored offsets, the sink's metrics and the DLQ.
func (k *demoKafka) summary(ctx context.Context, t *table.Table) error {
	snap, err := t.Latest(ctx)
	if err != nil {
		return err
	}
	offs, err := stream.StoredOffsets(snap, demoGroup)
	if err != nil {
		return err
	}
	var parts []string
	for tp, o := range offs {
		parts = append(parts, fmt.Sprintf("%s=%d", tp, o))
	}
	sort.Strings(parts)
	m := k.metrics.Snapshot()
	fmt.Fprintf(k.out, "\nthe table's snapshot %d stores the group's next offsets: %s\n", snap.ID, strings.Join(parts, " "))
	fmt.Fprintf(k.out, "each phase restarted the sink, which resumed from those offsets (not Kafka's): %d records consumed, %d committed, none twice\n",
		m.RecordsConsumed, m.RecordsCommitted)
	var reasons []string
	for r, n := range m.DLQ {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(reasons)
	fmt.Fprintf(k.out, "dead-letter topic %s: %d records (%s), each with headers naming the error and its source offset\n",
		demoDLQ, m.DLQTotal, strings.Join(reasons, ", "))
	fmt.Fprintf(k.out, "commit latency p50 %s, p99 %s; freshness (record timestamp -> visible) p50 %s, p99 %s\n",
		m.CommitP50.Round(time.Millisecond), m.CommitP99.Round(time.Millisecond), m.FreshnessP50.Round(time.Millisecond), m.FreshnessP99.Round(time.Millisecond))
	return nil
}

// export publishes the table's changelog (the full latest state) as
// upsert-json, the way `silt export` does.
func (k *demoKafka) export(ctx context.Context, t *table.Table) error {
	enc, err := stream.NewEncoder("upsert-json", t.Schema(), stream.Source{Database: "demo", Table: "accounts"})
	if err != nil {
		return err
	}
	e, err := stream.NewExporter(t, stream.ExportOptions{Brokers: k.cluster.ListenAddrs(), Topic: demoChanges, Encoder: enc, From: stream.FromEmpty})
	if err != nil {
		return err
	}
	st, err := e.Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintf(k.out, "\nexported the table to %s (upsert-json, as `silt export` does): %d records, position: snapshot %d\n",
		demoChanges, st.Events, st.Position)
	return nil
}
