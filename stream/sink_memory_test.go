package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// dataPuts counts the data files written through a store.
type dataPuts struct {
	objstore.Store
	n atomic.Int64
}

func (d *dataPuts) count(key string) {
	if strings.Contains(key, "/data/") {
		d.n.Add(1)
	}
}

func (d *dataPuts) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	d.count(key)
	return d.Store.Put(ctx, key, data)
}

func (d *dataPuts) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	d.count(key)
	return d.Store.PutIfAbsent(ctx, key, data)
}

// TestSinkChargesRowsNotRecords: the open batch is charged the memory
// its decoded rows hold, not the size of the Kafka records (which the sink
// drops after each poll). Debezium events with the Connect schema
// envelope are kilobytes whose rows are a few dozen bytes: charged by
// record size, 2000 of them pass half a 4 MiB budget several times over
// and the sink flushed a small file every few hundred records; their rows
// fit, so the batch is written once, at the commit. 16000 events' rows do
// not fit: the budget still makes the sink flush before the commit. The
// table holds every key's last image either way.
func TestSinkChargesRowsNotRecords(t *testing.T) {
	seed := testSeed(t)
	for _, tc := range []struct {
		records  int
		min, max int64 // data files
	}{{2000, 1, 1}, {16000, 2, 8}} {
		t.Run(fmt.Sprint(tc.records), func(t *testing.T) { testSinkCharges(t, seed, tc.records, tc.min, tc.max) })
	}
}

func testSinkCharges(t *testing.T, seed uint64, n int, minFiles, maxFiles int64) {
	c := newCluster(t, 2, "dbz")
	store := &dataPuts{Store: objstore.NewMem()}
	sc := accountsSchema()
	sc.Options = map[string]string{"bucket": "1", "write-only": "true"}
	tb := createTable(t, newCatalog(store), "accounts", sc)
	recs := debeziumBench(t, tb.Schema(), "dbz", n, rand.New(rand.NewPCG(seed, 31)))
	env := accountsConnectSchema()
	want := map[int64]types.Row{}
	f, err := NewFormat("debezium-json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var valueBytes int
	for _, r := range recs {
		changes, err := f.Decode(nil, r.Key, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			if ch.Kind.IsAdd() {
				want[ch.Row[0].(int64)] = ch.Row
			}
		}
		r.Value = []byte(`{"schema":` + string(env) + `,"payload":` + string(r.Value) + `}`)
		valueBytes += len(r.Value)
	}
	produceSync(t, producer(t, c), recs...)
	ends := endOffsets(t, c, "dbz")

	s, err := New(tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"dbz"}, Group: "g", Member: "m", Format: f,
		CommitInterval: time.Minute, MemoryBudget: MinMemoryBudget, ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for s.Metrics().Snapshot().RecordsConsumed < int64(n) {
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", s.Metrics().Snapshot().RecordsConsumed, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.Drain()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, tb, "g", "dbz", ends, 10*time.Second)
	m := s.Metrics().Snapshot()
	t.Logf("%d records, %d value bytes, %d commits, %d data files", n, valueBytes, m.Commits, store.n.Load())
	if m.Commits != 1 {
		t.Fatalf("%d commits, want the drain's one", m.Commits)
	}
	if got := store.n.Load(); got < minFiles || got > maxFiles {
		t.Fatalf("%d data files for %d records, want %d..%d: the open batch's memory is charged wrongly (by record size, or not at all)", got, n, minFiles, maxFiles)
	}
	checkAccounts(t, tb, want)
}

// checkAccounts compares the table with the last image of every key.
func checkAccounts(t *testing.T, tb *table.Table, want map[int64]types.Row) {
	t.Helper()
	ctx := context.Background()
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got++
		w, ok := want[row[0].(int64)]
		if !ok || !rowsEqual(row, w) {
			t.Fatalf("key %v: table %v, want %v", row[0], row, w)
		}
	}
	if got != len(want) {
		t.Fatalf("table holds %d keys, want %d", got, len(want))
	}
}

func rowsEqual(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) || (a[i] != nil && !types.Equal(a[i], b[i])) {
			return false
		}
	}
	return true
}
