package table

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Maintenance of the lookup index. To move from S to a later S', read
// snapshots S+1..S' in order:
//
//	APPEND     merge the records of the files it added (its delta manifest,
//	           or a diff of the live files when the manifests were merged)
//	           into the indexed records with the merge engine;
//	COMPACT    content unchanged: just advance (with a record TTL, the
//	           buckets the compaction rewrote are reloaded, since it may
//	           have expired rows);
//	OVERWRITE  reload the buckets it added or removed files in, from the
//	           live files of S' (partition expiry: clear them);
//	otherwise  (REPLACE, an expired snapshot, a broken chain) rebuild from
//	           the live files of S'.
//
// Each snapshot's changes and the new meta land in one Pebble batch, so the
// index is always at some snapshot; a change too large for one batch
// clears the meta first and is unusable until its last batch lands.

// indexBatchBytes bounds one Pebble batch of a catch-up or rebuild.
const indexBatchBytes = 8 << 20

// ensure tries to make the index current at snap (with t's schema,
// fingerprint fp): it catches up when the index is behind snap and snap is
// the latest snapshot (latest says the caller just resolved it as such;
// otherwise it is checked), and rebuilds when the index is empty, in
// another schema, or cannot follow. It never moves the index backwards,
// and returns at once when another goroutine is catching up. Failures are
// counted and leave lookups to the data files.
func (x *lookupIndex) ensure(ctx context.Context, t *Table, snap *manifest.Snapshot, fp string, latest bool) {
	st := x.state()
	if st.currentAt(snap, fp) || !st.mayMoveTo(snap, fp, t.schema.ID) {
		return
	}
	if latest {
		x.sawSnapshot(snap.ID)
	} else {
		// Snapshot ids only grow: once a newer one was seen, snap is never
		// the latest again (spares a Latest per lookup of an old snapshot).
		if snap.ID < x.newest.Load() {
			return
		}
		l, err := t.meta.Latest(ctx)
		if err != nil || l == nil {
			return
		}
		x.sawSnapshot(l.ID)
		if l.ID != snap.ID {
			return
		}
	}
	select {
	case x.sem <- struct{}{}:
	default:
		return
	}
	defer func() { <-x.sem }()
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	if x.db == nil {
		if err := x.reopen(true); err != nil {
			x.mu.Unlock()
			x.stats.failures.Add(1)
			return
		}
	}
	st = x.st
	x.mu.Unlock()
	if st.currentAt(snap, fp) || !st.mayMoveTo(snap, fp, t.schema.ID) {
		return
	}
	var err error
	if st.snap == nil || st.fp != fp || st.snap.ID >= snap.ID {
		err = x.rebuild(ctx, t, snap, fp)
	} else {
		err = x.catchUp(ctx, t, st, snap, fp)
	}
	if err != nil {
		x.fail(err)
	}
}

// sawSnapshot records that snapshot id exists.
func (x *lookupIndex) sawSnapshot(id int64) {
	for {
		cur := x.newest.Load()
		if id <= cur || x.newest.CompareAndSwap(cur, id) {
			return
		}
	}
}

// mayMoveTo reports whether the index may be moved to snap for a table
// with schema fp (id schemaID): forward only, and a table view on an older
// schema never takes the index from a newer one.
func (st *indexState) mayMoveTo(snap *manifest.Snapshot, fp string, schemaID int64) bool {
	switch {
	case st.snap == nil:
		return true
	case st.fp != fp:
		return schemaID >= st.schemaID
	}
	return st.snap.ID < snap.ID || (st.snap.ID == snap.ID && st.snap.ManifestList != snap.ManifestList)
}

// catchUp applies the snapshots after st.snap up to target.
func (x *lookupIndex) catchUp(ctx context.Context, t *Table, st indexState, target *manifest.Snapshot, fp string) error {
	x.stats.catchUps.Add(1)
	// The index's snapshot must still be the table's (a table dropped and
	// created again under the same root starts over at id 1).
	if s, err := t.meta.Snapshot(ctx, st.snap.ID); errors.Is(err, types.ErrNotFound) || (err == nil && s.ManifestList != st.snap.ManifestList) {
		return x.rebuild(ctx, t, target, fp)
	} else if err != nil {
		return fmt.Errorf("lookup index: snapshot %d: %w", st.snap.ID, err)
	}
	cur := st
	for cur.snap.ID < target.ID {
		s := target
		if id := cur.snap.ID + 1; id != target.ID {
			var err error
			if s, err = t.meta.Snapshot(ctx, id); err != nil {
				if errors.Is(err, types.ErrNotFound) { // expired: cannot follow
					return x.rebuild(ctx, t, target, fp)
				}
				return fmt.Errorf("lookup index: catch up to snapshot %d: %w", id, err)
			}
		}
		if s.ParentID != cur.snap.ID {
			return x.rebuild(ctx, t, target, fp)
		}
		next, ok, err := x.step(ctx, t, cur, s, fp)
		if err != nil {
			return err
		}
		if !ok {
			return x.rebuild(ctx, t, target, fp)
		}
		x.stats.snapshots.Add(1)
		cur = next
	}
	return nil
}

// step applies snapshot s on top of cur (s's parent). ok is false when s
// cannot be applied incrementally.
func (x *lookupIndex) step(ctx context.Context, t *Table, cur indexState, s *manifest.Snapshot, fp string) (indexState, bool, error) {
	switch s.CommitKind {
	case manifest.CommitAppend:
		added, removed, metas, err := x.delta(ctx, t, cur, s)
		if err != nil || len(removed) > 0 {
			return indexState{}, false, err
		}
		st, err := x.apply(ctx, t, s, fp, metas, added, nil)
		return st, err == nil, err
	case manifest.CommitCompact:
		if t.opts.Compaction.ExpireTime == 0 {
			st, err := x.apply(ctx, t, s, fp, nil, nil, nil)
			return st, err == nil, err
		}
		// A record TTL lets a compaction drop expired rows: reload the
		// buckets it rewrote.
		return x.reloadTouched(ctx, t, cur, s, fp)
	case manifest.CommitOverwrite:
		// E.g. partition expiry: reload the buckets it changed (a bucket
		// left without files is just cleared).
		return x.reloadTouched(ctx, t, cur, s, fp)
	}
	return indexState{}, false, nil
}

// reloadTouched applies s by reloading, from s's live files, every bucket
// in which s added or removed a file.
func (x *lookupIndex) reloadTouched(ctx context.Context, t *Table, cur indexState, s *manifest.Snapshot, fp string) (indexState, bool, error) {
	added, removed, metas, err := x.delta(ctx, t, cur, s)
	if err != nil {
		return indexState{}, false, err
	}
	touched := map[bucketKey]bool{}
	for _, f := range append(added, removed...) {
		touched[bucketKey{f.Partition, f.Bucket}] = true
	}
	reload := map[bucketKey][]manifest.DataFile{}
	if len(touched) > 0 {
		files, err := t.meta.Files(ctx, s)
		if err != nil {
			return indexState{}, false, fmt.Errorf("lookup index: snapshot %d: %w", s.ID, err)
		}
		for k := range touched {
			reload[k] = nil
		}
		for _, f := range files {
			if k := (bucketKey{f.Partition, f.Bucket}); touched[k] {
				reload[k] = append(reload[k], f)
			}
		}
	}
	st, err := x.apply(ctx, t, s, fp, metas, nil, reload)
	return st, err == nil, err
}

// delta returns the data files snapshot s added and removed relative to
// its parent cur.snap (files that only changed level or tier are in
// neither), and s's manifest list. When s's list extends its parent's
// (the common case) only the new manifests are read; when the manifests
// were merged, the live files of both snapshots are compared.
func (x *lookupIndex) delta(ctx context.Context, t *Table, cur indexState, s *manifest.Snapshot) (added, removed []manifest.DataFile, metas []manifest.ManifestMeta, err error) {
	prev := cur.metas
	if prev == nil {
		if prev, err = t.meta.ReadManifestList(ctx, cur.snap.ManifestList); err != nil {
			return nil, nil, nil, fmt.Errorf("lookup index: snapshot %d: %w", cur.snap.ID, err)
		}
	}
	if metas, err = t.meta.ReadManifestList(ctx, s.ManifestList); err != nil {
		return nil, nil, nil, fmt.Errorf("lookup index: snapshot %d: %w", s.ID, err)
	}
	adds, dels := map[string]manifest.DataFile{}, map[string]manifest.DataFile{}
	if extends(metas, prev) {
		for _, m := range metas[len(prev):] {
			entries, err := t.meta.ReadManifest(ctx, m.Path)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("lookup index: snapshot %d: %w", s.ID, err)
			}
			for _, e := range entries {
				if e.Kind == manifest.Add {
					adds[e.File.Path] = e.File
				} else {
					dels[e.File.Path] = e.File
				}
			}
		}
	} else {
		before, err := t.meta.Files(ctx, cur.snap)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("lookup index: snapshot %d: %w", cur.snap.ID, err)
		}
		after, err := t.meta.Files(ctx, s)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("lookup index: snapshot %d: %w", s.ID, err)
		}
		for _, f := range after {
			adds[f.Path] = f
		}
		for _, f := range before {
			if _, ok := adds[f.Path]; ok {
				delete(adds, f.Path)
			} else {
				dels[f.Path] = f
			}
		}
	}
	for p := range adds {
		if _, ok := dels[p]; ok { // an upgrade or tier move: same content
			delete(adds, p)
			delete(dels, p)
		}
	}
	return sortedByPath(adds), sortedByPath(dels), metas, nil
}

// extends reports whether list starts with prefix (by manifest path).
func extends(list, prefix []manifest.ManifestMeta) bool {
	if len(list) < len(prefix) {
		return false
	}
	for i := range prefix {
		if list[i].Path != prefix[i].Path {
			return false
		}
	}
	return true
}

func sortedByPath(m map[string]manifest.DataFile) []manifest.DataFile {
	out := make([]manifest.DataFile, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// groupFiles groups data files by (partition, bucket), in a fixed order.
func groupFiles(files []manifest.DataFile) ([]bucketKey, map[bucketKey][]manifest.DataFile) {
	groups := map[bucketKey][]manifest.DataFile{}
	for _, f := range files {
		k := bucketKey{f.Partition, f.Bucket}
		groups[k] = append(groups[k], f)
	}
	return sortedBuckets(groups), groups
}

func sortedBuckets(groups map[bucketKey][]manifest.DataFile) []bucketKey {
	keys := make([]bucketKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].partition != keys[j].partition {
			return keys[i].partition < keys[j].partition
		}
		return keys[i].bucket < keys[j].bucket
	})
	return keys
}

// apply writes snapshot s's changes and meta: reload replaces the records
// of whole buckets with their files' merged records; added files' records
// are merged into the indexed ones.
func (x *lookupIndex) apply(ctx context.Context, t *Table, s *manifest.Snapshot, fp string, metas []manifest.ManifestMeta, added []manifest.DataFile, reload map[bucketKey][]manifest.DataFile) (indexState, error) {
	w, err := x.newWriter()
	if err != nil {
		return indexState{}, err
	}
	defer w.close()
	var kb []byte
	for _, k := range sortedBuckets(reload) {
		p := bucketPrefix(nil, k.partition, k.bucket)
		if err := w.b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			return indexState{}, indexErr(err)
		}
		if err := x.load(ctx, t, w, k, reload[k]); err != nil {
			return indexState{}, err
		}
	}
	order, groups := groupFiles(added)
	cols := len(t.schema.Fields)
	for _, k := range order {
		x.stats.files.Add(int64(len(groups[k])))
		for rec, err := range t.readGroup(ctx, groups[k], true) {
			if err != nil {
				return indexState{}, err
			}
			kb = recordKey(kb[:0], k.partition, k.bucket, rec.Key)
			old, ok, err := x.read(w, kb, rec.Key, cols)
			if err != nil {
				return indexState{}, err
			}
			if ok {
				rec = mergeRecords(t.merger, old, rec)
			}
			if err := w.set(kb, &rec); err != nil {
				return indexState{}, err
			}
			x.stats.records.Add(1)
		}
	}
	st := indexState{snap: s, fp: fp, schemaID: t.schema.ID, metas: metas}
	return st, w.finish(st)
}

// mergeRecords merges a key's indexed record with the merged record of
// newer files: the merge engine is associative over contiguous sequence
// ranges, so this equals merging every record of the key at once.
func mergeRecords(m lsm.Merger, old, delta lsm.Record) lsm.Record {
	r := m.Merge([]lsm.Record{old, delta})
	r.Merged = true
	if r.Key == nil {
		r.Key = delta.Key
	}
	return r
}

// rebuild replaces the whole content with the live files of snap.
func (x *lookupIndex) rebuild(ctx context.Context, t *Table, snap *manifest.Snapshot, fp string) error {
	x.stats.rebuilds.Add(1)
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	err := x.reopen(true)
	x.mu.Unlock()
	if err != nil {
		return err
	}
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		return fmt.Errorf("lookup index: rebuild at snapshot %d: %w", snap.ID, err)
	}
	w, err := x.newWriter()
	if err != nil {
		return err
	}
	defer w.close()
	order, groups := groupFiles(files)
	for _, k := range order {
		if err := x.load(ctx, t, w, k, groups[k]); err != nil {
			return err
		}
	}
	return w.finish(indexState{snap: snap, fp: fp, schemaID: t.schema.ID})
}

// load writes the merged records (deletes included) of one bucket's files.
func (x *lookupIndex) load(ctx context.Context, t *Table, w *indexWriter, k bucketKey, files []manifest.DataFile) error {
	x.stats.files.Add(int64(len(files)))
	var kb []byte
	for rec, err := range t.readGroup(ctx, files, true) {
		if err != nil {
			return err
		}
		kb = recordKey(kb[:0], k.partition, k.bucket, rec.Key)
		if err := w.set(kb, &rec); err != nil {
			return err
		}
		x.stats.records.Add(1)
	}
	return nil
}

// read returns the committed record of a Pebble key through w's database.
func (x *lookupIndex) read(w *indexWriter, k, key []byte, cols int) (lsm.Record, bool, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.db != w.db {
		return lsm.Record{}, false, indexErr(errors.New("closed during a catch-up"))
	}
	v, closer, err := x.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return lsm.Record{}, false, nil
	}
	if err != nil {
		return lsm.Record{}, false, indexErr(err)
	}
	defer closer.Close()
	r, err := decodeRecord(key, v, cols)
	return r, err == nil, indexErr(err)
}

// indexWriter batches the writes of one catch-up step or rebuild.
type indexWriter struct {
	x      *lookupIndex
	db     *pebble.DB
	b      *pebble.Batch
	val    []byte
	staged bool // a partial batch was committed (the state is invalid)
}

func (x *lookupIndex) newWriter() (*indexWriter, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.db == nil || x.closed {
		return nil, indexErr(errors.New("not open"))
	}
	return &indexWriter{x: x, db: x.db, b: x.db.NewBatch()}, nil
}

func (w *indexWriter) close() {
	if w.b != nil {
		w.b.Close()
		w.b = nil
	}
}

func (w *indexWriter) set(k []byte, r *lsm.Record) error {
	var err error
	if w.val, err = encodeRecord(w.val[:0], r); err != nil {
		return err
	}
	if err := w.b.Set(k, w.val, nil); err != nil {
		return indexErr(err)
	}
	if w.b.Len() < indexBatchBytes {
		return nil
	}
	// Too large for one batch: clear the meta and commit what we have.
	if !w.staged {
		w.x.invalidate()
		if err := w.b.Delete(metaKey, nil); err != nil {
			return indexErr(err)
		}
		w.staged = true
	}
	w.x.mu.RLock()
	defer w.x.mu.RUnlock()
	if w.x.db != w.db {
		return indexErr(errors.New("closed during a catch-up"))
	}
	if err := w.b.Commit(pebble.NoSync); err != nil {
		return indexErr(err)
	}
	w.b.Close()
	w.b = w.db.NewBatch()
	return nil
}

// finish commits the last batch with the meta of st and makes st the
// index's state, atomically for readers. The writes are not synced: after
// a crash Pebble recovers a prefix of the batches, each consistent with
// its meta, and the index is only a cache.
func (w *indexWriter) finish(st indexState) error {
	meta, err := encodeMeta(st.fp, st.schemaID, st.snap)
	if err != nil {
		return err
	}
	if err := w.b.Set(metaKey, meta, nil); err != nil {
		return indexErr(err)
	}
	x := w.x
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.db != w.db || x.closed {
		return indexErr(errors.New("closed during a catch-up"))
	}
	if err := w.b.Commit(pebble.NoSync); err != nil {
		return indexErr(err)
	}
	x.st = st
	return nil
}
