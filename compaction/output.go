package compaction

import (
	"context"
	"fmt"
	"slices"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
)

// outputWriter collects merged records and copied row groups and writes
// them as files of about TargetFileSize. lsm.WritePieces encodes a slice of
// pieces, so they are buffered: when the buffer is full it is encoded,
// every file that reached the target size is uploaded, and the pieces of
// the last, short file are kept and encoded again with the next ones. If
// the buffer fills without completing a file, its limit doubles, up to
// MaxBufferBytes; past that the short file is written as is. A copied row
// group counts with its compressed size.
type outputWriter struct {
	j      *job
	res    *Result
	pieces []lsm.Piece
	bytes  int64
	budget int64
	// pinned are the decoded batches buffered RowRef records keep alive
	// (lsm.RowRef), pinnedBytes their size. When few rows of each survive
	// the merge (dropped tombstones) they could hold far more than the
	// budget: past it the buffered records are boxed, which releases the
	// batches and writes the same bytes.
	pinned      map[*lsm.Batch]bool
	pinnedBytes int64
	// last is the batch of the last RowRef record added, known pinned:
	// consecutive records mostly come from one batch.
	lastBatch *lsm.Batch
	// expect is how many more records the merge may still add (the
	// inputs' record count less those added): a new piece is allocated
	// for them at once instead of growing by doubling.
	expect int64
}

// maxPieceRecords caps the records a new piece is allocated for.
const maxPieceRecords = 1 << 20

// minBuffer is the initial buffer limit for small target file sizes.
const minBuffer = 1 << 20

func (w *outputWriter) add(ctx context.Context, r lsm.Record) error {
	if n := len(w.pieces); n == 0 || w.pieces[n-1].Copy != nil {
		w.pieces = append(w.pieces, lsm.Piece{Records: make([]lsm.Record, 0, min(max(w.expect, 1024), maxPieceRecords))})
	}
	last := &w.pieces[len(w.pieces)-1]
	last.Records = append(last.Records, r)
	w.expect--
	if b := lsm.BatchOf(&r); b != nil && b != w.lastBatch {
		w.lastBatch = b
		if !w.pinned[b] {
			if w.pinned == nil {
				w.pinned = map[*lsm.Batch]bool{}
			}
			w.pinned[b] = true
			if w.pinnedBytes += b.MemBytes(); w.pinnedBytes > w.j.Options.MaxBufferBytes {
				w.unpin()
			}
		}
	}
	return w.grew(ctx, r.ApproxBytes())
}

// unpin boxes the buffered RowRef records.
func (w *outputWriter) unpin() {
	for _, p := range w.pieces {
		for i := range p.Records {
			p.Records[i] = lsm.Box(p.Records[i])
		}
	}
	clear(w.pinned)
	w.pinnedBytes = 0
	w.lastBatch = nil
}

// addCopy adds a row group to copy.
func (w *outputWriter) addCopy(ctx context.Context, g *lsm.GroupCopy) error {
	w.pieces = append(w.pieces, lsm.Piece{Copy: g})
	return w.grew(ctx, g.Size())
}

func (w *outputWriter) grew(ctx context.Context, n int64) error {
	if w.budget == 0 {
		w.budget = min(max(2*w.j.Options.TargetFileSize, minBuffer), w.j.Options.MaxBufferBytes)
	}
	w.bytes += n
	if w.bytes < w.budget {
		return nil
	}
	return w.flush(ctx, false)
}

// finish writes everything buffered.
func (w *outputWriter) finish(ctx context.Context) error {
	return w.flush(ctx, true)
}

func (w *outputWriter) flush(ctx context.Context, final bool) error {
	if len(w.pieces) == 0 {
		return nil
	}
	o := &w.j.Options
	files, err := lsm.WritePieces(ctx, w.pieces, w.j.schema, lsm.WriterOptions{TargetFileSize: o.TargetFileSize, RowGroupRows: o.RowGroupRows, PageBytes: o.PageBytes,
		Compression: o.CompressionAt(w.j.plan.OutputLevel), Buffers: w.j.bufs})
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	var keep int64
	if last := files[len(files)-1]; !final && int64(len(last.Data)) < o.TargetFileSize {
		if len(files) == 1 && w.budget < o.MaxBufferBytes {
			w.budget = min(2*w.budget, o.MaxBufferBytes)
			w.j.bufs.Release(last.Data) // never uploaded
			return nil                  // not one whole file yet: buffer more
		}
		if len(files) > 1 {
			keep = last.RowCount
			files = files[:len(files)-1]
			w.j.bufs.Release(last.Data) // never uploaded; written again later
		}
	}
	for _, f := range files {
		if err := w.upload(ctx, f); err != nil {
			return err
		}
	}
	w.pieces = tailPieces(w.pieces, keep)
	w.bytes = 0
	clear(w.pinned) // the kept tail, less than a file, is not counted again
	w.pinnedBytes = 0
	w.lastBatch = nil
	for _, p := range w.pieces {
		if p.Copy != nil {
			w.bytes += p.Copy.Size()
		}
		for i := range p.Records {
			w.bytes += p.Records[i].ApproxBytes()
		}
	}
	return nil
}

// tailPieces returns copies of the pieces holding the last rows records (a
// file boundary, so no copied row group is cut).
func tailPieces(pieces []lsm.Piece, rows int64) []lsm.Piece {
	var out []lsm.Piece
	for i := len(pieces) - 1; i >= 0 && rows > 0; i-- {
		p := pieces[i]
		if p.Copy != nil {
			rows -= p.Copy.Rows()
			out = append(out, p)
			continue
		}
		n := int(min(rows, int64(len(p.Records))))
		rest := p.Records[len(p.Records)-n:]
		out = append(out, lsm.Piece{Records: append(make([]lsm.Record, 0, max(n, 1024)), rest...)})
		rows -= int64(n)
	}
	slices.Reverse(out)
	return out
}

func (w *outputWriter) upload(ctx context.Context, f lsm.EncodedFile) error {
	p := &w.res.Plan
	path := DataFilePath(p.Partition, p.Bucket, w.j.NewID())
	sum, err := f.Checksum()
	if err != nil {
		return fmt.Errorf("checksum of %s: %w", path, err)
	}
	if _, err := w.j.Store.Put(ctx, w.j.Root+path, f.Data); err != nil {
		w.res.failed = append(w.res.failed, path) // it may have landed anyway
		return fmt.Errorf("upload %s: %w", path, err)
	}
	w.res.Added = append(w.res.Added, manifest.DataFile{
		Path:          path,
		Partition:     p.Partition,
		Bucket:        p.Bucket,
		Level:         p.OutputLevel,
		RowCount:      f.RowCount,
		DeleteCount:   f.DeleteCount,
		Size:          int64(len(f.Data)),
		MinKey:        f.MinKey,
		MaxKey:        f.MaxKey,
		MinSeq:        f.MinSeq + f.SeqBase,
		MaxSeq:        f.MaxSeq + f.SeqBase,
		SeqBase:       f.SeqBase,
		SchemaID:      w.j.schema.ID,
		CreatedMillis: w.j.Now().UnixMilli(),
		Checksum:      sum,
	})
	st := &w.res.Stats
	st.FilesWritten++
	st.BytesWritten += int64(len(f.Data))
	st.RecordsWritten += f.RowCount
	st.RowGroupsCopied += f.GroupsCopied
	st.RowsCopied += f.RowsCopied
	st.BytesCopied += f.BytesCopied
	st.RowGroupsReencoded += f.GroupsReencoded
	st.RowGroupsMerged += f.GroupsDecoded
	w.j.bufs.Release(f.Data) // uploaded: nothing reads it now
	return nil
}

// DataFilePath is the path, relative to the table root, of a new data file
// of a bucket (the layout table writers use too).
func DataFilePath(partition string, bucket int, id string) string {
	if partition == "" {
		return fmt.Sprintf("data/bucket-%d/data-%s.parquet", bucket, id)
	}
	return fmt.Sprintf("data/%s/bucket-%d/data-%s.parquet", partition, bucket, id)
}
