package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// fakeClock is an injected clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// storeCalls sums the calls of every operation that reached f.
func storeCalls(f *objstore.Fault) int {
	n := 0
	for _, op := range []objstore.Op{objstore.OpGet, objstore.OpGetRange, objstore.OpPut, objstore.OpPutIfAbsent, objstore.OpPutIfMatch, objstore.OpStat, objstore.OpList, objstore.OpDelete} {
		n += f.Calls(op)
	}
	return n
}

func boundedTable(t *testing.T, store objstore.Store, schema *types.Schema, clock func() time.Time, reg *LookupIndexes) *Table {
	t.Helper()
	tb, err := Open("db.t", store, "wh/db.db/t/", schema, Env{Now: clock, LocalDir: t.TempDir(), Indexes: reg, StoreID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// stateSpan is the model's state at one snapshot and the interval of the
// injected clock during which that snapshot was the latest.
type stateSpan struct {
	state      map[modelKey]types.Row
	start, end time.Time // end zero: still the latest
}

// TestLookupBoundedOracle: a writer commits random changes while it moves the injected clock, sometimes past the
// bound; readers Get random keys with max-staleness. Every answer must be
// the key's state at some snapshot that was the latest within the bound
// of the Get (the clock moves only between commits, so a snapshot's span
// is exact). At the end, with the clock past the bound, every Get must
// see the final state.
func TestLookupBoundedOracle(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	ctx := context.Background()
	bound := []time.Duration{time.Hour, 30 * time.Millisecond}[rng.IntN(2)] // 1h: refreshed only when a Get asks; 30ms: by the timer too
	const keys = 12
	clock := newFakeClock()
	schema := modelSchema(EngineDeduplicate, 1+rng.IntN(3), false)
	schema.Options[OptLookupMaxStaleness] = bound.String()
	reg := NewLookupIndexes()
	defer reg.Close()
	// Half the seeds run on a slow store (every HEAD delayed), so that
	// refreshes and strict checks overlap commits and clock moves.
	store := objstore.NewFault(objstore.NewMem())
	var slow time.Duration
	if rng.IntN(2) == 0 {
		slow = time.Duration(1+rng.IntN(3)) * time.Millisecond
		store.Add(objstore.Rule{Op: objstore.OpStat, Latency: slow})
	}
	tb := boundedTable(t, store, schema, clock.Now, reg)
	if tb.maxStaleness() != bound {
		t.Fatalf("option %s: bound %v, want %v", bound, tb.maxStaleness(), bound)
	}
	m := &model{engine: EngineDeduplicate, state: map[modelKey]types.Row{}}

	var mu sync.Mutex
	hist := []stateSpan{{state: map[modelKey]types.Row{}}} // the empty table
	done := make(chan struct{})
	var readerErr atomic.Pointer[error]
	fail := func(err error) { readerErr.CompareAndSwap(nil, &err) }
	var wg sync.WaitGroup
	readers := 2
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(seed, uint64(r)+1))
			for {
				select {
				case <-done:
					return
				default:
				}
				k := modelKey{[]string{"eu", "us", "ap", "a/b c"}[rr.IntN(4)], int32(rr.IntN(keys))}
				g0 := clock.Now()
				row, ok, err := tb.Get(ctx, 0, k.region, k.id)
				g1 := clock.Now()
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				matched := false
				for _, h := range hist {
					want, wok := h.state[k]
					if wok != ok || (ok && !rowsEqual(row, want)) {
						continue
					}
					if h.start.After(g1) || (!h.end.IsZero() && h.end.Before(g0.Add(-bound))) {
						continue
					}
					matched = true
					break
				}
				if !matched {
					fail(fmt.Errorf("key %v: answer %v (found %v) between clock %v and %v matches no snapshot latest within the bound", k, row, ok, g0, g1))
					mu.Unlock()
					return
				}
				mu.Unlock()
			}
		}()
	}

	w := tb.NewWriter("oracle")
	commits := 25
	for c := range commits {
		if readerErr.Load() != nil {
			break
		}
		step := time.Duration(rng.Int64N(int64(bound) * 3 / 4))
		if rng.IntN(5) == 0 {
			step = bound + time.Duration(rng.Int64N(int64(bound)))
		}
		time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond) // let the readers run
		at := clock.Advance(step)
		for range 1 + rng.IntN(6) {
			r := randRow(rng, keys)
			kind := types.Insert
			if rng.IntN(4) == 0 {
				kind = types.Delete
			}
			if err := w.Write(ctx, kind, r); err != nil {
				t.Fatal(err)
			}
			m.apply(kind, r)
		}
		// The new state is recorded before the commit lands: the clock
		// stands still until it has, so both snapshots were the latest at
		// "at".
		mu.Lock()
		hist[len(hist)-1].end = at
		hist = append(hist, stateSpan{state: m.clone(), start: at})
		mu.Unlock()
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if err := readerErr.Load(); err != nil {
		t.Fatalf("seed %d bound %v: %v", seed, bound, *err)
	}
	// Past the bound: the final state, whatever the refresher did.
	clock.Advance(bound + time.Nanosecond)
	for k, want := range m.state {
		row, ok, err := tb.Get(ctx, 0, k.region, k.id)
		if err != nil || !ok || !rowsEqual(row, want) {
			t.Fatalf("seed %d: final %v: got %v %v %v, want %v", seed, k, row, ok, err, want)
		}
	}
	st := tb.LookupIndexStats()
	t.Logf("seed %d bound %v HEAD latency %v: %d bounded answers, %d strict fallbacks, %d refreshes", seed, bound, slow, st.BoundedLookups, st.BoundedFallbacks, st.Refreshes)
}

// TestLookupBoundedExpiry: within the bound Get answers as of the
// confirmed snapshot without a store request, even though a newer one
// exists; once the injected clock passes the bound with no refresh, Get
// reads strictly and sees the newer row; with the store failing it
// returns the error rather than the older row.
func TestLookupBoundedExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	store := objstore.NewFault(objstore.NewMem())
	reg := NewLookupIndexes()
	defer reg.Close()
	schema := modelSchema(EngineDeduplicate, 1, false)
	// 1h: the refresher's timer (20 min) never fires during the test, and
	// no Get finds its confirmation older than 30 min until the end.
	tb := boundedTable(t, store, schema, clock.Now, reg).WithMaxStaleness(time.Hour)
	put := func(v int64) {
		t.Helper()
		w := tb.NewWriter("w")
		if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(1), v, nil, nil}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(v)); err != nil {
			t.Fatal(err)
		}
	}
	get := func() (int64, error) {
		t.Helper()
		row, ok, err := tb.Get(ctx, 0, "eu", int32(1))
		if err != nil {
			return 0, err
		}
		if !ok {
			t.Fatal("row not found")
		}
		return row[2].(int64), nil
	}
	put(1)
	if v, err := get(); err != nil || v != 1 { // strict: confirms the snapshot
		t.Fatalf("first get: %v %v", v, err)
	}
	put(2)
	clock.Advance(10 * time.Minute)
	before := storeCalls(store)
	if v, err := get(); err != nil || v != 1 {
		t.Fatalf("within the bound: %v %v, want the confirmed snapshot's 1", v, err)
	}
	if d := storeCalls(store) - before; d != 0 {
		t.Fatalf("a bounded Get within the bound made %d store requests", d)
	}
	if st := tb.LookupIndexStats(); st.BoundedLookups != 1 || st.BoundedAge != 10*time.Minute {
		t.Fatalf("stats within the bound: %+v", st)
	}
	clock.Advance(51 * time.Minute)
	if v, err := get(); err != nil || v != 2 {
		t.Fatalf("past the bound: %v %v, want the newer 2", v, err)
	}
	if st := tb.LookupIndexStats(); st.BoundedFallbacks < 2 {
		t.Fatalf("stats past the bound: %+v", st)
	}
	// The strict read confirmed snapshot 2; a third commit, the clock past
	// the bound again and the store failing: an error, not 2.
	put(3)
	clock.Advance(2 * time.Hour)
	store.Add(objstore.Rule{Op: objstore.OpStat, Err: objstore.ErrInjected})
	store.Add(objstore.Rule{Op: objstore.OpGet, Err: objstore.ErrInjected})
	if v, err := get(); err == nil {
		t.Fatalf("past the bound with the store failing: %v, want an error", v)
	}
	store.Clear()
	if v, err := get(); err != nil || v != 3 {
		t.Fatalf("store back: %v %v, want 3", v, err)
	}
}

// TestLookupBoundedNoRequests: a hot loop of Gets with max-staleness 1s
// makes no store request per call (the refresher's few in the background
// aside); strict Gets make at least one per call.
func TestLookupBoundedNoRequests(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewFault(objstore.NewMem())
	reg := NewLookupIndexes()
	defer reg.Close()
	schema := modelSchema(EngineDeduplicate, 2, false)
	strict := boundedTable(t, store, schema, nil, reg)
	w := strict.NewWriter("w")
	for i := range 100 {
		if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(i), int64(i), nil, nil}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	loop := func(tb *Table, n int) int {
		t.Helper()
		before := storeCalls(store)
		for i := range n {
			row, ok, err := tb.Get(ctx, 0, "eu", int32(i%100))
			if err != nil || !ok || row[2] != int64(i%100) {
				t.Fatalf("get %d: %v %v %v", i, row, ok, err)
			}
		}
		return storeCalls(store) - before
	}
	loop(strict, 1) // builds the index
	const n = 2000
	if got := loop(strict, n); got < n {
		t.Fatalf("%d strict Gets made %d store requests; expected at least one each", n, got)
	}
	bounded := strict.WithMaxStaleness(time.Second)
	start := time.Now()
	got := loop(bounded, n)
	// Each refresh round (every 1s/3) costs two HEADs.
	if limit := 2 + 2*int(time.Since(start)/(time.Second/3)+1); got > limit {
		t.Fatalf("%d bounded Gets made %d store requests in %v (limit %d)", n, got, time.Since(start), limit)
	}
	st := strict.LookupIndexStats()
	t.Logf("%d bounded Gets: %d store requests; %d bounded answers, %d fallbacks", n, got, st.BoundedLookups, st.BoundedFallbacks)
	if st.BoundedLookups < n-1 {
		t.Fatalf("only %d of %d bounded Gets were answered from the index", st.BoundedLookups, n)
	}
	// The view does not change the table's other reads.
	if strict.maxStaleness() != 0 || bounded.WithMaxStaleness(0).maxStaleness() != 0 {
		t.Fatal("WithMaxStaleness changed the table it was called on, or 0 is not strict")
	}
}

// TestLookupRefresherStops: the refresher follows new snapshots in the
// background and stops when the registry is closed.
func TestLookupRefresherStops(t *testing.T) {
	ctx := context.Background()
	reg := NewLookupIndexes()
	schema := modelSchema(EngineDeduplicate, 1, false)
	schema.Options[OptLookupMaxStaleness] = "20ms"
	tb := boundedTable(t, objstore.NewMem(), schema, nil, reg)
	w := tb.NewWriter("w")
	if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(1), int64(1), nil, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Get(ctx, 0, "eu", int32(1)); err != nil {
		t.Fatal(err)
	}
	x := tb.lookupIndex()
	if x.fresh.ref.Load() == nil {
		t.Fatal("no refresher after a bounded Get")
	}
	deadline := time.Now().Add(5 * time.Second)
	for tb.LookupIndexStats().Refreshes < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the refresher did not run: %+v", tb.LookupIndexStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if x.fresh.ref.Load() != nil {
		t.Fatal("refresher still registered after Close")
	}
	n := x.stats.refreshes.Load()
	time.Sleep(50 * time.Millisecond)
	if m := x.stats.refreshes.Load(); m != n {
		t.Fatalf("refresher ran %d times after Close", m-n)
	}
}

// TestLookupStalenessOptionLimits: the option's accepted range and its
// one-line errors.
func TestLookupStalenessOptionLimits(t *testing.T) {
	for v, want := range map[string]time.Duration{"1s": time.Second, "10ms": 10 * time.Millisecond, "1h": time.Hour, " 250ms ": 250 * time.Millisecond, "0": 0, "0s": 0} {
		o, err := ParseOptions(map[string]string{OptLookupMaxStaleness: v})
		if err != nil || o.Lookup.MaxStaleness != want {
			t.Errorf("%q: %v %v, want %v", v, o.Lookup.MaxStaleness, err, want)
		}
	}
	for v, msg := range map[string]string{"9ms": "below the minimum 10ms", "61m": "above the maximum 1h0m0s", "2d": "above the maximum", "soon": "bad duration", "-1s": "below the minimum", "": "bad duration"} {
		_, err := ParseOptions(map[string]string{OptLookupMaxStaleness: v})
		if err == nil || !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), OptLookupMaxStaleness) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want a one-line ErrInvalid naming the option with %q", v, err, msg)
		}
	}
	if !IsOption(OptLookupMaxStaleness) {
		t.Error("IsOption does not know the option")
	}
}

// FuzzLookupOptions: any value of lookup.max-staleness parses within the
// limits or fails with ErrInvalid naming the option, never panics.
func FuzzLookupOptions(f *testing.F) {
	for _, s := range []string{"1s", "10ms", "1h", "0", "9ms", "1d", "", "1e9s", "-5m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > maxFuzzInput {
			return
		}
		o, err := ParseOptions(map[string]string{OptLookupMaxStaleness: v})
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), OptLookupMaxStaleness) {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if d := o.Lookup.MaxStaleness; d != 0 && (d < MinLookupStaleness || d > MaxLookupStaleness) {
			t.Fatalf("%q parsed to %v, outside 10ms..1h", v, d)
		}
	})
}

// TestLookupRefresherIdles: a refresher nobody asks stops by itself after
// refreshIdleRounds rounds, and the next bounded Get starts one again.
func TestLookupRefresherIdles(t *testing.T) {
	ctx := context.Background()
	reg := NewLookupIndexes()
	defer reg.Close()
	schema := modelSchema(EngineDeduplicate, 1, false)
	tb := boundedTable(t, objstore.NewMem(), schema, nil, reg).WithMaxStaleness(MinLookupStaleness)
	w := tb.NewWriter("w")
	if err := w.Write(ctx, types.Insert, types.Row{"eu", int32(1), int64(1), nil, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Get(ctx, 0, "eu", int32(1)); err != nil {
		t.Fatal(err)
	}
	x := tb.lookupIndex()
	first := x.fresh.ref.Load()
	if first == nil {
		t.Fatal("no refresher after a bounded Get")
	}
	select { // 64 rounds of 10ms/3
	case <-first.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the refresher did not stop while idle: %+v", tb.LookupIndexStats())
	}
	if x.fresh.ref.Load() != nil {
		t.Fatal("a stopped refresher is still registered")
	}
	if _, _, err := tb.Get(ctx, 0, "eu", int32(1)); err != nil {
		t.Fatal(err)
	}
	if r := x.fresh.ref.Load(); r == nil || r == first {
		t.Fatal("the next bounded Get did not start a new refresher")
	}
}
