package lsm

import (
	"bytes"
	"cmp"
	"context"
	"fmt"

	"github.com/siltdb/silt/types"
)

// batchCursor walks one run (files in key order) a decoded row group at a
// time. While the merge consumes one row group, the next one (of the same
// file or the next) is loaded, verified and decoded in the background, so
// at most two decoded row groups of a run are held.
type batchCursor struct {
	ctx    context.Context
	cancel context.CancelFunc
	files  []runFile
	want   [][]bool
	check  []bool

	nextFile, nextGroup int // next row group to start decoding
	pending             *batchLoad

	cur  *Batch
	file int // index in files of cur
	r    int
	err  error
}

// batchLoad is a row group being decoded in the background.
type batchLoad struct {
	done chan struct{}
	file int
	b    *Batch
	err  error
}

func newBatchCursor(ctx context.Context, files []runFile, opts ReadOptions) (*batchCursor, error) {
	c := &batchCursor{files: files}
	for _, rf := range files {
		want, check, err := rf.f.projection(opts)
		if err != nil {
			return nil, err
		}
		c.want, c.check = append(c.want, want), append(c.check, check)
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.startNext()
	return c, nil
}

// startNext starts decoding the next row group of the run, if any.
func (c *batchCursor) startNext() {
	for c.nextFile < len(c.files) && c.nextGroup >= len(c.files[c.nextFile].f.groups) {
		c.nextFile, c.nextGroup = c.nextFile+1, 0
	}
	if c.nextFile >= len(c.files) {
		c.pending = nil
		return
	}
	fi, gi := c.nextFile, c.nextGroup
	c.nextGroup++
	l := &batchLoad{done: make(chan struct{}), file: fi}
	c.pending = l
	go func() {
		defer close(l.done)
		l.b, l.err = c.files[fi].f.decodeBatch(c.ctx, gi, c.want[fi], c.check[fi], nil)
	}()
}

// srcOf is the merge position of the current row's file.
func (c *batchCursor) srcOf() int { return c.files[c.file].src }

// valid positions the cursor on a row, loading the next row group when
// the current one is used up; false at the end of the run.
func (c *batchCursor) valid() (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	for c.cur == nil || c.r >= c.cur.rows {
		if c.pending == nil {
			c.cur = nil
			return false, nil
		}
		l := c.pending
		<-l.done
		if l.err != nil {
			c.err = l.err
			return false, l.err
		}
		prev, prevR := c.cur, c.r-1
		c.cur, c.r, c.file = l.b, 0, l.file
		c.startNext()
		// Row groups are sorted inside; check the seam with the previous.
		if prev != nil && prev.rows > 0 && c.cur.rows > 0 {
			k := bytes.Compare(prev.Key(prevR), c.cur.Key(0))
			if k > 0 || (k == 0 && cmp.Compare(prev.seq[prevR], c.cur.seq[0]) > 0) {
				c.err = fmt.Errorf("%w: records out of (key, seq) order in row group %d", types.ErrCorruption, c.cur.group)
				return false, c.err
			}
		}
	}
	return true, nil
}

// advance moves to the next row; false at the end of the run.
func (c *batchCursor) advance() (bool, error) {
	c.r++
	return c.valid()
}

// close stops background work and waits for it.
func (c *batchCursor) close() {
	c.cancel()
	if c.pending != nil {
		<-c.pending.done
		c.pending = nil
	}
	c.cur = nil
}
