package compaction

import (
	"context"
	"fmt"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
)

// outputWriter collects merged records and writes them as files of about
// TargetFileSize. lsm.WriteFiles encodes a slice of records, so records are
// buffered: when the buffer is full it is encoded, every file that reached
// the target size is uploaded, and the records of the last, short file are
// kept and encoded again with the next records. If the buffer fills without
// completing a file, its limit doubles, up to MaxBufferBytes; past that the
// short file is written as is.
type outputWriter struct {
	j      *job
	res    *Result
	recs   []lsm.Record
	bytes  int64
	budget int64
}

// minBuffer is the initial buffer limit for small target file sizes.
const minBuffer = 1 << 20

func (w *outputWriter) add(ctx context.Context, r lsm.Record) error {
	if w.budget == 0 {
		w.budget = min(max(2*w.j.Options.TargetFileSize, minBuffer), w.j.Options.MaxBufferBytes)
	}
	w.recs = append(w.recs, r)
	w.bytes += recordBytes(&r)
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
	if len(w.recs) == 0 {
		return nil
	}
	o := &w.j.Options
	files, err := lsm.WriteFiles(w.recs, w.j.schema, lsm.WriterOptions{TargetFileSize: o.TargetFileSize, RowGroupRows: o.RowGroupRows})
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	keep := 0
	if last := files[len(files)-1]; !final && int64(len(last.Data)) < o.TargetFileSize {
		if len(files) == 1 && w.budget < o.MaxBufferBytes {
			w.budget = min(2*w.budget, o.MaxBufferBytes)
			return nil // not one whole file yet: buffer more
		}
		if len(files) > 1 {
			keep = int(last.RowCount)
			files = files[:len(files)-1]
		}
	}
	for _, f := range files {
		if err := w.upload(ctx, f); err != nil {
			return err
		}
	}
	rest := w.recs[len(w.recs)-keep:]
	w.recs = append(make([]lsm.Record, 0, max(len(rest), 1024)), rest...)
	w.bytes = 0
	for i := range w.recs {
		w.bytes += recordBytes(&w.recs[i])
	}
	return nil
}

func (w *outputWriter) upload(ctx context.Context, f lsm.EncodedFile) error {
	p := &w.res.Plan
	path := DataFilePath(p.Partition, p.Bucket, w.j.NewID())
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
		MinSeq:        f.MinSeq,
		MaxSeq:        f.MaxSeq,
		SchemaID:      w.j.schema.ID,
		CreatedMillis: w.j.Now().UnixMilli(),
	})
	st := &w.res.Stats
	st.FilesWritten++
	st.BytesWritten += int64(len(f.Data))
	st.RecordsWritten += f.RowCount
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

// recordBytes estimates the memory a decoded record holds.
func recordBytes(r *lsm.Record) int64 {
	n := int64(96 + len(r.Key) + 16*len(r.Row))
	for _, v := range r.Row {
		switch x := v.(type) {
		case string:
			n += int64(len(x)) + 16
		case []byte:
			n += int64(len(x)) + 24
		case nil:
		default:
			n += 8
		}
	}
	return n
}
