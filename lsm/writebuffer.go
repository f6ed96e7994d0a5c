package lsm

import (
	"bytes"
	"slices"
)

// WriteBuffer is the in-memory write buffer of one bucket. Records are
// appended as written and sorted only when flushed. It is not safe for
// concurrent use.
type WriteBuffer struct {
	recs  []Record
	bytes int64
}

// NewWriteBuffer returns an empty write buffer.
func NewWriteBuffer() *WriteBuffer { return &WriteBuffer{} }

// Add appends a record. The buffer takes ownership of r's Key and Row.
func (b *WriteBuffer) Add(r Record) {
	b.recs = append(b.recs, r)
	b.bytes += r.ApproxBytes()
}

// Len is the number of buffered records.
func (b *WriteBuffer) Len() int { return len(b.recs) }

// ApproxBytes estimates the memory the buffered records hold, for a write
// memory budget.
func (b *WriteBuffer) ApproxBytes() int64 { return b.bytes }

// Flush returns the buffered records sorted by (Key, Seq) with the records of
// each key collapsed into one through m, and empties the buffer. Records of a
// key with equal Seq keep the order they were added in.
func (b *WriteBuffer) Flush(m Merger) []Record {
	recs := b.recs
	b.recs, b.bytes = nil, 0
	if len(recs) == 0 {
		return nil
	}
	slices.SortStableFunc(recs, func(x, y Record) int { return compareRecords(&x, &y) })
	out := make([]Record, 0, len(recs))
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && bytes.Equal(recs[j].Key, recs[i].Key) {
			j++
		}
		out = append(out, mergeKey(m, recs[i:j]))
		i = j
	}
	return out
}
