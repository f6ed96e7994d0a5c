package lsm

import (
	"bytes"
	"cmp"

	"github.com/siltdb/silt/types"
)

// Record is one record of a key in a bucket's merge tree: a changelog row as
// written, or the merged state of several of them.
type Record struct {
	// Key is types.EncodeRowKey of the primary-key columns of Row.
	Key []byte
	// Seq orders the records of a key: a higher Seq was written later.
	// Records read from a data file have the file's SeqBase added.
	Seq int64
	// Row is the full row in the read schema's field order (for -U/-D rows
	// only the key columns need to be set).
	Row types.Row
	// Kind is the change type. A merged record of Kind Delete is a
	// tombstone: the key is absent, and the tombstone hides older runs.
	// (Kind, Merged and Reset come last so that they share a word: a
	// Record is 64 bytes, and compactions and write buffers hold one per
	// row.)
	Kind types.RowKind
	// Merged marks a record produced by Merger.Merge. WriteBuffer.Flush,
	// MergeRuns and Lookup set it on every result, and every record read
	// from a data file has it (only merged records are written to files).
	// A merge engine may keep accumulated state in a merged row (e.g. a
	// partial count) that differs from how it reads a raw changelog row.
	Merged bool
	// Reset, on a merged record, says that its state already accounts for
	// a deletion of the key: merging it discards every older record of the
	// key. Merge engines that keep state across records (partial-update,
	// aggregation) set it; it is stored in the data file.
	Reset bool
}

// Merger collapses the records of one key. The table package implements it
// with its merge engines.
//
// Merge receives every record of ONE key (len >= 1) in ascending Seq order
// and returns the merged record, whose Key is that key. A result of Kind
// Delete means the key is absent; such a tombstone is still written by a
// flush or a compaction so that it hides older runs. Readers drop results
// whose Kind is not +I/+U (see MergeRuns).
//
// Merge must be associative over contiguous ranges: merging the records of a
// key that lie in a range of Seq (a write buffer, or runs adjacent in Seq
// order) into one record and later merging that record with the key's other
// records must give the same answer as merging all records at once. The
// result of merging one merged record alone must be that record.
//
// Merge must not retain or modify recs or their rows; it may return one of
// them.
type Merger interface {
	Merge(recs []Record) Record
}

// compareRecords orders records by (Key, Seq).
func compareRecords(a, b *Record) int {
	if c := bytes.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// MergeError is implemented by a value a Merger puts into a merged row
// when the merge fails on the values it combines (an aggregate that
// overflows its column type): Merge cannot return an error, so the failure
// travels as the column's value. Reads and lookups of a FallibleMerger
// return it as their error instead of the row, and writing a row that holds
// it (a flush, a compaction) fails with it.
type MergeError interface {
	error
	MergeFailed()
}

// FallibleMerger is implemented by a Merger whose merges can put a
// MergeError into a row; reads check the rows of only such mergers.
type FallibleMerger interface {
	MergeCanFail() bool
}

// mergeCanFail reports whether m's merged rows must be checked.
func mergeCanFail(m Merger) bool {
	f, ok := m.(FallibleMerger)
	return ok && f.MergeCanFail()
}

// mergeFailure is the MergeError in r's row, or nil.
func mergeFailure(r *Record) error {
	for _, v := range r.Row {
		if e, ok := v.(MergeError); ok {
			return e
		}
	}
	return nil
}

// mergeKey merges the records of one key and marks the result merged.
func mergeKey(m Merger, recs []Record) Record {
	r := m.Merge(recs)
	r.Merged = true
	if r.Key == nil {
		r.Key = recs[0].Key
	}
	return r
}

// ApproxBytes estimates the memory a decoded record holds (write buffers
// and compaction outputs budget with it).
func (r *Record) ApproxBytes() int64 {
	if ref := RefOf(r); ref != nil {
		return ref.approxBytes(r.Key)
	}
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
