package table

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// The changelog producer (option changelog-producer) writes changelog
// files with each APPEND commit: Parquet files in the data-file format
// (_key, _seq, _kind and the columns), named changelog-<uuid>.parquet in
// the bucket's folder, listed by the snapshot's changelog manifest list
// (manifest.Commit.Changelog) and never read as data. Table.Changes yields
// their rows instead of diffing snapshots.
//
//	input   the rows as written, with their kinds, written when the write
//	        buffer of their bucket is flushed.
//	lookup  the complete changelog of the commit, computed at commit time:
//	        for each key the commit wrote, before = the key's merged record
//	        in the parent snapshot (as LookupRecord reads it, for all keys
//	        at once: changelog_before.go) and after = the merge
//	        engine applied to before and the commit's records of the key.
//	        No live before and a live after gives +I; both live and
//	        different -U(before) +U(after); a live before only -D(before);
//	        no change nothing. So a deduplicate table fed only +I rows
//	        still gets -U/+U pairs with the before-image.
//
// Before-images are only valid for the snapshot they were read from. The
// commit therefore carries a Check that fails with a staleBeforeError
// (wrapping types.ErrConflict) when the attempt's parent is not that
// snapshot, unless every commit in between is a COMPACT (which does not
// change content) or an APPEND/OVERWRITE that touched none of the
// commit's buckets; the writer then recomputes the changelog against the
// new latest snapshot and commits again, at most maxChangelogAttempts
// times. As in Apache Paimon, a bucket is expected to have one writer at a
// time: concurrent writers of one bucket stay correct but keep invalidating
// each other's before-images (and eventually give up with the conflict).
// See docs/adr/0014-changelog-at-write-time.md.

// maxChangelogAttempts bounds how often a lookup-producer commit recomputes
// its before-images after another commit moved the table on.
const maxChangelogAttempts = 8

// changelogLookupKeys: when the lookup index cannot answer, a bucket whose
// commit wrote at most this many keys gets its before-images by reading
// only the row groups that may hold them (GetMany's file path); a bigger
// one by merging the parent's files of the bucket once (a streaming read
// whose memory does not grow with the bucket).
const changelogLookupKeys = 256

// changelogBatchKeys: a lookup changelog is computed for about this many
// keys at a time (whole buckets), bounding the records and encoded files
// a big commit holds in memory.
const changelogBatchKeys = 1 << 16

// maxCompactWalk bounds the snapshots a Check walks to see that only
// COMPACT commits landed since the before-images were read.
const maxCompactWalk = 64

// changelogState is a writer's changelog producer state.
type changelogState struct {
	// input holds, per bucket, the rows written since the bucket's last
	// flush (changelog-producer = input).
	input map[bucketKey][]lsm.Record
	// files are the input changelog files uploaded for the next commit.
	files []manifest.DataFile
	// unsureFiles: how many of files belong to a commit whose outcome is
	// unknown (see Writer.resolveUnsure).
	unsureFiles int
	// lookupKeys overrides changelogLookupKeys, batchKeys
	// changelogBatchKeys (tests).
	lookupKeys, batchKeys int
	// attempts counts recomputations after a stale before-image (tests).
	attempts int
	// lookups sums how the before-images were read (tests).
	lookups GetManyStats
	// lookupCommits counts the writer's lookup-changelog commits; own is
	// its private lookup index (changelog_index.go), noIndex disables it
	// (tests).
	lookupCommits int
	own           *ownIndex
	noIndex       bool
}

// keepInput keeps a written record for the input producer and returns the
// memory it holds.
func (w *Writer) keepInput(bk bucketKey, rec lsm.Record) int64 {
	if w.t.opts.History.ChangelogProducer != ProducerInput {
		return 0
	}
	if w.cl.input == nil {
		w.cl.input = map[bucketKey][]lsm.Record{}
	}
	// Files hold only records marked merged; a changelog file stores the
	// rows as written.
	rec.Merged = true
	w.cl.input[bk] = append(w.cl.input[bk], rec)
	return rec.ApproxBytes()
}

// flushInput writes the input changelog file of one bucket's buffered rows.
func (w *Writer) flushInput(ctx context.Context, k bucketKey) error {
	recs := w.cl.input[k]
	if len(recs) == 0 {
		return nil
	}
	slices.SortStableFunc(recs, func(a, b lsm.Record) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	files, err := w.writeChangelog(ctx, k, recs)
	if err != nil {
		// The rows stay buffered for the next flush; files already
		// uploaded for them are never published.
		w.t.deleteFiles(ctx, files)
		return err
	}
	delete(w.cl.input, k)
	w.cl.files = append(w.cl.files, files...)
	return nil
}

// changelogFilePath returns the path of a new changelog file of a bucket.
func (t *Table) changelogFilePath(partition string, bucket int) string {
	if partition == "" {
		return fmt.Sprintf("data/bucket-%d/changelog-%s.parquet", bucket, t.env.NewID())
	}
	return fmt.Sprintf("data/%s/bucket-%d/changelog-%s.parquet", partition, bucket, t.env.NewID())
}

// writeChangelog uploads changelog records of one bucket, sorted by (key,
// seq) with commit-local sequence numbers, as changelog files.
func (w *Writer) writeChangelog(ctx context.Context, k bucketKey, recs []lsm.Record) ([]manifest.DataFile, error) {
	files, err := w.encodeChangelog(k, recs)
	if err != nil {
		return nil, err
	}
	return w.uploadChangelog(ctx, files)
}

// changelogFile is an encoded changelog file and its manifest entry.
type changelogFile struct {
	data []byte
	meta manifest.DataFile
}

// encodeChangelog encodes changelog records of one bucket (see
// writeChangelog) and names their files.
func (w *Writer) encodeChangelog(k bucketKey, recs []lsm.Record) ([]changelogFile, error) {
	encoded, err := lsm.WriteFiles(recs, w.t.schema, lsm.WriterOptions{
		TargetFileSize: w.t.opts.TargetFileSize,
		RowGroupRows:   w.t.opts.RowGroupRows,
		PageBytes:      w.t.opts.PageBytes,
		Compression:    w.t.opts.Compression.Files(),
	})
	if err != nil {
		return nil, fmt.Errorf("table %s: write changelog: %w", w.t.name, err)
	}
	out := make([]changelogFile, 0, len(encoded))
	for _, f := range encoded {
		path := w.t.changelogFilePath(k.partition, k.bucket)
		sum, err := f.Checksum()
		if err != nil {
			return nil, fmt.Errorf("table %s: checksum of %s: %w", w.t.name, path, err)
		}
		out = append(out, changelogFile{data: f.Data, meta: manifest.DataFile{
			Path:          path,
			Partition:     k.partition,
			Bucket:        k.bucket,
			RowCount:      f.RowCount,
			DeleteCount:   f.DeleteCount,
			Size:          int64(len(f.Data)),
			MinKey:        f.MinKey,
			MaxKey:        f.MaxKey,
			MinSeq:        f.MinSeq,
			MaxSeq:        f.MaxSeq,
			SchemaID:      w.t.schema.ID,
			CreatedMillis: w.t.env.Now().UnixMilli(),
			Checksum:      sum,
		}})
	}
	return out, nil
}

// uploadChangelog uploads encoded changelog files, up to
// maxParallelFetches at a time (a commit writes one per bucket it
// changed). On an error it returns the first one and every file it may
// have uploaded, for the caller to delete.
func (w *Writer) uploadChangelog(ctx context.Context, files []changelogFile) ([]manifest.DataFile, error) {
	if len(files) == 0 {
		return nil, nil
	}
	w.holdFiles()
	out := make([]manifest.DataFile, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, maxParallelFetches)
	var wg sync.WaitGroup
	for i, f := range files {
		out[i] = f.meta
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := w.t.store.Put(ctx, w.t.root+f.meta.Path, f.data); err != nil {
				errs[i] = fmt.Errorf("table %s: upload %s: %w", w.t.name, f.meta.Path, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// commit publishes c with the changelog the table's producer calls for.
func (w *Writer) commit(ctx context.Context, c manifest.Commit) (*manifest.Snapshot, error) {
	switch {
	case len(c.Added) == 0:
	case w.t.opts.History.ChangelogProducer == ProducerInput:
		c.Changelog = w.cl.files
	case w.t.opts.History.ChangelogProducer == ProducerLookup:
		return w.commitLookup(ctx, c)
	}
	return w.t.meta.Commit(ctx, c)
}

// staleBeforeError says that a commit changed the table after the
// before-images of a lookup changelog were read.
type staleBeforeError struct {
	base, parent int64 // snapshot ids (0: none)
	reason       string
}

func (e *staleBeforeError) Error() string {
	return fmt.Sprintf("changelog before-images were read at snapshot %d but the table is now at snapshot %d (%s)", e.base, e.parent, e.reason)
}

func (e *staleBeforeError) Unwrap() error { return types.ErrConflict }

// commitLookup commits c with a lookup changelog, recomputing it when
// another commit changes the table first.
func (w *Writer) commitLookup(ctx context.Context, c manifest.Commit) (*manifest.Snapshot, error) {
	userCheck := c.Check
	buckets := map[bucketKey]bool{}
	for _, f := range c.Added {
		buckets[bucketKey{f.Partition, f.Bucket}] = true
	}
	for attempt := 1; ; attempt++ {
		base, err := w.t.meta.Latest(ctx)
		if err != nil {
			return nil, err
		}
		files, seqCount, err := w.lookupChangelog(ctx, base, c.Added, c.SeqCount)
		if err != nil {
			w.t.deleteFiles(ctx, files)
			return nil, err
		}
		cc := c
		cc.Changelog, cc.SeqCount = files, seqCount
		cc.Check = func(p *manifest.Snapshot) error {
			if userCheck != nil {
				if err := userCheck(p); err != nil {
					return err
				}
			}
			return w.t.unchangedSince(ctx, base, p, buckets)
		}
		snap, err := w.t.meta.Commit(ctx, cc)
		if err == nil {
			w.cl.lookupCommits++
			return snap, nil
		}
		if errors.Is(err, objstore.ErrAmbiguous) {
			// An earlier put may still land with these files: keep them
			// and let the caller retry under the same identifier.
			return nil, err
		}
		if errors.Is(err, types.ErrConflict) || errors.Is(err, types.ErrFenced) || errors.Is(err, types.ErrInvalid) || errors.Is(err, manifest.ErrHeldTooLong) {
			w.t.deleteFiles(ctx, files) // never published
		}
		var stale *staleBeforeError
		if errors.As(err, &stale) && attempt < maxChangelogAttempts && ctx.Err() == nil {
			w.cl.attempts++
			continue
		}
		return nil, err
	}
}

// unchangedSince checks that the buckets a commit writes hold in snapshot p
// what they held in snapshot base: p is base, or every commit after base
// up to p is a COMPACT (content unchanged) or an APPEND/OVERWRITE whose
// new manifests touch none of those buckets.
func (t *Table) unchangedSince(ctx context.Context, base, p *manifest.Snapshot, buckets map[bucketKey]bool) error {
	var from, to int64
	if base != nil {
		from = base.ID
	}
	if p != nil {
		to = p.ID
	}
	stale := func(reason string) error { return &staleBeforeError{base: from, parent: to, reason: reason} }
	switch {
	case to == from:
		return nil
	case to < from:
		return stale("the table went back")
	case to-from > maxCompactWalk:
		return stale("too many commits in between")
	}
	prev := base
	for id := from + 1; id <= to; id++ {
		s := p
		if id != to {
			var err error
			if s, err = t.meta.Snapshot(ctx, id); err != nil {
				if errors.Is(err, types.ErrNotFound) {
					return stale(fmt.Sprintf("snapshot %d expired", id))
				}
				return err
			}
		}
		switch s.CommitKind {
		case manifest.CommitCompact:
		case manifest.CommitAppend, manifest.CommitOverwrite:
			hit, err := t.touches(ctx, prev, s, buckets)
			if err != nil {
				return err
			}
			if hit != "" {
				return stale(fmt.Sprintf("snapshot %d, a %s commit by %s, changed %s", id, s.CommitKind, s.CommitUser, hit))
			}
		default:
			return stale(fmt.Sprintf("snapshot %d is a %s commit", id, s.CommitKind))
		}
		prev = s
	}
	return nil
}

// touches returns a description of the first of buckets that commit s
// changed on top of its parent prev ("" when none): it reads the manifests
// s added to prev's manifest list. When s merged the list (so its delta
// cannot be told apart) every bucket counts as changed.
func (t *Table) touches(ctx context.Context, prev, s *manifest.Snapshot, buckets map[bucketKey]bool) (string, error) {
	had := map[string]bool{}
	if prev != nil {
		metas, err := t.meta.ReadManifestList(ctx, prev.ManifestList)
		if err != nil {
			return "", err
		}
		for _, m := range metas {
			had[m.Path] = true
		}
	}
	metas, err := t.meta.ReadManifestList(ctx, s.ManifestList)
	if err != nil {
		return "", err
	}
	kept := 0
	var added []string
	for _, m := range metas {
		if had[m.Path] {
			kept++
		} else {
			added = append(added, m.Path)
		}
	}
	if kept != len(had) {
		return "the whole table (its manifests were merged)", nil
	}
	for _, path := range added {
		entries, err := t.meta.ReadManifest(ctx, path)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			if k := (bucketKey{e.File.Partition, e.File.Bucket}); buckets[k] {
				return fmt.Sprintf("bucket %d of partition %q", k.bucket, k.partition), nil
			}
		}
	}
	return "", nil
}

// lookupChangelog computes and uploads the lookup changelog of the data
// files added by a commit against snapshot base. Changelog rows take
// commit-local sequence numbers from seq on; it returns the files and the
// commit's new sequence count.
func (w *Writer) lookupChangelog(ctx context.Context, base *manifest.Snapshot, added []manifest.DataFile, seq int64) ([]manifest.DataFile, int64, error) {
	var shift int64
	if base != nil {
		shift = base.NextSequence
	}
	limit := changelogLookupKeys
	if w.cl.lookupKeys > 0 {
		limit = w.cl.lookupKeys
	}
	// The buckets are taken in batches of about changelogBatchKeys keys:
	// each batch's before-images are read at once (GetMany's path) and its
	// changelog files uploaded together, one round trip, not one per
	// bucket; memory holds one batch.
	batchKeys := changelogBatchKeys
	if w.cl.batchKeys > 0 {
		batchKeys = w.cl.batchKeys
	}
	groups, ids := filesByBucket(added)
	var out []manifest.DataFile
	var writes [][]lsm.Record
	var batch []bucketKey
	var probes []keyProbe
	// The lookup index is caught up to base while the commit's own files
	// are read below: two reads of the store at once, not one after the
	// other.
	x, fp := w.changelogIndex()
	var caughtUp chan struct{}
	if x != nil && base != nil {
		caughtUp = make(chan struct{})
		go func() {
			defer close(caughtUp)
			x.ensure(ctx, w.t, base, fp, true)
		}()
	}
	waitIndex := func() {
		if caughtUp != nil {
			<-caughtUp
			caughtUp = nil
		}
	}
	defer waitIndex()
	flush := func() error {
		waitIndex()
		if err := w.t.beforeImages(ctx, x, fp, base, probes, limit, &w.cl.lookups); err != nil {
			return err
		}
		var encoded []changelogFile
		next := 0
		for i, g := range batch {
			var recs []lsm.Record
			emit := func(key []byte, kind types.RowKind, row types.Row) {
				recs = append(recs, lsm.Record{Key: key, Seq: seq, Kind: kind, Row: row, Merged: true})
				seq++
			}
			for _, rec := range writes[i] {
				p := &probes[next]
				next++
				w.t.change(p.rec, p.exists, rec, emit)
			}
			if len(recs) == 0 {
				continue
			}
			files, err := w.encodeChangelog(g, recs)
			if err != nil {
				return err
			}
			encoded = append(encoded, files...)
		}
		files, err := w.uploadChangelog(ctx, encoded)
		out = append(out, files...)
		writes, batch, probes = writes[:0], batch[:0], probes[:0]
		return err
	}
	for _, g := range ids {
		// The commit's merged record of each key, deletes included,
		// sequenced after everything in base, in key order.
		var recs []lsm.Record
		for rec, err := range w.t.readGroup(ctx, groups[g], true) {
			if err != nil {
				return out, 0, err
			}
			rec.Seq += shift
			recs = append(recs, rec)
			probes = append(probes, keyProbe{partition: g.partition, bucket: g.bucket, key: rec.Key})
		}
		writes, batch = append(writes, recs), append(batch, g)
		if len(probes) >= batchKeys {
			if err := flush(); err != nil {
				return out, 0, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return out, 0, err
		}
	}
	return out, seq, nil
}

// change emits the changelog rows of one key: before is its merged record
// in the base snapshot (ok false: none), rec the commit's merged record.
func (t *Table) change(before lsm.Record, ok bool, rec lsm.Record, emit func([]byte, types.RowKind, types.Row)) {
	after := rec
	if ok {
		after = t.merger.Merge([]lsm.Record{before, rec})
	}
	was := ok && before.Kind.IsAdd()
	is := after.Kind.IsAdd()
	switch {
	case !was && is:
		emit(rec.Key, types.Insert, after.Row)
	case was && !is:
		emit(rec.Key, types.Delete, before.Row)
	case was && is && !RowsEqual(before.Row, after.Row):
		emit(rec.Key, types.UpdateBefore, before.Row)
		emit(rec.Key, types.UpdateAfter, after.Row)
	}
}

// deleteFiles deletes files that were never published (best effort:
// leftovers are orphans for orphan cleanup).
func (t *Table) deleteFiles(ctx context.Context, files []manifest.DataFile) {
	for _, f := range files {
		_ = t.store.Delete(ctx, t.root+f.Path)
	}
}

// filesByBucket groups files by (partition, bucket) and returns the groups'
// ids in (partition, bucket) order.
func filesByBucket(files []manifest.DataFile) (map[bucketKey][]manifest.DataFile, []bucketKey) {
	groups := map[bucketKey][]manifest.DataFile{}
	var ids []bucketKey
	for _, f := range files {
		k := bucketKey{f.Partition, f.Bucket}
		if _, ok := groups[k]; !ok {
			ids = append(ids, k)
		}
		groups[k] = append(groups[k], f)
	}
	slices.SortFunc(ids, func(a, b bucketKey) int {
		if c := cmp.Compare(a.partition, b.partition); c != 0 {
			return c
		}
		return cmp.Compare(a.bucket, b.bucket)
	})
	return groups, ids
}
