package table

import (
	"container/list"
	"crypto/sha256"
	"slices"
	"strconv"
	"sync"

	"github.com/siltdb/silt/manifest"
)

// hiddenCacheBytes bounds the memory a table's cache of HiddenRows answers
// holds (estimated; least recently used buckets go first).
const hiddenCacheBytes = 32 << 20

// hiddenCache remembers HiddenRows' answer per bucket, keyed by the
// bucket's sorted file paths and the configuration the answer depends on.
// Data files are immutable and a path is never reused, so the same files
// give the same answer (record TTL is re-judged by the caller from the
// cached time values). A nil cache caches nothing. It is safe for
// concurrent use.
type hiddenCache struct {
	mu      sync.Mutex
	budget  int64
	used    int64
	entries map[[32]byte]*list.Element
	lru     list.List // of *hiddenEntry, most recently used first
}

type hiddenEntry struct {
	key [32]byte
	res *bucketResult
}

func newHiddenCache(budget int64) *hiddenCache {
	return &hiddenCache{budget: budget, entries: map[[32]byte]*list.Element{}}
}

// hiddenCacheKey is the cache key of a bucket's files under cfg.
func hiddenCacheKey(cfg hiddenConfig, g fileGroup) [32]byte {
	paths := make([]string, len(g.files))
	for i, f := range g.files {
		paths[i] = f.Path
	}
	slices.Sort(paths)
	h := sha256.New()
	h.Write([]byte(cfg.id))
	h.Write([]byte{0})
	h.Write([]byte(g.partition))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(g.bucket)))
	for _, p := range paths {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// get returns the cached answer for key, or nil. An answer that depends on
// the files' order (bucketResult.order) is returned only for that order.
func (c *hiddenCache) get(key [32]byte, files []manifest.DataFile) *bucketResult {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	res := e.Value.(*hiddenEntry).res
	if res.order != nil {
		if len(res.order) != len(files) {
			return nil
		}
		for i, f := range files {
			if res.order[i] != f.Path {
				return nil
			}
		}
	}
	c.lru.MoveToFront(e)
	return res
}

// put caches res under key, evicting the least recently used answers to
// stay within the budget; an answer larger than the budget is not cached.
func (c *hiddenCache) put(key [32]byte, res *bucketResult) {
	if c == nil || res.bytes > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.used -= e.Value.(*hiddenEntry).res.bytes
		c.lru.Remove(e)
		delete(c.entries, key)
	}
	for c.used+res.bytes > c.budget && c.lru.Len() > 0 {
		last := c.lru.Back()
		old := last.Value.(*hiddenEntry)
		c.lru.Remove(last)
		delete(c.entries, old.key)
		c.used -= old.res.bytes
	}
	c.entries[key] = c.lru.PushFront(&hiddenEntry{key: key, res: res})
	c.used += res.bytes
}
