package compaction

import (
	"fmt"
	"strings"

	"github.com/siltdb/silt/manifest"
)

// Picker is a compaction policy: a pure function from one bucket's shape
// to the compaction to run now, if any. It does no I/O.
type Picker interface {
	// Pick returns the plan for b. With force (a writer is stalled on b) it
	// returns a plan whenever b has at least two sorted runs (Universal:
	// and still as many as its StopTrigger option, when set).
	Pick(b *Bucket, force bool) (Plan, bool)
}

// Plan is one compaction of one bucket: merge Inputs (a prefix of the
// bucket's runs, newest first) into OutputLevel.
type Plan struct {
	BucketID
	Inputs      []Run
	OutputLevel int
	// DropDeletes: the inputs hold the oldest records of every key they
	// contain (every run of the bucket is an input), so the output may drop
	// tombstones the merge engine allows to drop, and expire rows.
	DropDeletes bool
	// Reason says why the plan was picked: "size-amplification",
	// "size-ratio", "run-count", "forced" or "full".
	Reason string
	// RunsBefore is the number of sorted runs of the bucket when planned.
	RunsBefore int
	// Rewrite: every input file is rewritten, none is moved to the output
	// level as it is (see Full.Rewrite).
	Rewrite bool
}

// Files returns every input file.
func (p *Plan) Files() []manifest.DataFile {
	var out []manifest.DataFile
	for _, r := range p.Inputs {
		out = append(out, r.Files...)
	}
	return out
}

// String renders the plan for logs and tests, e.g.
// "bucket-0: L0,L0,L2 -> L2 (size-ratio)".
func (p Plan) String() string {
	levels := make([]string, len(p.Inputs))
	for i, r := range p.Inputs {
		levels[i] = fmt.Sprintf("L%d", r.Level)
	}
	drop := ""
	if p.DropDeletes {
		drop = ", drop deletes"
	}
	return fmt.Sprintf("%s: %s -> L%d (%s%s)", p.BucketID, strings.Join(levels, ","), p.OutputLevel, p.Reason, drop)
}

// Universal is size-tiered ("universal") compaction as in Paimon and
// RocksDB. Once a bucket has at least SortedRunTrigger runs it picks, in
// this order:
//
//  1. size amplification: when the runs newer than the oldest are larger
//     than MaxSizeAmplificationPercent of the oldest, all runs (a full
//     compaction);
//  2. size ratio: the newest run, then each next older run while its size
//     is at most (100+SizeRatio)% of the runs picked so far, if that is at
//     least two runs;
//  3. run count: when there are more than SortedRunTrigger runs, enough of
//     the newest to bring the count to the trigger, extended by size ratio.
//
// A forced request (a stalled writer) merges at least the two newest runs
// (extended by size ratio) when none of these applies, but only while the
// bucket still has StopTrigger runs or more: a writer's forced request may
// be served by a later round, after other compactions already brought the
// bucket below the stall.
//
// The output goes one level above the next older run that is not merged
// (never to level 0: a plan ending inside level 0 takes runs up to and
// including the first leveled run and writes that run's level), or to the
// last level when every run is merged.
type Universal struct {
	opts Options
}

// NewUniversal returns the universal picker for opts (defaults applied).
func NewUniversal(opts Options) *Universal {
	return &Universal{opts: opts.EnsureDefaults()}
}

// Pick implements Picker.
func (u *Universal) Pick(b *Bucket, force bool) (Plan, bool) {
	runs := b.Runs()
	n := len(runs)
	trigger := u.opts.SortedRunTrigger
	if n >= trigger {
		if p, ok := u.sizeAmplification(b, runs); ok {
			return p, true
		}
		if p, ok := u.sizeRatio(b, runs, 1, false, "size-ratio"); ok {
			return p, true
		}
		if n > trigger {
			return u.sizeRatio(b, runs, n-trigger+1, true, "run-count")
		}
	}
	if force && n >= 2 && n >= u.opts.StopTrigger {
		return u.sizeRatio(b, runs, 2, true, "forced")
	}
	return Plan{}, false
}

func (u *Universal) sizeAmplification(b *Bucket, runs []Run) (Plan, bool) {
	var newer int64
	for _, r := range runs[:len(runs)-1] {
		newer += r.Size()
	}
	oldest := runs[len(runs)-1].Size()
	if newer*100 <= int64(u.opts.MaxSizeAmplificationPercent)*oldest {
		return Plan{}, false
	}
	return u.plan(b, runs, len(runs), "size-amplification"), true
}

func (u *Universal) sizeRatio(b *Bucket, runs []Run, count int, force bool, reason string) (Plan, bool) {
	var size int64
	for _, r := range runs[:count] {
		size += r.Size()
	}
	for ; count < len(runs); count++ {
		next := runs[count].Size()
		if size*int64(100+u.opts.SizeRatio) < next*100 {
			break
		}
		size += next
	}
	if !force && count < 2 {
		return Plan{}, false
	}
	return u.plan(b, runs, count, reason), true
}

// plan merges the newest count runs.
func (u *Universal) plan(b *Bucket, runs []Run, count int, reason string) Plan {
	last := maxLevel(runs, u.opts.NumLevels)
	out := last
	if count < len(runs) {
		out = max(0, runs[count].Level-1)
	}
	if out == 0 {
		// Never write level 0: take runs up to the first leveled one.
		for count < len(runs) {
			r := runs[count]
			count++
			if r.Level > 0 {
				out = r.Level
				break
			}
		}
	}
	if count == len(runs) {
		out = last
	}
	return Plan{BucketID: b.BucketID, Inputs: runs[:count], OutputLevel: out,
		DropDeletes: count == len(runs), Reason: reason, RunsBefore: len(runs)}
}

// maxLevel is the last level: NumLevels-1, or a higher level that files
// already use (num-levels was lowered).
func maxLevel(runs []Run, numLevels int) int {
	last := numLevels - 1
	for _, r := range runs {
		last = max(last, r.Level)
	}
	return last
}

// Full compacts every run of a bucket into the last level, dropping deletes.
// A bucket that already is one run at the last level without -U/-D records
// is skipped unless Rewrite is set: then every file is rewritten, which
// applies a record TTL and writes older files in the current data-file
// format, codec and schema.
type Full struct {
	NumLevels int
	Rewrite   bool
}

// Pick implements Picker; force is ignored.
func (f Full) Pick(b *Bucket, _ bool) (Plan, bool) {
	runs := b.Runs()
	if len(runs) == 0 {
		return Plan{}, false
	}
	last := maxLevel(runs, max(f.NumLevels, 2))
	if len(runs) == 1 && runs[0].Level == last && !f.Rewrite {
		deletes := false
		for _, file := range runs[0].Files {
			deletes = deletes || file.DeleteCount > 0
		}
		if !deletes {
			return Plan{}, false
		}
	}
	return Plan{BucketID: b.BucketID, Inputs: runs, OutputLevel: last, DropDeletes: true, Reason: "full", RunsBefore: len(runs), Rewrite: f.Rewrite}, true
}
