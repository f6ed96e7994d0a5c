package table

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// WriteBatch buffers the changelog rows of a change batch: the table
// schema's columns in order, with the Arrow types types.ArrowSchema gives,
// then the int8 column types.RowKindColumn holding each row's RowKind.
// It is Write for every row, in order, with the same checks: on a bad row
// the rows before it are buffered and the error (wrapping
// types.ErrInvalid) names the batch row and the column.
//
// The batch is processed column by column: the checks, the key and bucket
// of every row, and the write-buffer accounting. With the deduplicate
// engine (no sequence.field) and no input changelog producer the write
// buffers keep the batch's arrays instead of rows (the caller may release
// the batch after WriteBatch returns); other engines get a row per record.
func (w *Writer) WriteBatch(ctx context.Context, rec arrow.Record) error {
	if err := w.checkBatchSchema(rec.Schema()); err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	n := len(w.t.schema.Fields)
	cols := rec.Columns()[:n]
	kinds, _ := rec.Column(n).(*array.Int8)
	if kinds == nil {
		return fmt.Errorf("%w: table %s: batch column %s is not int8", types.ErrInvalid, w.t.name, types.RowKindColumn)
	}
	rows := int(rec.NumRows())
	good, badErr := w.checkBatch(cols, kinds, rows)
	if good > 0 {
		if err := w.writeBatchRows(ctx, cols, kinds, good); err != nil {
			return err
		}
	}
	if badErr != nil {
		return fmt.Errorf("table %s: %w", w.t.name, badErr)
	}
	return nil
}

// batchKeys are the keys, buckets and sizes of a batch's rows.
type batchKeys struct {
	keys    [][]byte
	buckets []bucketKey
	bytes   []int64 // what each row holds in a write buffer as a change-batch row
}

// writeBatchRows buffers rows [0, n) of a checked batch.
func (w *Writer) writeBatchRows(ctx context.Context, cols []arrow.Array, kinds *array.Int8, n int) error {
	bk, err := w.batchKeys(cols, n)
	if err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	lw, _ := w.t.merger.(lsm.LastWriteWins)
	if lw == nil || !lw.LastWriteWins() || w.t.opts.History.ChangelogProducer == ProducerInput {
		// Records for the merger or the input changelog: Write's tail
		// per row.
		for r := 0; r < n; r++ {
			row := make(types.Row, len(cols))
			for c, a := range cols {
				row[c] = types.ValueAt(a, r)
			}
			if err := w.buffer(ctx, bk.buckets[r], bk.keys[r], types.RowKind(kinds.Value(r)), row); err != nil {
				return fmt.Errorf("batch row %d: %w", r, err)
			}
		}
		return nil
	}
	// Segments end after the row that fills write-buffer-size. The rows
	// count what they hold here (see batchKeys), less than Write's boxed
	// rows, so this flushes later than a Write per row would.
	for lo := 0; lo < n; {
		hi, total := lo, w.bytes
		for hi < n {
			total += bk.bytes[hi]
			hi++
			if total >= w.t.opts.WriteBufferSize {
				break
			}
		}
		if err := w.bufferSegment(ctx, cols, kinds, bk, lo, hi); err != nil {
			return err
		}
		if w.bytes >= w.t.opts.WriteBufferSize {
			if err := w.Flush(ctx); err != nil {
				return err
			}
		}
		lo = hi
	}
	return nil
}

// bufferSegment adds rows [lo, hi) of a batch to the write buffers as
// change-batch rows: per bucket, in the order of first appearance, after
// waiting out each bucket's write stall.
func (w *Writer) bufferSegment(ctx context.Context, cols []arrow.Array, kinds *array.Int8, bk *batchKeys, lo, hi int) error {
	var order []bucketKey
	groups := map[bucketKey]*lsm.BatchRows{}
	for r := lo; r < hi; r++ {
		k := bk.buckets[r]
		g := groups[k]
		if g == nil {
			g = &lsm.BatchRows{Cols: cols}
			groups[k] = g
			order = append(order, k)
		}
		g.Rows = append(g.Rows, int32(r))
	}
	for _, k := range order {
		if err := w.compactions().stall(ctx, compaction.BucketID{Partition: k.partition, Bucket: k.bucket}); err != nil {
			return fmt.Errorf("table %s: batch row %d: %w", w.t.name, groups[k].Rows[0], err)
		}
	}
	for _, k := range order {
		g := groups[k]
		buf := w.buffers[k]
		if buf == nil {
			buf = lsm.NewWriteBuffer()
			w.buffers[k] = buf
		}
		var size int64
		for _, r := range g.Rows {
			size += bk.bytes[r]
			g.Keys = append(g.Keys, bk.keys[r])
			// Seqs follow the batch's row order, as with a Write per row.
			g.Seqs = append(g.Seqs, w.seq+int64(int(r)-lo))
			g.Kinds = append(g.Kinds, types.RowKind(kinds.Value(int(r))))
		}
		buf.AddBatch(*g, size)
		w.bytes += size
	}
	w.seq += int64(hi - lo)
	w.stats.Rows += int64(hi - lo)
	return nil
}

// checkBatchSchema checks that s is the table's change-batch schema.
func (w *Writer) checkBatchSchema(s *arrow.Schema) error {
	want, err := types.ArrowSchema(w.t.schema, true)
	if err != nil {
		return err
	}
	if s.NumFields() != want.NumFields() {
		return fmt.Errorf("%w: batch has %d columns, want %d (the table's columns, then %s)", types.ErrInvalid, s.NumFields(), want.NumFields(), types.RowKindColumn)
	}
	for i, f := range want.Fields() {
		if g := s.Field(i); !arrow.TypeEqual(g.Type, f.Type) {
			return fmt.Errorf("%w: batch column %d (%q) is %s, want %s for %q", types.ErrInvalid, i, g.Name, g.Type, f.Type, f.Name)
		}
	}
	return nil
}
