package bench

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SinkEngine is the Kafka sink's side of the "sink" scenario. bench may
// not import the stream package (both are applications over the library),
// so the caller injects it (cmd/silt passes stream.BenchSink); without it
// the scenario measures the consume peer only and says so.
type SinkEngine interface {
	// DecodeAll decodes every record value (nil: a tombstone) with the
	// sink's debezium-json decoder for schema, with the sink's
	// parallelism, and returns the number of changes.
	DecodeAll(schema *types.Schema, values [][]byte) (int64, error)
	// CatchUp runs a debezium-json sink of topic into t as group until it
	// has consumed every offset below ends, drains it (a commit at once,
	// not after the commit interval) and returns its commits and rows
	// written.
	CatchUp(ctx context.Context, t *table.Table, brokers []string, topic, group string, ends map[int32]int64, commitInterval time.Duration) (commits, rows int64, err error)
}

const (
	sinkPartitions = 4
	// sinkCommitInterval is the catch-up sink's commit interval: short, so
	// that the last batch does not wait for the default 10 s.
	sinkCommitInterval = time.Second
)

// runSink measures `silt sink` catching up on a backlog of Debezium change
// events against raw franz-go consumption of the same topic (the peer) and
// decoding the same records without Kafka or a table (the limit).
func runSink(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"records_per_s", "cpu_us_per_record", "MB_per_s", "rows_written", "commits"}
	n := b.rows
	recs, bytes := sinkEvents(b.cfg.Seed, n)
	r.note("%d Debezium change events (PostgreSQL connector shape: c for a new key, then 75%% u with before image, 15%% d followed by its tombstone) over %d keys; JSON converter with schemas.enable=true (Kafka Connect's default: every key and value carries its schema), %.0f bytes per value on average; %d partitions",
		len(recs), max(n/4, 1), float64(bytes)/float64(len(recs)), sinkPartitions)

	b.progress("sink: producing %d events into in-process Kafka (kfake)", len(recs))
	topic := "dbz.bench.accounts"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(sinkPartitions, topic))
	if err != nil {
		return fmt.Errorf("kfake: %w", err)
	}
	defer cluster.Close()
	ends, err := produceAll(ctx, cluster.ListenAddrs(), topic, recs)
	if err != nil {
		return err
	}

	b.progress("sink: raw franz-go consume of %d records", len(recs))
	start, cpu0 := b.cfg.Now(), processCPU()
	if err := phase(ctx, "raw-consume", func(ctx context.Context) error {
		return rawConsume(ctx, cluster.ListenAddrs(), topic, len(recs))
	}); err != nil {
		return err
	}
	raw := float64(len(recs)) / b.since(start)
	r.add(Measurement{System: "franz-go consume", Case: "raw, group consumer (peer)", Values: map[string]float64{
		"records_per_s": round3(raw), "cpu_us_per_record": cpuPerRow(processCPU()-cpu0, len(recs)),
		"MB_per_s": round3(float64(bytes) / 1e6 * raw / float64(len(recs))),
	}, Note: "fetch and count, no decoding (CPU includes the in-process broker)"})

	eng := b.cfg.Sink
	if eng == nil {
		r.add(Measurement{System: "silt sink", Case: "catch-up", Note: "absent: no sink engine wired (run it through `silt bench sink`)"})
		r.targetUnmeasured("sink catch-up rate", "≥ 250k records/s", "no sink engine wired")
		return nil
	}
	schema := benchSchema(ingestBuckets, nil)
	for i := range schema.Fields {
		schema.Fields[i].ID = i // as CreateTable assigns them
	}
	values := make([][]byte, len(recs))
	for i, rec := range recs {
		values[i] = rec.Value
	}
	b.progress("sink: decode-only (debezium-json, no Kafka, no table) of %d records", len(recs))
	start, cpu0 = b.cfg.Now(), processCPU()
	var changes int64
	err = phase(ctx, "decode-only", func(context.Context) (err error) {
		changes, err = eng.DecodeAll(schema, values)
		return err
	})
	if err != nil {
		return fmt.Errorf("decode-only: %w", err)
	}
	dec := float64(len(recs)) / b.since(start)
	r.add(Measurement{System: "silt decode-only", Case: "debezium-json (limit)", Values: map[string]float64{
		"records_per_s": round3(dec), "cpu_us_per_record": cpuPerRow(processCPU()-cpu0, len(recs)),
		"MB_per_s": round3(float64(bytes) / 1e6 * dec / float64(len(recs))), "rows_written": float64(changes),
	}, Note: "the sink's decoder on the same values, into change batches, its parallelism"})

	var silt Measurement
	for _, st := range []struct {
		store objstore.Store
		name  string
		label string
	}{{b.cfg.Store, b.cfg.StoreKind + " store", "sink-" + b.cfg.StoreKind}, {objstore.NewMem(), "in-memory store (no I/O)", "sink-mem"}} {
		cat, err := b.openCatalog(ctx, newCountingStore(st.store))
		if err != nil {
			return err
		}
		group := fmt.Sprintf("silt-%d", len(r.Measurements))
		t, err := cat.CreateTable(ctx, benchDB, "sink_"+group, schema, false)
		if err != nil {
			return err
		}
		b.progress("sink: silt sink catching up into a table on the %s", st.name)
		start, cpu0 = b.cfg.Now(), processCPU()
		var commits, rows int64
		err = phase(ctx, st.label, func(ctx context.Context) (err error) {
			commits, rows, err = eng.CatchUp(ctx, t, cluster.ListenAddrs(), topic, group, ends, sinkCommitInterval)
			return err
		})
		if err != nil {
			return fmt.Errorf("sink catch-up (%s): %w", st.name, err)
		}
		rate := float64(len(recs)) / b.since(start)
		m := Measurement{System: "silt sink", Case: "catch-up, " + st.name, Values: map[string]float64{
			"records_per_s": round3(rate), "cpu_us_per_record": cpuPerRow(processCPU()-cpu0, len(recs)),
			"MB_per_s":     round3(float64(bytes) / 1e6 * rate / float64(len(recs))),
			"rows_written": float64(rows), "commits": float64(commits),
		}, Note: fmt.Sprintf("commit interval %s; drained (committed at once) when every record is consumed", sinkCommitInterval)}
		r.add(m)
		if silt.System == "" {
			silt = m
		}
	}
	rate := silt.Values["records_per_s"]
	r.ratio("sink_records_per_s / decode_only_records_per_s", rate, dec)
	r.ratio("sink_records_per_s / raw_consume_records_per_s", rate, raw)
	r.ratio("decode_only_records_per_s / raw_consume_records_per_s", dec, raw)
	r.target("sink catch-up rate", "≥ 250k records/s", rate, 250_000, false)
	r.note("decode-only and catch-up count every record, tombstones included; the sink decodes a poll on GOMAXPROCS goroutines (at most 8) and applies it in offset order")
	r.note("cpu_us_per_record is the process's CPU (user+system) over the phase per record, the in-process broker included; with --cpuprofile, each phase's samples carry the pprof label phase=raw-consume, decode-only, sink-<store> or sink-mem (go tool pprof -tagfocus phase=sink-mem)")
	return nil
}

// phase runs f with the pprof label phase=name, which goroutines started
// in f (the Kafka client's, the sink's) inherit, so that a --cpuprofile
// of the scenario can be cut by phase.
func phase(ctx context.Context, name string, f func(context.Context) error) error {
	var err error
	pprof.Do(ctx, pprof.Labels("phase", name), func(ctx context.Context) { err = f(ctx) })
	return err
}

// sinkSchemaJSON is the value schema Debezium's PostgreSQL connector emits
// for the bench table (decimal.handling.mode=precise, adaptive time
// precision), source block included.
const sinkSchemaJSON = `{"type":"struct","fields":[` +
	`{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"},{"type":"string","optional":true,"field":"city"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"amount"},{"type":"int32","optional":true,"field":"qty"},{"type":"double","optional":true,"field":"score"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"updated"}],"optional":true,"name":"bench.public.accounts.Value","field":"before"},` +
	`{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"},{"type":"string","optional":true,"field":"city"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"amount"},{"type":"int32","optional":true,"field":"qty"},{"type":"double","optional":true,"field":"score"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"updated"}],"optional":true,"name":"bench.public.accounts.Value","field":"after"},` +
	`{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"},` +
	`{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},` +
	`{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}` +
	`],"optional":false,"name":"bench.public.accounts.Envelope","version":1}`

const sinkKeySchemaJSON = `{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"bench.public.accounts.Key"}`

// sinkEvents generates n Debezium change records (with the tombstones
// that follow deletes) and their total value bytes.
func sinkEvents(seed uint64, n int) ([]*kgo.Record, int64) {
	keys := max(n/4, 1)
	g := newRowGen(seed, keys)
	live := make(map[int64]types.Row, keys)
	recs := make([]*kgo.Record, 0, n+n/8)
	var bytes int64
	var sb strings.Builder
	lsn := int64(24_000_000)
	for len(recs) < n {
		k := g.randomKey()
		before := live[k]
		op := "c"
		var after types.Row
		switch p := g.rng.IntN(100); {
		case before == nil:
			after, _ = g.row(k)
		case p < 15:
			op = "d"
		default:
			op = "u"
			after, _ = g.row(k)
		}
		lsn += int64(g.rng.IntN(400)) + 40
		sb.Reset()
		sb.WriteString(`{"schema":`)
		sb.WriteString(sinkSchemaJSON)
		sb.WriteString(`,"payload":{"before":`)
		writeDbzImage(&sb, before)
		sb.WriteString(`,"after":`)
		writeDbzImage(&sb, after)
		ts := 1_767_225_600_000 + int64(len(recs))
		fmt.Fprintf(&sb, `,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"bench","ts_ms":%d,"snapshot":"false","db":"bench","sequence":"[\"%d\",\"%d\"]","schema":"public","table":"accounts","txId":%d,"lsn":%d,"xmin":null},"op":"%s","ts_ms":%d,"transaction":null}}`,
			ts, lsn-40, lsn, 700+len(recs), lsn, op, ts+3)
		key := []byte(`{"schema":` + sinkKeySchemaJSON + `,"payload":{"id":` + strconv.FormatInt(k, 10) + `}}`)
		val := []byte(sb.String())
		bytes += int64(len(val))
		recs = append(recs, &kgo.Record{Key: key, Value: val})
		if op == "d" {
			delete(live, k)
			if len(recs) < n {
				recs = append(recs, &kgo.Record{Key: key}) // the tombstone Debezium emits after a delete
			}
		} else {
			live[k] = after
		}
	}
	return recs, bytes
}

// writeDbzImage writes a row as a Debezium struct: DECIMAL as Connect
// Decimal (base64 of the unscaled big-endian value), TIMESTAMP as epoch
// microseconds. A nil row is null.
// The generated strings are printable ASCII, so Go quoting is JSON.
func writeDbzImage(sb *strings.Builder, row types.Row) {
	if row == nil {
		sb.WriteString("null")
		return
	}
	fmt.Fprintf(sb, `{"id":%d,"name":%s,"city":%s,"amount":"%s","qty":%d,"score":%s,"updated":%d}`,
		row[0].(int64), strconv.Quote(row[1].(string)), strconv.Quote(row[2].(string)), connectDecimal(int64(row[3].(types.Decimal))),
		row[4].(int32), strconv.FormatFloat(row[5].(float64), 'g', -1, 64), int64(row[6].(types.Timestamp)))
}

// connectDecimal is Kafka Connect's Decimal encoding of an unscaled value:
// base64 of its minimal big-endian two's complement.
func connectDecimal(v int64) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(v))
	for len(b) > 1 && ((b[0] == 0 && b[1]&0x80 == 0) || (b[0] == 0xff && b[1]&0x80 != 0)) {
		b = b[1:]
	}
	return base64.StdEncoding.EncodeToString(b)
}

// produceAll produces recs into topic and returns each partition's end
// offset.
func produceAll(ctx context.Context, brokers []string, topic string, recs []*kgo.Record) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var (
		mu    sync.Mutex
		ends  = map[int32]int64{}
		first error
	)
	for _, rec := range recs {
		cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			if err == nil {
				ends[r.Partition] = max(ends[r.Partition], r.Offset+1)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	if first != nil {
		return nil, fmt.Errorf("produce: %w", first)
	}
	return ends, nil
}

// rawConsume reads n records of topic with a plain franz-go group consumer.
func rawConsume(ctx context.Context, brokers []string, topic string, n int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup("bench-raw"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for got := 0; got < n; {
		f := cl.PollRecords(ctx, 10_000)
		if ctx.Err() != nil {
			return fmt.Errorf("raw consume: %d of %d records: %w", got, n, ctx.Err())
		}
		if errs := f.Errors(); len(errs) > 0 {
			return fmt.Errorf("raw consume: %w", errs[0].Err)
		}
		got += f.NumRecords()
	}
	return nil
}
