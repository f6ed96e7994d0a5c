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

// batchScratch is a writer's working memory for WriteBatch, reused from
// batch to batch so that a batch allocates little more than the keys the
// write buffers keep. Nothing in it outlives the WriteBatch call that
// filled it: the key slab the buffers keep is allocated per batch, and
// lsm.WriteBuffer.AddBatch copies a group's rows, seqs and kinds (it only
// takes ownership of the keys).
type batchScratch struct {
	schema *arrow.Schema // the change-batch schema, made at the first batch
	bk     batchKeys
	slab   []byte // keys being encoded, copied to an exact-size slab
	ends   []int  // where each row's key ends in slab
	// bufferSegment's grouping of a segment's rows by bucket: the group of
	// each row, the groups in order of first appearance, and the rows of
	// group g at [start[g], start[g+1]) of rows, keys, seqs and kinds.
	group  []int32
	order  []bucketKey
	start  []int32
	next   []int32             // the next free place of each group while sorting
	sizes  []int64             // each group's write-buffer bytes
	index  map[bucketKey]int32 // group of a bucket key (partitioned tables)
	direct []int32             // group+1 of bucket b of the "" partition, 0: none yet
	rows   []int32
	keys   [][]byte
	seqs   []int64
	kinds  []types.RowKind
}

// grow returns s with length n, reusing its array when it is large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, max(n, 2*cap(s)))
}

// writeBatchRows buffers rows [0, n) of a checked batch.
func (w *Writer) writeBatchRows(ctx context.Context, cols []arrow.Array, kinds *array.Int8, n int) error {
	bk, err := w.batchKeys(cols, n)
	if err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	defer clear(bk.keys) // the buffers own the keys: the scratch must not keep them
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
	sc := &w.scratch
	groups := sc.groupRows(bk.buckets[lo:hi], w.t.opts.Buckets)
	for g, k := range sc.order {
		if err := w.compactions().stall(ctx, compaction.BucketID{Partition: k.partition, Bucket: k.bucket}); err != nil {
			return fmt.Errorf("table %s: batch row %d: %w", w.t.name, lo+int(sc.firstRow(g)), err)
		}
	}
	// Counting sort of the segment's rows by group, keeping row order
	// within a group: seqs follow the batch's row order, as with a Write
	// per row.
	n := hi - lo
	sc.rows, sc.keys = grow(sc.rows, n), grow(sc.keys, n)
	sc.seqs, sc.kinds = grow(sc.seqs, n), grow(sc.kinds, n)
	next := append(sc.next[:0], sc.start[:groups]...)
	sizes := grow(sc.sizes, groups)
	clear(sizes)
	sc.next, sc.sizes = next, sizes
	kv := kinds.Int8Values()
	for i, g := range sc.group[:n] {
		r := lo + i
		j := next[g]
		next[g]++
		sc.rows[j] = int32(r)
		sc.keys[j] = bk.keys[r]
		sc.seqs[j] = w.seq + int64(i)
		sc.kinds[j] = types.RowKind(kv[r])
		sizes[g] += bk.bytes[r]
	}
	for g, k := range sc.order {
		buf := w.buffers[k]
		if buf == nil {
			buf = lsm.NewWriteBuffer()
			w.buffers[k] = buf
		}
		a, b := sc.start[g], sc.start[g+1]
		buf.AddBatch(lsm.BatchRows{Cols: cols, Rows: sc.rows[a:b], Keys: sc.keys[a:b], Seqs: sc.seqs[a:b], Kinds: sc.kinds[a:b]}, sizes[g])
		w.bytes += sizes[g]
	}
	clear(sc.keys[:n]) // the buffers own the keys now
	w.seq += int64(n)
	w.stats.Rows += int64(n)
	return nil
}

// groupRows assigns each of buckets (a segment's rows) a group, one per
// distinct bucket key in order of first appearance: sc.group holds each
// row's group, sc.order each group's bucket key and sc.start the groups'
// starts in the rows sorted by group (with a final entry, the row count).
// It returns the number of groups. nb is the table's bucket count.
func (sc *batchScratch) groupRows(buckets []bucketKey, nb int) int {
	n := len(buckets)
	sc.group = grow(sc.group, n)
	sc.order = sc.order[:0]
	sc.direct = grow(sc.direct, max(nb, 0))
	clear(sc.direct)
	if sc.index != nil {
		clear(sc.index)
	}
	counts := sc.start[:0]
	for i, k := range buckets {
		var g int32
		if k.partition == "" && k.bucket >= 0 && k.bucket < nb {
			g = sc.direct[k.bucket] - 1
			if g < 0 {
				g = int32(len(sc.order))
				sc.direct[k.bucket] = g + 1
				sc.order = append(sc.order, k)
				counts = append(counts, 0)
			}
		} else {
			if sc.index == nil {
				sc.index = map[bucketKey]int32{}
			}
			var ok bool
			if g, ok = sc.index[k]; !ok {
				g = int32(len(sc.order))
				sc.index[k] = g
				sc.order = append(sc.order, k)
				counts = append(counts, 0)
			}
		}
		sc.group[i] = g
		counts[g]++
	}
	// Counts to starts, in place, with the total appended.
	sum := int32(0)
	for g, c := range counts {
		counts[g] = sum
		sum += c
	}
	sc.start = append(counts, sum)
	return len(sc.order)
}

// firstRow is the segment-relative row number of group g's first row.
func (sc *batchScratch) firstRow(g int) int32 {
	for i, x := range sc.group {
		if int(x) == g {
			return int32(i)
		}
	}
	return 0
}

// checkBatchSchema checks that s is the table's change-batch schema.
func (w *Writer) checkBatchSchema(s *arrow.Schema) error {
	want := w.scratch.schema
	if want == nil {
		var err error
		if want, err = types.ArrowSchema(w.t.schema, true); err != nil {
			return err
		}
		w.scratch.schema = want // the table's schema is fixed for its life
	}
	if s.NumFields() != want.NumFields() {
		return fmt.Errorf("%w: batch has %d columns, want %d (the table's columns, then %s)", types.ErrInvalid, s.NumFields(), want.NumFields(), types.RowKindColumn)
	}
	for i := range want.NumFields() {
		if g, f := s.Field(i), want.Field(i); !arrow.TypeEqual(g.Type, f.Type) {
			return fmt.Errorf("%w: batch column %d (%q) is %s, want %s for %q", types.ErrInvalid, i, g.Name, g.Type, f.Type, f.Name)
		}
	}
	return nil
}
