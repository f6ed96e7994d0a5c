package compaction

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/siltdb/silt/manifest"
)

// BucketID names one bucket of one partition: one merge tree.
type BucketID struct {
	Partition string
	Bucket    int
}

func (b BucketID) String() string {
	if b.Partition == "" {
		return fmt.Sprintf("bucket-%d", b.Bucket)
	}
	return fmt.Sprintf("%s/bucket-%d", b.Partition, b.Bucket)
}

// Bucket is the live files of one bucket in one snapshot.
type Bucket struct {
	BucketID
	Files []manifest.DataFile
}

// Run is one sorted run: a level-0 file, or every file of a level >= 1 in
// key order.
type Run struct {
	Level int
	Files []manifest.DataFile
}

// Size is the total size of the run's files in bytes.
func (r *Run) Size() int64 {
	var n int64
	for _, f := range r.Files {
		n += f.Size
	}
	return n
}

// GroupBuckets groups files by bucket, in (partition, bucket) order.
func GroupBuckets(files []manifest.DataFile) []Bucket {
	idx := map[BucketID]int{}
	var out []Bucket
	for _, f := range files {
		id := BucketID{f.Partition, f.Bucket}
		i, ok := idx[id]
		if !ok {
			i = len(out)
			idx[id] = i
			out = append(out, Bucket{BucketID: id})
		}
		out[i].Files = append(out[i].Files, f)
	}
	slices.SortFunc(out, func(a, b Bucket) int {
		if c := strings.Compare(a.Partition, b.Partition); c != 0 {
			return c
		}
		return cmp.Compare(a.Bucket, b.Bucket)
	})
	return out
}

// Runs returns the bucket's sorted runs, newest first: level-0 files by
// descending sequence numbers, then levels 1, 2, ... .
func (b *Bucket) Runs() []Run {
	var l0 []manifest.DataFile
	byLevel := map[int][]manifest.DataFile{}
	for _, f := range b.Files {
		if f.Level == 0 {
			l0 = append(l0, f)
		} else {
			byLevel[f.Level] = append(byLevel[f.Level], f)
		}
	}
	slices.SortFunc(l0, func(x, y manifest.DataFile) int {
		if c := cmp.Compare(y.MaxSeq, x.MaxSeq); c != 0 {
			return c
		}
		if c := cmp.Compare(y.MinSeq, x.MinSeq); c != 0 {
			return c
		}
		return strings.Compare(x.Path, y.Path)
	})
	runs := make([]Run, 0, len(l0)+len(byLevel))
	for _, f := range l0 {
		runs = append(runs, Run{Level: 0, Files: []manifest.DataFile{f}})
	}
	levels := make([]int, 0, len(byLevel))
	for l := range byLevel {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	for _, l := range levels {
		fs := byLevel[l]
		slices.SortFunc(fs, func(x, y manifest.DataFile) int {
			if c := bytes.Compare(x.MinKey, y.MinKey); c != 0 {
				return c
			}
			return strings.Compare(x.Path, y.Path)
		})
		runs = append(runs, Run{Level: l, Files: fs})
	}
	return runs
}

// CountRuns returns the number of sorted runs of every bucket that has
// files.
func CountRuns(files []manifest.DataFile) map[BucketID]int {
	type lk struct {
		id    BucketID
		level int
	}
	levels := map[lk]bool{}
	out := map[BucketID]int{}
	for _, f := range files {
		id := BucketID{f.Partition, f.Bucket}
		if f.Level == 0 {
			out[id]++
			continue
		}
		if k := (lk{id, f.Level}); !levels[k] {
			levels[k] = true
			out[id]++
		}
	}
	return out
}

// CheckLevels verifies the shape every level >= 1 must have: files with
// disjoint key ranges (one sorted run). Tests call it after every step.
func (b *Bucket) CheckLevels() error {
	for _, r := range b.Runs() {
		if r.Level == 0 {
			continue
		}
		for i := 1; i < len(r.Files); i++ {
			if bytes.Compare(r.Files[i-1].MaxKey, r.Files[i].MinKey) >= 0 {
				return fmt.Errorf("%s: level %d: files %s and %s overlap", b.BucketID, r.Level, r.Files[i-1].Path, r.Files[i].Path)
			}
		}
	}
	return nil
}
