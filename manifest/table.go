package manifest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Paths relative to a table root.
const (
	SnapshotDir        = "snapshot/"
	LatestHintPath     = "snapshot/LATEST"
	ManifestDir        = "manifest/"
	snapshotPrefix     = "snapshot/snapshot-"
	manifestPrefix     = "manifest/manifest-"
	manifestListPrefix = "manifest/manifest-list-"
)

// SnapshotPath returns the path of snapshot id relative to the table root.
func SnapshotPath(id int64) string { return snapshotPrefix + strconv.FormatInt(id, 10) }

// ParseSnapshotPath returns the id of a snapshot path (relative to the
// table root), or false if p is not a canonical snapshot path.
func ParseSnapshotPath(p string) (int64, bool) {
	s, ok := strings.CutPrefix(p, snapshotPrefix)
	if !ok {
		return 0, false
	}
	return parseID(s)
}

func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}

// Table is the metadata handle of one table: it reads snapshots, manifest
// lists and manifests under a root prefix and commits new snapshots. It
// holds no mutable state (nothing about "latest" is cached), so one Table
// may be shared by goroutines, and several processes may open the same
// root and commit concurrently.
type Table struct {
	store objstore.Store
	root  string
	opts  Options
	// branch is "" for the main branch. A branch keeps its snapshots (and
	// LATEST hint) under branch/<name>/ and shares manifests and data files
	// with every other branch of the table (see branch.go).
	branch string
	// snapRoot is the key prefix under which snapshot/ lives: root for main,
	// root+"branch/<name>/" for a branch.
	snapRoot string
}

// Open returns the handle of the table whose objects live under root (a
// key prefix such as "wh/db.db/t/"; a missing trailing '/' is added). It
// does no I/O.
func Open(store objstore.Store, root string, opts Options) *Table {
	if root != "" && !strings.HasSuffix(root, "/") {
		root += "/"
	}
	return &Table{store: store, root: root, opts: opts.EnsureDefaults(), snapRoot: root}
}

// Root returns the table's key prefix.
func (t *Table) Root() string { return t.root }

// Now reads the committer's clock (Options.Now), e.g. to set
// Commit.HeldSince before uploading files.
func (t *Table) Now() time.Time { return t.opts.Now() }

func (t *Table) key(rel string) string { return t.root + rel }

// skey is the key of a path under the branch's snapshot/ folder.
func (t *Table) skey(rel string) string { return t.snapRoot + rel }

// Store is the object store holding the table.
func (t *Table) Store() objstore.Store { return t.store }

// where names the table (and branch) in error messages.
func (t *Table) where() string {
	if t.branch == "" {
		return fmt.Sprintf("%q", t.root)
	}
	return fmt.Sprintf("%q branch %s", t.root, t.branch)
}

// Latest returns the newest snapshot, or nil, nil when the table has none.
// The snapshot/LATEST hint is only a starting point: Latest verifies it
// exists and probes forward with Stat (snapshot ids are contiguous, so the
// first missing id ends the search); a missing or garbled hint, or one
// naming an expired snapshot, falls back to listing snapshot/. A hint
// naming a snapshot that is missing while no later one exists means the
// newest snapshot was lost: Latest returns a *SnapshotMissingError (it
// wraps types.ErrCorruption) rather than an older snapshot (see
// missing.go).
func (t *Table) Latest(ctx context.Context) (*Snapshot, error) {
	s, pub, _, err := t.newestPresent(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.missing(s, pub); err != nil {
		return nil, err
	}
	return s, nil
}

// hintSeen is what a read of snapshot/LATEST found: an id (valid, with
// the object's ETag), no object (absent), or neither (unreadable or
// garbled). A committer raises the hint from what its attempt saw without
// reading it again (writeHint).
type hintSeen struct {
	id     int64
	etag   string
	valid  bool
	absent bool
}

// readHint reads snapshot/LATEST; any failure (missing, unreadable,
// garbled) leaves it not valid: the hint is never needed.
func (t *Table) readHint(ctx context.Context) hintSeen {
	b, info, err := t.store.Get(ctx, t.skey(LatestHintPath))
	if err != nil {
		return hintSeen{absent: errors.Is(err, objstore.ErrNotFound)}
	}
	id, ok := parseID(strings.TrimSpace(string(b)))
	return hintSeen{id: id, etag: info.ETag, valid: ok && info.ETag != ""}
}

// probeForward returns the highest existing id >= from, given that
// snapshot from exists. It gallops (from+1, +2, +3, +5, +9, ...) to the first
// missing id, then bisects, so a hint that lags by k costs O(log k) Stats.
func (t *Table) probeForward(ctx context.Context, from int64) (int64, error) {
	lo, step := from, int64(1) // lo exists
	var hi int64               // hi is missing
	for {
		ok, err := t.exists(ctx, lo+step)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = lo + step
			break
		}
		lo += step
		if lo-from > 1 { // lagging by one is the common case: try +1 twice
			step *= 2
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := t.exists(ctx, mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func (t *Table) exists(ctx context.Context, id int64) (bool, error) {
	_, err := t.store.Stat(ctx, t.skey(SnapshotPath(id)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, objstore.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("stat snapshot %d: %w", id, err)
}

// listIDs lists the ids of existing snapshots, ascending.
func (t *Table) listIDs(ctx context.Context) ([]int64, error) {
	infos, err := t.store.List(ctx, t.skey(snapshotPrefix))
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", t.where(), err)
	}
	ids := make([]int64, 0, len(infos))
	for _, in := range infos {
		if id, ok := ParseSnapshotPath(strings.TrimPrefix(in.Key, t.snapRoot)); ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// Snapshot reads snapshot id. A missing snapshot returns an error wrapping
// types.ErrNotFound.
func (t *Table) Snapshot(ctx context.Context, id int64) (*Snapshot, error) {
	if id < 1 {
		return nil, fmt.Errorf("%w: snapshot %d not found (ids start at 1)", types.ErrNotFound, id)
	}
	cached, ok, err := t.cachedSnapshotAt(ctx, id)
	switch {
	case ok:
		return cached, nil
	case errors.Is(err, objstore.ErrNotFound):
		return nil, t.notFound(ctx, id)
	case err != nil:
		return nil, fmt.Errorf("stat snapshot %d of %s: %w", id, t.where(), err)
	}
	b, info, err := t.store.Get(ctx, t.skey(SnapshotPath(id)))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, t.notFound(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %d of %s: %w", id, t.where(), err)
	}
	s, err := DecodeSnapshot(b)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d of %s: %w", id, t.where(), err)
	}
	if s.ID != id {
		return nil, fmt.Errorf("%w: snapshot %d of %s holds id %d", types.ErrCorruption, id, t.where(), s.ID)
	}
	t.cacheSnapshot(s, info.ETag, len(b))
	return s, nil
}

// SnapshotNotFoundError is the error of a read of a snapshot id that does
// not exist. It wraps types.ErrNotFound and says where the id lies
// relative to the retained snapshots, when the table has any.
type SnapshotNotFoundError struct {
	ID    int64
	Table string
	// Earliest and Latest are the retained ids (0, 0 when none).
	Earliest, Latest int64
}

func (e *SnapshotNotFoundError) Error() string {
	msg := fmt.Sprintf("%v: snapshot %d not found in table %s", types.ErrNotFound, e.ID, e.Table)
	switch {
	case e.Latest == 0:
		return msg + " (it has no snapshots)"
	case e.ID < e.Earliest:
		return msg + fmt.Sprintf(" (expired: the retained snapshots are %d..%d)", e.Earliest, e.Latest)
	case e.ID > e.Latest:
		return msg + fmt.Sprintf(" (the latest is %d)", e.Latest)
	}
	return msg
}

// Hint is the parenthesised explanation of Error, or "".
func (e *SnapshotNotFoundError) Hint() string {
	s := e.Error()
	if i := strings.LastIndex(s, " ("); i >= 0 {
		return s[i+1:]
	}
	return ""
}

func (e *SnapshotNotFoundError) Unwrap() error { return types.ErrNotFound }

// notFound builds the error of a missing snapshot id, listing the
// retained ids for the explanation (best effort: the error path only).
func (t *Table) notFound(ctx context.Context, id int64) error {
	e := &SnapshotNotFoundError{ID: id, Table: t.where()}
	if ids, err := t.listIDs(ctx); err == nil && len(ids) > 0 {
		e.Earliest, e.Latest = ids[0], ids[len(ids)-1]
	}
	return e
}

// Snapshots returns every retained snapshot in ascending id order.
// Snapshots removed while the call runs (by expiry) are left out.
func (t *Table) Snapshots(ctx context.Context) ([]*Snapshot, error) {
	ids, err := t.listIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Snapshot, 0, len(ids))
	for _, id := range ids {
		s, err := t.Snapshot(ctx, id)
		if errors.Is(err, types.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// SnapshotAsOf returns the newest snapshot whose TimeMillis <= unixMillis.
// Commit keeps TimeMillis non-decreasing in id order, so the answer is
// found by bisecting ids and is monotonic in unixMillis whatever the
// committers' clocks. A time before the earliest retained snapshot (or an
// empty table) returns an error wrapping types.ErrNotFound.
func (t *Table) SnapshotAsOf(ctx context.Context, unixMillis int64) (*Snapshot, error) {
	ids, err := t.listIDs(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no snapshot as of %d: table %q has no snapshots", types.ErrNotFound, unixMillis, t.root)
	}
	// Invariant: ids[:lo] are <= unixMillis (lo-1 is the best so far),
	// ids[hi:] are after it.
	lo, hi := 0, len(ids)
	var best *Snapshot
	for lo < hi {
		mid := lo + (hi-lo)/2
		s, err := t.Snapshot(ctx, ids[mid])
		if err != nil {
			return nil, err
		}
		if s.TimeMillis <= unixMillis {
			best, lo = s, mid+1
		} else {
			hi = mid
		}
	}
	if best != nil {
		return best, nil
	}
	first, err := t.Snapshot(ctx, ids[0])
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: no snapshot as of %d: the earliest retained snapshot %d was committed at %d",
		types.ErrNotFound, unixMillis, first.ID, first.TimeMillis)
}

// FindCommit walks back from the latest snapshot to the most recent one
// committed by user and returns it if its CommitIdentifier is identifier,
// else nil. A user must commit sequentially and resolve an uncertain
// commit (retry it with the same identifier until it succeeds or fails
// definitely) before committing a new identifier. The walk stops at the
// first snapshot missing (expired), so a commit whose snapshot was already
// expired is not found.
func (t *Table) FindCommit(ctx context.Context, user, identifier string) (*Snapshot, error) {
	latest, err := t.Latest(ctx)
	if err != nil {
		return nil, err
	}
	return t.findCommitFrom(ctx, latest, 0, user, identifier)
}

// findCommitFrom is FindCommit starting at s and never looking at ids <=
// floor.
func (t *Table) findCommitFrom(ctx context.Context, s *Snapshot, floor int64, user, identifier string) (*Snapshot, error) {
	for s != nil && s.ID > floor {
		if s.CommitUser == user {
			if s.CommitIdentifier == identifier {
				return s, nil
			}
			return nil, nil
		}
		if s.ID-1 <= floor {
			break
		}
		prev, err := t.Snapshot(ctx, s.ID-1)
		if errors.Is(err, types.ErrNotFound) {
			return nil, nil // the history before s has been expired
		}
		if err != nil {
			return nil, err
		}
		s = prev
	}
	return nil, nil
}

// ReadManifestList reads the manifest list at path (relative to the root).
func (t *Table) ReadManifestList(ctx context.Context, path string) ([]ManifestMeta, error) {
	if l, ok := loadCached[ManifestMeta](t.opts.Cache, "manifest-list", t.key(path)); ok {
		return l, nil
	}
	b, _, err := t.store.Get(ctx, t.key(path))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: manifest list %s of %q not found", types.ErrNotFound, path, t.root)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest list %s of %q: %w", path, t.root, err)
	}
	l, err := DecodeManifestList(b)
	if err != nil {
		return nil, fmt.Errorf("%s of %q: %w", path, t.root, err)
	}
	storeCached(t.opts.Cache, "manifest-list", t.key(path), l.Manifests, len(b))
	return l.Manifests, nil
}

// ReadManifest reads the entries of the manifest at path (relative to the
// root).
func (t *Table) ReadManifest(ctx context.Context, path string) ([]Entry, error) {
	if es, ok := loadCached[Entry](t.opts.Cache, "manifest", t.key(path)); ok {
		return es, nil
	}
	b, _, err := t.store.Get(ctx, t.key(path))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: manifest %s of %q not found", types.ErrNotFound, path, t.root)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest %s of %q: %w", path, t.root, err)
	}
	m, err := DecodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s of %q: %w", path, t.root, err)
	}
	storeCached(t.opts.Cache, "manifest", t.key(path), m.Entries, len(b))
	return m.Entries, nil
}

// Files returns the live data files of s (none for a nil snapshot):
// the manifests of its list replayed in order, an ADD making a path live
// and a DELETE removing it. The result is sorted by partition, bucket,
// level, then path, independent of how manifests were merged. An ADD of a
// live path or a DELETE of a path that is not live is corruption.
func (t *Table) Files(ctx context.Context, s *Snapshot) ([]DataFile, error) {
	live, err := t.liveFiles(ctx, s)
	if err != nil {
		return nil, err
	}
	return sortedFiles(live), nil
}

func sortedFiles(live map[string]DataFile) []DataFile {
	out := make([]DataFile, 0, len(live))
	for _, f := range live {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		switch {
		case a.Partition != b.Partition:
			return a.Partition < b.Partition
		case a.Bucket != b.Bucket:
			return a.Bucket < b.Bucket
		case a.Level != b.Level:
			return a.Level < b.Level
		}
		return a.Path < b.Path
	})
	return out
}

// liveFiles replays the manifests of s into a map keyed by path.
func (t *Table) liveFiles(ctx context.Context, s *Snapshot) (map[string]DataFile, error) {
	if s == nil {
		return map[string]DataFile{}, nil
	}
	metas, err := t.ReadManifestList(ctx, s.ManifestList)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", s.ID, err)
	}
	return t.replayList(ctx, s, metas)
}

func replay(live map[string]DataFile, entries []Entry) error {
	for _, e := range entries {
		_, ok := live[e.File.Path]
		switch e.Kind {
		case Add:
			if ok {
				return fmt.Errorf("adds %s which is already live", e.File.Path)
			}
			live[e.File.Path] = e.File
		case Delete:
			if !ok {
				return fmt.Errorf("deletes %s which is not live", e.File.Path)
			}
			delete(live, e.File.Path)
		}
	}
	return nil
}

// manifestReadParallelism bounds concurrent manifest reads of one call.
const manifestReadParallelism = 8

// readManifests fetches manifests concurrently and returns their entries
// in list order.
func (t *Table) readManifests(ctx context.Context, metas []ManifestMeta) ([][]Entry, error) {
	out := make([][]Entry, len(metas))
	errs := make([]error, len(metas))
	sem := make(chan struct{}, manifestReadParallelism)
	var wg sync.WaitGroup
	for i, m := range metas {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = t.ReadManifest(ctx, m.Path)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
