package lsm

import (
	"bytes"
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
	// Records counts the records of the key found.
	Records int
}

// Lookup returns the merged record of key across files (one LSM tree): files
// whose MinKey/MaxKey exclude the key are not opened, then each opened
// file's bloom filters and row-group key ranges decide which row groups
// are searched, and its page index which pages of them are read. It reports false when no record exists or the merged record is not
// +I/+U (deleted).
func Lookup(ctx context.Context, files []FileSource, key []byte, merger Merger) (Record, bool, LookupStats, error) {
	st := LookupStats{Files: len(files)}
	var recs []Record
	for _, fs := range files {
		if !keyInRange(key, fs.Meta.MinKey, fs.Meta.MaxKey) {
			st.RangePruned++
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
