package table

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
)

// Bounded-staleness point lookups (lookup.max-staleness,
// Table.WithMaxStaleness). A strict Get at the latest snapshot asks the
// store whether a newer snapshot exists before reading the index: two
// requests per lookup. With a bound B, Get instead reads the index as of
// its snapshot S when S was confirmed to be the latest at an instant no
// more than B ago by the injected clock (Env.Now):
//
//   - every confirmation takes the clock before asking the store, so the
//     instant it records is no later than the one at which S really was
//     the latest (the answer is never older than claimed);
//   - a background refresher, started by the first bounded Get of an
//     index, confirms the latest snapshot every B/3 (and at once when a
//     Get finds its confirmation older than B/2) and catches the index up
//     to it; a strict Get confirms too;
//   - when the confirmation is older than B (the refresher is behind: the
//     store is slow or failing) or is not of the index's current snapshot,
//     Get takes the strict path: it never serves older data.
//
// The refresher belongs to the index (shared by every Table of the same
// table and branch in the process; Tables are not closed): it stops when
// the registry (LookupIndexes) is closed, or after refreshIdleRounds
// rounds in which no bounded Get asked for it; the next one starts it
// again.

// refreshIdleRounds is how many refresh rounds without a bounded Get a
// refresher waits before it stops.
const refreshIdleRounds = 64

// confirmation records that snapshot (id, list) was the latest at or after
// at.
type confirmation struct {
	id   int64
	list string
	at   time.Time
}

// refresher is an index's background follower of the latest snapshot.
type refresher struct {
	kick   chan struct{} // buffered(1): refresh now
	cancel context.CancelFunc
	done   chan struct{}
	table  atomic.Pointer[Table] // the Table of the latest bounded Get
	bound  atomic.Int64          // smallest bound asked for, in ns
	used   atomic.Bool           // a bounded Get since the last round
}

// freshState is the lookupIndex's part for bounded lookups.
type freshState struct {
	conf confirmation // guarded by lookupIndex.mu

	refMu   sync.Mutex
	ref     atomic.Pointer[refresher]
	stopped bool // guarded by refMu: the index was closed
}

// WithMaxStaleness returns a view of the table whose Get at the latest
// snapshot (snapshotID 0) may answer as of a snapshot that was the latest
// within d, by the clock of Env.Now, without a store request per call
// (see lookup.max-staleness). d <= 0 makes Get strict again, whatever the
// table option says. It needs the lookup index (Env.LocalDir and
// Env.Indexes); without it Get stays strict. Scans (and so SQL) are not
// affected.
func (t *Table) WithMaxStaleness(d time.Duration) *Table {
	v := *t
	v.staleness, v.stalenessSet = max(d, 0), true
	return &v
}

// maxStaleness is the bound of Get at latest: the view's, else the
// table option's (0: strict).
func (t *Table) maxStaleness() time.Duration {
	if t.stalenessSet {
		return t.staleness
	}
	return t.opts.Lookup.MaxStaleness
}

// getBounded reads one key from the index if its snapshot was confirmed
// as the latest within bound of now. served is false when the strict path
// must answer.
func (x *lookupIndex) getBounded(now time.Time, bound time.Duration, fp string, cols int, partition string, bucket int, key []byte) (rec lsm.Record, exists, served bool, age time.Duration) {
	var buf [128]byte
	k := recordKey(buf[:0], partition, bucket, key)
	x.mu.RLock()
	st, c := x.st, x.fresh.conf
	if x.db == nil || st.snap == nil || st.fp != fp || c.id != st.snap.ID || c.list != st.snap.ManifestList {
		x.mu.RUnlock()
		return lsm.Record{}, false, false, 0
	}
	if age = max(now.Sub(c.at), 0); age > bound {
		x.mu.RUnlock()
		return lsm.Record{}, false, false, age
	}
	rec, exists, err := x.readLocked(k, key, cols)
	x.mu.RUnlock()
	if err != nil {
		x.fail(indexErr(err))
		return lsm.Record{}, false, false, age
	}
	return rec, exists, true, age
}

// confirm records that snap was the latest snapshot at or after at, if
// the index is current at it.
func (x *lookupIndex) confirm(snap *manifest.Snapshot, at time.Time) {
	if snap == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	st, c := x.st, x.fresh.conf
	if st.snap == nil || st.snap.ID != snap.ID || st.snap.ManifestList != snap.ManifestList {
		return
	}
	if c.id == snap.ID && c.list == snap.ManifestList && !at.After(c.at) {
		return
	}
	x.fresh.conf = confirmation{id: snap.ID, list: snap.ManifestList, at: at}
}

// useRefresher marks the index's refresher as used by t with bound,
// starting it when none runs; kick asks it to refresh at once.
func (x *lookupIndex) useRefresher(t *Table, bound time.Duration, kick bool) {
	r := x.fresh.ref.Load()
	if r == nil {
		x.fresh.refMu.Lock()
		if r = x.fresh.ref.Load(); r == nil {
			if x.fresh.stopped {
				x.fresh.refMu.Unlock()
				return
			}
			ctx, cancel := context.WithCancel(context.Background())
			r = &refresher{kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
			r.table.Store(t)
			r.bound.Store(int64(bound))
			x.fresh.ref.Store(r)
			go x.refresh(ctx, r)
		}
		x.fresh.refMu.Unlock()
	}
	if !r.used.Load() {
		r.used.Store(true)
	}
	if r.table.Load() != t {
		r.table.Store(t)
	}
	for {
		b := r.bound.Load()
		if int64(bound) >= b || r.bound.CompareAndSwap(b, int64(bound)) {
			break
		}
	}
	if kick {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// refresh is the refresher's loop.
func (x *lookupIndex) refresh(ctx context.Context, r *refresher) {
	defer close(r.done)
	idle := 0
	for {
		timer := time.NewTimer(max(time.Duration(r.bound.Load())/3, time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-r.kick:
			timer.Stop()
		case <-timer.C:
		}
		if r.used.Swap(false) {
			idle = 0
		} else if idle++; idle >= refreshIdleRounds {
			x.fresh.refMu.Lock()
			if !r.used.Load() {
				x.fresh.ref.CompareAndSwap(r, nil)
				x.fresh.refMu.Unlock()
				r.cancel()
				return
			}
			x.fresh.refMu.Unlock()
		}
		x.refreshOnce(ctx, r.table.Load())
	}
}

// refreshOnce confirms the latest snapshot and catches the index up to it.
func (x *lookupIndex) refreshOnce(ctx context.Context, t *Table) {
	x.stats.refreshes.Add(1)
	fp := t.lk.fingerprint(t.schema)
	var known *manifest.Snapshot
	if st := x.state(); st.snap != nil && st.fp == fp {
		known = st.snap
	}
	at := t.env.Now()
	snap, err := t.meta.LatestFrom(ctx, known)
	if err != nil || snap == nil {
		if err != nil && ctx.Err() == nil {
			x.stats.refreshFailures.Add(1)
		}
		return
	}
	x.sawSnapshot(snap.ID)
	x.ensure(ctx, t, snap, fp, true)
	x.confirm(snap, at)
}

// stopRefresher stops the refresher for good (the index is closing) and
// waits for it.
func (x *lookupIndex) stopRefresher() {
	x.fresh.refMu.Lock()
	x.fresh.stopped = true
	r := x.fresh.ref.Swap(nil)
	x.fresh.refMu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// noteBounded counts a bounded Get and the age of the confirmation behind
// its answer.
func (c *indexCounters) noteBounded(served bool, age time.Duration) {
	if !served {
		c.boundedFallbacks.Add(1)
		return
	}
	c.boundedLookups.Add(1)
	c.boundedAge.Store(int64(age))
}
