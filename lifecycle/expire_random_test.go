package lifecycle

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

var gcLong = flag.Bool("gc-long", false, "run the long randomized lifecycle tests")

// clockStore stamps LastModified with the test's fake clock (the store
// and the collectors must agree on time, as a real store and real hosts
// do within the grace period), and lets a test backdate objects.
type clockStore struct {
	objstore.Store
	now func() time.Time
	mu  sync.Mutex
	mod map[string]time.Time
}

func newClockStore(inner objstore.Store, now func() time.Time) *clockStore {
	return &clockStore{Store: inner, now: now, mod: map[string]time.Time{}}
}

func (c *clockStore) stamp(key string, info objstore.ObjectInfo, err error) (objstore.ObjectInfo, error) {
	if err == nil {
		c.mu.Lock()
		c.mod[key] = c.now()
		info.LastModified = c.mod[key]
		c.mu.Unlock()
	}
	return info, err
}

func (c *clockStore) fix(info objstore.ObjectInfo) objstore.ObjectInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.mod[info.Key]; ok {
		info.LastModified = t
	}
	return info
}

func (c *clockStore) backdate(key string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mod[key] = t
}

func (c *clockStore) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	info, err := c.Store.Put(ctx, key, data)
	return c.stamp(key, info, err)
}

func (c *clockStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	info, err := c.Store.PutIfAbsent(ctx, key, data)
	return c.stamp(key, info, err)
}

func (c *clockStore) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (objstore.ObjectInfo, error) {
	info, err := c.Store.PutIfMatch(ctx, key, data, etag)
	return c.stamp(key, info, err)
}

func (c *clockStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	b, info, err := c.Store.Get(ctx, key)
	return b, c.fix(info), err
}

func (c *clockStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	info, err := c.Store.Stat(ctx, key)
	return c.fix(info), err
}

func (c *clockStore) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	out, err := c.Store.List(ctx, prefix)
	for i := range out {
		out[i] = c.fix(out[i])
	}
	return out, err
}

func isNotFound(err error) bool {
	return errors.Is(err, objstore.ErrNotFound) || errors.Is(err, types.ErrNotFound)
}

// fakeClock is a shared, monotonic test clock.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ms.Store(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// gcOp is one row change of an acknowledged commit.
type gcOp struct {
	del bool
	k   int64
	v   string
}

// gcRead is what one read of a snapshot returned.
type gcRead struct {
	id   int64
	kind manifest.CommitKind
	rows map[int64]string
}

// lifecycleEnv builds a table on hot and cold stores wrapped with the
// fake clock.
func lifecycleEnv(clock *fakeClock, hot, cold objstore.Store) table.Env {
	return table.Env{
		Now:     clock.Now,
		ColdURI: "test://cold",
		OpenStore: func(ctx context.Context, uri string) (objstore.Store, error) {
			if !strings.HasPrefix(uri, "test://cold") {
				return nil, fmt.Errorf("unexpected cold uri %q", uri)
			}
			return cold, nil
		},
	}
}

func gcSchema(opts map[string]string) *types.Schema {
	s := simpleSchema(2)
	s.Options[table.OptWriteBufferSize] = "4kb"
	for k, v := range opts {
		s.Options[k] = v
	}
	return s
}

// TestLifecycleRandomConcurrent: writers, compaction, snapshot expiry,
// tiering and orphan cleanup run concurrently with readers pinned to old
// snapshots (leases) and readers of the latest snapshot. Every read that
// succeeds is exactly the oracle's state of its snapshot; a pinned reader
// never hits a missing file; a reader of the latest snapshot may only fail
// after time-retained has passed or once num-retained.max snapshots were
// committed after its own (that rule ignores age); after quiescence the stores hold exactly
// the files the retained snapshots need.
func TestLifecycleRandomConcurrent(t *testing.T) {
	commits := 25
	if *gcLong {
		commits = 150
	}
	clock := newFakeClock()
	hot := newClockStore(objstore.NewMem(), clock.Now)
	cold := newClockStore(objstore.NewMem(), clock.Now)
	runLifecycleRandom(t, testSeed(t), clock, hot, cold, commits)
}

// TestLifecycleRandomMinIO is a smaller run on MinIO, with the cold tier
// in a second bucket.
func TestLifecycleRandomMinIO(t *testing.T) {
	clock := newFakeClock()
	hot := newClockStore(s3test.NewStore(t), clock.Now)
	cold := newClockStore(s3test.NewStore(t), clock.Now)
	runLifecycleRandom(t, testSeed(t), clock, hot, cold, 5)
}

func runLifecycleRandom(t *testing.T, seed uint64, clock *fakeClock, hot, cold *clockStore, commits int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const (
		writers        = 3
		keys           = 30
		timeRetained   = 30 * time.Second
		numRetainedMax = 12
	)
	tb, err := table.Open("db.t", hot, "wh/db.db/t/", gcSchema(map[string]string{
		table.OptSnapshotNumRetainedMin: "2",
		table.OptSnapshotNumRetainedMax: fmt.Sprint(numRetainedMax),
		table.OptSnapshotTimeRetained:   "30s",
		table.OptSnapshotLeaseTTL:       "1d",
		table.OptOrphanGracePeriod:      "1h",
		table.OptTierMoveAfter:          "8s",
	}), lifecycleEnv(clock, hot, cold))
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		acks     = map[int64][]gcOp{}
		reads    []gcRead
		failures []string
		stats    = map[string]int{}
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
		cancel()
	}
	count := func(k string) { mu.Lock(); stats[k]++; mu.Unlock() }
	readAll := func(sc *table.Scan) (map[int64]string, error) {
		out := map[int64]string{}
		for row, err := range sc.Rows(ctx) {
			if err != nil {
				return nil, err
			}
			out[row[0].(int64)] = row[1].(string)
		}
		return out, nil
	}

	var writersDone atomic.Bool
	var bg, wg sync.WaitGroup
	// The clock: 1s of fake time per 5ms.
	bg.Add(1)
	go func() {
		defer bg.Done()
		for !writersDone.Load() && ctx.Err() == nil {
			clock.Advance(time.Second)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for wi := 0; wi < writers; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(wi)))
			w := tb.NewWriter(fmt.Sprintf("writer-%d", wi))
			defer w.Close(context.Background())
			for c := 0; c < commits && ctx.Err() == nil; c++ {
				var ops []gcOp
				for i := 0; i < 1+rng.IntN(8); i++ {
					op := gcOp{del: rng.IntN(5) == 0, k: rng.Int64N(keys), v: fmt.Sprintf("w%d-c%d-%d", wi, c, i)}
					kind, row := types.Insert, types.Row{op.k, op.v}
					if op.del {
						kind, row = types.Delete, types.Row{op.k, nil}
					}
					if err := w.Write(ctx, kind, row); err != nil {
						fail("writer %d: %v", wi, err)
						return
					}
					ops = append(ops, op)
				}
				snap, err := w.Commit(ctx, fmt.Sprint(c))
				if err != nil {
					fail("writer %d commit %d: %v", wi, c, err)
					return
				}
				mu.Lock()
				acks[snap.ID] = ops
				mu.Unlock()
				time.Sleep(time.Duration(rng.IntN(12)) * time.Millisecond)
			}
		}()
	}
	loop := func(name string, body func(rng *rand.Rand)) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(len(name))*7919))
			for !writersDone.Load() && ctx.Err() == nil {
				body(rng)
			}
		}()
	}
	loop("compactor", func(rng *rand.Rand) {
		_, err := tb.Compact(ctx, table.CompactOptions{Full: rng.IntN(3) == 0, User: "compactor"})
		switch {
		case err == nil:
			count("compactions")
		case errors.Is(err, types.ErrConflict):
			count("compaction conflicts")
		case isNotFound(err):
			// Its inputs were replaced and expired while it ran longer
			// than time-retained (checked exactly by the latest reader).
			count("compactions outlived time-retained")
		case ctx.Err() != nil:
		default:
			fail("compaction: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	})
	var junk atomic.Int64
	loop("gc", func(rng *rand.Rand) {
		// A crashed writer's leftovers, old enough to be orphans.
		n := junk.Add(1)
		for _, p := range []string{fmt.Sprintf("data/bucket-0/data-junk%d.parquet", n), fmt.Sprintf("manifest/manifest-junk%d", n)} {
			if _, err := hot.Put(ctx, tb.Root()+p, []byte("junk")); err == nil {
				hot.backdate(tb.Root()+p, clock.Now().Add(-48*time.Hour))
			}
		}
		add := func(k string, n int) { mu.Lock(); stats[k] += n; mu.Unlock() }
		ex, _, err := ExpireSnapshots(ctx, tb, false)
		if err != nil {
			if ctx.Err() == nil {
				fail("expiry: %v", err)
			}
			return
		}
		add("snapshots expired", len(ex.Snapshots))
		add("files deleted by expiry", ex.FilesDeleted)
		add("candidates kept for leases", ex.Kept)
		tr, _, err := TierFiles(ctx, tb, false)
		switch {
		case err == nil:
			add("files tiered", tr.Files)
		case errors.Is(err, types.ErrConflict):
			count("tiering conflicts")
		case isNotFound(err):
			count("tiering outlived time-retained")
		case ctx.Err() == nil:
			fail("tiering: %v", err)
			return
		}
		or, _, err := CleanOrphans(ctx, tb, false)
		if err != nil {
			if ctx.Err() == nil {
				fail("orphan cleanup: %v", err)
			}
			return
		}
		add("orphans deleted", or.Deleted)
		if _, err := CleanLeases(ctx, tb, false); err != nil && ctx.Err() == nil {
			fail("lease cleanup: %v", err)
		}
		time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
	})
	for ri := 0; ri < 3; ri++ {
		loop(fmt.Sprintf("pinned-reader-%d", ri), func(rng *rand.Rand) {
			snaps, err := tb.Meta().Snapshots(ctx)
			if err != nil || len(snaps) == 0 {
				if err != nil && ctx.Err() == nil {
					fail("list snapshots: %v", err)
				}
				return
			}
			// Prefer the oldest snapshots: they race with expiry.
			id := snaps[rng.IntN(min(len(snaps), 3))].ID
			sc, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: id})
			if errors.Is(err, types.ErrNotFound) {
				count("pinned reads refused (expired first)")
				return
			}
			if err != nil {
				if ctx.Err() == nil {
					fail("pinned scan of snapshot %d: %v", id, err)
				}
				return
			}
			if sc.Lease() == nil {
				fail("scan of snapshot %d holds no lease", id)
			}
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond) // hold the lease across collector runs
			rows, err := readAll(sc)
			_ = sc.Close(context.Background())
			if err != nil {
				if ctx.Err() == nil {
					fail("pinned reader of snapshot %d (leased) hit: %v", id, err)
				}
				return
			}
			mu.Lock()
			reads = append(reads, gcRead{id, sc.Snapshot().CommitKind, rows})
			stats["pinned reads"]++
			mu.Unlock()
		})
	}
	// newer is how many snapshots were committed after snapshot id (ids
	// are contiguous on main); -1 when the latest cannot be read.
	newer := func(id int64) int64 {
		l, err := tb.Latest(ctx)
		if err != nil || l == nil {
			return -1
		}
		return l.ID - id
	}
	loop("latest-reader", func(rng *rand.Rand) {
		start := clock.Now()
		// The snapshot the scan resolves is this one or a later one.
		var atLeast int64
		if l, err := tb.Latest(ctx); err == nil && l != nil {
			atLeast = l.ID
		}
		sc, err := tb.NewScan(ctx, table.ScanOptions{})
		var rows map[int64]string
		if err == nil {
			if sc.Lease() != nil {
				fail("a scan of the latest snapshot took a lease")
			}
			if sc.Snapshot() != nil {
				atLeast = sc.SnapshotID()
			}
			rows, err = readAll(sc)
		}
		elapsed := clock.Now().Sub(start)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil && elapsed < timeRetained && newer(atLeast) >= numRetainedMax:
			// num-retained.max expires snapshots whatever their age: a
			// reader of the latest snapshot is protected for time-retained
			// only while fewer than num-retained.max commits land after it
			// (docs/operations.md, lifecycle policies).
			count("latest reads outlived num-retained.max")
		case err != nil && elapsed < timeRetained:
			fail("reader of the latest snapshot failed after only %s (< time-retained %s) with %d newer snapshots (< num-retained.max %d): %v",
				elapsed, timeRetained, newer(atLeast), numRetainedMax, err)
		case err != nil:
			count("latest reads outlived time-retained")
		case sc.Snapshot() != nil:
			mu.Lock()
			reads = append(reads, gcRead{sc.SnapshotID(), sc.Snapshot().CommitKind, rows})
			stats["latest reads"]++
			mu.Unlock()
		}
		time.Sleep(time.Millisecond)
	})
	wg.Wait()
	writersDone.Store(true)
	bg.Wait()
	if len(failures) > 0 {
		t.Fatalf("seed %d: %d failures, first: %s", seed, len(failures), strings.Join(failures[:min(5, len(failures))], "\n"))
	}
	if ctx.Err() != nil {
		t.Fatal(ctx.Err())
	}
	t.Logf("stats: %v", stats)

	// The oracle: the state at snapshot id is every acknowledged commit up
	// to id applied in id order (other snapshots are COMPACT: no change).
	ids := make([]int64, 0, len(acks))
	for id := range acks {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	stateAt := func(id int64) map[int64]string {
		st := map[int64]string{}
		for _, a := range ids {
			if a > id {
				break
			}
			for _, op := range acks[a] {
				if op.del {
					delete(st, op.k)
				} else {
					st[op.k] = op.v
				}
			}
		}
		return st
	}
	check := func(what string, r gcRead) {
		t.Helper()
		if _, ok := acks[r.id]; !ok && r.kind != manifest.CommitCompact {
			t.Fatalf("seed %d: %s: snapshot %d is a %s commit nobody acknowledged", seed, what, r.id, r.kind)
		}
		want := stateAt(r.id)
		if fmt.Sprint(want) != fmt.Sprint(r.rows) {
			t.Fatalf("seed %d: %s of snapshot %d:\n got %v\nwant %v", seed, what, r.id, r.rows, want)
		}
	}
	for _, r := range reads {
		check("concurrent read", r)
	}
	// Quiescence: every retained snapshot reads exactly.
	verifyRetained := func(when string) []*manifest.Snapshot {
		snaps, err := tb.Meta().Snapshots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range snaps {
			sc, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: s.ID})
			if err != nil {
				t.Fatalf("%s: snapshot %d: %v", when, s.ID, err)
			}
			rows, err := readAll(sc)
			if err != nil {
				t.Fatalf("seed %d: %s: retained snapshot %d: %v", seed, when, s.ID, err)
			}
			_ = sc.Close(ctx)
			check(when, gcRead{s.ID, s.CommitKind, rows})
		}
		return snaps
	}
	verifyRetained("before the final collection")
	// Past every grace period and TTL: collect everything collectable.
	clock.Advance(48 * time.Hour)
	for i := 0; i < 2; i++ { // the first run's tiering commits a snapshot the second expires
		if _, err := Maintain(ctx, tb, MaintainOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	snaps := verifyRetained("after the final collection")
	if len(snaps) != 2 {
		t.Errorf("%d snapshots retained, want snapshot.num-retained.min = 2", len(snaps))
	}
	checkStorageExact(t, ctx, tb, hot, cold, snaps)
}

// checkStorageExact verifies that the stores hold exactly what the
// retained snapshots need (computed with manifest.ReachableFrom, not the
// collector's own code): nothing missing, nothing leaked.
func checkStorageExact(t *testing.T, ctx context.Context, tb *table.Table, hot, cold objstore.Store, snaps []*manifest.Snapshot) {
	t.Helper()
	want := map[string]bool{}
	for _, s := range snaps {
		r, err := tb.Meta().ReachableFrom(ctx, s.ManifestList, s.ChangelogManifestList)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.ManifestLists {
			want["hot:"+p] = true
		}
		for _, p := range r.Manifests {
			want["hot:"+p] = true
		}
		for _, f := range r.DataFiles {
			tier := "hot"
			if f.Tier != "" {
				tier = f.Tier
			}
			want[tier+":"+f.Path] = true
		}
	}
	got := map[string]bool{}
	for tier, st := range map[string]objstore.Store{"hot": hot, table.TierCold: cold} {
		for _, dir := range []string{"data/", "manifest/"} {
			infos, err := st.List(ctx, tb.Root()+dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range infos {
				got[tier+":"+strings.TrimPrefix(in.Key, tb.Root())] = true
			}
		}
	}
	var missing, leaked []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			leaked = append(leaked, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(leaked)
	if len(missing)+len(leaked) > 0 {
		t.Fatalf("storage differs from what the %d retained snapshots need:\nmissing %v\nleaked %v", len(snaps), missing, leaked)
	}
	t.Logf("storage holds exactly the %d objects the retained snapshots need", len(want))
}
