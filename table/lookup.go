package table

import (
	"context"
	"fmt"
	"sync"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// LookupRecord returns the merged record of one encoded primary key in one
// (partition, bucket) at snapshot snap, deletes included: rec.Kind may be a
// retraction (-U/-D) when the key's last change deleted it. exists is
// false when the bucket holds no record of the key at all (or snap is nil).
// It is the building block of point lookups and of changelog
// before-images; the local lookup index (when present and current)
// answers it without reading data files.
//
// The index keeps every tombstone, while a compaction may drop one whose
// key nothing older outlives (see docs/adr/0008): for such a key one path
// may report a tombstone where the other reports exists=false, and
// rec.Reset may differ. Both mean "no row", and merging either with later
// records gives the same result; live records (+I/+U) are identical. A
// tombstone the merge engine may drop is reported as a -D on both paths:
// its kind otherwise depends on whether a compaction dropped an older
// tombstone (partial-update merges -D,-U into -D but a lone -U into -U).
func (t *Table) LookupRecord(ctx context.Context, snap *manifest.Snapshot, partition string, bucket int, key []byte) (rec lsm.Record, exists bool, err error) {
	return t.lookupRecord(ctx, snap, false, partition, bucket, key)
}

// lookupRecord is LookupRecord; latest says the caller resolved snap as
// the latest snapshot (so the index may catch up to it without checking).
func (t *Table) lookupRecord(ctx context.Context, snap *manifest.Snapshot, latest bool, partition string, bucket int, key []byte) (lsm.Record, bool, error) {
	rec, exists, err := t.lookupRecordAnyKind(ctx, snap, latest, partition, bucket, key)
	return t.canonicalKind(rec, exists), exists, err
}

// canonicalKind reports a tombstone the merge engine may drop as a -D
// (see LookupRecord).
func (t *Table) canonicalKind(rec lsm.Record, exists bool) lsm.Record {
	if exists && !rec.Kind.IsAdd() && rec.Kind != types.Delete {
		if d, ok := t.merger.(interface{ CanDrop(*lsm.Record) bool }); ok && d.CanDrop(&rec) {
			rec.Kind = types.Delete
		}
	}
	return rec
}

// lookupRecordAnyKind is lookupRecord without the canonical tombstone kind.
func (t *Table) lookupRecordAnyKind(ctx context.Context, snap *manifest.Snapshot, latest bool, partition string, bucket int, key []byte) (lsm.Record, bool, error) {
	if snap == nil {
		return lsm.Record{}, false, nil
	}
	if x := t.lookupIndex(); x != nil {
		fp := t.lk.fingerprint(t.schema)
		cols := len(t.schema.Fields)
		rec, exists, served := x.get(snap, fp, cols, partition, bucket, key)
		if !served {
			x.ensure(ctx, t, snap, fp, latest)
			rec, exists, served = x.get(snap, fp, cols, partition, bucket, key)
		}
		if served {
			x.stats.indexLookups.Add(1)
			return rec, exists, nil
		}
		x.stats.fileLookups.Add(1)
	}
	return t.lookupFiles(ctx, snap, partition, bucket, key)
}

// lookupFiles is LookupRecord reading the snapshot's manifests and data
// files.
func (t *Table) lookupFiles(ctx context.Context, snap *manifest.Snapshot, partition string, bucket int, key []byte) (lsm.Record, bool, error) {
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		return lsm.Record{}, false, fmt.Errorf("table %s: snapshot %d: %w", t.name, snap.ID, err)
	}
	var srcs []lsm.FileSource
	for _, f := range files {
		if f.Partition != partition || f.Bucket != bucket {
			continue
		}
		srcs = append(srcs, lsm.FileSource{Meta: f, Open: func(ctx context.Context) (*lsm.FileReader, error) { return t.openLookupFile(ctx, f) }})
	}
	rec, _, _, err := lsm.Lookup(ctx, srcs, key, t.merger)
	if err != nil {
		return lsm.Record{}, false, fmt.Errorf("table %s: lookup: %w", t.name, err)
	}
	return rec, rec.Key != nil, nil
}

// tableLookup is a table's handle on its lookup indexes, shared by the
// views AtSchema and Branch return: each view finds the index of its own
// branch and checks that it is in its own schema.
type tableLookup struct {
	localDir, storeID, root string

	mu   sync.Mutex
	dirs map[string]string        // branch → index directory
	fps  map[*types.Schema]string // schema → fingerprint
}

func (l *tableLookup) fingerprint(s *types.Schema) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	fp, ok := l.fps[s]
	if !ok {
		if len(l.fps) >= 64 { // views made by AtSchema come and go
			clear(l.fps)
		}
		fp = schemaFingerprint(s)
		l.fps[s] = fp
	}
	return fp
}

func (l *tableLookup) dir(branch string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.dirs[branch]
	if !ok {
		d = lookupIndexDir(l.localDir, l.storeID, l.root, branch)
		l.dirs[branch] = d
	}
	return d
}

// lookupIndex returns the lookup index of the table's branch, or nil when
// the index is disabled (Env.LocalDir or Env.Indexes unset) or unavailable
// (locked by another process, registry closed).
func (t *Table) lookupIndex() *lookupIndex {
	if t.lk == nil || t.env.Indexes == nil {
		return nil
	}
	return t.env.Indexes.get(t.lk.dir(t.meta.BranchName()))
}

// newTableLookup prepares the lookup handle of a table opened with env;
// nil when the index is disabled. The store's identity is env.StoreID,
// else its String(), else (no stable identity) the store value itself: a
// directory per process.
func newTableLookup(env Env, store any, root string) *tableLookup {
	if env.LocalDir == "" || env.Indexes == nil {
		return nil
	}
	id := env.StoreID
	if id == "" {
		if s, ok := store.(fmt.Stringer); ok {
			id = s.String()
		} else {
			id = fmt.Sprintf("%T@%p", store, store)
		}
	}
	return &tableLookup{localDir: env.LocalDir, storeID: id, root: root,
		dirs: map[string]string{}, fps: map[*types.Schema]string{}}
}

// LookupIndexStats returns the counters of the table's lookup index (zero
// when it is disabled). The index is shared by every Table of the same
// table and branch in the process, and so are its counters.
func (t *Table) LookupIndexStats() LookupIndexStats {
	if x := t.lookupIndex(); x != nil {
		return x.stats.snapshot()
	}
	return LookupIndexStats{}
}

// pointKey returns the (partition, bucket) and key encoding of the
// primary key in equals (column position → value of the column's Go
// type); ok is false when equals does not cover the key.
func (t *Table) pointKey(equals map[int]types.Value) (partition string, bucket int, key []byte, ok bool) {
	probe := make(types.Row, len(t.schema.Fields))
	for _, i := range t.keyIdx {
		v := equals[i]
		if v == nil || types.CheckValue(v, t.schema.Fields[i].Type) != nil {
			return "", 0, nil, false
		}
		probe[i] = v
	}
	key, err := types.EncodeRowKey(nil, probe, t.keyIdx)
	if err != nil {
		return "", 0, nil, false
	}
	if bucket, err = t.bucketOf(probe); err != nil {
		return "", 0, nil, false
	}
	return t.partitionPath(probe), bucket, key, true
}

// getIndexed is Get through the lookup index: ok is false when the caller
// must plan a scan (index disabled, no point lookup, or a pinned read the
// index cannot answer at once: the scan holds a lease on the snapshot
// while it reads files). A read pinned to the snapshot the index is
// current at needs no store request; a read of the latest snapshot
// resolves it first and falls back to the files itself.
func (t *Table) getIndexed(ctx context.Context, snapshotID int64, equals map[int]types.Value) (row types.Row, found, ok bool, err error) {
	x := t.lookupIndex()
	if x == nil {
		return nil, false, false, nil
	}
	partition, bucket, key, ok := t.pointKey(equals)
	if !ok {
		return nil, false, false, nil
	}
	var rec lsm.Record
	var exists bool
	if snapshotID > 0 {
		fp := t.lk.fingerprint(t.schema)
		snap := x.pinned(snapshotID, fp)
		if snap == nil {
			return nil, false, false, nil
		}
		if rec, exists, ok = x.get(snap, fp, len(t.schema.Fields), partition, bucket, key); !ok {
			return nil, false, false, nil
		}
		x.stats.indexLookups.Add(1)
	} else if rec, exists, err = t.getLatest(ctx, x, partition, bucket, key); err != nil {
		return nil, false, true, err
	}
	if !exists || !rec.Kind.IsAdd() {
		return nil, false, true, nil
	}
	if expired := t.expiredRow(); expired != nil && expired(rec.Row) {
		return nil, false, true, nil
	}
	return rec.Row, true, true, nil
}

// getLatest is getIndexed at the latest snapshot: within the table's
// max-staleness from the index's confirmed snapshot (lookup_fresh.go),
// else strictly: it resolves the latest snapshot in the store first.
func (t *Table) getLatest(ctx context.Context, x *lookupIndex, partition string, bucket int, key []byte) (lsm.Record, bool, error) {
	fp := t.lk.fingerprint(t.schema)
	bound := t.maxStaleness()
	if bound > 0 {
		rec, exists, served, age := x.getBounded(t.env.Now(), bound, fp, len(t.schema.Fields), partition, bucket, key)
		x.stats.noteBounded(served, age)
		x.useRefresher(t, bound, age > bound/2)
		if served {
			x.stats.indexLookups.Add(1)
			return t.canonicalKind(rec, exists), exists, nil
		}
	}
	// The index's snapshot, if in this schema, saves reading the LATEST
	// hint and the snapshot: one Stat when nothing is newer.
	var known *manifest.Snapshot
	if st := x.state(); st.snap != nil && st.fp == fp {
		known = st.snap
	}
	at := t.env.Now()
	snap, err := t.meta.LatestFrom(ctx, known)
	if err != nil {
		return lsm.Record{}, false, fmt.Errorf("table %s: %w", t.name, err)
	}
	rec, exists, err := t.lookupRecord(ctx, snap, true, partition, bucket, key)
	if err == nil && bound > 0 {
		x.confirm(snap, at)
	}
	return rec, exists, err
}

// planIndexedPoint plans a point lookup of s for the lookup index: no
// manifests are read; Scan.lookup calls lookupRecord, which reads the
// files itself when the index cannot answer. It reports false (plan
// normally) when the index is disabled, the scan reads another schema, or
// o.Equals does not cover the primary key.
func (s *Scan) planIndexedPoint(o ScanOptions) bool {
	t := s.t
	if t.lookupIndex() == nil || (o.SnapshotSchema && t.env.Schemas != nil) {
		return false
	}
	partition, bucket, key, ok := t.pointKey(o.Equals)
	if !ok {
		return false
	}
	s.point, s.indexed = key, true
	s.latest = o.SnapshotID == 0 && o.AsOfMillis == 0 && o.Tag == ""
	s.groups = []fileGroup{{partition: partition, bucket: bucket}}
	return true
}
