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
//
// The heap is touched as little as the order allows: after the top
// cursor advances it is compared only with the smaller of its two
// children (remembered while they stay put), and stays on top without a
// sift when it is still the smallest; and when it stays on top with a new
// key, no other cursor can hold the old one, so the key's group ends
// without comparing keys again. A key with a single merged +I/+U record
// (not Reset) comes out as that record without calling a Picker merger,
// whose rule picks it anyway (see Picker).
func mergeSources(ctx context.Context, srcs []RecordSource, merger Merger, keepDeletes bool, yield func(Record, error) bool) {
	if len(srcs) == 1 {
		mergeOne(ctx, srcs[0], merger, keepDeletes, yield)
		return
	}
	canFail := mergeCanFail(merger)
	picks := picksAlone(merger)
	h := mergeHeap{}
	for i, src := range srcs {
		c := &runCursor{src: i, next: src}
		ok, _, err := c.advance()
		if err != nil {
			yield(Record{}, err)
			return
		}
		if ok {
			h.push(c)
		}
	}
	bound := -1 // the top's smaller child while the children stay put; -1: unknown
	var group []Record
	for n := 0; len(h) > 0; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				yield(Record{}, err)
				return
			}
		}
		c := h[0]
		key := c.rec.Key
		group = append(group[:0], c.rec)
		for {
			ok, same, err := c.advance()
			if err != nil {
				yield(Record{}, err)
				return
			}
			if !ok {
				h.pop0()
				bound = -1
			} else if len(h) > 1 {
				if bound < 0 {
					bound = 1
					if len(h) > 2 && h.less(2, 1) {
						bound = 2
					}
				}
				if !h.less(0, bound) {
					h[0], h[bound] = h[bound], h[0]
					h.siftDown(bound)
					bound = -1
				} else if !same {
					break // c stays on top with a greater key: nobody holds key
				} else {
					group = append(group, c.rec)
					continue
				}
			} else if !same {
				break
			} else {
				group = append(group, c.rec)
				continue
			}
			if len(h) == 0 || !bytes.Equal(h[0].rec.Key, key) {
				break
			}
			c = h[0]
			group = append(group, c.rec)
		}
		var r Record
		if g := &group[0]; picks && len(group) == 1 && g.Merged && g.Kind.IsAdd() && !g.Reset {
			r = *g
		} else {
			r = mergeKey(merger, group)
		}
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

// picksAlone reports whether merger picks one of a key's records by a
// rule (Picker): a single merged +I/+U record that is not Reset is then
// its own result.
func picksAlone(merger Merger) bool {
	p, ok := merger.(Picker)
	return ok && p.PickRule() != PickNone
}

// mergeOne merges the records of each key of a single sorted run: no heap
// (a Picker's single records are taken as in mergeSources).
func mergeOne(ctx context.Context, src RecordSource, merger Merger, keepDeletes bool, yield func(Record, error) bool) {
	canFail := mergeCanFail(merger)
	picks := picksAlone(merger)
	c := &runCursor{next: src}
	ok, same, err := c.advance()
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
			if ok, same, err = c.advance(); err != nil || !ok || !same {
				break
			}
			group = append(group, c.rec)
		}
		if err != nil {
			break
		}
		var r Record
		if g := &group[0]; picks && len(group) == 1 && g.Merged && g.Kind.IsAdd() && !g.Reset {
			r = *g
		} else {
			r = mergeKey(merger, group)
		}
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

// advance moves to the source's next record, checking its order; same
// reports that its key equals the previous record's.
func (c *runCursor) advance() (ok, same bool, err error) {
	r, ok, err := c.next()
	if err != nil {
		return false, false, err
	}
	if !ok {
		return false, false, nil
	}
	if c.have {
		k := bytes.Compare(c.rec.Key, r.Key)
		if k > 0 || k == 0 && c.rec.Seq > r.Seq {
			return false, false, fmt.Errorf("%w: merge source %d is not sorted by (key, seq)", types.ErrInvalid, c.src)
		}
		same = k == 0
	}
	c.rec, c.have = r, true
	return true, same, nil
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
func (h mergeHeap) fix0() { h.siftDown(0) }

// siftDown restores the heap below i after h[i]'s key grew.
func (h mergeHeap) siftDown(i int) {
	for {
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
