package icebergview

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// viewState is what a reader of the view sees: the pointer's metadata
// file and the silt snapshot of its main ref.
func viewState(t *testing.T, ctx context.Context, store objstore.Store) (string, int64) {
	t.Helper()
	p, _, err := readPointer(ctx, store, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		return "", 0
	}
	return p.Metadata, p.Snapshot
}

func listView(t *testing.T, ctx context.Context, store objstore.Store) []string {
	t.Helper()
	infos, err := store.List(ctx, testRoot+Dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range infos {
		keys = append(keys, in.Key)
	}
	return keys
}

// TestPublishCrashLeavesOlderView injects a failure at a random object
// write (or pointer switch) of a publication, as a crash would stop it
// there: the silt commit succeeds, the view stays at its previous
// metadata, which iceberg-go reads whole; the next publication catches up
// with every snapshot in between, and publishing again writes nothing.
func TestPublishCrashLeavesOlderView(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 8) {
		t.Run("", func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runCrash(t, seed)
		})
	}
}

func runCrash(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 3))
	dir := t.TempDir()
	local, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	fault := objstore.NewFault(local)
	s := randomSchema("deduplicate")
	f := newFixture(t, fault, dir, s)
	h := &history{t: t, ctx: ctx, rng: rng, f: f, engine: "deduplicate", schema: s}
	h.write(f.tbl)
	h.check(true)
	for round := 0; round < 6; round++ {
		before, beforeSnap := viewState(t, ctx, fault)
		// A failure at the nth view write of the next publication (or at
		// the pointer switch: applied, or not).
		rule := objstore.Rule{KeyContains: testRoot + Dir, Nth: 1 + rng.IntN(4), Times: 1, Err: objstore.ErrInjected}
		switch rng.IntN(4) {
		case 0:
			rule.Op, rule.KeyContains, rule.Nth = objstore.OpPutIfMatch, testRoot+PointerPath, 1
		case 1:
			rule.Op, rule.KeyContains, rule.Nth, rule.ApplyThenFail = objstore.OpPutIfMatch, testRoot+PointerPath, 1, true
		default:
			rule.Op = objstore.OpPutIfAbsent
		}
		fault.Add(rule)
		failed := 0
		for i, n := 0, 1+rng.IntN(3); i < n; i++ {
			h.write(f.tbl) // the silt commit succeeds whatever the view does
			f.mu.Lock()
			failed += len(f.errs)
			f.errs = nil
			f.mu.Unlock()
			if failed > 0 {
				break
			}
		}
		fault.Clear()
		after, afterSnap := viewState(t, ctx, fault)
		if failed > 0 && !rule.ApplyThenFail {
			// The first failed publication left the view where it was,
			// or a later publication of the loop moved it whole.
			if after == before && afterSnap != beforeSnap {
				t.Fatalf("round %d: pointer unchanged but names snapshot %d, was %d", round, afterSnap, beforeSnap)
			}
		}
		// Whatever the view shows now is complete and right.
		h.checkView(true, false)
		// Catch up: one publication brings the view to silt's latest.
		res, err := f.pub.Publish(ctx, f.tbl)
		if err != nil {
			t.Fatalf("round %d: catch-up: %v", round, err)
		}
		latest, err := f.tbl.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, snap := viewState(t, ctx, fault); snap != latest.ID {
			t.Fatalf("round %d: after catch-up (%+v) the view shows snapshot %d, want %d", round, res, snap, latest.ID)
		}
		h.check(true)
		// Every silt snapshot committed while the view lagged is there.
		it := f.iceTable(t, ctx)
		for id := beforeSnap + 1; id <= latest.ID; id++ {
			if it.SnapshotByID(id) == nil {
				t.Fatalf("round %d: snapshot %d committed while the view lagged is not in it", round, id)
			}
		}
		// Idempotent: publishing again writes nothing.
		keys := listView(t, ctx, fault)
		meta, _ := viewState(t, ctx, fault)
		res, err = f.pub.Publish(ctx, f.tbl)
		if err != nil || res.Wrote || res.Added != 0 {
			t.Fatalf("round %d: re-publish: %+v, %v; want nothing written", round, res, err)
		}
		if m, _ := viewState(t, ctx, fault); m != meta || !slices.Equal(keys, listView(t, ctx, fault)) {
			t.Fatalf("round %d: re-publish changed the view's objects", round)
		}
	}
}

// TestPublishTornMetadataNeverVisible: objects of a publication written
// before the pointer switch are invisible: iceberg-go opens the old
// metadata and reads the same rows as before the failed attempt.
func TestPublishTornMetadataNeverVisible(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	local, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	fault := objstore.NewFault(local)
	s := randomSchema("first-row")
	f := newFixture(t, fault, dir, s)
	w := f.tbl.NewWriter("w")
	for k := 0; k < 10; k++ {
		if err := w.Write(ctx, types.Insert, types.Row{int64(k), int32(k), "x", types.Decimal(k), types.Timestamp(k), types.List{"t"}, nil, types.Struct{int32(k), nil}}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := w.Commit(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	f.checkNoErrors(t)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfMatch, KeyContains: testRoot + PointerPath, Err: objstore.ErrInjected})
	for k := 5; k < 15; k++ {
		if err := w.Write(ctx, types.Insert, types.Row{int64(100 + k), int32(k), "x", types.Decimal(k), types.Timestamp(k), nil, types.Map{{Key: "m", Value: types.Struct{int64(k)}}}, nil}); err != nil {
			t.Fatal(err)
		}
	}
	second, err := w.Commit(ctx, "2")
	if err != nil {
		t.Fatalf("a failed publication failed the commit: %v", err)
	}
	f.mu.Lock()
	nerr := len(f.errs)
	f.errs = nil
	f.mu.Unlock()
	if nerr == 0 {
		t.Fatal("the injected pointer failure was not reported to OnError")
	}
	if st := f.pub.Stats(); st.Failed == 0 {
		t.Fatalf("stats %+v: no failed publication counted", st)
	}
	it := f.iceTable(t, ctx)
	if cur := it.CurrentSnapshot(); cur == nil || cur.SnapshotID != first.ID {
		t.Fatalf("view after a failed switch shows %v, want snapshot %d", cur, first.ID)
	}
	if it.SnapshotByID(second.ID) != nil {
		t.Fatalf("snapshot %d of the failed publication is visible", second.ID)
	}
	want := siltRows(t, ctx, f.tbl, first.ID, "")
	if d := diffRows(want, iceRows(t, ctx, it, first.ID, f.tbl.Schema())); d != "" {
		t.Fatal(d)
	}
	fault.Clear()
	if _, err := f.pub.Publish(ctx, f.tbl); err != nil {
		t.Fatal(err)
	}
	it = f.iceTable(t, ctx)
	if cur := it.CurrentSnapshot(); cur == nil || cur.SnapshotID != second.ID {
		t.Fatalf("view after catch-up shows %v, want snapshot %d", cur, second.ID)
	}
	want = siltRows(t, ctx, f.tbl, second.ID, "")
	if d := diffRows(want, iceRows(t, ctx, it, second.ID, f.tbl.Schema())); d != "" {
		t.Fatal(d)
	}
}

// TestPublishAsyncCoalesces: with Async the hook returns at once, one
// publication runs at a time per table, and after Wait the view shows
// every commit, each read back right by iceberg-go.
func TestPublishAsyncCoalesces(t *testing.T) {
	seed := testkit.Seed(t)
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := randomSchema("deduplicate")
	f := newFixture(t, store, dir, s)
	f.pub.Async = true
	h := &history{t: t, ctx: ctx, rng: rand.New(rand.NewPCG(seed, 5)), f: f, engine: "deduplicate", schema: s}
	for range 12 {
		h.write(f.tbl)
	}
	if err := f.pub.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st := f.pub.Stats()
	if st.Published == 0 || st.Published > 12+int64(12) {
		t.Fatalf("stats %+v", st)
	}
	h.check(true)
	latest, err := f.tbl.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it := f.iceTable(t, ctx)
	for id := int64(1); id <= latest.ID; id++ {
		if it.SnapshotByID(id) == nil {
			t.Fatalf("snapshot %d is not in the view after Wait (stats %+v)", id, st)
		}
	}
}
