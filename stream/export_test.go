package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// tableState renders every live row of a table by key.
func tableState(t testing.TB, tb *table.Table) map[string]string {
	t.Helper()
	ctx := context.Background()
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(row[0])] = fmt.Sprint(row)
	}
	return out
}

// writeRandom commits one random change set to an accounts table and
// returns the snapshot id.
func writeRandom(t testing.TB, tb *table.Table, rng *rand.Rand, n int, ident string, keys int64) int64 {
	t.Helper()
	ctx := context.Background()
	w := tb.NewWriter("writer")
	for i := 0; i < n; i++ {
		id := rng.Int64N(keys)
		if rng.IntN(5) == 0 {
			if err := w.Write(ctx, types.Delete, types.Row{id, nil, nil, nil, nil, nil}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		row := types.Row{id, fmt.Sprintf("n%d", rng.IntN(1000)), types.Decimal(rng.Int64N(100000)), types.Date(rng.IntN(30000)),
			types.Timestamp(rng.Int64N(1 << 50)), rng.IntN(2) == 0}
		if err := w.Write(ctx, types.Insert, row); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.Commit(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// TestExportUpsertResume exports a table's changes as upsert-json, resumes
// from the stored position, and checks that applying the topic by key
// rebuilds the table. A commit that touches one bucket only skips the
// others.
func TestExportUpsertResume(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 8))
	c := newCluster(t, 3, "changes")
	tb := createTable(t, newCatalog(objstore.NewMem()), "accounts", accountsSchema())
	writeRandom(t, tb, rng, 200, "c1", 60)
	writeRandom(t, tb, rng, 100, "c2", 60)
	enc, err := NewEncoder("upsert-json", tb.Schema(), Source{"db", "accounts"})
	if err != nil {
		t.Fatal(err)
	}
	export := func(from int64) ExportStats {
		t.Helper()
		e, err := NewExporter(tb, ExportOptions{Brokers: c.ListenAddrs(), Topic: "changes", Encoder: enc, From: from, Logf: testLogf(t)})
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	first, err := tb.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := export(0)
	if st.Steps != 1 || st.Position < first.ID || st.Updates != 0 || st.Deletes != 0 {
		t.Fatalf("first export: %+v, want one step of inserts up to snapshot %d", st, first.ID)
	}
	if st := export(0); st.Steps != 0 {
		t.Fatalf("a caught-up export published %+v", st)
	}
	writeRandom(t, tb, rng, 80, "c3", 60)
	writeRandom(t, tb, rng, 80, "c4", 60)
	// A change to a single key touches one bucket: the other is skipped.
	w := tb.NewWriter("writer")
	if err := w.Write(context.Background(), types.Delete, types.Row{int64(7), nil, nil, nil, nil, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(context.Background(), "c5"); err != nil {
		t.Fatal(err)
	}
	// (Inline compaction may add COMPACT snapshots: they publish nothing.)
	latest, err := tb.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st = export(0)
	if int64(st.Steps) < 3 || st.Position < 5 || st.Position < latest.ID || st.BucketsSkipped < 1 {
		t.Fatalf("resumed export: %+v, want >= 3 steps to snapshot %d with a skipped bucket", st, latest.ID)
	}
	pos, _, err := LoadPosition(context.Background(), tb, "changes")
	if err != nil || pos == nil || pos.SnapshotID != st.Position {
		t.Fatalf("stored position %+v, %v", pos, err)
	}

	// Apply the topic by key: it must rebuild the latest state.
	s := tb.Schema()
	dec := mustFormat(t, "upsert-json", s, FormatOptions{UnknownFields: "reject"})
	rebuilt := map[string]string{}
	for _, r := range consumeAll(t, c, "changes") {
		changes, err := dec.Decode(nil, r.Key, r.Value)
		if err != nil {
			t.Fatalf("exported record %s/%s: %v", r.Key, r.Value, err)
		}
		for _, ch := range changes {
			if ch.Kind == types.Delete {
				delete(rebuilt, fmt.Sprint(ch.Row[0]))
			} else {
				rebuilt[fmt.Sprint(ch.Row[0])] = fmt.Sprint(ch.Row)
			}
		}
	}
	want := tableState(t, tb)
	if fmt.Sprint(rebuilt) != fmt.Sprint(want) {
		t.Fatalf("applying the exported changelog gives %d keys, the table has %d", len(rebuilt), len(want))
	}

	// --from 0 (FromEmpty) republishes the full state; a bad position is
	// a clear error.
	if st := export(FromEmpty); st.Steps != 1 || st.Inserts != int64(len(want)) {
		t.Fatalf("export from empty: %+v, want %d inserts", st, len(want))
	}
	if err := tb.Store().Delete(context.Background(), tb.Root()+"snapshot/snapshot-4"); err != nil {
		t.Fatal(err)
	}
	e, _ := NewExporter(tb, ExportOptions{Brokers: c.ListenAddrs(), Topic: "changes", Encoder: enc, From: 4})
	if _, err := e.Run(context.Background()); err == nil || !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("export from an expired snapshot: %v", err)
	}
}

// TestExportIntoSink chains the two halves: a following debezium-json
// export of one table feeds a sink into another table, which converges to
// the same state while the source keeps changing.
func TestExportIntoSink(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	c := newCluster(t, 2, "cdc")
	cat := newCatalog(objstore.NewMem())
	src := createTable(t, cat, "src", accountsSchema())
	dst := createTable(t, cat, "dst", accountsSchema())
	writeRandom(t, src, rng, 150, "c1", 50)
	enc, _ := NewEncoder("debezium-json", src.Schema(), Source{"db", "src"})
	e, err := NewExporter(src, ExportOptions{Brokers: c.ListenAddrs(), Topic: "cdc", Encoder: enc, Follow: true, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	exported := make(chan error, 1)
	go func() { _, err := e.Run(ctx); exported <- err }()
	f := mustFormat(t, "debezium-json", dst.Schema(), FormatOptions{UnknownFields: "reject"})
	_, stop := runSink(t, dst, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"cdc"}, Group: "mirror", Member: "m", Format: f,
		CommitInterval: 30 * time.Millisecond, ClientOpts: fastGroup(),
	})
	for i := 0; i < 4; i++ {
		writeRandom(t, src, rng, 60, fmt.Sprintf("c%d", i+2), 50)
		time.Sleep(30 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		want, got := tableState(t, src), tableState(t, dst)
		if fmt.Sprint(want) == fmt.Sprint(got) {
			break
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(map[string]int{"src": len(want), "dst": len(got)})
			t.Fatalf("the mirror did not converge: %s", b)
		}
		time.Sleep(30 * time.Millisecond)
	}
	cancel()
	if err := <-exported; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
