package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

func accountsSchema() *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt},
			{Name: "name", Type: types.TString, NotNull: true},
			{Name: "amount", Type: types.TDecimal(10, 2)},
			{Name: "day", Type: types.TDate},
			{Name: "ts", Type: types.TTimestamp},
			{Name: "flag", Type: types.TBoolean},
		},
		PrimaryKeys: []string{"id"},
		Options:     map[string]string{"bucket": "2"},
	}
	for i := range s.Fields {
		s.Fields[i].ID = i
	}
	s.HighestFieldID = len(s.Fields) - 1
	return s
}

// dlqCase is one record of the DLQ test: its value and, for a bad one,
// the reason it must be dead-lettered with.
type dlqCase struct {
	value  string
	reason Reason // "" = good
}

func dlqCases() []dlqCase {
	row := func(id int, name string) string {
		return fmt.Sprintf(`{"id":%d,"name":%q,"amount":"%d.25","day":"2026-01-%02d","ts":"2026-01-02T03:04:05.123456Z","flag":true}`, id, name, id, id%28+1)
	}
	ins := func(id int, name string) string {
		return fmt.Sprintf(`{"op":"c","before":null,"after":%s}`, row(id, name))
	}
	return []dlqCase{
		{ins(1, "ann"), ""},
		{ins(2, "bob"), ""},
		{`not json at all`, ReasonUnparseable},
		{`[1,2,3]`, ReasonUnparseable},
		{`{"op":"x","after":{"id":9,"name":"x"}}`, ReasonUnparseable},
		{`{"op":"c","before":null}`, ReasonUnparseable},
		{`{"op":"t"}`, ReasonUnparseable},
		{`{"before":null,"after":{"id":9,"name":"x"}}`, ReasonUnparseable},
		{ins(3, "cid"), ""},
		{`{"op":"c","after":{"id":"abc","name":"x"}}`, ReasonWrongType},
		{`{"op":"c","after":{"id":4,"name":"x","amount":"lots"}}`, ReasonWrongType},
		{`{"op":"c","after":{"id":4,"name":"x","flag":3}}`, ReasonWrongType},
		{`{"op":"c","after":{"id":4,"name":"x","amount":"1.234"}}`, ReasonWrongType},
		{`{"op":"c","after":{"id":4,"name":"x","day":"yesterday"}}`, ReasonWrongType},
		{`{"op":"c","after":{"id":4,"name":{"first":"x"}}}`, ReasonWrongType},
		{`{"op":"c","after":{"id":99999999999999999999,"name":"x"}}`, ReasonWrongType},
		{`{"op":"c","after":{"name":"x"}}`, ReasonMissingKey},
		{`{"op":"c","after":{"id":null,"name":"x"}}`, ReasonMissingKey},
		{`{"op":"d","before":null,"after":null}`, ReasonMissingKey},
		{`{"op":"c","after":{"id":5,"name":"x","color":"red"}}`, ReasonSchema},
		{`{"op":"c","after":{"id":5,"name":null}}`, ReasonSchema},
		{`{"op":"c","after":{"id":5}}`, ReasonSchema},
		{fmt.Sprintf(`{"op":"u","before":%s,"after":%s}`, row(1, "ann"), row(1, "ann v2")), ""},
		{fmt.Sprintf(`{"op":"d","before":%s,"after":null}`, row(2, "bob")), ""},
		{"", ""}, // tombstone: a Kafka record with a null value
		{fmt.Sprint(`{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"field":"ts","type":"int64","name":"io.debezium.time.MicroTimestamp"}]}]},"payload":{"op":"r","after":{"id":6,"name":"eve","ts":1767225600000000}}}`), ""},
	}
}

// TestDeadLetterQueue sends every kind of bad record through a sink with a
// DLQ: the good records are in the table, each bad one is in the DLQ with
// its reason and source coordinates, and the totals add up.
func TestDeadLetterQueue(t *testing.T) {
	c := newCluster(t, 1, "events", "events-dlq")
	tb := createTable(t, newCatalog(objstore.NewMem()), "accounts", accountsSchema())
	f, err := NewFormat("debezium-json", tb.Schema(), FormatOptions{UnknownFields: "reject"})
	if err != nil {
		t.Fatal(err)
	}
	cases := dlqCases()
	var recs []*kgo.Record
	for i, cs := range cases {
		r := &kgo.Record{Topic: "events", Key: []byte(strconv.Itoa(i)), Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("test")}}}
		if cs.value != "" {
			r.Value = []byte(cs.value)
		}
		recs = append(recs, r)
	}
	produceSync(t, producer(t, c), recs...)

	s, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m", Format: f,
		DLQTopic: "events-dlq", CommitInterval: 50 * time.Millisecond, ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	waitCaughtUp(t, tb, "g", "events", map[int32]int64{0: int64(len(cases))}, 20*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	// The table holds the good records' effect.
	ctx := context.Background()
	want := map[int64]string{1: "ann v2", 3: "cid", 6: "eve"}
	got := map[int64]string{}
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got[row[0].(int64)] = row[1].(string)
		if row[0].(int64) == 6 && row[4].(types.Timestamp) != types.Timestamp(1767225600000000) {
			t.Errorf("MicroTimestamp from the schema envelope: got %v", row[4])
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("table %v, want %v", got, want)
	}

	// Each bad record is in the DLQ with its reason, coordinates, bytes and
	// original headers.
	wantReasons := map[Reason]int64{}
	byOffset := map[int64]Reason{}
	var good, bad int64
	for i, cs := range cases {
		if cs.reason == "" {
			good++
			continue
		}
		bad++
		wantReasons[cs.reason]++
		byOffset[int64(i)] = cs.reason
	}
	dlq := consumeAll(t, c, "events-dlq")
	if int64(len(dlq)) != bad {
		t.Fatalf("DLQ has %d records, want %d", len(dlq), bad)
	}
	for _, r := range dlq {
		h := headers(r)
		off, _ := strconv.ParseInt(h[HeaderSourceOffset], 10, 64)
		if h[HeaderSourceTopic] != "events" || h[HeaderSourcePartition] != "0" || h[HeaderGroup] != "g" || h[HeaderTable] != "db.accounts" || h["origin"] != "test" {
			t.Errorf("DLQ record headers %v", h)
		}
		if Reason(h[HeaderReason]) != byOffset[off] {
			t.Errorf("offset %d: reason %q (%s), want %q", off, h[HeaderReason], h[HeaderError], byOffset[off])
		}
		if h[HeaderError] == "" {
			t.Errorf("offset %d: no error text", off)
		}
		if string(r.Value) != cases[off].value || string(r.Key) != strconv.FormatInt(off, 10) {
			t.Errorf("offset %d: DLQ bytes %q, want the original %q", off, r.Value, cases[off].value)
		}
		delete(byOffset, off)
	}
	if len(byOffset) != 0 {
		t.Errorf("bad records missing from the DLQ: %v", byOffset)
	}
	m := s.Metrics().Snapshot()
	if fmt.Sprint(m.DLQ) != fmt.Sprint(wantReasons) || m.DLQTotal != bad {
		t.Errorf("DLQ counters %v (total %d), want %v (total %d)", m.DLQ, m.DLQTotal, wantReasons, bad)
	}
	if m.RecordsCommitted != good+bad || m.Tombstones != 1 {
		t.Errorf("committed %d records (%d tombstones), want %d good + %d bad, 1 tombstone", m.RecordsCommitted, m.Tombstones, good, bad)
	}
	t.Logf("%d good, %d bad: %v", good, bad, m)
}

func headers(r *kgo.Record) map[string]string {
	out := map[string]string{}
	for _, h := range r.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

// TestBadRecordWithoutDLQ: without a dead-letter topic the sink commits the
// records before the bad one and stops with an error naming it; nothing is
// dropped, and a restart stops at the same record.
func TestBadRecordWithoutDLQ(t *testing.T) {
	c := newCluster(t, 1, "events")
	tb := createTable(t, newCatalog(objstore.NewMem()), "accounts", accountsSchema())
	f, err := NewFormat("upsert-json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf(`{"name":"n%d"}`, i))})
	}
	recs[6].Value = []byte(`{"name":"n6","amount":"lots"}`)
	produceSync(t, producer(t, c), recs...)
	for run := 0; run < 2; run++ {
		s, err := New(tb, Options{
			Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m", Format: f,
			CommitInterval: time.Hour, ClientOpts: fastGroup(), Logf: testLogf(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = s.Run(ctx)
		cancel()
		if !errors.Is(err, ErrBadRecord) {
			t.Fatalf("run %d: %v, want a bad-record error", run, err)
		}
		for _, want := range []string{"events/0 offset 6", "wrong-type", "amount", "no dead-letter topic"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q should name %q", err, want)
			}
		}
		snap, err := tb.Latest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := StoredOffset(snap, "g", TopicPartition{"events", 0}); o != 6 {
			t.Fatalf("run %d: the table's offset is %d, want 6 (everything before the bad record)", run, o)
		}
	}
}
