package table

import (
	"container/list"
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
)

// MetaCache is a process's bounded in-memory cache of decoded immutable
// table metadata (Env.Meta): snapshots (re-checked with one Stat before
// each use), manifest lists and manifests (see manifest.Cache), and the
// verified footers and bloom filters of data files (lsm.Footer, by store,
// path and size). With it a repeated point lookup without the lookup index
// costs the freshness check (two Stats, manifest.Table.LatestFrom from the
// last snapshot seen) and the row groups it reads. It is never the source
// of truth: only values decoded and verified from the store go in, and
// the store is asked whether the snapshot a read starts from still exists.
// Create it once per process with NewMetaCache and share it by every Env;
// it is safe for concurrent use. Least recently used entries are evicted
// beyond the byte budget.
type MetaCache struct {
	budget int64

	mu      sync.Mutex
	used    int64
	lru     *list.List // of *metaEntry, most recent first
	entries map[string]*list.Element
	stats   MetaCacheStats
}

// MetaCacheStats counts a MetaCache's use.
type MetaCacheStats struct {
	Hits, Misses, Evictions int64
	Entries                 int
	Bytes                   int64
}

type metaEntry struct {
	key  string
	v    any
	size int64
}

// DefaultMetaCacheBytes is the budget of the metadata cache a catalog
// creates when its Env has none, and of silt's commands.
const DefaultMetaCacheBytes = 64 << 20

// NewMetaCache returns an empty cache holding at most budgetBytes
// (approximately: entry sizes are estimates); budgetBytes <= 0 caches
// nothing.
func NewMetaCache(budgetBytes int64) *MetaCache {
	return &MetaCache{budget: budgetBytes, lru: list.New(), entries: map[string]*list.Element{}}
}

// Stats returns the cache's counters.
func (c *MetaCache) Stats() MetaCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Entries, st.Bytes = len(c.entries), c.used
	return st
}

func (c *MetaCache) load(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		c.stats.Misses++
		return nil, false
	}
	c.stats.Hits++
	c.lru.MoveToFront(e)
	return e.Value.(*metaEntry).v, true
}

func (c *MetaCache) store(key string, v any, size int64) {
	size += int64(len(key)) + 64
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		old := e.Value.(*metaEntry)
		c.used -= old.size
		old.v, old.size = v, size
		c.used += size
		c.lru.MoveToFront(e)
	} else {
		if size > c.budget {
			return
		}
		c.entries[key] = c.lru.PushFront(&metaEntry{key: key, v: v, size: size})
		c.used += size
	}
	for c.used > c.budget && c.lru.Len() > 0 {
		e := c.lru.Back()
		me := e.Value.(*metaEntry)
		c.lru.Remove(e)
		delete(c.entries, me.key)
		c.used -= me.size
		c.stats.Evictions++
	}
}

// metaNS is a MetaCache seen through one object store's namespace: keys
// of different stores sharing the cache never meet. It implements
// manifest.Cache.
type metaNS struct {
	c  *MetaCache
	ns string
}

func (m metaNS) Load(key string) (any, bool)         { return m.c.load(m.ns + key) }
func (m metaNS) Store(key string, v any, size int64) { m.c.store(m.ns+key, v, size) }

// newMetaNS returns the namespace of the table's store in env.Meta, or nil
// when the cache is disabled. The store's identity is env.StoreID, else
// the store value itself (its address: stores live as long as the
// process).
func newMetaNS(env Env, store any) *metaNS {
	if env.Meta == nil || env.Meta.budget <= 0 {
		return nil // disabled: NewMetaCache(0) caches nothing
	}
	id := env.StoreID
	if id == "" {
		id = fmt.Sprintf("%T@%p", store, store)
	}
	return &metaNS{c: env.Meta, ns: id + "\x00"}
}

// latestKnown returns the last snapshot of the table's branch a read
// resolved as the latest, a starting point for LatestFrom; nil when none
// or the cache is disabled.
func (t *Table) latestKnown() *manifest.Snapshot {
	if t.metaNS == nil {
		return nil
	}
	v, ok := t.metaNS.Load("latest\x00" + t.root + "\x00" + t.meta.BranchName())
	if !ok {
		return nil
	}
	s, _ := v.(*manifest.Snapshot)
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

// rememberLatest records s as the latest snapshot seen (see latestKnown).
func (t *Table) rememberLatest(s *manifest.Snapshot) {
	if t.metaNS == nil || s == nil {
		return
	}
	t.metaNS.Store("latest\x00"+t.root+"\x00"+t.meta.BranchName(), s, 1024)
}

// resolveLatest returns the latest snapshot: with the cache, probing
// forward from the last one seen (two Stats when nothing is newer).
func (t *Table) resolveLatest(ctx context.Context) (*manifest.Snapshot, error) {
	if t.metaNS == nil {
		return t.meta.Latest(ctx)
	}
	s, err := t.meta.LatestFrom(ctx, t.latestKnown())
	if err != nil {
		return nil, err
	}
	t.rememberLatest(s)
	return s, nil
}

// footerKey is the cache key of a data file's footer: tier, path, size and
// content checksum (data files are named uniquely and never change; a file
// replaced by another is caught by the identity check of every open, see
// openFileFor, and the checksum keeps the footers of the two apart).
func (t *Table) footerKey(f manifest.DataFile) string {
	return "footer\x00" + f.Tier + "\x00" + t.root + f.Path + "\x00" + strconv.FormatInt(f.Size, 10) + "\x00" + f.Checksum
}

// cachedFooter returns the cached footer of f, if any.
func (t *Table) cachedFooter(f manifest.DataFile) *lsm.Footer {
	if t.metaNS == nil {
		return nil
	}
	v, ok := t.metaNS.Load(t.footerKey(f))
	if !ok {
		return nil
	}
	ft, _ := v.(*lsm.Footer)
	if ft == nil || ft.Size() != f.Size {
		return nil
	}
	return ft
}

// cacheFooter keeps the verified footer of an opened data file.
func (t *Table) cacheFooter(f manifest.DataFile, fr *lsm.FileReader) {
	if t.metaNS == nil {
		return
	}
	ft := fr.Footer()
	t.metaNS.Store(t.footerKey(f), ft, ft.MemBytes())
}
