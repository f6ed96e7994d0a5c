package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// MaintainOptions configure one run of a table's lifecycle policies.
type MaintainOptions struct {
	// DryRun computes what would be done (MaintainReport.Next) without
	// changing anything.
	DryRun bool
	// Progress, if set, receives one line per step.
	Progress func(msg string)
}

// MaintainReport says what one run of the lifecycle policies did (or, in a
// dry run, would do).
type MaintainReport struct {
	Table             string
	TagsCreated       []string
	TagsDeleted       []string
	SnapshotsExpired  int
	PartitionsExpired int
	FilesTiered       int
	BytesTiered       int64
	FilesDeleted      int
	BytesDeleted      int64
	OrphansDeleted    int
	// TempFilesDeleted counts the stray temp files of crashed writes
	// that orphan cleanup deleted (local stores only).
	TempFilesDeleted int
	LeasesCleaned    int
	// Next describes, in a dry run, each action that would be taken.
	Next     []string
	Duration time.Duration
}

// Maintain runs the table's lifecycle policies once, in this order:
// automatic tags, snapshot expiry (resuming interrupted runs first),
// partition expiry, tiering, snapshot expiry again under
// snapshot.num-retained.max alone when partition expiry or tiering
// committed (so the pass ends within the maximum),
// orphan cleanup, expired-lease cleanup. A
// failing step does not stop the later ones; the returned error joins
// every step's error.
func Maintain(ctx context.Context, t *table.Table, o MaintainOptions) (*MaintainReport, error) {
	return newGC(t).maintain(ctx, o)
}

// capOnlyRetention is a snapshot.time-retained no snapshot outlives: under
// it only snapshot.num-retained.max expires snapshots.
const capOnlyRetention = 100 * 365 * 24 * time.Hour

// capOnly returns t with only snapshot.num-retained.max in force.
func (t *tableGC) capOnly() *tableGC {
	c := *t
	c.opts.Lifecycle.TimeRetained = capOnlyRetention
	return &c
}

// maintain implements Maintain.
func (t *tableGC) maintain(ctx context.Context, o MaintainOptions) (*MaintainReport, error) {
	start := t.env.Now()
	rep := &MaintainReport{Table: t.name}
	if b := t.meta.BranchName(); b != "" {
		return rep, fmt.Errorf("%w: table %s: lifecycle policies run on the main branch, not branch %s", types.ErrInvalid, t.name, b)
	}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf(format, args...))
		}
	}
	var errs []error
	step := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			say("%s: failed: %v", name, err)
		}
	}

	if o.DryRun {
		create, del, err := t.autoTag(ctx, true)
		if len(create) > 0 {
			rep.Next = append(rep.Next, fmt.Sprintf("create automatic tags %s", strings.Join(create, ", ")))
		}
		if len(del) > 0 {
			rep.Next = append(rep.Next, fmt.Sprintf("delete automatic tags %s (tag retention)", strings.Join(del, ", ")))
		}
		step("auto tags", err)
	} else {
		created, deleted, err := t.autoTag(ctx, false)
		rep.TagsCreated, rep.TagsDeleted = created, deleted
		if len(created)+len(deleted) > 0 {
			say("tags: created %d, deleted %d", len(created), len(deleted))
		}
		step("auto tags", err)
	}

	expire := func(again bool) {
		gc := t
		if again {
			gc = t.capOnly()
		}
		exp, next, err := gc.expireSnapshots(ctx, o.DryRun)
		rep.Next = append(rep.Next, next...)
		if exp != nil && !o.DryRun {
			rep.SnapshotsExpired += len(exp.Snapshots)
			rep.FilesDeleted += exp.FilesDeleted
			rep.BytesDeleted += exp.BytesDeleted
			if !again || len(exp.Snapshots) > 0 {
				say("snapshot expiry: %d snapshots expired, %d files (%s) and %d manifests deleted, %d kept for leases or new references, %d interrupted runs resumed",
					len(exp.Snapshots), exp.FilesDeleted, fmtBytes(exp.BytesDeleted), exp.MetaDeleted, exp.Kept, exp.Resumed)
			}
		}
		step("snapshot expiry", err)
	}
	expire(false)

	pe, next, err := t.expirePartitions(ctx, o.DryRun)
	rep.Next = append(rep.Next, next...)
	if pe != nil && len(pe.Partitions) > 0 {
		rep.PartitionsExpired = len(pe.Partitions)
		say("partition expiry: dropped %d partitions (%d files) in snapshot %d", len(pe.Partitions), pe.Files, pe.Snapshot)
	}
	step("partition expiry", err)

	tr, next, err := t.tierFiles(ctx, o.DryRun)
	rep.Next = append(rep.Next, next...)
	if tr != nil && tr.Files > 0 {
		rep.FilesTiered, rep.BytesTiered = tr.Files, tr.Bytes
		say("tiering: moved %d files (%s) to the cold tier in snapshot %d", tr.Files, fmtBytes(tr.Bytes), tr.Snapshot)
	}
	step("tiering", err)

	// Partition expiry and tiering each commit a snapshot: expire again,
	// under the maximum only, so that the pass ends within
	// snapshot.num-retained.max (age and the minimum were applied to the
	// snapshots the pass started with).
	if !o.DryRun && ((pe != nil && pe.Snapshot != 0) || (tr != nil && tr.Snapshot != 0)) {
		expire(true)
	}

	or, next, err := t.cleanOrphans(ctx, o.DryRun)
	rep.Next = append(rep.Next, next...)
	if or != nil && !o.DryRun {
		rep.OrphansDeleted = or.Deleted
		rep.TempFilesDeleted = or.TempFiles
		rep.FilesDeleted += or.Deleted
		rep.BytesDeleted += or.Bytes
		say("orphan cleanup: deleted %d files (%s) and %d temp files of crashed writes; %d younger than %s kept",
			or.Deleted, fmtBytes(or.Bytes), or.TempFiles, or.Young, t.opts.Lifecycle.OrphanGracePeriod)
	}
	step("orphan cleanup", err)

	n, err := t.cleanLeases(ctx, o.DryRun)
	if o.DryRun && n > 0 {
		rep.Next = append(rep.Next, fmt.Sprintf("delete %d expired leases", n))
	} else {
		rep.LeasesCleaned = n
	}
	step("lease cleanup", err)

	rep.Duration = t.env.Now().Sub(start)
	if len(errs) > 0 {
		return rep, fmt.Errorf("table %s: maintain: %w", t.name, errors.Join(errs...))
	}
	return rep, nil
}
