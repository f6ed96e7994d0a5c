package table

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Writer buffers changelog rows of one table and commits them as snapshots.
// Rows are routed to a write buffer per (partition, bucket); buffers are
// flushed to Parquet sorted runs when the table's write-buffer-size is
// exceeded and at commit. A Writer is not safe for concurrent use.
//
// Every commit carries the writer's commit user and a caller-chosen commit
// identifier. Calling Commit again with the same identifier after an error
// whose outcome is unknown is safe: a commit that was already published is
// recognised and not applied twice.
type Writer struct {
	t       *Table
	user    string
	buffers map[bucketKey]*lsm.WriteBuffer
	// fileBufs lends flushed files their buffers, kept after uploads.
	fileBufs *lsm.Buffers
	bytes    int64
	seq      int64 // next commit-local sequence number
	pending  []manifest.DataFile
	// unsure is set when a commit failed with an unknown outcome: the
	// pending files may be referenced by a published snapshot, so Abort
	// must not delete them.
	unsure      bool
	unsureIdent string
	unsureFiles int
	// heldSince is the time taken just before the first upload of a file
	// the next commit will publish (zero: none yet); see
	// manifest.Commit.HeldSince.
	heldSince time.Time
	// orphans are files a failed flush uploaded for a bucket it kept
	// buffered: no commit references them. Abort and the next successful
	// commit delete them.
	orphans []string
	stats   WriterStats
	cm      *compactManager // inline compaction and write stall; see compact_writer.go
	cl      changelogState  // the changelog producer's state; see changelog_writer.go
	scratch batchScratch    // WriteBatch's working memory; see writer_batch.go
}

// WriterStats counts what a writer did.
type WriterStats struct {
	Rows, Flushes, Files, BytesWritten, Commits int64
	// Inline compaction: rounds run, buckets compacted, conflicts with
	// other compactions, failures, and bytes read and written.
	CompactionRounds, Compactions, CompactionConflicts, CompactionFailures int64
	CompactionBytesRead, CompactionBytesWritten                            int64
	// Stalls counts Write/Commit calls that waited for compaction, and
	// StallTime their total wait.
	Stalls    int64
	StallTime time.Duration
}

type bucketKey struct {
	partition string
	bucket    int
}

// NewWriter returns a writer committing as user. Distinct concurrent writers
// should use distinct users; a restarted writer reuses its user so retried
// commits are recognised.
func (t *Table) NewWriter(user string) *Writer {
	return &Writer{t: t, user: user, buffers: map[bucketKey]*lsm.WriteBuffer{}, fileBufs: lsm.NewBuffers(fileBufferBytes)}
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	s := w.stats
	if w.cm != nil {
		w.cm.fill(&s)
	}
	return s
}

// Write buffers one changelog row. The row must hold values of the schema's
// Go types (see types.Schema.CoerceRow for loose input). For -U and -D rows
// only the primary-key columns must be set.
func (w *Writer) Write(ctx context.Context, kind types.RowKind, row types.Row) error {
	if !kind.Valid() {
		return fmt.Errorf("%w: table %s: bad row kind %d", types.ErrInvalid, w.t.name, kind)
	}
	if err := w.checkRow(kind, row); err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	key, err := types.EncodeRowKey(nil, row, w.t.keyIdx)
	if err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	b, err := w.t.bucketOf(row)
	if err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	bk := bucketKey{partition: w.t.partitionPath(row), bucket: b}
	return w.buffer(ctx, bk, key, kind, append(types.Row(nil), row...))
}

// buffer adds a checked row to the write buffer of its bucket (after the
// bucket's write stall) and flushes when write-buffer-size is reached.
// The buffer takes ownership of key and row.
func (w *Writer) buffer(ctx context.Context, bk bucketKey, key []byte, kind types.RowKind, row types.Row) error {
	if err := w.compactions().stall(ctx, compaction.BucketID{Partition: bk.partition, Bucket: bk.bucket}); err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	buf := w.buffers[bk]
	if buf == nil {
		buf = lsm.NewWriteBuffer()
		w.buffers[bk] = buf
	}
	before := buf.ApproxBytes()
	rec := lsm.Record{Key: key, Seq: w.seq, Kind: kind, Row: row}
	buf.Add(rec)
	w.seq++
	w.bytes += buf.ApproxBytes() - before + w.keepInput(bk, rec)
	w.stats.Rows++
	if w.bytes >= w.t.opts.WriteBufferSize {
		return w.Flush(ctx)
	}
	return nil
}

func (w *Writer) checkRow(kind types.RowKind, row types.Row) error {
	s := w.t.schema
	if kind.IsAdd() {
		return s.CheckRow(row)
	}
	if len(row) != len(s.Fields) {
		return fmt.Errorf("%w: row has %d values, table has %d columns", types.ErrInvalid, len(row), len(s.Fields))
	}
	for i, f := range s.Fields {
		if err := types.CheckValue(row[i], f.Type); err != nil {
			return fmt.Errorf("column %q: %w", f.Name, err)
		}
	}
	for _, k := range w.t.keyIdx {
		if row[k] == nil {
			return fmt.Errorf("%w: missing value for primary key column %q", types.ErrInvalid, s.Fields[k].Name)
		}
	}
	return w.t.checkRetraction(kind, row)
}

// Flush writes every buffer to data files in the object store. The files
// become visible only when a later Commit publishes them. The buffers are
// sorted, merged and encoded concurrently (up to GOMAXPROCS at a time);
// each bucket's files are uploaded as soon as it is encoded, up to
// flushUploads buckets at a time, so uploads overlap with one another and
// with the encoding of the next buckets (an object store's PUT latency is
// paid about once per flush, not once per bucket). File names are drawn in
// (partition, bucket) order. On an error every bucket whose encoding or
// upload failed stays buffered (the files it uploaded become orphans, see
// Writer.orphans), so a retried Flush or Commit writes it again; the
// buckets that were uploaded stay pending for the next commit.
func (w *Writer) Flush(ctx context.Context) error {
	keys := make([]bucketKey, 0, len(w.buffers))
	for k, b := range w.buffers {
		if b.Len() > 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].partition != keys[j].partition {
			return keys[i].partition < keys[j].partition
		}
		return keys[i].bucket < keys[j].bucket
	})
	for _, k := range keys {
		if err := w.flushInput(ctx, k); err != nil {
			return err
		}
	}
	runs := make([]*encodedRun, len(keys))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, k := range keys {
		r := &encodedRun{done: make(chan struct{})}
		runs[i] = r
		sem <- struct{}{} // in bucket order, so the first buckets are ready first
		go func(buf *lsm.WriteBuffer) {
			defer func() { <-sem; close(r.done) }()
			r.run = buf.FlushRun(w.t.merger)
			if r.run.Len() > 0 {
				r.files, r.err = lsm.WriteRun(r.run, w.t.schema, lsm.WriterOptions{
					TargetFileSize: w.t.opts.TargetFileSize,
					RowGroupRows:   w.t.opts.RowGroupRows,
					PageBytes:      w.t.opts.PageBytes,
					Compression:    w.t.opts.Compression.ForLevel(0),
					Buffers:        w.fileBufs,
				})
				if r.err != nil {
					r.err = fmt.Errorf("table %s: write sorted run: %w", w.t.name, r.err)
				}
			}
		}(w.buffers[k])
	}
	var uploads sync.WaitGroup
	up := make(chan struct{}, flushUploads)
	for i, k := range keys {
		r := runs[i]
		<-r.done
		if r.err != nil || len(r.files) == 0 {
			continue
		}
		// Names, times and the held-since mark come from the writer's
		// goroutine: Env.NewID and Env.Now need not be safe for
		// concurrent use, and names stay in bucket order.
		w.holdFiles()
		r.paths = make([]string, len(r.files))
		for j := range r.files {
			r.paths[j] = w.t.dataFilePath(k.partition, k.bucket)
		}
		r.created = w.t.env.Now().UnixMilli()
		uploads.Go(func() {
			up <- struct{}{}
			defer func() { <-up }()
			r.err = w.putRun(ctx, r)
		})
	}
	uploads.Wait()
	var err error
	for i, k := range keys {
		r := runs[i]
		if r.err != nil {
			// The bucket's rows stay buffered: a retried commit must not
			// publish the other buckets without them.
			err = cmp.Or(err, r.err)
			w.orphans = append(w.orphans, r.paths[:r.tried]...) // a failed PUT may have been applied
			w.buffers[k].Restore(r.run)
			continue
		}
		w.addPending(k, r)
		r.run.Release()
		for j := range r.files { // uploaded: nothing reads them now
			w.fileBufs.Release(r.files[j].Data)
			r.files[j].Data = nil
		}
	}
	if err != nil {
		return err
	}
	w.bytes = 0
	return nil
}

// flushUploads bounds the buckets one Flush uploads at once.
const flushUploads = 8

// fileBufferBytes bounds the buffers of uploaded level-0 files a writer
// keeps for its next flush (lsm.Buffers): enough for the files of one
// flush of the default write buffer.
const fileBufferBytes = 32 << 20

// encodedRun is one bucket's flushed run, its encoded files and their
// upload.
type encodedRun struct {
	done    chan struct{} // closed when the run is encoded
	run     *lsm.Run
	files   []lsm.EncodedFile
	paths   []string // the files' names
	created int64    // CreatedMillis of the files
	sums    []string // the files' checksums, once uploaded
	tried   int      // files whose PUT was attempted
	err     error
}

// putRun uploads the files of one bucket's flush, one after another,
// counting in r.tried the PUTs attempted. It touches only r: uploads of
// several buckets run at once.
func (w *Writer) putRun(ctx context.Context, r *encodedRun) error {
	r.sums = make([]string, len(r.files))
	for i, f := range r.files {
		path := r.paths[i]
		sum, err := f.Checksum()
		if err != nil {
			return fmt.Errorf("table %s: checksum of %s: %w", w.t.name, path, err)
		}
		r.tried++
		if _, err := w.t.store.Put(ctx, w.t.root+path, f.Data); err != nil {
			return fmt.Errorf("table %s: upload %s: %w", w.t.name, path, err)
		}
		r.sums[i] = sum
	}
	return nil
}

// addPending records the uploaded files of bucket k's flush as pending.
func (w *Writer) addPending(k bucketKey, r *encodedRun) {
	if len(r.files) == 0 {
		return
	}
	w.stats.Flushes++
	for i, f := range r.files {
		w.pending = append(w.pending, manifest.DataFile{
			Path:          r.paths[i],
			Partition:     k.partition,
			Bucket:        k.bucket,
			Level:         0,
			RowCount:      f.RowCount,
			DeleteCount:   f.DeleteCount,
			Size:          int64(len(f.Data)),
			MinKey:        f.MinKey,
			MaxKey:        f.MaxKey,
			MinSeq:        f.MinSeq,
			MaxSeq:        f.MaxSeq,
			SchemaID:      w.t.schema.ID,
			CreatedMillis: r.created,
			Checksum:      r.sums[i],
		})
		w.stats.Files++
		w.stats.BytesWritten += int64(len(f.Data))
	}
}

// holdFiles records, before an upload, when the writer started holding
// files that no snapshot references yet.
func (w *Writer) holdFiles() {
	if w.heldSince.IsZero() {
		w.heldSince = w.t.env.Now()
	}
}

// CommitRequest describes one commit.
type CommitRequest struct {
	// Identifier names the commit for its user; reusing it after a failed
	// attempt is safe (never applied twice).
	Identifier string
	// Properties are overlaid on the snapshot's inherited properties.
	Properties map[string]string
	// Check, if set, runs against the parent snapshot of every attempt and
	// aborts the commit with its error (fencing of zombie writers).
	Check func(parent *manifest.Snapshot) error
	// Fresh promises this identifier was never attempted before by this
	// user (e.g. the user is a newly generated session id), which skips
	// the history walk that recognises retried commits. See manifest.Commit.
	Fresh bool
	// AllowEmpty publishes a snapshot even when nothing was written (to
	// record Properties such as stream offsets).
	AllowEmpty bool
}

// Commit flushes and publishes everything written since the last commit as
// one snapshot. It returns nil when there was nothing to commit.
func (w *Writer) Commit(ctx context.Context, identifier string) (*manifest.Snapshot, error) {
	return w.CommitWith(ctx, CommitRequest{Identifier: identifier})
}

// CommitWith is Commit with properties, a precondition and empty commits.
//
// A commit whose files were uploaded more than half of orphan.grace-period
// before it could publish is refused with manifest.ErrHeldTooLong (orphan
// cleanup may already have deleted some of them): nothing is published,
// the writer drops the commit's rows and deletes its files, and the caller
// must write the rows again. After an earlier failure of unknown outcome
// (the writer retries the same identifier) it keeps them instead, as for
// any such failure.
func (w *Writer) CommitWith(ctx context.Context, req CommitRequest) (*manifest.Snapshot, error) {
	if req.Identifier == "" {
		return nil, fmt.Errorf("%w: table %s: empty commit identifier", types.ErrInvalid, w.t.name)
	}
	if err := w.resolveUnsure(ctx, req.Identifier); err != nil {
		return nil, err
	}
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	if len(w.pending) == 0 && !req.AllowEmpty && len(req.Properties) == 0 {
		return nil, nil
	}
	if len(w.pending) > 0 {
		if err := w.t.checkWriter(ctx); err != nil {
			return nil, err
		}
	}
	if err := w.compactions().beforeCommit(ctx, w.pending); err != nil {
		return nil, fmt.Errorf("table %s: commit %s: %w", w.t.name, req.Identifier, err)
	}
	snap, err := w.commit(ctx, manifest.Commit{
		User:       w.user,
		Identifier: req.Identifier,
		Kind:       manifest.CommitAppend,
		SchemaID:   w.t.schema.ID,
		Added:      w.pending,
		SeqCount:   w.seq,
		Properties: req.Properties,
		Check:      req.Check,
		Fresh:      req.Fresh,
		HeldSince:  w.heldSince,
	})
	if err != nil {
		if errors.Is(err, manifest.ErrHeldTooLong) && !errors.Is(err, objstore.ErrAmbiguous) && !w.unsure {
			// Nothing was published (nor may an earlier attempt of this
			// commit still land) and orphan cleanup may already have
			// deleted some of the files: drop the commit's rows.
			_ = w.Abort(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("table %s: commit %s: %w; its rows were dropped, write them again", w.t.name, req.Identifier, err)
		}
		if !errors.Is(err, types.ErrConflict) && !errors.Is(err, types.ErrFenced) && !errors.Is(err, types.ErrInvalid) {
			w.unsure, w.unsureIdent, w.unsureFiles = true, req.Identifier, len(w.pending)
			w.cl.unsureFiles = len(w.cl.files)
		}
		return nil, fmt.Errorf("table %s: commit %s: %w", w.t.name, req.Identifier, err)
	}
	w.compactions().afterCommit(snap, w.pending)
	w.deleteOrphans(ctx)
	w.pending = nil
	w.cl.files = nil
	w.seq = 0
	w.unsure = false
	w.heldSince = time.Time{}
	w.stats.Commits++
	return snap, nil
}

// resolveUnsure settles a previous commit whose outcome was unknown before a
// commit under a new identifier: if it was published, its files must not be
// added again.
func (w *Writer) resolveUnsure(ctx context.Context, identifier string) error {
	if !w.unsure || identifier == w.unsureIdent {
		return nil
	}
	s, err := w.t.meta.FindCommit(ctx, w.user, w.unsureIdent)
	if err != nil {
		return fmt.Errorf("table %s: resolve earlier commit %s: %w", w.t.name, w.unsureIdent, err)
	}
	if s != nil {
		w.pending = w.pending[w.unsureFiles:]
		w.cl.files = w.cl.files[w.cl.unsureFiles:]
	}
	w.unsure = false
	return nil
}

// Abort drops everything written since the last commit and deletes the data
// files already uploaded for it, unless a failed commit may have published
// them (then they are left for orphan cleanup).
func (w *Writer) Abort(ctx context.Context) error {
	for k, b := range w.buffers {
		b.Release()
		delete(w.buffers, k)
	}
	w.bytes, w.seq = 0, 0
	w.heldSince = time.Time{}
	pending := append(w.pending[:len(w.pending):len(w.pending)], w.cl.files...)
	w.pending = nil
	// Only the changelog of the dropped rows goes; the private lookup
	// index holds committed state and stays open until Close.
	w.cl.input, w.cl.files, w.cl.unsureFiles = nil, nil, 0
	first := w.deleteOrphans(ctx) // never referenced by any commit
	if w.unsure {
		w.unsure = false
		return first
	}
	for _, f := range pending {
		if err := w.t.store.Delete(ctx, w.t.root+f.Path); err != nil && !errors.Is(err, objstore.ErrNotFound) && first == nil {
			first = fmt.Errorf("table %s: abort: delete %s: %w", w.t.name, f.Path, err)
		}
	}
	return first
}

// deleteOrphans deletes the files failed flushes left (w.orphans) and
// returns the first error; files it could not delete are left to orphan
// cleanup.
func (w *Writer) deleteOrphans(ctx context.Context) error {
	var first error
	for _, p := range w.orphans {
		if err := w.t.store.Delete(ctx, w.t.root+p); err != nil && !errors.Is(err, objstore.ErrNotFound) && first == nil {
			first = fmt.Errorf("table %s: delete %s left by a failed flush: %w", w.t.name, p, err)
		}
	}
	w.orphans = nil
	return first
}
