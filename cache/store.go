package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siltdb/silt/objstore"
)

// tierStore is the Store Wrap returns.
type tierStore struct {
	c     *Cache
	inner objstore.Store
	tier  string
}

var _ objstore.Store = (*tierStore)(nil)

// errChanged: the origin returned fewer or more bytes than the cached
// object size implies, so the object is not what the cache thinks. The
// read is served from the origin and the object invalidated.
var errChanged = errors.New("object changed under the cache")

// cacheable reports whether key goes through the cache; after Close
// nothing does.
func (s *tierStore) cacheable(key string) bool { return s.c.opts.Cacheable(key) && !s.c.isClosed() }

func (s *tierStore) id(key string, kind byte, block int64) itemID {
	return itemID{tier: s.tier, key: key, kind: kind, block: block}
}

func (s *tierStore) obj(key string) objKey { return objKey{s.tier, key} }

func (s *tierStore) count(f func(*TierStats)) { s.c.count(s.tier, f) }

// blockLen is the length of block i of an object of size bytes.
func (s *tierStore) blockLen(i, size int64) int64 {
	bs := s.c.opts.BlockSize
	return min(bs, size-i*bs)
}

func (s *tierStore) numBlocks(size int64) int64 {
	bs := s.c.opts.BlockSize
	return (size + bs - 1) / bs
}

func infoOf(key string, e entry) objstore.ObjectInfo {
	info := objstore.ObjectInfo{Key: key, Size: e.size, ETag: e.etag}
	if e.modified != 0 {
		info.LastModified = time.Unix(0, e.modified)
	}
	return info
}

func metaItem(id itemID, info objstore.ObjectInfo) fillItem {
	e := entry{kind: kindMeta, size: info.Size, etag: info.ETag}
	if !info.LastModified.IsZero() {
		e.modified = info.LastModified.UnixNano()
	}
	return fillItem{id: id, e: e}
}

// Get serves a cacheable object from the cache when its metadata and every
// block are cached and verify; otherwise it fetches the whole object (one
// fetch for concurrent callers) and caches it if it is at most
// Options.MaxObjectSize.
func (s *tierStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	if !s.cacheable(key) {
		return s.inner.Get(ctx, key)
	}
	if data, info, ok := s.cachedWhole(key); ok {
		s.count(func(t *TierStats) { t.Hits++; t.BytesFromCache += int64(len(data)) })
		return data, info, nil
	}
	s.count(func(t *TierStats) { t.Misses++ })
	id := s.id(key, kindWhole, 0)
	f, lead := s.c.join(id)
	if !lead {
		if err := f.wait(ctx); err == nil {
			return bytes.Clone(f.data), f.info, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, objstore.ObjectInfo{}, err
		}
		return s.originGet(ctx, key)
	}
	fl := s.c.beginFill(s.obj(key))
	data, info, err := s.originGet(ctx, key)
	if err == nil {
		s.fillWhole(fl, key, data, info, false)
	}
	s.c.endFill(fl)
	s.c.land(id, f, data, info, err)
	if err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	// Waiters share data; the caller may modify what it gets.
	return bytes.Clone(data), info, nil
}

func (s *tierStore) originGet(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	data, info, err := s.inner.Get(ctx, key)
	if err == nil {
		s.count(func(t *TierStats) { t.BytesFromOrigin += int64(len(data)) })
	}
	return data, info, err
}

// cachedWhole returns the object if its metadata and all its blocks are
// cached and verify.
func (s *tierStore) cachedWhole(key string) ([]byte, objstore.ObjectInfo, bool) {
	me, ok := s.c.lookup(s.id(key, kindMeta, 0))
	if !ok {
		return nil, objstore.ObjectInfo{}, false
	}
	buf := make([]byte, 0, me.size)
	for i := range s.numBlocks(me.size) {
		n := s.blockLen(i, me.size)
		data, pooled, ok := s.cachedBlock(key, i, n, 0, n)
		if !ok {
			return nil, objstore.ObjectInfo{}, false
		}
		buf = append(buf, data...)
		s.c.putBuf(pooled)
	}
	return buf, infoOf(key, me), true
}

// cachedBlock returns bytes [lo, hi) of block i (of length want) if it
// is cached and verifies; a bad file is dropped (and counted). The caller
// gives the returned buffer back with putBuf once it has copied the bytes.
func (s *tierStore) cachedBlock(key string, i, want, lo, hi int64) ([]byte, []byte, bool) {
	id := s.id(key, kindBlock, i)
	e, ok := s.c.lookup(id)
	if !ok {
		return nil, nil, false
	}
	if e.length != want {
		s.c.drop(id, e.fileNum, true)
		return nil, nil, false
	}
	data, buf, st := s.c.readBlock(e, lo, hi)
	if st != readOK {
		s.c.drop(id, e.fileNum, st == readCorrupt)
		return nil, nil, false
	}
	return data, buf, true
}

// fillWhole caches a whole object: its metadata and its blocks. With
// replace (a write-through) it replaces whatever was cached, and if it
// cannot, it invalidates.
func (s *tierStore) fillWhole(fl *fill, key string, data []byte, info objstore.ObjectInfo, replace bool) {
	size := int64(len(data))
	if size > s.c.opts.MaxObjectSize || size != info.Size {
		if replace {
			s.c.invalidate(s.obj(key))
		}
		return
	}
	// A Put's answer may lack the modification time (S3's does): then
	// only the blocks are cached, and the metadata comes from a Stat later,
	// so the cache never answers with metadata the origin did not give.
	var items []fillItem
	if !info.LastModified.IsZero() {
		items = append(items, metaItem(s.id(key, kindMeta, 0), info))
	}
	bs := s.c.opts.BlockSize
	for i := range s.numBlocks(size) {
		e, err := s.c.writeBlock(data[i*bs : i*bs+s.blockLen(i, size)])
		if err != nil {
			s.count(func(t *TierStats) { t.WriteErrors++ })
			for _, it := range items {
				if it.e.kind == kindBlock {
					s.c.removeFiles([]uint64{it.e.fileNum})
				}
			}
			if replace {
				s.c.invalidate(s.obj(key))
			}
			return
		}
		items = append(items, fillItem{id: s.id(key, kindBlock, i), e: e})
	}
	s.c.commitFill(fl, items, replace)
}

// GetRange serves a range of a cacheable object from aligned blocks,
// fetching the missing contiguous blocks with one ranged GET each. The
// object's size comes from its cached metadata (a Stat on a miss).
func (s *tierStore) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.cacheable(key) || off < 0 || length < 0 {
		return s.inner.GetRange(ctx, key, off, length)
	}
	info, metaHit, err := s.meta(ctx, key)
	if err != nil {
		return nil, err
	}
	size := info.Size
	if length == 0 || off >= size {
		s.count(func(t *TierStats) { countRead(t, metaHit) })
		return []byte{}, nil
	}
	end := size
	if length < size-off {
		end = off + length
	}
	bs := s.c.opts.BlockSize
	first, last := off/bs, (end-1)/bs
	// span returns the part of block i the read needs.
	span := func(i int64) (int64, int64) {
		start := i * bs
		return max(off, start) - start, min(end, start+s.blockLen(i, size)) - start
	}
	// blocks[j] holds block first+j whole (fetched) or just its span (hit).
	blocks := make([][]byte, last-first+1)
	pooled := make([][]byte, len(blocks))
	var missing []int64
	var fromCache int64
	for i := first; i <= last; i++ {
		lo, hi := span(i)
		if data, buf, ok := s.cachedBlock(key, i, s.blockLen(i, size), lo, hi); ok {
			blocks[i-first], pooled[i-first] = data, buf
			fromCache += hi - lo
		} else {
			missing = append(missing, i)
		}
	}
	defer func() {
		for _, buf := range pooled {
			s.c.putBuf(buf)
		}
	}()
	if len(missing) > 0 {
		if err := s.fetchBlocks(ctx, key, size, first, missing, blocks); err != nil {
			if errors.Is(err, errChanged) && ctx.Err() == nil {
				s.c.invalidate(s.obj(key))
				s.count(func(t *TierStats) { t.Misses++ })
				return s.inner.GetRange(ctx, key, off, length)
			}
			return nil, err
		}
	}
	out := make([]byte, 0, end-off)
	for j, blk := range blocks {
		if pooled[j] != nil {
			out = append(out, blk...)
			continue
		}
		lo, hi := span(first + int64(j))
		out = append(out, blk[lo:hi]...)
	}
	s.count(func(t *TierStats) {
		countRead(t, metaHit && len(missing) == 0)
		t.BytesFromCache += fromCache
	})
	return out, nil
}

func countRead(t *TierStats, hit bool) {
	if hit {
		t.Hits++
	} else {
		t.Misses++
	}
}

// fetchBlocks fills blocks[i-first] for every missing i: blocks another
// caller is already fetching are waited for, the rest are fetched in
// contiguous runs, one ranged GET per run.
func (s *tierStore) fetchBlocks(ctx context.Context, key string, size, first int64, missing []int64, blocks [][]byte) error {
	var mine []int64
	leads := map[int64]*flight{}
	waits := map[int64]*flight{}
	for _, i := range missing {
		f, lead := s.c.join(s.id(key, kindBlock, i))
		if lead {
			mine = append(mine, i)
			leads[i] = f
		} else {
			waits[i] = f
		}
	}
	var firstErr error
	for len(mine) > 0 {
		n := 1
		for n < len(mine) && mine[n] == mine[n-1]+1 {
			n++
		}
		run := mine[:n]
		mine = mine[n:]
		if firstErr != nil {
			for _, i := range run {
				s.c.land(s.id(key, kindBlock, i), leads[i], nil, objstore.ObjectInfo{}, firstErr)
			}
			continue
		}
		firstErr = s.fetchRun(ctx, key, size, first, run, leads, blocks)
	}
	if firstErr != nil {
		return firstErr
	}
	for i, f := range waits {
		want := s.blockLen(i, size)
		if err := f.wait(ctx); err == nil && int64(len(f.data)) == want {
			blocks[i-first] = f.data
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// The leader failed; fetch this block ourselves, uncached.
		data, err := s.inner.GetRange(ctx, key, i*s.c.opts.BlockSize, want)
		if err != nil {
			return err
		}
		if int64(len(data)) != want {
			return fmt.Errorf("%s: block %d: got %d bytes, want %d: %w", key, i, len(data), want, errChanged)
		}
		s.count(func(t *TierStats) { t.BytesFromOrigin += want })
		blocks[i-first] = data
	}
	return nil
}

// fetchRun fetches the contiguous blocks run with one ranged GET, caches
// them and lands their flights.
func (s *tierStore) fetchRun(ctx context.Context, key string, size, first int64, run []int64, leads map[int64]*flight, blocks [][]byte) error {
	bs := s.c.opts.BlockSize
	a, b := run[0], run[len(run)-1]
	start, end := a*bs, min((b+1)*bs, size)
	fl := s.c.beginFill(s.obj(key))
	defer s.c.endFill(fl)
	data, err := s.inner.GetRange(ctx, key, start, end-start)
	if err == nil && int64(len(data)) != end-start {
		err = fmt.Errorf("%s: range %d+%d: got %d bytes: %w", key, start, end-start, len(data), errChanged)
	}
	if err != nil {
		for _, i := range run {
			s.c.land(s.id(key, kindBlock, i), leads[i], nil, objstore.ObjectInfo{}, err)
		}
		return err
	}
	s.count(func(t *TierStats) { t.BytesFromOrigin += int64(len(data)) })
	var items []fillItem
	writeOK := true
	for _, i := range run {
		lo := (i - a) * bs
		blk := data[lo : lo+s.blockLen(i, size)]
		blocks[i-first] = blk
		if !writeOK {
			continue
		}
		e, werr := s.c.writeBlock(blk)
		if werr != nil {
			writeOK = false
			s.count(func(t *TierStats) { t.WriteErrors++ })
			continue
		}
		items = append(items, fillItem{id: s.id(key, kindBlock, i), e: e})
	}
	if len(items) > 0 {
		s.c.commitFill(fl, items, false)
	}
	for _, i := range run {
		s.c.land(s.id(key, kindBlock, i), leads[i], blocks[i-first], objstore.ObjectInfo{}, nil)
	}
	return nil
}

// meta returns the object's metadata, from the cache or (one call for
// concurrent callers) the origin's Stat, and whether it was a hit.
func (s *tierStore) meta(ctx context.Context, key string) (objstore.ObjectInfo, bool, error) {
	id := s.id(key, kindMeta, 0)
	if e, ok := s.c.lookup(id); ok {
		return infoOf(key, e), true, nil
	}
	f, lead := s.c.join(id)
	if !lead {
		if err := f.wait(ctx); err == nil {
			return f.info, false, nil
		}
		if err := ctx.Err(); err != nil {
			return objstore.ObjectInfo{}, false, err
		}
		info, err := s.inner.Stat(ctx, key)
		return info, false, err
	}
	fl := s.c.beginFill(s.obj(key))
	info, err := s.inner.Stat(ctx, key)
	if err == nil {
		s.c.commitFill(fl, []fillItem{metaItem(id, info)}, false)
	}
	s.c.endFill(fl)
	s.c.land(id, f, nil, info, err)
	return info, false, err
}

// Stat serves a cacheable object's metadata from the cache.
func (s *tierStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return objstore.ObjectInfo{}, err
	}
	if !s.cacheable(key) {
		return s.inner.Stat(ctx, key)
	}
	info, hit, err := s.meta(ctx, key)
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	s.count(func(t *TierStats) { countRead(t, hit) })
	return info, nil
}

// Put writes through to the origin; for a cacheable key it then caches the
// new object (Options.WriteThrough) or invalidates it.
func (s *tierStore) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	return s.write(ctx, key, data, func() (objstore.ObjectInfo, error) { return s.inner.Put(ctx, key, data) })
}

// PutIfAbsent is Put's conditional twin; the condition is the origin's.
func (s *tierStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	return s.write(ctx, key, data, func() (objstore.ObjectInfo, error) { return s.inner.PutIfAbsent(ctx, key, data) })
}

func (s *tierStore) write(ctx context.Context, key string, data []byte, op func() (objstore.ObjectInfo, error)) (objstore.ObjectInfo, error) {
	if !s.cacheable(key) {
		return op()
	}
	// The token is taken before the write, so an invalidation racing with
	// it (a concurrent Delete) poisons the write-through.
	fl := s.c.beginFill(s.obj(key))
	defer s.c.endFill(fl)
	info, err := op()
	if err == nil && s.c.opts.WriteThrough {
		s.fillWhole(fl, key, data, info, true)
	} else {
		s.c.invalidate(s.obj(key))
	}
	return info, err
}

// PutIfMatch passes through and invalidates the key whatever the outcome.
func (s *tierStore) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (objstore.ObjectInfo, error) {
	info, err := s.inner.PutIfMatch(ctx, key, data, etag)
	if s.cacheable(key) {
		s.c.invalidate(s.obj(key))
	}
	return info, err
}

// Delete passes through and invalidates the key.
func (s *tierStore) Delete(ctx context.Context, key string) error {
	err := s.inner.Delete(ctx, key)
	if s.cacheable(key) {
		s.c.invalidate(s.obj(key))
	}
	return err
}

// List passes through (listings are never cached) and drops cached
// objects whose listed ETag or size differs from the cached metadata: a
// key reused after a drop (a schema of a table created again) is not
// served stale once listed.
func (s *tierStore) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	out, err := s.inner.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	for _, info := range out {
		if s.cacheable(info.Key) {
			s.c.revalidate(s.obj(info.Key), info)
		}
	}
	return out, nil
}

// ListDirs passes through.
func (s *tierStore) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	return s.inner.ListDirs(ctx, prefix)
}
