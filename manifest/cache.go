package manifest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/siltdb/silt/objstore"
)

// Cache holds decoded immutable metadata across calls (Options.Cache): a
// process-local store of values by object key. The manifest package keeps
// no state of its own; a Table without a Cache reads every object from the
// store. Implementations must be safe for concurrent use and may evict
// anything at any time.
//
// Only values decoded and verified from the store are put: manifest lists
// and manifests by key (their names are unique, they never change), and
// snapshots by key together with the ETag they were read with. A cached
// snapshot is never returned without asking the store whether the object
// still exists with that ETag (one Stat instead of a GET), so an expired
// snapshot is still reported missing and a re-created one (a dropped and
// re-created table or branch) is read again.
type Cache interface {
	Load(key string) (any, bool)
	// Store puts v under key; size approximates the bytes it holds.
	Store(key string, v any, size int64)
}

// cachedSnapshot is a snapshot in the Cache with the ETag it was read with.
type cachedSnapshot struct {
	s    *Snapshot
	etag string
}

// cacheKey prefixes a store key by the kind of value held under it.
func cacheKey(kind, key string) string { return kind + "\x00" + key }

// cachedSnapshotAt returns snapshot id from the Cache if the store still
// holds it with the same ETag. ok is false on a miss (nothing cached, or
// the object changed): the caller reads it. A missing object returns an
// error wrapping objstore.ErrNotFound.
func (t *Table) cachedSnapshotAt(ctx context.Context, id int64) (s *Snapshot, ok bool, err error) {
	if t.opts.Cache == nil {
		return nil, false, nil
	}
	key := t.skey(SnapshotPath(id))
	v, hit := t.opts.Cache.Load(cacheKey("snapshot", key))
	if !hit {
		return nil, false, nil
	}
	cs, _ := v.(cachedSnapshot)
	if cs.s == nil || cs.etag == "" {
		return nil, false, nil
	}
	info, err := t.store.Stat(ctx, key)
	if err != nil {
		return nil, false, err
	}
	if info.ETag != cs.etag {
		return nil, false, nil
	}
	c := *cs.s
	return &c, true, nil
}

// cacheSnapshot puts a snapshot read (and verified) with etag.
func (t *Table) cacheSnapshot(s *Snapshot, etag string, size int) {
	if t.opts.Cache == nil || etag == "" {
		return
	}
	c := *s
	t.opts.Cache.Store(cacheKey("snapshot", t.skey(SnapshotPath(s.ID))), cachedSnapshot{s: &c, etag: etag}, int64(size)+512)
}

// stillCurrent reports whether snapshot known still exists (one Stat).
// With a Cache that holds its id it also checks that the object has the
// ETag the cached copy was read with, and returns that copy (the store's
// current contents, which a caller's known may predate); cur is nil
// otherwise.
func (t *Table) stillCurrent(ctx context.Context, known *Snapshot) (cur *Snapshot, ok bool, err error) {
	if t.opts.Cache == nil {
		ok, err := t.exists(ctx, known.ID)
		return nil, ok, err
	}
	if _, hit := t.opts.Cache.Load(cacheKey("snapshot", t.skey(SnapshotPath(known.ID)))); !hit {
		ok, err := t.exists(ctx, known.ID)
		return nil, ok, err
	}
	cur, ok, err = t.cachedSnapshotAt(ctx, known.ID)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("stat snapshot %d: %w", known.ID, err)
	}
	return cur, ok, nil
}

// loadCached returns a clone of the slice cached under kind and key.
func loadCached[T any](c Cache, kind, key string) ([]T, bool) {
	if c == nil {
		return nil, false
	}
	v, ok := c.Load(cacheKey(kind, key))
	if !ok {
		return nil, false
	}
	s, ok := v.([]T)
	if !ok {
		return nil, false
	}
	return slices.Clone(s), true
}

// storeCached puts a clone of s, decoded from n bytes, under kind and key.
func storeCached[T any](c Cache, kind, key string, s []T, n int) {
	if c == nil {
		return
	}
	c.Store(cacheKey(kind, key), slices.Clone(s), 2*int64(n)+256)
}
