package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func randBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// originReads counts the read calls that reached the origin.
func originReads(f *objstore.Fault) int {
	return f.Calls(objstore.OpGet) + f.Calls(objstore.OpGetRange) + f.Calls(objstore.OpStat)
}

func TestDefaultCacheable(t *testing.T) {
	for key, want := range map[string]bool{
		"db.db/t/data/bucket-0/data-0b1c.parquet":     true,
		"db.db/t/data/p=1/bucket-3/data-x.parquet":    true,
		"db.db/t/data/bucket-0/changelog-9.parquet":   true,
		"db.db/t/manifest/manifest-4f2a":              true,
		"db.db/t/manifest/manifest-list-77":           true,
		"db.db/t/schema/schema-3":                     false,
		"db.db/t/snapshot/snapshot-12":                false,
		"db.db/t/snapshot/LATEST":                     false,
		"db.db/t/branch/dev/snapshot/snapshot-1":      false,
		"db.db/t/branch/dev/BRANCH":                   false,
		"db.db/t/tag/tag-v1":                          false,
		"db.db/t/lease/lease-abc":                     false,
		"db.db/t/data/bucket-0/data-0b1c.parquet.tmp": false,
		"db.db/t/data/bucket-0/data-0b1c":             false,
		"db.db/data-x.parquet/snapshot/snapshot-1":    false,
		"db.db/manifest-dir/t/snapshot/LATEST":        false,
		"db.db/t/data/bucket-0/notdata-0b1c.parquet":  false,
		"db.db/t/data/bucket-0/changelog-0b1c.avro":   false,
	} {
		if got := DefaultCacheable(key); got != want {
			t.Errorf("DefaultCacheable(%q) = %v, want %v", key, got, want)
		}
	}
}

// blockFile returns the file of a cached block, or "".
func blockFile(c *Cache, tier, key string, i int64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeLocked(itemID{tier: tier, key: key, kind: kindBlock, block: i})
	if n == nil {
		return ""
	}
	return c.blockPath(n.e.fileNum)
}

// TestCorruption damages cached files in every way (flipped byte,
// truncation, extension, removal): what is served still equals the
// origin, the right counter moves, and the block is cached again.
func TestCorruption(t *testing.T) {
	ctx := t.Context()
	origin := objstore.NewFault(objstore.NewMem())
	const key = "t/data/bucket-0/data-1.parquet"
	data := randBytes(1, 10_000)
	if _, err := origin.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	c := openTest(t, t.TempDir(), 1<<20, Options{BlockSize: 1024})
	s := c.Wrap(origin, "hot")
	get := func(what string) {
		t.Helper()
		got, _, err := s.Get(ctx, key)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: Get = %d bytes, %v; want the origin's %d bytes", what, len(got), err, len(data))
		}
		r, err := s.GetRange(ctx, key, 3000, 2500)
		if err != nil || !bytes.Equal(r, data[3000:5500]) {
			t.Fatalf("%s: GetRange = %d bytes, %v", what, len(r), err)
		}
	}
	get("cold")
	get("warm")
	reads := originReads(origin)
	for i, tc := range []struct {
		name    string
		block   int64
		damage  func(p string) error
		corrupt bool
	}{
		{"flip", 3, func(p string) error {
			b, _ := os.ReadFile(p)
			b[100] ^= 0x40
			return os.WriteFile(p, b, 0o644)
		}, true},
		{"truncate", 4, func(p string) error { return os.Truncate(p, 1000) }, true},
		{"extend", 2, func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			f.Write([]byte("junk"))
			return f.Close()
		}, true},
		{"empty", 9, func(p string) error { return os.Truncate(p, 0) }, true},
		{"remove", 0, os.Remove, false},
	} {
		p := blockFile(c, "hot", key, tc.block)
		if p == "" {
			t.Fatalf("%s: block %d is not cached", tc.name, tc.block)
		}
		before := c.Stats().Tiers["hot"]
		if err := tc.damage(p); err != nil {
			t.Fatal(err)
		}
		get(tc.name)
		after := c.Stats().Tiers["hot"]
		if tc.corrupt && after.Corrupt != before.Corrupt+1 || !tc.corrupt && after.Missing != before.Missing+1 {
			t.Fatalf("%s: corrupt %d→%d, missing %d→%d", tc.name, before.Corrupt, after.Corrupt, before.Missing, after.Missing)
		}
		if n := originReads(origin); n == reads {
			t.Fatalf("%s: damaged block served without a refetch", tc.name)
		} else {
			reads = n
		}
		// Refetched and cached again: the next reads are hits.
		get(tc.name + " again")
		if n := originReads(origin); n != reads {
			t.Fatalf("%s: %d origin reads after the refetch", tc.name, n-reads)
		}
		if i == 0 && blockFile(c, "hot", key, tc.block) == p {
			t.Fatalf("%s: the damaged file is still the block's file", tc.name)
		}
	}
	checkInvariants(t, c)
}

// TestWarmStart: after a restart the cache serves what it held without
// calling the origin, and the recency it learned survives: the block read
// last before the restart outlives the others when space runs out.
func TestWarmStart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	origin := objstore.NewFault(objstore.NewMem())
	keys := []string{"t/data/data-A.parquet", "t/data/data-B.parquet", "t/data/data-C.parquet", "t/data/data-D.parquet"}
	objs := map[string][]byte{}
	for i, k := range keys {
		objs[k] = randBytes(uint64(i), 1000)
		if _, err := origin.Put(ctx, k, objs[k]); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{BlockSize: 1000, Now: func() time.Time { return time.Unix(0, 0) }}
	read := func(s objstore.Store, k string) {
		t.Helper()
		got, err := s.GetRange(ctx, k, 10, 500)
		if err != nil || !bytes.Equal(got, objs[k][10:510]) {
			t.Fatalf("GetRange %s = %d bytes, %v", k, len(got), err)
		}
	}
	// Measure what three objects cost.
	c, err := Open(ctx, dir, 1<<20, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Wrap(origin, "hot")
	for _, k := range keys[:3] {
		read(s, k)
	}
	budget := c.cost
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart with exactly that budget: everything is a hit.
	c, err = Open(ctx, dir, budget, opts)
	if err != nil {
		t.Fatal(err)
	}
	s = c.Wrap(origin, "hot")
	before := originReads(origin)
	read(s, keys[1])
	read(s, keys[2])
	read(s, keys[0]) // A is now the most recent, B the least
	if n := originReads(origin) - before; n != 0 {
		t.Fatalf("warm start: %d origin reads, want 0", n)
	}
	if st := c.Stats().Tiers["hot"]; st.Hits != 3 || st.Misses != 0 || st.BytesFromCache != 1500 {
		t.Fatalf("warm start stats %+v, want 3 hits of 500 bytes", st)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart again and read D: only B, the least recently used before
	// the restart, is evicted.
	c, err = Open(ctx, dir, budget, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s = c.Wrap(origin, "hot")
	read(s, keys[3])
	before = originReads(origin)
	read(s, keys[0])
	read(s, keys[2])
	if n := originReads(origin) - before; n != 0 {
		t.Fatalf("A and C after the restart: %d origin reads, want 0 (recency lost?)", n)
	}
	read(s, keys[1])
	if n := originReads(origin) - before; n == 0 {
		t.Fatal("B was not evicted")
	}
	if st := c.Stats().Tiers["hot"]; st.Evictions == 0 {
		t.Fatalf("no evictions counted: %+v", st)
	}
	checkInvariants(t, c)
}

// TestRecencyBatched: hits write their recency in batches, not one index
// write per hit.
func TestRecencyBatched(t *testing.T) {
	ctx := t.Context()
	now := time.Unix(1000, 0)
	c := openTest(t, t.TempDir(), 1<<20, Options{BlockSize: 64, RecencyBatch: 10, RecencyInterval: time.Minute,
		Now: func() time.Time { return now }})
	origin := objstore.NewMem()
	const key = "t/data/data-1.parquet"
	if _, err := origin.Put(ctx, key, randBytes(2, 64)); err != nil {
		t.Fatal(err)
	}
	s := c.Wrap(origin, "hot")
	if _, _, err := s.Get(ctx, key); err != nil {
		t.Fatal(err)
	}
	dirty := func() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.dirty) }
	for range 3 {
		if _, _, err := s.Get(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if n := dirty(); n != 2 { // the object's metadata and its one block
		t.Fatalf("%d buffered recency updates, want 2", n)
	}
	now = now.Add(2 * time.Minute) // the interval passes: the next hit writes the batch
	if _, _, err := s.Get(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n := dirty(); n != 1 {
		t.Fatalf("%d buffered recency updates after the interval, want 1", n)
	}
}

// TestWriteErrors: when the cache cannot write (its blocks directory is
// now a file, as good as a full disk), reads are served from the origin
// and the failures counted.
func TestWriteErrors(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	c := openTest(t, dir, 1<<20, Options{BlockSize: 100})
	origin := objstore.NewMem()
	const key = "t/data/data-1.parquet"
	data := randBytes(3, 1000)
	if _, err := origin.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, blocksDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, blocksDir), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := c.Wrap(origin, "hot")
	for range 2 {
		got, _, err := s.Get(ctx, key)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get = %d bytes, %v", len(got), err)
		}
		r, err := s.GetRange(ctx, key, 150, 300)
		if err != nil || !bytes.Equal(r, data[150:450]) {
			t.Fatalf("GetRange = %d bytes, %v", len(r), err)
		}
	}
	if st := c.Stats().Tiers["hot"]; st.WriteErrors < 4 {
		t.Fatalf("write errors not counted: %+v", st)
	}
	checkInvariants(t, c)
}

// TestWipeWhileRunning removes the whole cache directory under a running
// cache: reads still equal the origin, and a restart starts empty.
func TestWipeWhileRunning(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	origin := objstore.NewFault(objstore.NewMem())
	const key = "t/data/data-1.parquet"
	data := randBytes(4, 5000)
	if _, err := origin.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	// A small memtable makes Pebble rotate its WAL and flush after the
	// wipe, creating files in the deleted directory.
	opts := Options{BlockSize: 512, memTableSize: 64 << 10}
	c, err := Open(ctx, dir, 1<<20, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Wrap(origin, "hot")
	check := func() {
		t.Helper()
		got, err := s.GetRange(ctx, key, 700, 3000)
		if err != nil || !bytes.Equal(got, data[700:3700]) {
			t.Fatalf("GetRange = %d bytes, %v", len(got), err)
		}
	}
	check()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	check()
	if st := c.Stats().Tiers["hot"]; st.Missing == 0 {
		t.Fatalf("missing files not noticed: %+v", st)
	}
	before := originReads(origin)
	check() // cached again in the recreated directory
	if n := originReads(origin) - before; n != 0 {
		t.Fatalf("%d origin reads after re-caching", n)
	}
	// Enough index writes for several WAL rotations and flushes.
	small := randBytes(5, 600)
	for i := range 400 {
		k := fmt.Sprintf("t/data/data-x%d.parquet", i)
		if _, err := origin.Put(ctx, k, small); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetRange(ctx, k, 100, 450); err != nil || !bytes.Equal(got, small[100:550]) {
			t.Fatalf("%s: %d bytes, %v", k, len(got), err)
		}
	}
	check()
	c.Close() // Pebble's own files are gone; its error is not the point
	c, err = Open(ctx, dir, 1<<20, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s = c.Wrap(origin, "hot")
	check()
	check()
	checkInvariants(t, c)
	// Whatever survived is consistent: every record's file verifies.
	c.mu.Lock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if n := el.Value.(*node); n.e.kind == kindBlock && !c.fileOK(n.e) {
			t.Errorf("record %+v has no valid file", n.id)
		}
	}
	c.mu.Unlock()
}

// TestCoalescing: concurrent misses of the same blocks make one origin
// request.
func TestCoalescing(t *testing.T) {
	ctx := t.Context()
	origin := objstore.NewFault(objstore.NewMem())
	const key = "t/data/data-1.parquet"
	data := randBytes(5, 8000)
	if _, err := origin.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	origin.Add(objstore.Rule{Latency: 50 * time.Millisecond})
	c := openTest(t, t.TempDir(), 1<<20, Options{BlockSize: 1000})
	s := c.Wrap(origin, "hot")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			got, err := s.GetRange(ctx, key, 1500, 3000)
			if err == nil && !bytes.Equal(got, data[1500:4500]) {
				err = errors.New("wrong bytes")
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st, gr := origin.Calls(objstore.OpStat), origin.Calls(objstore.OpGetRange); st != 1 || gr != 1 {
		t.Fatalf("8 concurrent misses made %d Stats and %d GetRanges, want 1 and 1", st, gr)
	}
	var wg2 sync.WaitGroup
	for range 4 {
		wg2.Go(func() {
			if _, _, err := s.Get(ctx, "t/data/data-1.parquet"); err != nil {
				t.Error(err)
			}
		})
	}
	wg2.Wait()
	if n := origin.Calls(objstore.OpGet); n != 1 {
		t.Fatalf("4 concurrent whole-object misses made %d Gets, want 1", n)
	}
	checkInvariants(t, c)
}

// TestPassThrough: keys that are not cacheable, listings and conditional
// writes always reach the origin.
func TestPassThrough(t *testing.T) {
	ctx := t.Context()
	origin := objstore.NewFault(objstore.NewMem())
	c := openTest(t, t.TempDir(), 1<<20, Options{})
	s := c.Wrap(origin, "hot")
	for _, k := range []string{"t/snapshot/snapshot-1", "t/snapshot/LATEST", "t/tag/tag-a", "t/branch/b/BRANCH", "t/lease/lease-1"} {
		if _, err := s.Put(ctx, k, []byte("v1")); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			s.Get(ctx, k)
			s.GetRange(ctx, k, 0, 1)
			s.Stat(ctx, k)
		}
	}
	if n := originReads(origin); n != 30 {
		t.Fatalf("%d origin reads, want 30 (nothing cached)", n)
	}
	if st := c.Stats(); st.Entries != 0 {
		t.Fatalf("non-cacheable keys cached: %+v", st)
	}
	// A snapshot rewritten behind the cache is seen at once.
	if _, err := origin.Put(ctx, "t/snapshot/LATEST", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, "t/snapshot/LATEST"); string(got) != "v2" {
		t.Fatalf("LATEST = %q, want v2", got)
	}
}

// TestListRevalidates: a cacheable key reused with other contents (by
// another process, under a rule that caches such keys) is not served stale
// once a listing shows it changed.
func TestListRevalidates(t *testing.T) {
	ctx := t.Context()
	origin := objstore.NewMem()
	c := openTest(t, t.TempDir(), 1<<20, Options{Cacheable: func(string) bool { return true }})
	s := c.Wrap(origin, "hot")
	const key = "db/t/schema/schema-0"
	if _, err := origin.Put(ctx, key, []byte(`{"old":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, key); string(got) != `{"old":1}` {
		t.Fatalf("Get = %q", got)
	}
	if _, err := origin.Put(ctx, key, []byte(`{"new":22}`)); err != nil { // another process, no cache
		t.Fatal(err)
	}
	if _, err := s.List(ctx, "db/t/schema/"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, key); string(got) != `{"new":22}` {
		t.Fatalf("Get after List = %q, want the new schema", got)
	}
}

// TestSecondProcess: a second process opening the same directory gets a
// clear error; so does a second Open in this process.
func TestSecondProcess(t *testing.T) {
	if dir := os.Getenv("SILT_CACHE_TEST_OPEN"); dir != "" {
		_, err := Open(t.Context(), dir, 1<<20, Options{})
		fmt.Printf("OPEN-RESULT: %v\n", err)
		return
	}
	dir := t.TempDir()
	openTest(t, dir, 1<<20, Options{})
	_, err := Open(t.Context(), dir, 1<<20, Options{})
	if !errors.Is(err, types.ErrConflict) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open in this process: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SILT_CACHE_TEST_OPEN="+dir)
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "OPEN-RESULT: conflict: cache directory "+dir+" is in use by another process") {
		t.Fatalf("second process:\n%s", out)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		dir    string
		budget int64
		opts   Options
		want   string
	}{
		{"", 100, Options{}, "directory is empty"},
		{t.TempDir(), 0, Options{}, "budget 0"},
		{t.TempDir(), -5, Options{}, "budget -5"},
		{t.TempDir(), 100, Options{BlockSize: 2 << 30}, "block size"},
	} {
		_, err := Open(t.Context(), tc.dir, tc.budget, tc.opts)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %d, %+v) = %v, want an invalid error naming %q", tc.dir, tc.budget, tc.opts.BlockSize, err, tc.want)
		}
	}
}

// TestBlockSizeChange: reopening with another block size starts empty
// (blocks of the old size would be misread) and removes the old files.
func TestBlockSizeChange(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	origin := objstore.NewMem()
	const key = "t/data/data-1.parquet"
	data := randBytes(6, 3000)
	origin.Put(ctx, key, data)
	c, err := Open(ctx, dir, 1<<20, Options{BlockSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	c.Wrap(origin, "hot").Get(ctx, key)
	c.Close()
	c = openTest(t, dir, 1<<20, Options{BlockSize: 700})
	if st := c.Stats(); st.Entries != 0 || len(blockFiles(t, dir)) != 0 {
		t.Fatalf("after a block size change: %d entries, %d files", st.Entries, len(blockFiles(t, dir)))
	}
	got, err := c.Wrap(origin, "hot").GetRange(ctx, key, 650, 800)
	if err != nil || !bytes.Equal(got, data[650:1450]) {
		t.Fatalf("GetRange = %d bytes, %v", len(got), err)
	}
}

// TestSavesS3GETs: on MinIO, repeated reads of data files make no second
// request.
func TestSavesS3GETs(t *testing.T) {
	ctx := t.Context()
	origin := objstore.NewFault(s3test.NewStore(t))
	data := randBytes(7, 3<<20+12345)
	const key = "db.db/t/data/bucket-0/data-1.parquet"
	if _, err := origin.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	c := openTest(t, t.TempDir(), 64<<20, Options{})
	s := c.Wrap(origin, "hot")
	rng := rand.New(rand.NewPCG(7, 7))
	type rg struct{ off, n int64 }
	var ranges []rg
	for range 20 {
		ranges = append(ranges, rg{rng.Int64N(int64(len(data))), rng.Int64N(256 << 10)})
	}
	ranges = append(ranges, rg{int64(len(data)) - 8, 8}) // a Parquet footer read
	pass := func() int {
		before := originReads(origin)
		for _, r := range ranges {
			got, err := s.GetRange(ctx, key, r.off, r.n)
			end := min(r.off+r.n, int64(len(data)))
			if err != nil || !bytes.Equal(got, data[r.off:end]) {
				t.Fatalf("GetRange(%d, %d) = %d bytes, %v", r.off, r.n, len(got), err)
			}
		}
		got, _, err := s.Get(ctx, key)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get = %d bytes, %v", len(got), err)
		}
		return originReads(origin) - before
	}
	cold, warm := pass(), pass()
	t.Logf("S3 requests: %d on the first pass of %d reads, %d on the second; stats %+v", cold, len(ranges)+1, warm, c.Stats().Tiers["hot"])
	if cold == 0 || warm != 0 {
		t.Fatalf("S3 requests: %d cold, %d warm; want some, then none", cold, warm)
	}
}

// hookStore runs after() once an origin read has returned, before the
// cache sees the bytes: the window where a concurrent write makes them
// stale.
type hookStore struct {
	objstore.Store
	after func()
}

func (h *hookStore) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	b, err := h.Store.GetRange(ctx, key, off, length)
	if f := h.after; f != nil {
		h.after = nil
		f()
	}
	return b, err
}

func (h *hookStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	b, info, err := h.Store.Get(ctx, key)
	if f := h.after; f != nil {
		h.after = nil
		f()
	}
	return b, info, err
}

// TestFillRacingWrite: bytes read from the origin before a write of the
// same key (through the cache) finished are never cached.
func TestFillRacingWrite(t *testing.T) {
	ctx := t.Context()
	for _, wt := range []bool{false, true} {
		for _, whole := range []bool{false, true} {
			t.Run(fmt.Sprintf("write-through=%v/get=%v", wt, whole), func(t *testing.T) {
				origin := &hookStore{Store: objstore.NewMem()}
				c := openTest(t, t.TempDir(), 1<<20, Options{Cacheable: cacheAll, BlockSize: 100, WriteThrough: wt})
				s := c.Wrap(origin, "hot")
				const key = "k"
				oldData, newData := randBytes(10, 300), randBytes(11, 300)
				if _, err := origin.Store.Put(ctx, key, oldData); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Stat(ctx, key); err != nil { // metadata cached; the blocks are not
					t.Fatal(err)
				}
				fired := false
				origin.after = func() {
					fired = true
					if _, err := s.Put(ctx, key, newData); err != nil {
						t.Error(err)
					}
				}
				if whole {
					s.Get(ctx, key)
				} else {
					s.GetRange(ctx, key, 0, 300)
				}
				if !fired {
					t.Fatal("the read did not reach the origin")
				}
				for range 2 {
					got, err := s.GetRange(ctx, key, 0, 300)
					if err != nil || !bytes.Equal(got, newData) {
						t.Fatalf("after the racing Put: %d bytes equal to new: %v (err %v)", len(got), bytes.Equal(got, newData), err)
					}
					got, _, err = s.Get(ctx, key)
					if err != nil || !bytes.Equal(got, newData) {
						t.Fatalf("Get after the racing Put: equal to new: %v (err %v)", bytes.Equal(got, newData), err)
					}
				}
				checkInvariants(t, c)
			})
		}
	}
}

// gateStore holds the first GetRange, after it has read the origin, until
// gate is closed.
type gateStore struct {
	objstore.Store
	gate    chan struct{}
	reached chan struct{}
	first   atomic.Bool
}

func (g *gateStore) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	b, err := g.Store.GetRange(ctx, key, off, length)
	if g.first.CompareAndSwap(false, true) {
		close(g.reached)
		<-g.gate
	}
	return b, err
}

// TestFlightAfterInvalidation: a read that starts after a write returned
// does not join a fetch that read the origin before the write.
func TestFlightAfterInvalidation(t *testing.T) {
	ctx := t.Context()
	origin := &gateStore{Store: objstore.NewMem(), gate: make(chan struct{}), reached: make(chan struct{})}
	c := openTest(t, t.TempDir(), 1<<20, Options{Cacheable: cacheAll, BlockSize: 100})
	s := c.Wrap(origin, "hot")
	oldData, newData := randBytes(12, 250), randBytes(13, 250)
	if _, err := origin.Store.Put(ctx, "k", oldData); err != nil {
		t.Fatal(err)
	}
	leader := make(chan []byte)
	go func() {
		b, _ := s.GetRange(ctx, "k", 0, 250)
		leader <- b
	}()
	<-origin.reached // the leader holds the old bytes
	if _, err := s.Put(ctx, "k", newData); err != nil {
		t.Fatal(err)
	}
	reader := make(chan []byte)
	go func() {
		b, _ := s.GetRange(ctx, "k", 0, 250)
		reader <- b
	}()
	var got []byte
	select {
	case got = <-reader:
	case <-time.After(5 * time.Second):
		close(origin.gate)
		t.Fatal("the reader waited for the fetch that started before the write")
	}
	close(origin.gate)
	<-leader
	if !bytes.Equal(got, newData) {
		t.Fatal("a read that started after the write returned the old bytes")
	}
	if got, err := s.GetRange(ctx, "k", 0, 250); err != nil || !bytes.Equal(got, newData) {
		t.Fatalf("later read: new bytes %v, %v", bytes.Equal(got, newData), err)
	}
	checkInvariants(t, c)
}
