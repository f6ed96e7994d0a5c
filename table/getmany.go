package table

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// GetManyStats says how a GetMany was answered.
type GetManyStats struct {
	// Keys is the number of keys asked; Distinct the number of distinct
	// keys among them (each is looked up once).
	Keys, Distinct int
	// FromIndex counts distinct keys the local lookup index answered;
	// the others were read from the data files.
	FromIndex int
	// FilesOpened counts data files opened, RowGroups the row groups
	// searched in them (their key range admits a key), Pages the
	// distinct pages read from those row groups (data and dictionary
	// pages; see lsm.FileReader.LookupKeys), and Reads the object-store
	// reads of data files (a small file is one whole-object read; a footer
	// read by an earlier lookup is not read again).
	FilesOpened, RowGroups, Pages, Reads int
}

// keyProbe is one distinct key of a GetMany.
type keyProbe struct {
	partition string
	bucket    int
	key       []byte
	rec       lsm.Record
	exists    bool
	done      bool // rec/exists are the answer
}

// GetMany is Get for many keys at once (each a full primary key in key
// column order, as Get takes it): rows[i] and found[i] answer keys[i];
// duplicates are allowed and answered alike. Every key is answered at the
// same snapshot, with Get's rules: snapshotID > 0 reads that snapshot (the
// lookup index answers when it is current there, else the snapshot is
// leased while its files are read); 0 reads the latest snapshot, checked
// in the store first unless the table has a staleness bound (then the
// index may answer as of a snapshot that was the latest within it, as Get
// does). Keys the index cannot answer are read from the data files once
// per group: each (partition, bucket) is read once, files whose key range
// or bloom filters rule out every key are not opened, and each row group
// is read at most once however many keys it holds. A malformed key fails
// the whole call.
func (t *Table) GetMany(ctx context.Context, snapshotID int64, keys [][]types.Value) ([]types.Row, []bool, error) {
	rows, found, _, err := t.GetManyStats(ctx, snapshotID, keys)
	return rows, found, err
}

// GetManyStats is GetMany that also says how it was answered.
func (t *Table) GetManyStats(ctx context.Context, snapshotID int64, keys [][]types.Value) ([]types.Row, []bool, GetManyStats, error) {
	st := GetManyStats{Keys: len(keys)}
	if snapshotID < 0 {
		return nil, nil, st, fmt.Errorf("%w: table %s: snapshot id %d is negative (0 reads the latest)", types.ErrInvalid, t.name, snapshotID)
	}
	probes, index, err := t.keyProbes(keys)
	if err != nil {
		return nil, nil, st, err
	}
	st.Distinct = len(probes)
	if len(probes) > 0 {
		if err := t.answerProbes(ctx, snapshotID, probes, &st); err != nil {
			return nil, nil, st, err
		}
	}
	rows, found := make([]types.Row, len(keys)), make([]bool, len(keys))
	expired := t.expiredRow()
	for i, p := range index {
		r := &probes[p]
		if r.exists && r.rec.Kind.IsAdd() && (expired == nil || !expired(r.rec.Row)) {
			rows[i], found[i] = r.rec.Row, true
		}
	}
	return rows, found, st, nil
}

// keyProbes checks and encodes keys: the distinct probes in (partition,
// bucket, key) order, and for each key its probe's position.
func (t *Table) keyProbes(keys [][]types.Value) ([]keyProbe, []int, error) {
	type enc struct {
		p   keyProbe
		pos int
	}
	all := make([]enc, len(keys))
	for i, k := range keys {
		if len(k) != len(t.keyIdx) {
			return nil, nil, fmt.Errorf("%w: table %s: key %d has %d values, primary key has %d columns", types.ErrInvalid, t.name, i, len(k), len(t.keyIdx))
		}
		eq := make(map[int]types.Value, len(k))
		for j, idx := range t.keyIdx {
			v, err := types.Coerce(k[j], t.schema.Fields[idx].Type)
			if err != nil {
				return nil, nil, fmt.Errorf("table %s: key %d: key column %q: %w", t.name, i, t.schema.Fields[idx].Name, err)
			}
			eq[idx] = v
		}
		partition, bucket, key, ok := t.pointKey(eq)
		if !ok {
			return nil, nil, fmt.Errorf("%w: table %s: key %d: a key column is NULL or out of range", types.ErrInvalid, t.name, i)
		}
		all[i] = enc{keyProbe{partition: partition, bucket: bucket, key: key}, i}
	}
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return probeLess(&all[order[a]].p, &all[order[b]].p) })
	var probes []keyProbe
	index := make([]int, len(keys))
	for _, i := range order {
		p := &all[i].p
		if n := len(probes); n == 0 || probeLess(&probes[n-1], p) {
			probes = append(probes, *p)
		}
		index[i] = len(probes) - 1
	}
	return probes, index, nil
}

func probeLess(a, b *keyProbe) bool {
	if a.partition != b.partition {
		return a.partition < b.partition
	}
	if a.bucket != b.bucket {
		return a.bucket < b.bucket
	}
	return bytes.Compare(a.key, b.key) < 0
}

// answerProbes fills in every probe's record at one snapshot, following
// Get: the pinned or bounded index first, else the resolved snapshot.
func (t *Table) answerProbes(ctx context.Context, snapshotID int64, probes []keyProbe, st *GetManyStats) error {
	if x := t.lookupIndex(); x != nil {
		fp := t.lk.fingerprint(t.schema)
		cols := len(t.schema.Fields)
		if snapshotID > 0 {
			if snap := x.pinned(snapshotID, fp); snap != nil && x.getAll(snap, fp, cols, probes) {
				st.FromIndex = len(probes)
				x.stats.indexLookups.Add(int64(len(probes)))
				return nil
			}
		} else if bound := t.maxStaleness(); bound > 0 {
			served, age := x.getAllBounded(t.env.Now(), bound, fp, cols, probes)
			x.stats.noteBounded(served, age)
			x.useRefresher(t, bound, age > bound/2)
			if served {
				st.FromIndex = len(probes)
				x.stats.indexLookups.Add(int64(len(probes)))
				return nil
			}
		}
	}
	r, err := t.openRef(ctx, Ref{SnapshotID: snapshotID})
	if err != nil {
		return err
	}
	defer func() { _ = r.Close(context.WithoutCancel(ctx)) }()
	return r.records(ctx, probes, st)
}

// keyRead is a read of given keys at one resolved snapshot.
type keyRead struct {
	*Scan // the snapshot and its lease; no files planned
	// indexed: the lookup index may answer; latest: s.snap was resolved
	// as the latest snapshot at confirmAt (zero: no bound to confirm).
	indexed, latest bool
	confirmAt       time.Time
}

// openRef resolves the snapshot a read of ref uses, leased
// while it is read when pinned, as NewScan does, without planning files.
// At the latest snapshot with the lookup index, the index's snapshot
// saves reading the LATEST hint (as Get does) and a staleness bound is
// confirmed.
func (t *Table) openRef(ctx context.Context, ref Ref) (*keyRead, error) {
	x := t.lookupIndex()
	latest := ref.SnapshotID == 0 && ref.AsOfMillis == 0 && ref.Tag == ""
	if latest && x != nil {
		fp := t.lk.fingerprint(t.schema)
		var known *manifest.Snapshot
		if st := x.state(); st.snap != nil && st.fp == fp {
			known = st.snap
		}
		at := t.env.Now()
		snap, err := t.meta.LatestFrom(ctx, known)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		r := &keyRead{Scan: &Scan{t: t, snap: snap}, indexed: true, latest: true}
		if snap != nil && t.maxStaleness() > 0 {
			r.confirmAt = at
		}
		return r, nil
	}
	snap, err := t.ResolveRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	r := &keyRead{Scan: &Scan{t: t, snap: snap}, indexed: x != nil, latest: latest}
	if snap != nil && !latest {
		if r.lease, err = t.leaseSnapshot(ctx, snap, ref.Tag); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// records answers probes at s.snap: from the lookup index (caught up to
// the snapshot when it is not current there), then from the data files
// for the keys the index could not answer.
func (s *keyRead) records(ctx context.Context, probes []keyProbe, st *GetManyStats) error {
	t := s.t
	if s.snap == nil || len(probes) == 0 {
		for i := range probes {
			probes[i].done = true
		}
		return nil
	}
	if x := t.lookupIndex(); x != nil && s.indexed {
		fp := t.lk.fingerprint(t.schema)
		cols := len(t.schema.Fields)
		n := x.getEach(s.snap, fp, cols, probes)
		if n < len(probes) {
			x.ensure(ctx, t, s.snap, fp, s.latest)
			n += x.getEach(s.snap, fp, cols, probes)
		}
		st.FromIndex += n
		x.stats.indexLookups.Add(int64(n))
		x.stats.fileLookups.Add(int64(len(probes) - n))
		if n == len(probes) {
			s.confirm(x)
			return nil
		}
	}
	if err := t.readProbes(ctx, s, probes, st); err != nil {
		return err
	}
	if x := t.lookupIndex(); x != nil {
		s.confirm(x)
	}
	return nil
}

// confirm records, for a staleness bound, that the latest snapshot s read
// was the latest at the time it was resolved.
func (s *keyRead) confirm(x *lookupIndex) {
	if !s.confirmAt.IsZero() {
		x.confirm(s.snap, s.confirmAt)
	}
}
