package lsm

import (
	"context"
	"fmt"
	"iter"

	"github.com/siltdb/silt/types"
)

// fileCursor pulls a file's records in (Key, Seq) order, one decoded row
// group at a time. With prefetch, while the caller consumes row group i,
// row group i+1 is loaded (a ranged GET when the file is not in memory),
// verified and decoded in a background goroutine, so I/O and decoding
// overlap with the merge and whatever consumes it; at most two decoded row
// groups are held. Without prefetch (All, and so compaction's merges of
// many files) row groups are decoded on demand, one held at a time.
type fileCursor struct {
	f        *FileReader
	ctx      context.Context
	cancel   context.CancelFunc
	want     []bool
	check    bool
	prefetch bool

	next    int // next row group to start loading
	pending *groupLoad
	cur     *groupBatch
	r       int // next row of cur

	prev     Record
	havePrev bool
	scratch  []byte
	err      error
}

// groupLoad is a row group being decoded in the background.
type groupLoad struct {
	done chan struct{}
	b    *groupBatch
	err  error
}

// newCursor starts reading f; with prefetch the first row group starts
// loading at once.
func (f *FileReader) newCursor(ctx context.Context, opts ReadOptions, prefetch bool) (*fileCursor, error) {
	want, check, err := f.projection(opts)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	c := &fileCursor{f: f, ctx: cctx, cancel: cancel, want: want, check: check, prefetch: prefetch}
	if prefetch {
		c.startNext()
	}
	return c, nil
}

// startNext starts decoding the next row group, if any.
func (c *fileCursor) startNext() {
	if c.next >= len(c.f.groups) {
		c.pending = nil
		return
	}
	l := &groupLoad{done: make(chan struct{})}
	i := c.next
	c.next++
	c.pending = l
	go func() {
		defer close(l.done)
		l.b, l.err = c.f.decodeGroup(c.ctx, i, c.want, c.check)
	}()
}

// nextRecord returns the next record; ok is false at the end.
func (c *fileCursor) nextRecord() (rec Record, ok bool, err error) {
	if c.err != nil {
		return Record{}, false, c.err
	}
	for c.cur == nil || c.r >= c.cur.rows {
		c.cur = nil
		if !c.prefetch {
			if c.next >= len(c.f.groups) {
				return Record{}, false, nil
			}
			b, err := c.f.decodeGroup(c.ctx, c.next, c.want, c.check)
			if err != nil {
				c.err = err
				return Record{}, false, err
			}
			c.cur, c.r = b, 0
			c.next++
			continue
		}
		if c.pending == nil {
			return Record{}, false, nil
		}
		l := c.pending
		<-l.done
		if l.err != nil {
			c.err = l.err
			return Record{}, false, l.err
		}
		c.cur, c.r = l.b, 0
		c.startNext()
	}
	rec, err = c.f.record(c.cur, c.r, &c.scratch)
	if err != nil {
		c.err = err
		return Record{}, false, err
	}
	if c.havePrev && compareRecords(&c.prev, &rec) > 0 {
		c.err = fmt.Errorf("%w: records out of (key, seq) order in row group %d", types.ErrCorruption, c.cur.group)
		return Record{}, false, c.err
	}
	c.r++
	c.prev, c.havePrev = rec, true
	return rec, true, nil
}

// GroupRows is one row group decoded column by column (every column of the
// read schema), handing out its records in file order.
type GroupRows struct {
	f       *FileReader
	b       *groupBatch
	r       int
	scratch []byte
}

// DecodeGroup loads, verifies and decodes row group i with the columnar
// decoder (the checks of Records: checksum, key range, (key, seq) order,
// kinds, _key against the key columns). Its records hold every column.
func (f *FileReader) DecodeGroup(ctx context.Context, i int) (*GroupRows, error) {
	if i < 0 || i >= len(f.groups) {
		return nil, fmt.Errorf("%w: row group %d of %d", types.ErrInvalid, i, len(f.groups))
	}
	want, check, err := f.projection(ReadOptions{})
	if err != nil {
		return nil, err
	}
	b, err := f.decodeGroup(ctx, i, want, check)
	if err != nil {
		return nil, err
	}
	return &GroupRows{f: f, b: b}, nil
}

// Next returns the row group's next record; ok is false after the last.
func (g *GroupRows) Next() (rec Record, ok bool, err error) {
	if g.r >= g.b.rows {
		return Record{}, false, nil
	}
	if rec, err = g.f.record(g.b, g.r, &g.scratch); err != nil {
		return Record{}, false, err
	}
	g.r++
	return rec, true, nil
}

// close stops background work and waits for it.
func (c *fileCursor) close() {
	c.cancel()
	if c.pending != nil {
		<-c.pending.done
		c.pending = nil
	}
	c.cur = nil
}

// Records yields the records of the file in file order, (Key, Seq)
// ascending, decoding only the columns opts selects (see ReadOptions), one
// row group at a time. Iteration stops at the first error.
func (f *FileReader) Records(ctx context.Context, opts ReadOptions) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		c, err := f.newCursor(ctx, opts, false)
		if err != nil {
			yield(Record{}, err)
			return
		}
		defer c.close()
		for {
			rec, ok, err := c.nextRecord()
			if err != nil {
				yield(Record{}, err)
				return
			}
			if !ok || !yield(rec, nil) {
				return
			}
		}
	}
}

// MergeFiles is MergeRuns over whole data files (each one sorted run),
// decoding only the columns opts selects. It pulls records from the files
// without coroutines, and merges a single file without a heap. With a
// projection the merger sees only the projected columns, so it must not
// depend on others (a sequence field must be projected).
func MergeFiles(ctx context.Context, files []*FileReader, opts ReadOptions, merger Merger, keepDeletes bool) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		m, err := NewFileMerge(ctx, files, opts, merger, keepDeletes)
		if err != nil {
			yield(Record{}, err)
			return
		}
		defer m.Close()
		m.All()(yield)
	}
}

// FileMerge is MergeFiles started ahead of iteration: NewFileMerge starts
// loading and decoding the first row group of every file at once, so a
// scan can prepare its next bucket while it consumes the current one.
// Each file then decodes its next row group in the background (see
// fileCursor), so a merge holds up to two decoded row groups per file.
type FileMerge struct {
	ctx         context.Context
	cursors     []*fileCursor
	merger      Merger
	keepDeletes bool
}

// NewFileMerge starts a merge of files (see MergeFiles). Close releases
// it; All may be called once.
func NewFileMerge(ctx context.Context, files []*FileReader, opts ReadOptions, merger Merger, keepDeletes bool) (*FileMerge, error) {
	m := &FileMerge{ctx: ctx, merger: merger, keepDeletes: keepDeletes}
	for _, f := range files {
		c, err := f.newCursor(ctx, opts, true)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.cursors = append(m.cursors, c)
	}
	return m, nil
}

// All yields the merged records (see MergeRuns).
func (m *FileMerge) All() iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		srcs := make([]RecordSource, len(m.cursors))
		for i, c := range m.cursors {
			srcs[i] = c.nextRecord
		}
		mergeSources(m.ctx, srcs, m.merger, m.keepDeletes, yield)
	}
}

// Close stops the background decoding and waits for it.
func (m *FileMerge) Close() {
	for _, c := range m.cursors {
		c.close()
	}
	m.cursors = nil
}
