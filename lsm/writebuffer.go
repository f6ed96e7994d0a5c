package lsm

import (
	"bytes"

	"cmp"
	"github.com/apache/arrow-go/v18/arrow"
	"slices"
)

// WriteBuffer is the in-memory write buffer of one bucket. Records and
// change-batch rows (AddBatch) are appended as written and sorted only
// when flushed. It is not safe for concurrent use.
type WriteBuffer struct {
	recs    []Record
	brows   []batchRow
	batches [][]arrow.Array
	bytes   int64
}

// NewWriteBuffer returns an empty write buffer.
func NewWriteBuffer() *WriteBuffer { return &WriteBuffer{} }

// Add appends a record. The buffer takes ownership of r's Key and Row.
func (b *WriteBuffer) Add(r Record) {
	b.recs = append(b.recs, r)
	b.bytes += r.ApproxBytes()
}

// Len is the number of buffered records and rows.
func (b *WriteBuffer) Len() int { return len(b.recs) + len(b.brows) }

// ApproxBytes estimates the memory the buffered records hold, for a write
// memory budget.
func (b *WriteBuffer) ApproxBytes() int64 { return b.bytes }

// Flush returns the buffered records sorted by (Key, Seq) with the records of
// each key collapsed into one through m, and empties the buffer. Records of a
// key with equal Seq keep the order they were added in.
// Change-batch rows are converted to records first.
func (b *WriteBuffer) Flush(m Merger) []Record {
	if len(b.brows) > 0 {
		b.recs = b.mergedRecords()
		releaseArrays(b.batches)
		b.brows, b.batches = nil, nil
	}
	recs := b.recs
	b.recs, b.bytes = nil, 0
	if len(recs) == 0 {
		return nil
	}
	// Sort positions, not the records (large structs, which a stable sort
	// would move O(n log² n) times): (Key, Seq, position) is a total order,
	// so an unstable sort keeps equal-Seq records in the order added.
	idx := make([]int32, len(recs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(x, y int32) int {
		if c := compareRecords(&recs[x], &recs[y]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	sorted := make([]Record, len(recs))
	for i, x := range idx {
		sorted[i] = recs[x]
	}
	// Merged records are written back in place: one key's result goes
	// where its first record was, which is behind anything still unread.
	out := sorted[:0]
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && bytes.Equal(sorted[j].Key, sorted[i].Key) {
			j++
		}
		out = append(out, mergeKey(m, sorted[i:j]))
		i = j
	}
	clear(sorted[len(out):])
	return out
}
