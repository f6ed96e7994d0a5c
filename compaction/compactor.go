package compaction

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Compactor compacts one table: it plans every bucket of the latest
// snapshot, executes the plans and commits their results as COMPACT
// snapshots. A Compactor holds no state between runs; concurrent Runs (and
// other processes' compactors) on one table are safe: conflicting commits
// abort with types.ErrConflict.
type Compactor struct {
	Meta *manifest.Table
	Exec *Executor
	// Picker chooses the compactions of Run; default NewUniversal with
	// Exec.Options. Request.Full uses Full instead.
	Picker Picker
	// User is the commit user of the compaction snapshots. Default
	// "compactor-<uuid>".
	User string
	// Progress, when set, receives events as the run goes; calls are
	// serialized.
	Progress func(Event)

	once sync.Once
	mu   sync.Mutex // serializes Progress
}

// Request selects what one Run compacts.
type Request struct {
	// Full compacts every selected bucket into one run at the last level
	// (dropping deletes and expired rows) instead of asking the picker.
	Full bool
	// Rewrite, with Full, also rewrites buckets already in one run and
	// moves no file without rewriting it (see Full.Rewrite).
	Rewrite bool
	// Filter selects buckets; nil selects all.
	Filter func(BucketID) bool
	// Force, when set, marks buckets whose writer is stalled: they are
	// compacted whenever they have two runs or more and still have
	// Options.StopTrigger runs or more (see Universal).
	Force func(BucketID) bool
}

// Status is the outcome of one bucket's compaction.
type Status string

const (
	Committed Status = "committed"
	// Conflict: another compaction replaced an input first; the outputs
	// were deleted and nothing changed.
	Conflict Status = "conflict"
	// Unchanged: the plan needed no change (every input already in place).
	Unchanged Status = "unchanged"
	Failed    Status = "failed"
)

// BucketReport is what Run did to one bucket it planned.
type BucketReport struct {
	BucketID
	Plan                  Plan
	RunsBefore, RunsAfter int
	Stats                 Stats
	Status                Status
	Err                   error
}

// Report is what one Run did.
type Report struct {
	// SnapshotID is the snapshot planned from (0 for an empty table).
	SnapshotID int64
	// Snapshots are the COMPACT snapshots committed.
	Snapshots []int64
	// Buckets are the planned buckets, in (partition, bucket) order.
	Buckets []BucketReport
	// Stats sums the committed buckets' stats.
	Stats   Stats
	Elapsed time.Duration
}

// EventKind says what an Event reports.
type EventKind int

const (
	// EventPlanned: the run planned Total buckets.
	EventPlanned EventKind = iota
	// EventStarted: one bucket's plan started executing.
	EventStarted
	// EventExecuted: one bucket's plan finished executing (Err on failure).
	EventExecuted
	// EventCommitted: the run committed (Err on failure).
	EventCommitted
)

// Event reports progress of a Run.
type Event struct {
	Kind   EventKind
	Bucket BucketID
	Plan   *Plan
	Stats  Stats
	// Done of Total planned buckets have finished executing.
	Done, Total int
	Err         error
}

func (c *Compactor) init() {
	c.Exec.defaults()
	c.once.Do(func() {
		if c.Picker == nil {
			c.Picker = NewUniversal(c.Exec.Options)
		}
		if c.User == "" {
			c.User = "compactor-" + uuid.NewString()
		}
	})
}

func (c *Compactor) emit(e Event) {
	if c.Progress == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Progress(e)
}

// Run compacts the selected buckets of the latest snapshot. The results of
// all buckets are committed as one COMPACT snapshot; when that conflicts,
// each bucket is committed on its own so that one conflicting bucket does
// not cost the others. A bucket whose commit conflicts has its outputs
// deleted and reports Conflict; Run then returns its report with an error
// wrapping types.ErrConflict. An error whose commit outcome is unknown
// (objstore.ErrAmbiguous) leaves the outputs in place for orphan cleanup.
// Input files are never deleted: older snapshots still reference them.
func (c *Compactor) Run(ctx context.Context, req Request) (*Report, error) {
	c.init()
	start := time.Now()
	rep := &Report{}
	snap, err := c.Meta.Latest(ctx)
	if err != nil || snap == nil {
		return rep, err
	}
	rep.SnapshotID = snap.ID
	files, err := c.Meta.Files(ctx, snap)
	if err != nil {
		return rep, err
	}
	var picker Picker = c.Picker
	if req.Full {
		picker = Full{NumLevels: c.Exec.Options.NumLevels, Rewrite: req.Rewrite || c.Exec.Options.Expire != nil}
	}
	for _, b := range GroupBuckets(files) {
		if req.Filter != nil && !req.Filter(b.BucketID) {
			continue
		}
		force := req.Force != nil && req.Force(b.BucketID)
		if p, ok := picker.Pick(&b, force); ok {
			rep.Buckets = append(rep.Buckets, BucketReport{BucketID: b.BucketID, Plan: p, RunsBefore: p.RunsBefore, RunsAfter: p.RunsBefore})
		}
	}
	c.emit(Event{Kind: EventPlanned, Total: len(rep.Buckets)})
	if len(rep.Buckets) == 0 {
		rep.Elapsed = time.Since(start)
		return rep, nil
	}
	held := c.Meta.Now() // before execute uploads the outputs (Commit.HeldSince)
	results := c.execute(ctx, rep)
	err = c.commitAll(ctx, rep, results, held)
	c.emit(Event{Kind: EventCommitted, Done: len(rep.Buckets), Total: len(rep.Buckets), Err: err})
	if n := len(rep.Snapshots); n > 0 {
		if after, ferr := c.runsAt(ctx, rep.Snapshots[n-1]); ferr == nil {
			for i := range rep.Buckets {
				rep.Buckets[i].RunsAfter = after[rep.Buckets[i].BucketID]
			}
		}
	}
	for _, b := range rep.Buckets {
		if b.Status == Committed {
			rep.Stats.Add(b.Stats)
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, err
}

// execute runs the plans, Exec.Options.Parallelism at a time.
func (c *Compactor) execute(ctx context.Context, rep *Report) []*Result {
	results := make([]*Result, len(rep.Buckets))
	sem := make(chan struct{}, c.Exec.Options.Parallelism)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := range rep.Buckets {
		b := &rep.Buckets[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.emit(Event{Kind: EventStarted, Bucket: b.BucketID, Plan: &b.Plan, Total: len(rep.Buckets)})
			res, err := c.Exec.Execute(ctx, b.Plan)
			mu.Lock()
			done++
			n := done
			mu.Unlock()
			if err != nil {
				b.Status, b.Err = Failed, err
			} else {
				results[i] = res
				b.Stats = res.Stats
			}
			c.emit(Event{Kind: EventExecuted, Bucket: b.BucketID, Plan: &b.Plan, Stats: b.Stats, Done: n, Total: len(rep.Buckets), Err: err})
		}()
	}
	wg.Wait()
	return results
}

// commitAll commits the successful results and records each bucket's
// status.
func (c *Compactor) commitAll(ctx context.Context, rep *Report, results []*Result, held time.Time) error {
	var idx []int
	for i, r := range results {
		switch {
		case r == nil:
		case len(r.Added) == 0 && len(r.Deleted) == 0 && len(r.Upgrades) == 0:
			rep.Buckets[i].Status = Unchanged
		default:
			idx = append(idx, i)
		}
	}
	var errs []error
	for _, b := range rep.Buckets {
		if b.Err != nil {
			errs = append(errs, b.Err)
		}
	}
	if len(idx) > 0 {
		err := c.commitGroup(ctx, rep, results, idx, held)
		if errors.Is(err, types.ErrConflict) && !errors.Is(err, objstore.ErrAmbiguous) && len(idx) > 1 {
			err = nil
			for _, i := range idx {
				if e := c.commitGroup(ctx, rep, results, []int{i}, held); e != nil {
					errs = append(errs, e)
				}
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// commitGroup commits the results idx as one snapshot.
func (c *Compactor) commitGroup(ctx context.Context, rep *Report, results []*Result, idx []int, held time.Time) error {
	mc := manifest.Commit{User: c.User, Identifier: uuid.NewString(), Kind: manifest.CommitCompact, SchemaID: c.Exec.Schema.ID, Fresh: true, HeldSince: held}
	for _, i := range idx {
		r := results[i]
		mc.Added = append(mc.Added, r.Added...)
		mc.Deleted = append(mc.Deleted, r.Deleted...)
		mc.Upgrades = append(mc.Upgrades, r.Upgrades...)
	}
	snap, err := c.Meta.Commit(ctx, mc)
	if err == nil {
		rep.Snapshots = append(rep.Snapshots, snap.ID)
		for _, i := range idx {
			rep.Buckets[i].Status = Committed
		}
		return nil
	}
	ambiguous := errors.Is(err, objstore.ErrAmbiguous)
	conflict := errors.Is(err, types.ErrConflict) && !ambiguous
	for _, i := range idx {
		b := &rep.Buckets[i]
		b.Status, b.Err = Failed, err
		if conflict {
			b.Status = Conflict
		}
		if !ambiguous && (len(idx) == 1 || !conflict) {
			// Definitely not published: the outputs are garbage now.
			if derr := c.Exec.Discard(context.WithoutCancel(ctx), results[i]); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}
	return fmt.Errorf("commit compaction of %d bucket(s): %w", len(idx), err)
}

// runsAt counts the sorted runs of every bucket at snapshot id.
func (c *Compactor) runsAt(ctx context.Context, id int64) (map[BucketID]int, error) {
	s, err := c.Meta.Snapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	files, err := c.Meta.Files(ctx, s)
	if err != nil {
		return nil, err
	}
	return CountRuns(files), nil
}
