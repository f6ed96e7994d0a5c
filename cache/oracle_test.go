package cache

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
)

var longFlag = flag.Bool("long", false, "run randomized cache tests longer")

func testSeed(t *testing.T) uint64 {
	t.Helper()
	return testkit.Seed(t)
}

// checkInvariants compares the in-memory index with itself and with the
// budget.
func checkInvariants(t *testing.T, c *Cache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var cost, bytes, n int64
	for el := c.lru.Front(); el != nil; el = el.Next() {
		nd := el.Value.(*node)
		if c.nodeLocked(nd.id) != nd {
			t.Fatalf("LRU node %+v is not the object's record", nd.id)
		}
		cost += nd.cost
		n++
		if nd.e.kind == kindBlock {
			bytes += nd.e.length
		}
	}
	if cost != c.cost || bytes != c.bytes || n != c.entries {
		t.Fatalf("index totals: cost %d/%d bytes %d/%d entries %d/%d (counted/kept)", cost, c.cost, bytes, c.bytes, n, c.entries)
	}
	if c.cost > c.budget {
		t.Fatalf("cost %d over budget %d", c.cost, c.budget)
	}
	for ok, obj := range c.objs {
		if obj.meta == nil && len(obj.blocks) == 0 {
			t.Fatalf("empty object %v kept", ok)
		}
	}
	if len(c.flights) != 0 || len(c.fills) != 0 {
		t.Fatalf("%d flights and %d fills left behind", len(c.flights), len(c.fills))
	}
}

// blockFiles lists the cache's block files.
func blockFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, blocksDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// damage corrupts one file: flips a byte, truncates it or appends to it.
func damage(t *testing.T, rng *rand.Rand, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		return "gone"
	}
	how := rng.IntN(3)
	switch {
	case how == 0 && len(data) > 0:
		data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
	case how == 1 && len(data) > 0:
		data = data[:rng.IntN(len(data))]
	default:
		data = append(data, 'x')
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return [...]string{"flip", "truncate", "append"}[how]
}

// TestOracle runs random operations through a cache with a budget of a
// few blocks (so it evicts constantly), restarting it, wiping its
// directory and corrupting its files along the way, and compares every
// read with the origin's answer.
func TestOracle(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	steps := 1000
	if *longFlag {
		steps = 30000
	}
	ctx := t.Context()
	dir := t.TempDir()
	bs := []int64{7, 64, 1000}[rng.IntN(3)]
	opts := Options{BlockSize: bs, WriteThrough: rng.IntN(2) == 0, RecencyBatch: 1 + rng.IntN(8)}
	budget := bs*int64(3+rng.IntN(6)) + recordOverhead*4
	t.Logf("block size %d, budget %d, write-through %v", bs, budget, opts.WriteThrough)
	origin := objstore.NewMem()
	c, err := Open(ctx, dir, budget, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close() }()
	s := c.Wrap(origin, "hot")

	keys := []string{
		"db/t/data/bucket-0/data-a.parquet", "db/t/data/bucket-1/data-b.parquet", "db/t/data/bucket-0/data-c.parquet",
		"db/t/manifest/manifest-1", "db/t/manifest/manifest-list-2", "db/t/schema/schema-0",
		"db/t/snapshot/snapshot-1", "db/t/snapshot/LATEST", // never cached
	}
	content := func() []byte {
		n := rng.IntN(int(bs) * 5)
		if rng.IntN(10) == 0 {
			n = 0
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for _, k := range keys {
		if rng.IntN(3) > 0 {
			if _, err := origin.Put(ctx, k, content()); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := func(key string) ([]byte, objstore.ObjectInfo, error) { return origin.Get(ctx, key) }
	sameErr := func(what string, got, exp error) {
		t.Helper()
		if (got == nil) != (exp == nil) || got != nil && errors.Is(exp, objstore.ErrNotFound) != errors.Is(got, objstore.ErrNotFound) {
			t.Fatalf("%s: error %v, origin says %v", what, got, exp)
		}
	}
	var corrupted, wiped, reopened int
	var total TierStats
	for step := range steps {
		key := keys[rng.IntN(len(keys))]
		op := rng.IntN(100)
		what := fmt.Sprintf("step %d", step)
		switch {
		case op < 25:
			got, info, err := s.Get(ctx, key)
			exp, expInfo, expErr := want(key)
			sameErr(what+" Get "+key, err, expErr)
			if err == nil && (!bytes.Equal(got, exp) || info.ETag != expInfo.ETag || info.Size != expInfo.Size || !info.LastModified.Equal(expInfo.LastModified)) {
				t.Fatalf("%s Get %s: %d bytes %+v, origin %d bytes %+v", what, key, len(got), info, len(exp), expInfo)
			}
		case op < 55:
			off, n := int64(rng.IntN(int(bs)*6)), int64(rng.IntN(int(bs)*4))
			got, err := s.GetRange(ctx, key, off, n)
			exp, expErr := origin.GetRange(ctx, key, off, n)
			sameErr(fmt.Sprintf("%s GetRange %s %d+%d", what, key, off, n), err, expErr)
			if err == nil && !bytes.Equal(got, exp) {
				t.Fatalf("%s GetRange %s %d+%d: %d bytes, origin %d", what, key, off, n, len(got), len(exp))
			}
		case op < 60:
			got, err := s.Stat(ctx, key)
			exp, expErr := origin.Stat(ctx, key)
			sameErr(what+" Stat "+key, err, expErr)
			if err == nil && (got.Size != exp.Size || got.ETag != exp.ETag || got.Key != key) {
				t.Fatalf("%s Stat %s = %+v, origin %+v", what, key, got, exp)
			}
		case op < 70:
			if _, err := s.Put(ctx, key, content()); err != nil {
				t.Fatal(err)
			}
		case op < 74:
			if _, err := s.PutIfAbsent(ctx, key, content()); err != nil && !errors.Is(err, objstore.ErrPreconditionFailed) {
				t.Fatal(err)
			}
		case op < 80:
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		case op < 84:
			if _, err := s.List(ctx, "db/t/"); err != nil {
				t.Fatal(err)
			}
		case op < 88:
			if files := blockFiles(t, dir); len(files) > 0 {
				damage(t, rng, files[rng.IntN(len(files))])
				corrupted++
			}
		case op < 91:
			// The origin changes behind the cache's back: only a key the
			// cache never holds (or one it is told about) may change so.
			if !c.opts.Cacheable(key) {
				if _, err := origin.Put(ctx, key, content()); err != nil {
					t.Fatal(err)
				}
			}
		case op < 93:
			checkInvariants(t, c)
			total = addStats(total, c.Stats().Tiers["hot"])
			if err := c.Close(); err != nil {
				t.Fatalf("%s close: %v", what, err)
			}
			if c, err = Open(ctx, dir, budget, opts); err != nil {
				t.Fatalf("%s reopen: %v", what, err)
			}
			s = c.Wrap(origin, "hot")
			checkInvariants(t, c)
			reopened++
		case op < 94:
			// Wipe the directory under the running cache.
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			wiped++
		default:
			concurrentReads(t, s, origin, keys, bs, rng.Uint64())
		}
		if step%50 == 0 {
			checkInvariants(t, c)
		}
	}
	checkInvariants(t, c)
	st := addStats(total, c.Stats().Tiers["hot"])
	t.Logf("reopened %d, wiped %d, corrupted %d files; stats %+v", reopened, wiped, corrupted, st)
	if st.Hits == 0 || st.Misses == 0 || st.Evictions == 0 {
		t.Fatalf("the run never hit, missed or evicted: %+v", st)
	}
	if corrupted > 20 && st.Corrupt+st.Missing == 0 {
		t.Fatalf("%d files damaged, none detected: %+v", corrupted, st)
	}
}

func addStats(a, b TierStats) TierStats {
	return TierStats{Hits: a.Hits + b.Hits, Misses: a.Misses + b.Misses, BytesFromCache: a.BytesFromCache + b.BytesFromCache,
		BytesFromOrigin: a.BytesFromOrigin + b.BytesFromOrigin, Evictions: a.Evictions + b.Evictions, Corrupt: a.Corrupt + b.Corrupt,
		Missing: a.Missing + b.Missing, WriteErrors: a.WriteErrors + b.WriteErrors}
}

// concurrentReads reads the same keys from several goroutines at once (so
// misses coalesce) and compares with the origin.
func concurrentReads(t *testing.T, s, origin objstore.Store, keys []string, bs int64, seed uint64) {
	t.Helper()
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for range 8 {
				key := keys[rng.IntN(3)]
				off, n := int64(rng.IntN(int(bs)*3)), int64(rng.IntN(int(bs)*3))
				got, err := s.GetRange(ctx, key, off, n)
				exp, expErr := origin.GetRange(ctx, key, off, n)
				if (err == nil) != (expErr == nil) || err == nil && !bytes.Equal(got, exp) {
					errs <- fmt.Errorf("concurrent GetRange %s %d+%d: %d bytes %v, origin %d bytes %v", key, off, n, len(got), err, len(exp), expErr)
					return
				}
				if rng.IntN(4) == 0 {
					got, _, err := s.Get(ctx, key)
					exp, _, expErr := origin.Get(ctx, key)
					if (err == nil) != (expErr == nil) || err == nil && !bytes.Equal(got, exp) {
						errs <- fmt.Errorf("concurrent Get %s: %d bytes %v, origin %d bytes %v", key, len(got), err, len(exp), expErr)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
