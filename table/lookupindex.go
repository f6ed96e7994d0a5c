package table

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// The local lookup index (docs/adr/0011-lookup-index.md): per table and
// branch, a Pebble database under Env.LocalDir holding, for every primary
// key of every (partition, bucket), the key's merged record at one snapshot
// S (deletes included) and S itself. Point lookups at S read one Pebble key
// instead of manifests and data files. It is maintained incrementally from
// the table's commits, rebuilt from the object store when it is missing,
// corrupt or cannot follow, and never the source of truth: whenever it is
// not current at exactly the snapshot a lookup reads, the lookup reads the
// data files.
//
// Files: lookupindex.go (registry, opening, reads, stats),
// lookupindex_catchup.go (incremental maintenance and rebuilds),
// lookupindex_codec.go (the Pebble keys and values), lookup.go (the
// Table-side entry points).

// LookupIndexes holds the lookup indexes one process has open: at most one
// per (store, table root, branch) directory, shared by every Table the
// process opens on it. Create one per process (the CLI or server does) and
// pass it in Env.Indexes; Close it at exit. It is safe for concurrent use.
type LookupIndexes struct {
	mu     sync.Mutex
	open   map[string]*lookupIndex // by directory
	closed bool
}

// NewLookupIndexes returns an empty registry.
func NewLookupIndexes() *LookupIndexes {
	return &LookupIndexes{open: map[string]*lookupIndex{}}
}

// LookupIndexStats counts what lookup indexes did. Lookups through a table
// whose index is disabled (no Env.LocalDir or Env.Indexes) are not counted.
type LookupIndexStats struct {
	// IndexLookups were answered by the index.
	IndexLookups int64
	// FileLookups were answered from data files although the index is
	// enabled: time travel to an older snapshot, the index busy catching
	// up, locked by another process, or failed.
	FileLookups int64
	// CatchUps counts incremental catch-ups; SnapshotsApplied the
	// snapshots they stepped over (APPEND, COMPACT).
	CatchUps         int64
	SnapshotsApplied int64
	// Rebuilds counts full rebuilds (missing, corrupt or stale index,
	// OVERWRITE/REPLACE commits, expired snapshots, schema changes).
	Rebuilds int64
	// RecordsApplied counts records merged into or loaded into the index;
	// FilesRead the data files catch-ups and rebuilds read.
	RecordsApplied int64
	FilesRead      int64
	// Failures counts index errors (Pebble, decoding) that reset the index
	// and catch-ups that failed reading the store; lookups then fell back
	// to the data files.
	Failures int64
	// BoundedLookups were Gets at the latest snapshot answered by the index
	// within their max-staleness, without a store request (also counted in
	// IndexLookups); BoundedFallbacks were such Gets that took the strict
	// path (the index's snapshot confirmed too long ago, or not current).
	BoundedLookups   int64
	BoundedFallbacks int64
	// BoundedAge is how long before the last bounded answer its snapshot
	// was confirmed as the latest (Stats of a registry: the largest over
	// its indexes).
	BoundedAge time.Duration
	// Refreshes counts the background refresher's checks of the latest
	// snapshot; RefreshFailures those that failed reading the store.
	Refreshes       int64
	RefreshFailures int64
}

func (s *LookupIndexStats) add(o LookupIndexStats) {
	s.IndexLookups += o.IndexLookups
	s.FileLookups += o.FileLookups
	s.CatchUps += o.CatchUps
	s.SnapshotsApplied += o.SnapshotsApplied
	s.Rebuilds += o.Rebuilds
	s.RecordsApplied += o.RecordsApplied
	s.FilesRead += o.FilesRead
	s.Failures += o.Failures
	s.BoundedLookups += o.BoundedLookups
	s.BoundedFallbacks += o.BoundedFallbacks
	s.BoundedAge = max(s.BoundedAge, o.BoundedAge)
	s.Refreshes += o.Refreshes
	s.RefreshFailures += o.RefreshFailures
}

// Stats sums the counters of every index the registry has opened.
func (r *LookupIndexes) Stats() LookupIndexStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s LookupIndexStats
	for _, x := range r.open {
		s.add(x.stats.snapshot())
	}
	return s
}

// Close closes every open index and releases its directory lock. Tables
// using the registry then read data files.
func (r *LookupIndexes) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	for dir, x := range r.open {
		errs = append(errs, x.close())
		delete(r.open, dir)
	}
	return errors.Join(errs...)
}

// get returns the open index of dir, opening it if needed; nil when the
// registry is closed or the directory is locked by another process (or
// another registry of this one) or cannot be opened.
func (r *LookupIndexes) get(dir string) *lookupIndex {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if x := r.open[dir]; x != nil {
		return x
	}
	x, err := openLookupIndex(dir)
	if err != nil {
		return nil
	}
	r.open[dir] = x
	return x
}

// lookupIndexDir is the directory of a table's index: a hash of the store's
// identity, the table root and the branch.
func lookupIndexDir(localDir, storeID, root, branch string) string {
	h := sha256.Sum256([]byte(storeID + "\x00" + root + "\x00" + branch))
	return filepath.Join(localDir, "lookup", hex.EncodeToString(h[:16]))
}

// schemaFingerprint identifies the schema version an index's rows are in
// (its JSON encoding: columns, key, options, hence the merge engine).
func schemaFingerprint(s *types.Schema) string {
	b, err := json.Marshal(s)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// lookupIndex is one open index. The Pebble database lives in dir/db; the
// lock file dir/LOCK, held while open, keeps other processes out (they read
// data files instead), so wiping dir/db is always ours to do.
type lookupIndex struct {
	dir  string
	lock io.Closer
	// sem serialises catch-ups and rebuilds (one slot). Lookups that find
	// it taken read data files instead of waiting.
	sem chan struct{}

	// mu guards db and st. Readers hold it shared while checking st and
	// reading Pebble, so a lookup never mixes two snapshots' content;
	// committing a catch-up batch and advancing st take it exclusively.
	mu     sync.RWMutex
	db     *pebble.DB // nil after a failure until reopened
	st     indexState
	closed bool

	// newest is the highest snapshot id seen to exist (any branch view
	// shares the directory's branch, so ids are comparable).
	newest atomic.Int64

	stats indexCounters

	// fresh: the confirmation and refresher of bounded lookups
	// (lookup_fresh.go).
	fresh freshState
}

// indexState is what the index's content is.
type indexState struct {
	snap     *manifest.Snapshot // nil: no usable content
	fp       string             // schema fingerprint of the rows
	schemaID int64
	// metas is snap's manifest list when known (saves a read when the next
	// APPEND is applied).
	metas []manifest.ManifestMeta
}

type indexCounters struct {
	indexLookups, fileLookups, catchUps, snapshots, rebuilds, records, files, failures atomic.Int64

	boundedLookups, boundedFallbacks, boundedAge, refreshes, refreshFailures atomic.Int64
}

func (c *indexCounters) snapshot() LookupIndexStats {
	return LookupIndexStats{
		IndexLookups: c.indexLookups.Load(), FileLookups: c.fileLookups.Load(),
		CatchUps: c.catchUps.Load(), SnapshotsApplied: c.snapshots.Load(), Rebuilds: c.rebuilds.Load(),
		RecordsApplied: c.records.Load(), FilesRead: c.files.Load(), Failures: c.failures.Load(),
		BoundedLookups: c.boundedLookups.Load(), BoundedFallbacks: c.boundedFallbacks.Load(),
		BoundedAge: time.Duration(c.boundedAge.Load()),
		Refreshes:  c.refreshes.Load(), RefreshFailures: c.refreshFailures.Load(),
	}
}

// errIndex marks a failure of the index itself (Pebble, decoding), as
// opposed to reading the table: the index is wiped and rebuilt.
type errIndex struct{ err error }

func (e *errIndex) Error() string { return "lookup index: " + e.err.Error() }
func (e *errIndex) Unwrap() error { return e.err }

func indexErr(err error) error {
	if err == nil {
		return nil
	}
	return &errIndex{err}
}

// openLookupIndex locks dir and opens its database; a database that fails
// to open or whose meta is unreadable is wiped (it is only a cache).
func openLookupIndex(dir string) (*lookupIndex, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lookup index %s: %w", dir, err)
	}
	lock, err := vfs.Default.Lock(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("lookup index %s: locked by another process: %w", dir, err)
	}
	x := &lookupIndex{dir: dir, lock: lock, sem: make(chan struct{}, 1)}
	if err := x.reopen(false); err != nil {
		lock.Close()
		return nil, err
	}
	return x, nil
}

func (x *lookupIndex) dbDir() string { return filepath.Join(x.dir, "db") }

// reopen opens the database (wiping it first when wipe is set, or when it
// does not open or its meta is unreadable) and loads its state. x.mu must
// be held exclusively, or x not yet shared.
func (x *lookupIndex) reopen(wipe bool) error {
	if x.db != nil {
		x.db.Close() // its errors do not matter: the directory may be wiped next
		x.db = nil
	}
	x.st = indexState{}
	if wipe {
		if err := os.RemoveAll(x.dbDir()); err != nil {
			return fmt.Errorf("lookup index %s: wipe: %w", x.dir, err)
		}
	}
	db, err := pebble.Open(x.dbDir(), pebbleOptions())
	if err != nil && !wipe {
		return x.reopen(true)
	}
	if err != nil {
		return fmt.Errorf("lookup index %s: open: %w", x.dir, err)
	}
	x.db = db
	v, closer, err := db.Get(metaKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return nil // empty (or mid-rebuild when a process died): rebuilt on use
	case err != nil:
		if wipe {
			return fmt.Errorf("lookup index %s: read meta: %w", x.dir, err)
		}
		return x.reopen(true)
	}
	m, s, err := decodeMeta(v)
	closer.Close()
	if err != nil {
		if wipe {
			return fmt.Errorf("lookup index %s: %w", x.dir, err)
		}
		return x.reopen(true)
	}
	x.st = indexState{snap: s, fp: m.Schema, schemaID: m.SchemaID}
	return nil
}

// pebbleOptions: bloom filters on every level (lookups are point reads of
// keys that often do not exist) and a block cache larger than the default.
func pebbleOptions() *pebble.Options {
	o := &pebble.Options{Logger: quietPebbleLogger{}, CacheSize: 64 << 20}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return o
}

// quietPebbleLogger drops Pebble's informational logging; errors reach the
// caller as errors.
type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...any)  {}
func (quietPebbleLogger) Errorf(string, ...any) {}
func (quietPebbleLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// close closes the database and releases the lock.
func (x *lookupIndex) close() error {
	x.stopRefresher()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	var err error
	if x.db != nil {
		err = x.db.Close()
		x.db = nil
	}
	x.st = indexState{}
	return errors.Join(err, x.lock.Close())
}

// state returns the index's state (zero when closed or failed).
func (x *lookupIndex) state() indexState {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.st
}

// currentAt reports whether the content is snapshot snap's for a table
// whose schema has fingerprint fp.
func (st *indexState) currentAt(snap *manifest.Snapshot, fp string) bool {
	return st.snap != nil && st.fp == fp && st.snap.ID == snap.ID && st.snap.ManifestList == snap.ManifestList
}

// pinned returns the snapshot the index is current at if its id is id and
// its rows are in schema fp, else nil: a read pinned to it needs no store
// request.
func (x *lookupIndex) pinned(id int64, fp string) *manifest.Snapshot {
	st := x.state()
	if st.snap != nil && st.snap.ID == id && st.fp == fp {
		return st.snap
	}
	return nil
}

// get reads one key's record if the index is current at snap. served is
// false when it is not (or failed: the index is then reset).
func (x *lookupIndex) get(snap *manifest.Snapshot, fp string, cols int, partition string, bucket int, key []byte) (rec lsm.Record, exists, served bool) {
	var buf [128]byte
	k := recordKey(buf[:0], partition, bucket, key)
	x.mu.RLock()
	if x.db == nil || !x.st.currentAt(snap, fp) {
		x.mu.RUnlock()
		return lsm.Record{}, false, false
	}
	rec, exists, err := x.readLocked(k, key, cols)
	x.mu.RUnlock()
	if err != nil {
		x.fail(indexErr(err))
		return lsm.Record{}, false, false
	}
	return rec, exists, true
}

// readLocked reads the record of Pebble key k (primary key key); x.mu
// must be held and x.db set.
func (x *lookupIndex) readLocked(k, key []byte, cols int) (lsm.Record, bool, error) {
	v, closer, err := x.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return lsm.Record{}, false, nil
	}
	if err != nil {
		return lsm.Record{}, false, err
	}
	rec, err := decodeRecord(key, v, cols)
	closer.Close()
	return rec, err == nil, err
}

// fail handles an error of a lookup or catch-up: an index failure wipes
// the database (the next catch-up rebuilds it); a failure reading the
// table leaves the index as it is.
func (x *lookupIndex) fail(err error) {
	x.stats.failures.Add(1)
	var ie *errIndex
	if !errors.As(err, &ie) {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return
	}
	if err := x.reopen(true); err != nil {
		x.db = nil // reopened by the next catch-up
	}
}

// invalidate forgets the state before a change that spans several Pebble
// batches (readers fall back to files until the final batch lands).
func (x *lookupIndex) invalidate() {
	x.mu.Lock()
	x.st = indexState{}
	x.mu.Unlock()
}
