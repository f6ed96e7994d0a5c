package lsm

import (
	"bytes"
	"context"
	"fmt"
	"iter"

	"github.com/siltdb/silt/types"
)

// MergeRuns merges sorted runs: each source yields records sorted by
// (Key, Seq). It yields one merged record per key in key order: merger.Merge
// of the key's records from every source in ascending Seq order (records with
// equal Seq keep source order). Unless keepDeletes, results whose Kind is not
// +I/+U (tombstones, and the pure retractions an aggregation can leave) are
// dropped: that is what a read wants. A compaction must set keepDeletes,
// since its output is merged again with older and newer runs (a retraction
// must still apply to rows written later). The first error of any source, an
// unsorted source, or ctx's cancellation ends iteration with that error.
// MergeFiles does the same for data files without iterator adapters.
func MergeRuns(ctx context.Context, sources []iter.Seq2[Record, error], merger Merger, keepDeletes bool) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		srcs := make([]RecordSource, len(sources))
		for i, src := range sources {
			next, stop := iter.Pull2(src)
			defer stop()
			srcs[i] = func() (Record, bool, error) {
				r, err, ok := next()
				if !ok {
					return Record{}, false, nil
				}
				if err != nil {
					return Record{}, false, err
				}
				return r, true, nil
			}
		}
		mergeSources(ctx, srcs, merger, keepDeletes, yield)
	}
}

// RecordSource returns a sorted run's next record; ok is false at its end.
// After an error or the end it is not called again.
type RecordSource func() (rec Record, ok bool, err error)

// MergeSources is MergeRuns over sources that are pulled directly: no
// coroutine switch per record (see MergeFiles for whole data files). Each
// source's order is checked as in MergeRuns.
func MergeSources(ctx context.Context, srcs []RecordSource, merger Merger, keepDeletes bool) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		mergeSources(ctx, srcs, merger, keepDeletes, yield)
	}
}

// mergeSources is the body of MergeRuns and MergeFiles.
func mergeSources(ctx context.Context, srcs []RecordSource, merger Merger, keepDeletes bool, yield func(Record, error) bool) {
	if len(srcs) == 1 {
		mergeOne(ctx, srcs[0], merger, keepDeletes, yield)
		return
	}
	canFail := mergeCanFail(merger)
	h := mergeHeap{}
	for i, src := range srcs {
		c := &runCursor{src: i, next: src}
		ok, err := c.advance()
		if err != nil {
			yield(Record{}, err)
			return
		}
		if ok {
			h.push(c)
		}
	}
	var group []Record
	for n := 0; len(h) > 0; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				yield(Record{}, err)
				return
			}
		}
		group = group[:0]
		key := h[0].rec.Key
		for len(h) > 0 && bytes.Equal(h[0].rec.Key, key) {
			c := h[0]
			group = append(group, c.rec)
			ok, err := c.advance()
			if err != nil {
				yield(Record{}, err)
				return
			}
			if ok {
				h.fix0()
			} else {
				h.pop0()
			}
		}
		r := mergeKey(merger, group)
		if !keepDeletes && !r.Kind.IsAdd() {
			continue
		}
		if canFail && len(group) > 1 {
			if err := mergeFailure(&r); err != nil {
				yield(Record{}, err)
				return
			}
		}
		if !yield(r, nil) {
			return
		}
	}
}

// mergeOne merges the records of each key of a single sorted run: no heap.
func mergeOne(ctx context.Context, src RecordSource, merger Merger, keepDeletes bool, yield func(Record, error) bool) {
	canFail := mergeCanFail(merger)
	c := &runCursor{next: src}
	ok, err := c.advance()
	var group []Record
	for n := 0; ok; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				yield(Record{}, err)
				return
			}
		}
		group = append(group[:0], c.rec)
		for {
			if ok, err = c.advance(); err != nil || !ok || !bytes.Equal(c.rec.Key, group[0].Key) {
				break
			}
			group = append(group, c.rec)
		}
		if err != nil {
			break
		}
		r := mergeKey(merger, group)
		if !keepDeletes && !r.Kind.IsAdd() {
			continue
		}
		if canFail && len(group) > 1 {
			if err := mergeFailure(&r); err != nil {
				yield(Record{}, err)
				return
			}
		}
		if !yield(r, nil) {
			return
		}
	}
	if err != nil {
		yield(Record{}, err)
	}
}

// runCursor is the current record of one source.
type runCursor struct {
	src  int
	next RecordSource
	rec  Record
	have bool
}

// advance moves to the source's next record, checking its order.
func (c *runCursor) advance() (bool, error) {
	r, ok, err := c.next()
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	if c.have && compareRecords(&c.rec, &r) > 0 {
		return false, fmt.Errorf("%w: merge source %d is not sorted by (key, seq)", types.ErrInvalid, c.src)
	}
	c.rec, c.have = r, true
	return true, nil
}

// mergeHeap is a binary min-heap of cursors by (Key, Seq, source).
type mergeHeap []*runCursor

func (h mergeHeap) less(i, j int) bool {
	if c := compareRecords(&h[i].rec, &h[j].rec); c != 0 {
		return c < 0
	}
	return h[i].src < h[j].src
}

func (h *mergeHeap) push(c *runCursor) {
	*h = append(*h, c)
	for i := len(*h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		(*h)[i], (*h)[p] = (*h)[p], (*h)[i]
		i = p
	}
}

func (h *mergeHeap) pop0() {
	n := len(*h) - 1
	(*h)[0] = (*h)[n]
	*h = (*h)[:n]
	h.fix0()
}

// fix0 restores the heap after the root's key grew.
func (h mergeHeap) fix0() {
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
