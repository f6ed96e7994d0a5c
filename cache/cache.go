// Package cache is silt's hot local disk cache in front of an object store.
//
// A Cache owns a directory: dir/index is a Pebble database (the index: one
// record per cached item with its length, CRC-32C and recency) and
// dir/blocks/ holds the cached bytes, one file per item. Wrap returns an
// objstore.Store that serves immutable objects (data and changelog files,
// manifests, manifest lists, schemas) from the cache and passes everything
// else (snapshots, LATEST hints, tags, branches, leases, listings and
// every conditional write) through to the origin.
//
// Objects are cached in aligned blocks of Options.BlockSize: a GetRange
// fetches the missing contiguous blocks it touches with one ranged GET; a
// Get caches the whole object (as its blocks plus its metadata). Every
// read from disk is checked against the length and checksum in the index;
// a corrupt, truncated or missing file is dropped and refetched, never
// served (checksums cover 64 KiB chunks, so a small read verifies only
// the chunks it reads). The cache is never the source of truth: deleting its directory
// at any time changes no result.
//
// Eviction is LRU by a logical access clock that is persisted in the index
// in batches, so a restart is a warm start. Only one process may open a
// directory at a time (Pebble's lock); a second Open fails with an error
// saying so. ADR 0010 explains the decisions.
//
// Files:
//
//	cache.go   Cache, Options, Open/Close, Stats
//	index.go   the in-memory index: LRU, eviction, fills, invalidation, recency flushes
//	entry.go   index key and value encodings
//	blocks.go  block files: write, verified read, orphan removal
//	store.go   the objstore.Store wrapper (Wrap)
//	flight.go  coalescing of concurrent misses
//	indexfs.go the index's filesystem: survives the directory's deletion
package cache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Options configures a Cache. The zero value gives the documented defaults.
type Options struct {
	// BlockSize is the alignment and granularity of cached ranges.
	// Default 1 MiB. Changing it between runs empties the cache.
	BlockSize int64
	// Cacheable reports whether an object may be cached, by key. Only
	// immutable objects may be: a cached mutable object would be served
	// stale after another process replaces it. Default DefaultCacheable.
	Cacheable func(key string) bool
	// WriteThrough makes Put and PutIfAbsent of a cacheable key populate
	// the cache. Default false: writes only invalidate (see ADR 0010).
	WriteThrough bool
	// MaxObjectSize is the largest object a whole-object Get (or a
	// write-through) caches. Default a quarter of the budget, so one large
	// read cannot flush the whole cache. Ranged reads are always cached.
	MaxObjectSize int64
	// RecencyBatch is how many access-time updates are buffered before
	// they are written to the index in one batch. Default 1024.
	RecencyBatch int
	// RecencyInterval bounds how long updates stay buffered: the first
	// access after it has passed writes the batch. Default 10s. Close
	// always writes it.
	RecencyInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// memTableSize overrides Pebble's memtable size (tests: WAL rotations).
	memTableSize uint64
}

// DefaultBlockSize is Options.BlockSize's default.
const DefaultBlockSize = 1 << 20

// EnsureDefaults fills in unset fields.
func (o *Options) EnsureDefaults(budget int64) {
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.Cacheable == nil {
		o.Cacheable = DefaultCacheable
	}
	if o.MaxObjectSize <= 0 {
		o.MaxObjectSize = budget / 4
	}
	if o.RecencyBatch <= 0 {
		o.RecencyBatch = 1024
	}
	if o.RecencyInterval <= 0 {
		o.RecencyInterval = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// DefaultCacheable reports whether key names an object silt never
// rewrites under the same key: data and changelog files
// (data-*.parquet, changelog-*.parquet, UUID-named) and manifests and
// manifest lists (manifest-*, manifest-list-*, UUID-named). Snapshots,
// LATEST hints, tags, branch info objects and leases are mutable or
// deletable pointers and are never cached; listings are never cached
// either. Schema files are not cached: their names are reused when a
// table is dropped and created again (see ADR 0010), and they are small
// and read once per table open.
func DefaultCacheable(key string) bool {
	name := key[strings.LastIndexByte(key, '/')+1:]
	switch {
	case strings.HasPrefix(name, "data-"), strings.HasPrefix(name, "changelog-"):
		return strings.HasSuffix(name, ".parquet")
	case strings.HasPrefix(name, "manifest-"):
		return true
	}
	return false
}

// TierStats counts one tier's traffic. A read is a Get, GetRange or Stat
// of a cacheable key; it is a hit if it needed no call to the origin.
type TierStats struct {
	Hits, Misses int64
	// BytesFromCache counts bytes returned to callers from cached blocks;
	// BytesFromOrigin counts bytes fetched from the origin on misses
	// (whole blocks, so it may exceed what callers asked for).
	BytesFromCache, BytesFromOrigin int64
	Evictions                       int64
	// Corrupt counts entries dropped because their file failed the length
	// or checksum check; Missing counts entries whose file was gone.
	Corrupt, Missing int64
	// WriteErrors counts failed cache writes (disk full, directory
	// removed): the read was served from the origin instead.
	WriteErrors int64
}

// Stats is a snapshot of a cache's counters.
type Stats struct {
	Tiers map[string]TierStats
	// Entries is the number of index records (metadata and blocks); Bytes
	// is the size of the cached blocks; Budget is the byte budget.
	Entries int64
	Bytes   int64
	Budget  int64
	// IndexErrors counts failed writes of batched recency updates.
	IndexErrors int64
}

// Cache is a disk cache; Wrap puts it in front of stores. Safe for
// concurrent use.
type Cache struct {
	dir    string
	budget int64
	opts   Options
	db     *pebble.DB

	mu      sync.Mutex
	closed  bool
	objs    map[objKey]*object
	lru     *list.List // of *node, most recently used first
	cost    int64      // budget accounting: block bytes plus per-record overhead
	bytes   int64      // block bytes
	entries int64
	tick    uint64 // logical access clock
	nextNum uint64 // next block file number
	dirty   map[*node]struct{}
	flushed time.Time
	fills   map[objKey]*fillState
	flights map[itemID]*flight
	tiers   map[string]*TierStats
	idxErrs int64

	bufs sync.Pool // *[]byte of cap BlockSize, for verified reads
}

// Open opens (or creates) the cache in dir with a byte budget. Entries
// whose block file is missing are dropped and files the index does not
// know are removed. Only one process may have dir open: a second Open
// fails with an error saying the directory is in use.
func Open(ctx context.Context, dir string, budget int64, opts Options) (*Cache, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: cache directory is empty", types.ErrInvalid)
	}
	if budget <= 0 {
		return nil, fmt.Errorf("%w: cache budget %d bytes: must be positive", types.ErrInvalid, budget)
	}
	opts.EnsureDefaults(budget)
	if opts.BlockSize > maxBlockLen {
		return nil, fmt.Errorf("%w: cache block size %d: at most %d", types.ErrInvalid, opts.BlockSize, maxBlockLen)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	db, err := openIndex(dir, opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, blocksDir), 0o755); err != nil {
		db.Close()
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	c := &Cache{
		dir: dir, budget: budget, opts: opts, db: db,
		objs: map[objKey]*object{}, lru: list.New(), dirty: map[*node]struct{}{},
		fills: map[objKey]*fillState{}, flights: map[itemID]*flight{}, tiers: map[string]*TierStats{},
		nextNum: 1, flushed: opts.Now(),
	}
	if err := c.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	return c, nil
}

// openIndex opens the Pebble index in dir/index. An index Pebble cannot
// open (left by a directory deleted under a running process, or damaged)
// is removed with every block file, and the cache starts empty; a locked
// one is an error naming the cause.
func openIndex(dir string, opts Options) (*pebble.DB, error) {
	idx := filepath.Join(dir, indexDir)
	popts := func() *pebble.Options {
		o := &pebble.Options{Logger: quietLogger{}, FS: healFS{vfs.Default}}
		if opts.memTableSize > 0 {
			o.MemTableSize = opts.memTableSize
		}
		return o
	}
	db, err := pebble.Open(idx, popts())
	if err != nil && !isLockErr(err) {
		if rerr := errors.Join(os.RemoveAll(idx), os.RemoveAll(filepath.Join(dir, blocksDir))); rerr != nil {
			return nil, fmt.Errorf("cache %s: open index: %w (and resetting it: %v)", dir, err, rerr)
		}
		db, err = pebble.Open(idx, popts())
	}
	if err != nil {
		if isLockErr(err) {
			return nil, fmt.Errorf("%w: cache directory %s is in use by another process (each process needs its own --cache-dir): %v", types.ErrConflict, dir, err)
		}
		return nil, fmt.Errorf("cache %s: open index: %w", dir, err)
	}
	return db, nil
}

// isLockErr recognises Pebble's "directory locked" failures, from this
// process or another one.
func isLockErr(err error) bool {
	s := err.Error()
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) ||
		strings.Contains(s, "lock held") || strings.Contains(s, "LOCK")
}

// quietLogger keeps Pebble's informational logging off the terminal.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)              {}
func (quietLogger) Errorf(string, ...any)             {}
func (quietLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Close writes buffered recency updates and closes the index. Stores
// returned by Wrap keep working after Close, passing every call through
// to their origin.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	flushErr := c.flushRecencyLocked()
	c.closed = true
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("cache %s: close index: %w", c.dir, err)
	}
	if flushErr != nil {
		return fmt.Errorf("cache %s: write recency: %w", c.dir, flushErr)
	}
	return nil
}

func (c *Cache) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Dir returns the cache directory.
func (c *Cache) Dir() string { return c.dir }

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Tiers: map[string]TierStats{}, Entries: c.entries, Bytes: c.bytes, Budget: c.budget, IndexErrors: c.idxErrs}
	for name, t := range c.tiers {
		s.Tiers[name] = *t
	}
	return s
}

// Wrap returns a Store that serves store's cacheable objects through the
// cache. tier names the origin: entries of different tiers never mix,
// and Stats counts each tier apart.
func (c *Cache) Wrap(store objstore.Store, tier string) objstore.Store {
	c.mu.Lock()
	c.tierLocked(tier)
	c.mu.Unlock()
	return &tierStore{c: c, inner: store, tier: tier}
}

func (c *Cache) tierLocked(tier string) *TierStats {
	t := c.tiers[tier]
	if t == nil {
		t = &TierStats{}
		c.tiers[tier] = t
	}
	return t
}

// count applies f to tier's counters.
func (c *Cache) count(tier string, f func(*TierStats)) {
	c.mu.Lock()
	f(c.tierLocked(tier))
	c.mu.Unlock()
}
