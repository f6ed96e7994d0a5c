package lsm

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/siltdb/silt/manifest"
)

// FileSource is one data file a point lookup may read: its manifest entry,
// used to prune by key range without opening, and how to open it.
type FileSource struct {
	Meta manifest.DataFile
	Open func(ctx context.Context) (*FileReader, error)
}

// LookupStats counts what a Lookup did, so callers and tests can see pruning.
type LookupStats struct {
	// Files is the number of files given.
	Files int
	// RangePruned files were skipped by MinKey/MaxKey without opening.
	RangePruned int
	// Opened files were opened (footer and bloom filters read).
	Opened int
	// BloomPruned files were opened, but their row-group key ranges and
	// bloom filters ruled the key out: no row group was read.
	BloomPruned int
	// RowGroupsRead counts row groups read whole and decoded (those
	// without a page index).
	RowGroupsRead int64
	// PagesRead counts the data pages read and decoded, PageReads the
	// ranged reads that fetched them (see FileReader.LookupKeys).
	PagesRead, PageReads int64
	// SeqPruned files were skipped without opening: the merge is last
	// write wins and a record of the key newer than anything they hold
	// (their MaxSeq) was already found.
	SeqPruned int
	// Records counts the records of the key found.
	Records int
}

// Lookup returns the merged record of key across files (one LSM tree): files
// whose MinKey/MaxKey exclude the key are not opened, then each opened
// file's bloom filters and row-group key ranges decide which row groups
// are searched, and its page index which pages of them are read. It
// reports false when no record exists or the merged record is not +I/+U
// (deleted).
//
// When merger is last write wins (LastWriteWins: the merged record is the
// record of the highest sequence number), files are searched newest first
// (by MaxSeq), and a file whose MaxSeq is below a record already found is
// not opened: nothing in it can win. A MaxSeq of 0 is read as unknown.
func Lookup(ctx context.Context, files []FileSource, key []byte, merger Merger) (Record, bool, LookupStats, error) {
	st := LookupStats{Files: len(files)}
	lww := false
	if l, ok := merger.(LastWriteWins); ok && l.LastWriteWins() {
		lww = true
		files = slices.Clone(files)
		slices.SortStableFunc(files, func(a, b FileSource) int { return cmp.Compare(b.Meta.MaxSeq, a.Meta.MaxSeq) })
	}
	var recs []Record
	newest := int64(-1) // the highest sequence number found
	for _, fs := range files {
		if !keyInRange(key, fs.Meta.MinKey, fs.Meta.MaxKey) {
			st.RangePruned++
			continue
		}
		if lww && newest >= 0 && fs.Meta.MaxSeq > 0 && fs.Meta.MaxSeq < newest {
			st.SeqPruned++
			continue
		}
		fr, err := fs.Open(ctx)
		if err != nil {
			return Record{}, false, st, err
		}
		st.Opened++
		if !fr.MayContain(key) {
			st.BloomPruned++
			continue
		}
		before := fr.Stats()
		got, err := fr.LookupKeys(ctx, [][]byte{key})
		after := fr.Stats()
		st.RowGroupsRead += after.RowGroupsRead - before.RowGroupsRead
		st.PagesRead += after.PagesRead - before.PagesRead
		st.PageReads += after.PageReads - before.PageReads
		if err != nil {
			return Record{}, false, st, fmt.Errorf("data file %s: %w", fs.Meta.Path, err)
		}
		for _, r := range got {
			newest = max(newest, r.Seq)
		}
		recs = append(recs, got...)
	}
	st.Records = len(recs)
	if len(recs) == 0 {
		return Record{}, false, st, nil
	}
	slices.SortStableFunc(recs, func(a, b Record) int { return compareRecords(&a, &b) })
	r := mergeKey(merger, recs)
	if len(recs) > 1 && r.Kind.IsAdd() && mergeCanFail(merger) {
		if err := mergeFailure(&r); err != nil {
			return Record{}, false, st, err
		}
	}
	return r, r.Kind.IsAdd(), st, nil
}

// keyInRange reports whether key may lie in [minKey, maxKey]; an empty bound
// is unknown and admits everything.
func keyInRange(key, minKey, maxKey []byte) bool {
	if len(minKey) > 0 && bytes.Compare(key, minKey) < 0 {
		return false
	}
	return len(maxKey) == 0 || bytes.Compare(key, maxKey) <= 0
}
