package lsm

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/siltdb/silt/types"
)

// Merging sorted runs into Arrow record batches by selection and take.
//
// The files are first grouped into runs: files whose key ranges do not
// overlap, in key order, are one run (a compacted bucket is one run). A
// k-way merge over the runs' decoded row groups (batchCursor) compares
// only keys and sequence numbers and decides, per key, which (batch, row)
// becomes the output row:
//
//   - a key with one record is taken as it is, or dropped unless +I/+U;
//   - a key with several records: a merger with a PickRule (deduplicate,
//     first-row without sequence.field) picks one without looking at the
//     rows; any other merger gets the key's records boxed as Records, and
//     its result is taken from the record it returned, or appended as its
//     boxed row when it built a new one.
//
// The output columns are built from those picks column by column
// (colOut.take), with runs of consecutive rows of one batch copied at
// once. When the picks are a contiguous range of one batch (a compacted
// bucket without deletes), the output batch is a zero-copy slice of the
// decoded arrays. Columns outside the projection are all-NULL arrays.

// PickRule is an optional capability of a Merger (see Picker).
type PickRule uint8

const (
	// PickNone: Merge must be called.
	PickNone PickRule = iota
	// PickLast: the result is the last record in (Seq, source) order, a
	// tombstone unless it is +I/+U.
	PickLast
	// PickFirstAdd: the result is the first +I/+U record, a tombstone when
	// there is none.
	PickFirstAdd
)

// Picker is implemented by a Merger whose result for a key is always one
// of the key's records (with its Kind kept when +I/+U) chosen by a fixed
// rule: the batch merge then never boxes the rows. Its Merge must not read
// the rows either: a compaction hands it RowRef records unboxed.
type Picker interface {
	PickRule() PickRule
}

// DefaultBatchRows is the default BatchOptions.MaxRows.
const DefaultBatchRows = 64 << 10

// BatchOptions configure MergeBatches.
type BatchOptions struct {
	// Read is the column projection (see ReadOptions).
	Read ReadOptions
	// Schema is the Arrow schema of the read schema (types.ArrowSchema of
	// the schema the files were opened with): the batches' schema.
	Schema *arrow.Schema
	// MaxRows caps the rows of one batch (default DefaultBatchRows).
	MaxRows int
}

// MergeBatches is MergeFiles yielding Arrow record batches of
// opts.Schema for a read (tombstones and retractions dropped): the same
// rows in the same order, columns outside the projection all NULL. A
// batch stays valid after the loop body returns (it holds no pooled
// memory).
func MergeBatches(ctx context.Context, files []*FileReader, merger Merger, opts BatchOptions) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		m, err := NewBatchMerge(ctx, files, merger, opts)
		if err != nil {
			yield(nil, err)
			return
		}
		defer m.Close()
		m.All()(yield)
	}
}

// BatchMerge is MergeBatches started ahead of iteration: NewBatchMerge
// starts decoding the first row group of every run at once.
type BatchMerge struct {
	ctx    context.Context
	runs   []*batchCursor
	merger Merger
	rule   PickRule
	opts   BatchOptions
	want   []bool
	nulls  nullArrays
}

// NewBatchMerge starts a merge of files (see MergeBatches). Close
// releases it; All may be called once.
func NewBatchMerge(ctx context.Context, files []*FileReader, merger Merger, opts BatchOptions) (*BatchMerge, error) {
	if opts.Schema == nil {
		return nil, fmt.Errorf("%w: batch merge without a schema", types.ErrInvalid)
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultBatchRows
	}
	m := &BatchMerge{ctx: ctx, merger: merger, opts: opts}
	if p, ok := merger.(Picker); ok {
		m.rule = p.PickRule()
	}
	for _, f := range files {
		if len(f.cols) != opts.Schema.NumFields() {
			return nil, fmt.Errorf("%w: batch schema has %d fields, the read schema %d", types.ErrInvalid, opts.Schema.NumFields(), len(f.cols))
		}
		want, _, err := f.projection(opts.Read)
		if err != nil {
			return nil, err
		}
		m.want = want
	}
	for _, run := range planRuns(files) {
		c, err := newBatchCursor(ctx, run, opts.Read)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.runs = append(m.runs, c)
	}
	return m, nil
}

// Close stops the background decoding and waits for it.
func (m *BatchMerge) Close() {
	for _, c := range m.runs {
		c.close()
	}
	m.runs = nil
}

// runFile is a file of a run and its position among the merged files
// (ties of equal (key, seq) go to the earlier position, as in MergeFiles).
type runFile struct {
	f   *FileReader
	src int
}

// planRuns groups files into runs of files whose key ranges ascend without
// overlap: files in MinKey order go to the first run whose last file ends
// before them.
func planRuns(files []*FileReader) [][]runFile {
	order := make([]runFile, 0, len(files))
	for i, f := range files {
		if len(f.groups) > 0 {
			order = append(order, runFile{f, i})
		}
	}
	slices.SortStableFunc(order, func(a, b runFile) int { return bytes.Compare(a.f.minKey, b.f.minKey) })
	var runs [][]runFile
	for _, rf := range order {
		placed := false
		for i, run := range runs {
			if bytes.Compare(run[len(run)-1].f.maxKey, rf.f.minKey) < 0 {
				runs[i] = append(run, rf)
				placed = true
				break
			}
		}
		if !placed {
			runs = append(runs, []runFile{rf})
		}
	}
	return runs
}

// pick is one output row: row r of batch b, or (b nil) boxed row r.
type pick struct {
	b *Batch
	r int
}

// All yields the merged batches.
func (m *BatchMerge) All() iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		o := &batchOut{m: m, yield: yield}
		// A merge of several runs picks row by row, mostly one segment
		// per row: size the segments for a whole batch once instead of
		// growing them by doubling.
		if len(m.runs) > 1 {
			rows := 0
			for _, c := range m.runs {
				for _, rf := range c.files {
					rows += int(rf.f.RowCount())
				}
			}
			o.segs = make([]segment, 0, min(rows, m.opts.MaxRows))
		}
		if err := m.merge(o); err != nil {
			if err != errStop {
				yield(nil, err)
			}
			return
		}
		if err := o.flush(); err != nil && err != errStop {
			yield(nil, err)
		}
	}
}

// entry is one record of the key being merged.
type entry struct {
	b   *Batch
	r   int
	src int
}

// merge runs the k-way merge, handing each key's pick to o.
func (m *BatchMerge) merge(o *batchOut) error {
	var h []*batchCursor
	for _, c := range m.runs {
		ok, err := c.valid()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, c)
		}
	}
	less := func(a, b *batchCursor) bool {
		if c := bytes.Compare(a.cur.Key(a.r), b.cur.Key(b.r)); c != 0 {
			return c < 0
		}
		if c := cmp.Compare(a.cur.seq[a.r], b.cur.seq[b.r]); c != 0 {
			return c < 0
		}
		return a.srcOf() < b.srcOf()
	}
	heapFix := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			s := l
			if r := l + 1; r < len(h) && less(h[r], h[l]) {
				s = r
			}
			if !less(h[s], h[i]) {
				return
			}
			h[i], h[s] = h[s], h[i]
			i = s
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		heapFix(i)
	}
	var group []entry
	for n := 0; len(h) > 0; n++ {
		if n%1024 == 0 {
			if err := m.ctx.Err(); err != nil {
				return err
			}
		}
		if len(h) == 1 {
			// One run left: its keys with a single record, up to the row
			// group's last row, need no heap and no grouping.
			if err := m.bulk(h[0], o); err != nil {
				return err
			}
		}
		top := h[0]
		key := top.cur.Key(top.r)
		group = append(group[:0], entry{top.cur, top.r, top.srcOf()})
		for {
			c := h[0]
			ok, err := c.advance()
			if err != nil {
				return err
			}
			if ok {
				heapFix(0)
			} else {
				h[0] = h[len(h)-1]
				h = h[:len(h)-1]
				heapFix(0)
			}
			if len(h) == 0 || !bytes.Equal(h[0].cur.Key(h[0].r), key) {
				break
			}
			group = append(group, entry{h[0].cur, h[0].r, h[0].srcOf()})
		}
		if err := m.mergeKey(group, o); err != nil {
			return err
		}
	}
	return nil
}

// bulk picks the rows of c's row group from c.r on while each key has one
// record (the next row's key differs), stopping at the row group's last
// row, which the caller merges with whatever follows in the next one.
func (m *BatchMerge) bulk(c *batchCursor, o *batchOut) error {
	b, r := c.cur, c.r
	start := -1 // first row of the pending range of adds
	for ; r < b.rows-1 && (b.uniqueKeys || !bytes.Equal(b.Key(r), b.Key(r+1))); r++ {
		if b.Kind(r).IsAdd() {
			if start < 0 {
				start = r
			}
			continue
		}
		if start >= 0 {
			if err := o.addRange(b, start, r); err != nil {
				return err
			}
			start = -1
		}
	}
	if start >= 0 {
		if err := o.addRange(b, start, r); err != nil {
			return err
		}
	}
	c.r = r
	return nil
}

// mergeKey decides the output row of one key's records (in (seq, source)
// order).
func (m *BatchMerge) mergeKey(group []entry, o *batchOut) error {
	if len(group) == 1 {
		e := group[0]
		if e.b.Kind(e.r).IsAdd() {
			return o.add(pick{e.b, e.r})
		}
		return nil
	}
	switch m.rule {
	case PickLast:
		e := group[len(group)-1]
		if e.b.Kind(e.r).IsAdd() {
			return o.add(pick{e.b, e.r})
		}
		return nil
	case PickFirstAdd:
		for _, e := range group {
			if e.b.Kind(e.r).IsAdd() {
				return o.add(pick{e.b, e.r})
			}
		}
		return nil
	}
	recs := make([]Record, len(group))
	width := len(m.want)
	slab := make([]types.Value, width*len(group))
	for i, e := range group {
		row := types.Row(slab[i*width : (i+1)*width : (i+1)*width])
		for c, w := range m.want {
			if w {
				if a := e.b.cols[c].arr; a != nil {
					row[c] = types.ValueAt(a, e.r)
				}
			}
		}
		kind := e.b.kind[e.r]
		recs[i] = Record{Key: e.b.Key(e.r), Seq: e.b.seq[e.r], Kind: types.RowKind(kind & 3),
			Reset: kind&kindResetBit != 0, Merged: true, Row: row}
	}
	r := mergeKey(m.merger, recs)
	if !r.Kind.IsAdd() {
		return nil
	}
	if err := mergeFailure(&r); err != nil {
		return err
	}
	if len(r.Row) > 0 {
		for i := range recs {
			if &recs[i].Row[0] == &r.Row[0] {
				return o.add(pick{group[i].b, group[i].r})
			}
		}
	}
	if len(r.Row) != width {
		return fmt.Errorf("%w: merge engine returned a row of %d columns for %d", types.ErrInvalid, len(r.Row), width)
	}
	return o.addRow(r.Row)
}

// batchOut collects picks, as runs of consecutive rows of one batch
// (segments), and emits batches.
type batchOut struct {
	m     *BatchMerge
	yield func(arrow.Record, error) bool
	segs  []segment
	n     int // rows in segs
	boxed []types.Row
}

func (o *batchOut) add(p pick) error { return o.addRange(p.b, p.r, p.r+1) }

// addRange picks rows [from, to) of b.
func (o *batchOut) addRange(b *Batch, from, to int) error {
	for from < to {
		end := min(to, from+o.m.opts.MaxRows-o.n)
		if k := len(o.segs); k > 0 && o.segs[k-1].b == b && o.segs[k-1].to == from {
			o.segs[k-1].to = end
		} else {
			o.segs = append(o.segs, segment{b, from, end})
		}
		o.n += end - from
		from = end
		// A row group's last row closing the only segment: the batch goes
		// out as the row group's arrays.
		if o.n >= o.m.opts.MaxRows || (len(o.segs) == 1 && end == b.rows) {
			if err := o.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o *batchOut) addRow(row types.Row) error {
	o.boxed = append(o.boxed, row)
	r := len(o.boxed) - 1
	if k := len(o.segs); k > 0 && o.segs[k-1].b == nil && o.segs[k-1].to == r {
		o.segs[k-1].to++
	} else {
		o.segs = append(o.segs, segment{nil, r, r + 1})
	}
	o.n++
	if o.n >= o.m.opts.MaxRows {
		return o.flush()
	}
	return nil
}

// flush emits the collected picks as one batch; errStop when the consumer
// stopped.
func (o *batchOut) flush() error {
	n := o.n
	if n == 0 {
		return nil
	}
	schema := o.m.opts.Schema
	cols := make([]arrow.Array, schema.NumFields())
	var release []arrow.Array
	defer func() {
		for _, a := range release {
			a.Release()
		}
	}()
	if len(o.segs) == 1 && o.segs[0].b != nil {
		// A contiguous range of one batch: its arrays, or slices of them.
		b, from := o.segs[0].b, o.segs[0].from
		for c := range cols {
			a := b.cols[c].arr
			switch {
			case a == nil || !o.m.want[c]:
				cols[c] = o.m.nulls.get(schema.Field(c).Type, n)
			case from == 0 && n == b.rows:
				cols[c] = a
			default:
				cols[c] = array.NewSlice(a, int64(from), int64(from+n))
				release = append(release, cols[c])
			}
		}
	} else {
		for c := range cols {
			if !o.m.want[c] {
				cols[c] = o.m.nulls.get(schema.Field(c).Type, n)
				continue
			}
			if col, ok := takeSegments(schema.Field(c).Type, o.segs, c, n); ok {
				cols[c] = col.arr
				release = append(release, col.arr)
				continue
			}
			out, err := newColOut(o.m.fieldType(c), n)
			if err != nil {
				return err
			}
			for _, s := range o.segs {
				if s.b == nil {
					for r := s.from; r < s.to; r++ {
						if err := out.appendValue(o.boxed[r][c]); err != nil {
							return err
						}
					}
					continue
				}
				src := &s.b.cols[c]
				if src.arr == nil {
					for range s.to - s.from {
						out.appendNull()
					}
					continue
				}
				out.takeRange(src, s.from, s.to)
			}
			col := out.finish()
			cols[c] = col.arr
			release = append(release, col.arr)
		}
	}
	rec := array.NewRecordBatch(schema, cols, int64(n))
	o.segs, o.boxed, o.n = o.segs[:0], o.boxed[:0], 0
	ok := o.yield(rec, nil)
	rec.Release()
	if !ok {
		return errStop
	}
	return nil
}

// fieldType is the silt type of read-schema field c.
func (m *BatchMerge) fieldType(c int) types.DataType {
	return m.runs[0].files[0].f.cols[c].to
}

// segment is a run of picks: rows [from, to) of batch b, or of the boxed
// rows when b is nil.
type segment struct {
	b        *Batch
	from, to int
}
