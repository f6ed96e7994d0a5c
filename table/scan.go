package table

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"sort"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// ScanOptions choose the snapshot of a read and give pruning hints.
type ScanOptions struct {
	// SnapshotID > 0 reads that snapshot.
	SnapshotID int64
	// AsOfMillis != 0 reads the latest snapshot committed at or before it.
	AsOfMillis int64
	// Tag, when set, reads the snapshot the tag names (see ResolveRef).
	Tag string
	// Equals maps column positions to values every wanted row has. They
	// prune partitions, buckets and files; when they cover the primary key
	// the scan is a point lookup. Values must have the column's Go type.
	Equals map[int]types.Value
	// SnapshotSchema reads the rows with the schema the snapshot was
	// written with (see Scan.Schema) instead of the table's schema;
	// Equals then refers to positions in that schema. It needs
	// Env.Schemas; without it the table's schema is used.
	SnapshotSchema bool
	// Columns, when not nil, are the column positions the reader needs
	// (in the schema of the rows, as Equals); the scan decodes only
	// those (plus what the merge engine and record TTL read), and the
	// other columns of the rows it yields are NULL. Nil reads every
	// column.
	Columns []int
	// Ranges maps column positions to ranges every wanted row's value is
	// in: they prune partitions and files (scan_range.go).
	Ranges map[int]Range
}

// Scan is a planned read of one snapshot.
type Scan struct {
	t      *Table
	snap   *manifest.Snapshot
	groups []fileGroup
	point  []byte // encoded key for a point lookup, or nil
	stats  ScanStats
	lease  *manifest.Lease // held while reading an older snapshot (lease.go)
	read   lsm.ReadOptions // the column projection (scan_read.go)
	// columns is ScanOptions.Columns: Batches yields the others NULL.
	columns []int
	// indexed: a point lookup planned for the lookup index, latest: of the
	// latest snapshot (lookup.go).
	indexed, latest bool
}

// ScanStats says how much planning pruned.
type ScanStats struct {
	FilesTotal, FilesPlanned int
}

// fileGroup is the files of one (partition, bucket): one LSM tree.
type fileGroup struct {
	partition string
	bucket    int
	files     []manifest.DataFile
}

// NewScan plans a read.
func (t *Table) NewScan(ctx context.Context, o ScanOptions) (*Scan, error) {
	snap, err := t.ResolveRef(ctx, Ref{SnapshotID: o.SnapshotID, Tag: o.Tag, AsOfMillis: o.AsOfMillis})
	if err != nil {
		return nil, err
	}
	s := &Scan{t: t, snap: snap}
	if snap == nil {
		return s, nil
	}
	if o.SnapshotID > 0 || o.AsOfMillis != 0 || o.Tag != "" { // maybe not the latest: pin it (Close releases)
		if s.lease, err = t.leaseSnapshot(ctx, snap, o.Tag); err != nil {
			return nil, err
		}
	}
	if s.planIndexedPoint(o) {
		return s, nil
	}
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		_ = s.Close(ctx)
		return nil, fmt.Errorf("table %s: snapshot %d: %w", t.name, snap.ID, err)
	}
	s.stats.FilesTotal = len(files)
	if o.SnapshotSchema && t.env.Schemas != nil {
		if t, err = t.AtSchema(ctx, snapshotSchemaID(snap, files)); err != nil {
			_ = s.Close(ctx)
			return nil, err
		}
		s.t = t
	}
	s.read = t.readOptions(o.Columns)
	s.columns = o.Columns

	equals := map[int]types.Value{}
	for i, v := range o.Equals {
		if i >= 0 && i < len(t.schema.Fields) && v != nil && types.CheckValue(v, t.schema.Fields[i].Type) == nil {
			equals[i] = v
		}
	}
	probe := make(types.Row, len(t.schema.Fields))
	for i, v := range equals {
		probe[i] = v
	}
	wantBucket := -1
	if covers(equals, t.bucketIdx) {
		if b, err := t.bucketOf(probe); err == nil {
			wantBucket = b
		}
	}
	if covers(equals, t.keyIdx) {
		if k, err := types.EncodeRowKey(nil, probe, t.keyIdx); err == nil {
			s.point = k
		}
	}

	ranges := t.validRanges(o, equals)
	byGroup := map[bucketKey]*fileGroup{}
	for _, f := range files {
		if !t.partitionInRanges(f.Partition, ranges) || !t.fileInKeyRange(&f, ranges) {
			continue
		}
		if wantBucket >= 0 && f.Bucket != wantBucket {
			continue
		}
		if !t.partitionMatches(f.Partition, equals) {
			continue
		}
		if s.point != nil && (bytes.Compare(s.point, f.MinKey) < 0 || bytes.Compare(s.point, f.MaxKey) > 0) {
			continue
		}
		k := bucketKey{f.Partition, f.Bucket}
		g := byGroup[k]
		if g == nil {
			g = &fileGroup{partition: f.Partition, bucket: f.Bucket}
			byGroup[k] = g
		}
		g.files = append(g.files, f)
		s.stats.FilesPlanned++
	}
	for _, g := range byGroup {
		s.groups = append(s.groups, *g)
	}
	sort.Slice(s.groups, func(i, j int) bool {
		if s.groups[i].partition != s.groups[j].partition {
			return s.groups[i].partition < s.groups[j].partition
		}
		return s.groups[i].bucket < s.groups[j].bucket
	})
	return s, nil
}

func covers(equals map[int]types.Value, idx []int) bool {
	if len(idx) == 0 {
		return false
	}
	for _, i := range idx {
		if _, ok := equals[i]; !ok {
			return false
		}
	}
	return true
}

// Snapshot is the snapshot being read; nil for an empty table.
func (s *Scan) Snapshot() *manifest.Snapshot { return s.snap }

// SnapshotID is the id of the snapshot being read, 0 for an empty table.
func (s *Scan) SnapshotID() int64 {
	if s.snap == nil {
		return 0
	}
	return s.snap.ID
}

// Schema is the schema of the rows the scan yields: the table's, or with
// ScanOptions.SnapshotSchema the one the snapshot was written with.
func (s *Scan) Schema() *types.Schema { return s.t.schema }

// Stats reports planning results.
func (s *Scan) Stats() ScanStats { return s.stats }

// Rows yields the merged live rows, bucket by bucket, each bucket in key
// order.
func (s *Scan) Rows(ctx context.Context) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		expired := s.t.expiredRow() // record TTL: hidden at read time (ttl.go)
		// A full scan reads its buckets with the next one prefetched
		// (scan_read.go); a point lookup probes each candidate bucket.
		if s.point == nil {
			n := 0
			for row, err := range s.fullRows(ctx, expired) {
				if n%1024 == 0 {
					s.keepAlive(ctx) // renew the lease of a long read (lease.go)
				}
				n++
				if err != nil || !yield(row, nil) {
					if err != nil {
						yield(nil, err)
					}
					return
				}
			}
			return
		}
		for _, g := range s.groups {
			if s.point != nil {
				s.keepAlive(ctx)
				rec, ok, err := s.lookup(ctx, g)
				if err != nil {
					yield(nil, err)
					return
				}
				if ok && (expired == nil || !expired(rec.Row)) && !yield(rec.Row, nil) {
					return
				}
				continue
			}
			for rec, err := range s.t.readGroup(ctx, g.files, false) {
				if err != nil {
					yield(nil, err)
					return
				}
				if expired != nil && expired(rec.Row) {
					continue
				}
				if !yield(rec.Row, nil) {
					return
				}
			}
		}
	}
}

func (s *Scan) lookup(ctx context.Context, g fileGroup) (lsm.Record, bool, error) {
	if s.indexed {
		rec, ok, err := s.t.lookupRecord(ctx, s.snap, s.latest, g.partition, g.bucket, s.point)
		return rec, ok && rec.Kind.IsAdd(), err
	}
	srcs := make([]lsm.FileSource, len(g.files))
	for i, f := range g.files {
		srcs[i] = lsm.FileSource{Meta: f, Open: func(ctx context.Context) (*lsm.FileReader, error) { return s.t.openLookupFile(ctx, f) }}
	}
	rec, ok, _, err := lsm.Lookup(ctx, srcs, s.point, s.t.merger)
	if err != nil {
		return lsm.Record{}, false, fmt.Errorf("table %s: lookup: %w", s.t.name, err)
	}
	return rec, ok, nil
}

// ReadBucket merges the given files of one (partition, bucket) into its
// live records in key order, read with the table's current schema and merge
// engine: the read path of a scan, for callers that plan their own files
// (e.g. the changelog export diffing two snapshots bucket by bucket).
func (t *Table) ReadBucket(ctx context.Context, files []manifest.DataFile) iter.Seq2[lsm.Record, error] {
	return t.readGroup(ctx, files, false)
}

// readGroup merges the files of one LSM tree.
func (t *Table) readGroup(ctx context.Context, files []manifest.DataFile, keepDeletes bool) iter.Seq2[lsm.Record, error] {
	return t.readGroups(ctx, [][]manifest.DataFile{files}, keepDeletes, lsm.ReadOptions{})
}

// Get returns the live row with the given primary-key values (in key column
// order) at a snapshot (0 = latest). At the latest snapshot it checks the
// store for a newer snapshot first, unless the table has a staleness bound
// (option lookup.max-staleness, or WithMaxStaleness): then it may answer
// from the local lookup index as of a snapshot that was the latest within
// the bound, with no store request.
func (t *Table) Get(ctx context.Context, snapshotID int64, key ...types.Value) (types.Row, bool, error) {
	if len(key) != len(t.keyIdx) {
		return nil, false, fmt.Errorf("%w: table %s: key has %d values, primary key has %d columns", types.ErrInvalid, t.name, len(key), len(t.keyIdx))
	}
	eq := map[int]types.Value{}
	for i, idx := range t.keyIdx {
		v, err := types.Coerce(key[i], t.schema.Fields[idx].Type)
		if err != nil {
			return nil, false, fmt.Errorf("table %s: key column %q: %w", t.name, t.schema.Fields[idx].Name, err)
		}
		eq[idx] = v
	}
	if row, found, ok, err := t.getIndexed(ctx, snapshotID, eq); ok {
		return row, found, err
	}
	s, err := t.NewScan(ctx, ScanOptions{SnapshotID: snapshotID, Equals: eq})
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = s.Close(context.WithoutCancel(ctx)) }()
	for row, err := range s.Rows(ctx) {
		if err != nil {
			return nil, false, err
		}
		return row, true, nil
	}
	return nil, false, nil
}
