package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSinkBatchesMatchRowOracle: a backlog of random Debezium events
// (with and without the schema envelope, every op, tombstones, values the
// fast path takes and values it leaves to Decode, ~8% bad records) over a
// few keys on three partitions is consumed in large polls, so that every
// poll is split into chunks decoded in parallel while earlier chunks are
// applied. The table must equal the reference decoder's changes applied
// record by record in each key's order, and every record the reference
// rejects must be in the DLQ with the reference's reason.
func TestSinkBatchesMatchRowOracle(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 27))
	const n, keys = 3000, 60
	c := newCluster(t, 3, "events", "events-dlq")
	s := fuzzSchema()
	s.Options = map[string]string{"bucket": "2"}
	tb := createTable(t, newCatalog(objstore.NewMem()), "t", s)
	f, err := NewFormat("debezium-json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := refFormat("debezium-json", tb.Schema(), FormatOptions{})
	g := &edgeGen{rng}
	plain := recGen{rng: rng, clean: true}
	env := g.envelope()

	var recs []*kgo.Record
	state := map[int64]types.Row{} // the oracle: the reference applied in order
	wantDLQ := map[string]Reason{} // value → reason
	for i := 0; i < n; i++ {
		id := rng.Int64N(keys)
		image := func() string {
			img := g.image(false)
			if !g.chance(0.9) {
				return img // an edge value or two (some bad)
			}
			img = `{"id":` + strconv.FormatInt(id, 10) + `,"name":` + plain.cleanValue("name")
			for _, col := range []string{"i", "d", "amount", "day", "ok"} {
				if g.chance(0.7) {
					img += `,"` + col + `":` + plain.cleanValue(col)
				}
			}
			return img + "}"
		}
		var v string
		switch op := g.pick("c", "u", "u", "d", "r", "tomb"); op {
		case "tomb":
		case "d":
			v = fmt.Sprintf(`{"op":"d","before":{"id":%d},"after":null}`, id)
		case "u":
			v = fmt.Sprintf(`{"op":"u","before":{"id":%d},"after":%s}`, id, image())
		default:
			v = fmt.Sprintf(`{"op":%q,"after":%s}`, op, image())
		}
		if v != "" && g.chance(0.5) {
			v = `{"schema":` + env + `,"payload":` + v + `}`
		}
		if v != "" && g.chance(0.02) {
			v = v[:len(v)-1] // broken syntax
		}
		r := &kgo.Record{Topic: "events", Key: []byte(strconv.FormatInt(id, 10))}
		if v != "" {
			r.Value = []byte(v)
		}
		recs = append(recs, r)
		changes, err := ref.Decode(nil, r.Key, r.Value)
		if err == nil {
			err = validateChanges(tb.Schema(), changes)
		}
		if err != nil {
			wantDLQ[v] = ReasonOf(err)
			continue
		}
		for _, ch := range changes {
			if ch.Kind.IsAdd() {
				state[ch.Row[0].(int64)] = normRow(ch.Row)
			} else {
				delete(state, ch.Row[0].(int64))
			}
		}
	}
	produceSync(t, producer(t, c), recs...)

	sk, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m", Format: f,
		DLQTopic: "events-dlq", CommitInterval: 200 * time.Millisecond, ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	waitCaughtUp(t, tb, "g", "events", endOffsets(t, c, "events"), 60*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	ctx := context.Background()
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]types.Row{}
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got[row[0].(int64)] = append(types.Row{}, row...)
	}
	if len(got) != len(state) {
		t.Errorf("table has %d keys, the oracle %d", len(got), len(state))
	}
	ids := make([]int64, 0, len(state))
	for id := range state {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if !reflect.DeepEqual(got[id], state[id]) {
			t.Fatalf("key %d: table %v, oracle %v", id, got[id], state[id])
		}
	}
	dlq := consumeAll(t, c, "events-dlq")
	bad := 0
	for _, r := range dlq {
		want, ok := wantDLQ[string(r.Value)]
		if !ok {
			t.Fatalf("dead-lettered a record the reference accepts: %q (%s)", r.Value, headers(r)[HeaderError])
		}
		if Reason(headers(r)[HeaderReason]) != want {
			t.Errorf("%q dead-lettered as %s (%s), the reference says %s", r.Value, headers(r)[HeaderReason], headers(r)[HeaderError], want)
		}
		bad++
	}
	m := sk.Metrics().Snapshot()
	var wantBad int
	for _, r := range recs {
		if _, ok := wantDLQ[string(r.Value)]; ok && r.Value != nil {
			wantBad++
		}
	}
	if bad != wantBad || m.DLQTotal != int64(wantBad) {
		t.Errorf("DLQ has %d records (counter %d), the reference rejects %d", bad, m.DLQTotal, wantBad)
	}
	t.Logf("%d records, %d keys live, %d dead-lettered, %d rows written, %d commits", n, len(state), bad, m.RowsWritten, m.Commits)
}

// TestPendingRunsSkipRows: rows of records the sink skips (duplicates, a
// revoked partition) sit between applied ones in a chunk's batch; the
// pending run must break there and hand the writer only the applied rows.
func TestPendingRunsSkipRows(t *testing.T) {
	ctx := context.Background()
	tb := createTable(t, newCatalog(objstore.NewMem()), "t", fuzzSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := newChangeBuilder(tb.Schema())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	for id := 1; id <= 6; id++ {
		if _, err := decodeBatch(f, b, nil, []byte(fmt.Sprintf(`{"id":%d,"name":"n%d"}`, id, id)), true); err != nil {
			t.Fatal(err)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	s := &Sink{w: tb.NewWriter("test")}
	r := &kgo.Record{}
	tp := TopicPartition{"events", 0}
	for _, run := range [][2]int{{0, 2}, {3, 4}, {4, 5}} { // row 2 and row 5 skipped
		if err := s.take(ctx, rec, run[0], run[1], tp, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.writePending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Commit(ctx, "test-1"); err != nil {
		t.Fatal(err)
	}
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row[0].(int64))
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if fmt.Sprint(got) != "[1 2 4 5]" {
		t.Fatalf("table holds ids %v, want [1 2 4 5] (rows 3 and 6 were skipped)", got)
	}
}
