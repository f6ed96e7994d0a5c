package cache

import (
	"container/list"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/siltdb/silt/objstore"
)

// The in-memory index mirrors the Pebble records: every record is a node on
// the LRU list. Pebble is written in batches with NoSync: after a crash it
// may lose its newest records (their files become orphans, removed at the
// next Open) or keep records whose files never reached the disk (dropped
// at Open, or by the checksum on read). Nothing is ever served unverified,
// so neither matters.

type objKey struct{ tier, key string }

// object holds the records of one cached object.
type object struct {
	meta   *node
	blocks map[int64]*node
}

type node struct {
	id   itemID
	e    entry
	elem *list.Element
	cost int64
}

// recordOverhead is what a record costs beyond its block bytes: the
// budget bounds the index too, even for objects of zero bytes.
const recordOverhead = 128

func costOf(id itemID, e entry) int64 {
	c := int64(recordOverhead + len(id.tier) + len(id.key))
	if e.kind == kindBlock {
		c += e.length
	}
	return c + int64(len(e.etag))
}

// fillState tracks the fills of one object in progress; invalidating the
// object bumps gen, so a fill that read the origin before the
// invalidation can never insert what it read.
type fillState struct {
	n   int
	gen uint64
}

// fill is one fill's token.
type fill struct {
	ok  objKey
	gen uint64
}

// fillItem is one record a fill inserts; block files are already written.
type fillItem struct {
	id itemID
	e  entry
}

func (c *Cache) beginFill(ok objKey) *fill {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.fills[ok]
	if st == nil {
		st = &fillState{}
		c.fills[ok] = st
	}
	st.n++
	return &fill{ok: ok, gen: st.gen}
}

func (c *Cache) endFill(f *fill) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.fills[f.ok]; st != nil {
		if st.n--; st.n == 0 {
			delete(c.fills, f.ok)
		}
	}
}

// lookup returns the record id, marking it used. It does not verify
// block files; the caller does and calls drop on failure.
func (c *Cache) lookup(id itemID) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return entry{}, false
	}
	n := c.nodeLocked(id)
	if n == nil {
		return entry{}, false
	}
	c.touchLocked(n)
	return n.e, true
}

func (c *Cache) nodeLocked(id itemID) *node {
	obj := c.objs[objKey{id.tier, id.key}]
	if obj == nil {
		return nil
	}
	if id.kind == kindMeta {
		return obj.meta
	}
	return obj.blocks[id.block]
}

func (c *Cache) touchLocked(n *node) {
	c.tick++
	n.e.access = c.tick
	c.lru.MoveToFront(n.elem)
	c.dirty[n] = struct{}{}
	if len(c.dirty) >= c.opts.RecencyBatch || c.opts.Now().Sub(c.flushed) >= c.opts.RecencyInterval {
		if err := c.flushRecencyLocked(); err != nil {
			c.idxErrs++
		}
	}
}

// flushRecencyLocked writes the buffered access times in one batch.
func (c *Cache) flushRecencyLocked() error {
	c.flushed = c.opts.Now()
	if len(c.dirty) == 0 || c.closed {
		return nil
	}
	b := c.db.NewBatch()
	for n := range c.dirty {
		if err := b.Set(encodeKey(n.id), encodeEntry(n.e), nil); err != nil {
			b.Close()
			return err
		}
	}
	clear(c.dirty)
	return b.Commit(pebble.NoSync)
}

// drop removes record id if it still refers to fileNum (0 for metadata),
// counting it as corrupt or missing.
func (c *Cache) drop(id itemID, fileNum uint64, corrupt bool) {
	c.mu.Lock()
	n := c.nodeLocked(id)
	if c.closed || n == nil || n.e.fileNum != fileNum {
		c.mu.Unlock()
		return
	}
	t := c.tierLocked(id.tier)
	if corrupt {
		t.Corrupt++
	} else {
		t.Missing++
	}
	files := c.deleteLocked([]*node{n})
	c.mu.Unlock()
	c.removeFiles(files)
}

// revalidate drops a cached object whose listed metadata differs from
// the cached one.
func (c *Cache) revalidate(ok objKey, info objstore.ObjectInfo) {
	c.mu.Lock()
	obj := c.objs[ok]
	stale := false
	if obj != nil && obj.meta != nil {
		stale = obj.meta.e.size != info.Size || obj.meta.e.etag != info.ETag
	}
	if obj != nil && !stale {
		bs := c.opts.BlockSize
		for i, n := range obj.blocks {
			if i*bs >= info.Size || n.e.length != min(bs, info.Size-i*bs) {
				stale = true
				break
			}
		}
	}
	c.mu.Unlock()
	if stale {
		c.invalidate(ok)
	}
}

// poisonLocked makes the object's fills in progress insert nothing, and
// detaches its flights in progress: a read starting after an invalidation
// must not join a fetch that may have read the origin before it.
func (c *Cache) poisonLocked(ok objKey) {
	if st := c.fills[ok]; st != nil {
		st.gen++
	}
	for id := range c.flights {
		if id.tier == ok.tier && id.key == ok.key {
			delete(c.flights, id)
		}
	}
}

// invalidate removes every record of an object and poisons its fills in
// progress.
func (c *Cache) invalidate(ok objKey) {
	c.mu.Lock()
	c.poisonLocked(ok)
	obj := c.objs[ok]
	if c.closed || obj == nil {
		c.mu.Unlock()
		return
	}
	files := c.deleteLocked(obj.nodes())
	c.mu.Unlock()
	c.removeFiles(files)
}

func (o *object) nodes() []*node {
	var ns []*node
	if o.meta != nil {
		ns = append(ns, o.meta)
	}
	for _, n := range o.blocks {
		ns = append(ns, n)
	}
	return ns
}

// deleteLocked deletes records from the index and memory and returns the
// block files to remove. A failed index write is counted; the records go
// anyway (at the next Open their files are missing, so they are dropped).
func (c *Cache) deleteLocked(ns []*node) []uint64 {
	b := c.db.NewBatch()
	for _, n := range ns {
		_ = b.Delete(encodeKey(n.id), nil)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		c.idxErrs++
	}
	var files []uint64
	for _, n := range ns {
		if f := c.unlinkLocked(n); f != 0 {
			files = append(files, f)
		}
	}
	return files
}

// unlinkLocked removes n from memory and returns its block file number.
func (c *Cache) unlinkLocked(n *node) uint64 {
	ok := objKey{n.id.tier, n.id.key}
	obj := c.objs[ok]
	if obj == nil {
		return 0
	}
	if n.id.kind == kindMeta {
		if obj.meta != n {
			return 0
		}
		obj.meta = nil
	} else {
		if obj.blocks[n.id.block] != n {
			return 0
		}
		delete(obj.blocks, n.id.block)
	}
	if obj.meta == nil && len(obj.blocks) == 0 {
		delete(c.objs, ok)
	}
	c.lru.Remove(n.elem)
	delete(c.dirty, n)
	c.cost -= n.cost
	c.entries--
	if n.e.kind == kindBlock {
		c.bytes -= n.e.length
		return n.e.fileNum
	}
	return 0
}

// linkLocked adds n to memory as the most recently used record.
func (c *Cache) linkLocked(n *node) {
	ok := objKey{n.id.tier, n.id.key}
	obj := c.objs[ok]
	if obj == nil {
		obj = &object{blocks: map[int64]*node{}}
		c.objs[ok] = obj
	}
	if n.id.kind == kindMeta {
		obj.meta = n
	} else {
		obj.blocks[n.id.block] = n
	}
	n.cost = costOf(n.id, n.e)
	n.elem = c.lru.PushFront(n)
	c.cost += n.cost
	c.entries++
	if n.e.kind == kindBlock {
		c.bytes += n.e.length
	}
}

// commitFill inserts a fill's records, evicting least recently used
// records to stay within the budget. With replace, every existing record
// of the object goes first (a write-through). A fill poisoned by an
// invalidation, or one larger than the whole budget, inserts nothing.
func (c *Cache) commitFill(f *fill, items []fillItem, replace bool) {
	c.mu.Lock()
	files, ok := c.commitFillLocked(f, items, replace)
	if replace {
		// A write-through is an invalidation too: it poisons every other
		// fill in progress, and if it could not insert, nothing of the
		// object may stay.
		c.poisonLocked(f.ok)
		if obj := c.objs[f.ok]; !ok && obj != nil && !c.closed {
			files = append(files, c.deleteLocked(obj.nodes())...)
		}
	}
	c.mu.Unlock()
	if !ok {
		for _, it := range items {
			if it.e.kind == kindBlock {
				files = append(files, it.e.fileNum)
			}
		}
	}
	c.removeFiles(files)
}

func (c *Cache) commitFillLocked(f *fill, items []fillItem, replace bool) ([]uint64, bool) {
	st := c.fills[f.ok]
	if c.closed || st == nil || st.gen != f.gen || len(items) == 0 {
		return nil, false
	}
	var gone []*node // records replaced
	if obj := c.objs[f.ok]; obj != nil {
		if replace {
			gone = obj.nodes()
		} else {
			for _, it := range items {
				if n := c.nodeLocked(it.id); n != nil {
					gone = append(gone, n)
				}
			}
		}
	}
	var add, free int64
	for _, it := range items {
		add += costOf(it.id, it.e)
	}
	if add > c.budget {
		return nil, false
	}
	for _, n := range gone {
		free += n.cost
	}
	// Victims from the cold end, skipping records being replaced.
	var victims []*node
	for el := c.lru.Back(); el != nil && c.cost-free+add > c.budget; el = el.Prev() {
		n := el.Value.(*node)
		if slices.Contains(gone, n) {
			continue
		}
		victims = append(victims, n)
		free += n.cost
	}
	b := c.db.NewBatch()
	for _, n := range gone {
		_ = b.Delete(encodeKey(n.id), nil)
	}
	for _, n := range victims {
		_ = b.Delete(encodeKey(n.id), nil)
	}
	nodes := make([]*node, len(items))
	for i, it := range items {
		c.tick++
		it.e.access = c.tick
		nodes[i] = &node{id: it.id, e: it.e}
		_ = b.Set(encodeKey(it.id), encodeEntry(it.e), nil)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		c.tierLocked(f.ok.tier).WriteErrors++
		return nil, false
	}
	var files []uint64
	for _, n := range gone {
		if fn := c.unlinkLocked(n); fn != 0 {
			files = append(files, fn)
		}
	}
	for _, n := range victims {
		c.tierLocked(n.id.tier).Evictions++
		if fn := c.unlinkLocked(n); fn != 0 {
			files = append(files, fn)
		}
	}
	for _, n := range nodes {
		c.linkLocked(n)
	}
	return files, true
}

// load rebuilds memory from the index at Open: records that fail to
// decode, or whose block file is missing or of the wrong size, are
// deleted; files the index does not name are removed; then the cache is
// evicted down to its budget.
func (c *Cache) load() error {
	b := c.db.NewBatch()
	defer b.Close()
	reset := true
	v, closer, err := c.db.Get(configKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("read index config: %w", err)
	default:
		bs, derr := decodeConfig(v)
		closer.Close()
		reset = derr != nil || bs != c.opts.BlockSize
	}
	if reset {
		// A new cache, or one written with another block size: start empty.
		if err := b.DeleteRange([]byte{entryPrefix}, []byte{entryPrefix + 1}, nil); err != nil {
			return err
		}
		if err := b.Set(configKey, encodeConfig(c.opts.BlockSize), nil); err != nil {
			return err
		}
	}
	var nodes []*node
	live := map[uint64]bool{}
	if !reset {
		it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: []byte{entryPrefix}, UpperBound: []byte{entryPrefix + 1}})
		if err != nil {
			return fmt.Errorf("read index: %w", err)
		}
		for it.First(); it.Valid(); it.Next() {
			id, kerr := decodeKey(it.Key())
			val, verr := it.ValueAndErr()
			var e entry
			if kerr == nil && verr == nil {
				e, verr = decodeEntry(val)
			}
			if kerr != nil || verr != nil || e.kind != id.kind {
				_ = b.Delete(slices.Clone(it.Key()), nil)
				continue
			}
			if e.kind == kindBlock && !c.fileOK(e) {
				c.tierLocked(id.tier).Missing++
				_ = b.Delete(slices.Clone(it.Key()), nil)
				continue
			}
			if e.kind == kindBlock {
				live[e.fileNum] = true
				c.nextNum = max(c.nextNum, e.fileNum+1)
			}
			c.tick = max(c.tick, e.access)
			nodes = append(nodes, &node{id: id, e: e})
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("read index: %w", err)
		}
	}
	// Oldest first, so the most recently used record ends at the front.
	slices.SortFunc(nodes, func(a, b *node) int {
		if a.e.access < b.e.access {
			return -1
		}
		if a.e.access > b.e.access {
			return 1
		}
		return 0
	})
	for _, n := range nodes {
		c.linkLocked(n)
	}
	maxSeen, err := c.removeOrphans(live)
	if err != nil {
		return err
	}
	c.nextNum = max(c.nextNum, maxSeen+1)
	var files []uint64
	for el := c.lru.Back(); el != nil && c.cost > c.budget; {
		n := el.Value.(*node)
		el = el.Prev()
		_ = b.Delete(encodeKey(n.id), nil)
		c.tierLocked(n.id.tier).Evictions++
		if fn := c.unlinkLocked(n); fn != 0 {
			files = append(files, fn)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	c.removeFiles(files)
	return nil
}
