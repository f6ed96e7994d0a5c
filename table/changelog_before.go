package table

import (
	"bytes"
	"context"
	"fmt"
	"iter"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
)

// beforeImages answers the before-images of a lookup changelog: each
// probe's merged record at base (deletes included, tombstones reported as
// LookupRecord reports them), for every key of the commit at once, the way
// GetMany reads keys. The lookup index x (with schema fingerprint fp; nil:
// none) answers when it is current at
// base or can be caught up to it (base was just resolved as the latest
// snapshot, so a compaction landing meanwhile does not keep the index
// behind); the keys it cannot answer are read from base's data files once
// per (partition, bucket): up to limit keys by GetMany's file path (files
// ruled out by key range and bloom filters, each row group read once), more
// by merging the bucket's files once. probes are in (partition, bucket,
// key) order, distinct; st sums how they were answered.
func (t *Table) beforeImages(ctx context.Context, x *lookupIndex, fp string, base *manifest.Snapshot, probes []keyProbe, limit int, st *GetManyStats) error {
	st.Keys += len(probes)
	st.Distinct += len(probes)
	if base == nil || len(probes) == 0 {
		for i := range probes {
			probes[i].done = true
		}
		return nil
	}
	defer func() {
		for i := range probes {
			probes[i].rec = t.canonicalKind(probes[i].rec, probes[i].exists)
		}
	}()
	if x != nil {
		cols := len(t.schema.Fields)
		n := x.getEach(base, fp, cols, probes)
		if n < len(probes) {
			x.ensure(ctx, t, base, fp, true)
			n += x.getEach(base, fp, cols, probes)
		}
		st.FromIndex += n
		x.stats.indexLookups.Add(int64(n))
		x.stats.fileLookups.Add(int64(len(probes) - n))
		if n == len(probes) {
			return nil
		}
	}
	files, err := t.meta.Files(ctx, base)
	if err != nil {
		return fmt.Errorf("table %s: snapshot %d: %w", t.name, base.ID, err)
	}
	groups, _ := filesByBucket(files)
	r := &keyRead{Scan: &Scan{t: t, snap: base}}
	for lo := 0; lo < len(probes); {
		hi := lo + 1
		for hi < len(probes) && probes[hi].partition == probes[lo].partition && probes[hi].bucket == probes[lo].bucket {
			hi++
		}
		g, ps := bucketKey{probes[lo].partition, probes[lo].bucket}, probes[lo:hi]
		left := 0
		for i := range ps {
			if !ps[i].done {
				left++
			}
		}
		switch {
		case left == 0:
		case left > limit:
			err = t.joinProbes(ctx, groups[g], ps)
		default:
			// The memo of the files read lives for one bucket.
			var opened []*memoFile
			err = t.readBucketProbes(ctx, r, groups[g], ps, &opened, st)
			for _, m := range opened {
				st.Reads += m.reads()
			}
		}
		if err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

// joinProbes answers the probes not yet done (sorted by key) by merging
// the bucket's files of the snapshot once.
func (t *Table) joinProbes(ctx context.Context, files []manifest.DataFile, probes []keyProbe) error {
	next, stop := iter.Pull2(t.readGroup(ctx, files, true))
	defer stop()
	var cur *lsm.Record
	advance := func() error {
		r, err, ok := next()
		if err != nil {
			return err
		}
		if !ok {
			cur = nil
			return nil
		}
		cur = &r
		return nil
	}
	if err := advance(); err != nil {
		return err
	}
	for i := range probes {
		p := &probes[i]
		if p.done {
			continue
		}
		for cur != nil && bytes.Compare(cur.Key, p.key) < 0 {
			if err := advance(); err != nil {
				return err
			}
		}
		if cur != nil && bytes.Equal(cur.Key, p.key) {
			p.rec, p.exists = *cur, true
		}
		p.done = true
	}
	return nil
}
