package table

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Rebuild replays a table's history into another table (silt rebuild):
// for each source snapshot in id order it applies the row-level changes of
// that commit (Table.Changes of the snapshot against its parent) to a
// writer of the target and commits them as one target snapshot. Given the
// same source history and target options the target gets the same content
// and the same changes at every replayed snapshot, every time.
//
// Each target commit has user "rebuild:<source>", identifier
// "src-snapshot-<id>" and the snapshot properties rebuild.source and
// rebuild.source-snapshot (the last source snapshot applied). A run
// resumes after the latest target snapshot's rebuild.source-snapshot, and
// the manifest layer recognises a retried identifier, so a crash at any
// point followed by a rerun never applies a source snapshot twice.
//
// When the source's first snapshots have expired, a fresh rebuild starts
// with a full read of the earliest retained snapshot (or of the --as-of
// snapshot itself when only a tag keeps it) as +I rows. Source snapshots
// that expire between two runs cannot be replayed; the rerun fails and
// says so.

// Snapshot properties of a rebuilt table's commits.
const (
	PropRebuildSource   = "rebuild.source"
	PropRebuildSnapshot = "rebuild.source-snapshot"
)

// RebuildOptions configure Rebuild.
type RebuildOptions struct {
	// To is the last source snapshot to replay; nil replays up to the
	// source's latest snapshot.
	To *manifest.Snapshot
	// Progress, if set, is called after each source snapshot.
	Progress func(RebuildProgress)
}

// RebuildProgress reports one replayed source snapshot.
type RebuildProgress struct {
	// Done of Total source snapshots of this run are handled.
	Done, Total int
	// SourceSnapshot was just handled; Rows changes were applied so far in
	// this run; Committed says whether it produced a target snapshot (a
	// snapshot that changed nothing, e.g. a COMPACT, does not).
	SourceSnapshot int64
	Rows           int64
	Committed      bool
}

// RebuildReport says what a Rebuild run did.
type RebuildReport struct {
	Source, Target string
	// From is the last source snapshot replayed before this run (0: none),
	// To the last one replayed after it, First the first one this run
	// replayed (From+1, or later after a full read).
	From, To, First int64
	// Snapshots source snapshots were handled, Commits target snapshots
	// committed, Rows changes applied.
	Snapshots, Commits int
	Rows               int64
	// FullRead: the run started from a full read of snapshot First
	// because earlier source snapshots have expired.
	FullRead bool
	// TargetSnapshot is the target's latest snapshot id after the run.
	TargetSnapshot int64
	Elapsed        time.Duration
}

// RebuildUser is the commit user of a rebuild of source.
func RebuildUser(source string) string { return "rebuild:" + source }

// rebuildIdent is the commit identifier of source snapshot id.
func rebuildIdent(id int64) string { return "src-snapshot-" + strconv.FormatInt(id, 10) }

// Rebuild replays src into dst, which must have been made for it (its
// option rebuild.source names src, and its columns and keys equal src's).
func Rebuild(ctx context.Context, src, dst *Table, o RebuildOptions) (*RebuildReport, error) {
	start := src.env.Now()
	rep := &RebuildReport{Source: src.name, Target: dst.name}
	fail := func(err error) (*RebuildReport, error) {
		return rep, fmt.Errorf("rebuild %s from %s: %w", dst.name, src.name, err)
	}
	if err := CheckRebuildTarget(src, dst); err != nil {
		return fail(err)
	}
	last, err := rebuiltUpTo(ctx, src, dst)
	if err != nil {
		return fail(err)
	}
	rep.From, rep.To = last, last
	to := o.To
	if to == nil {
		if to, err = src.Latest(ctx); err != nil {
			return fail(err)
		}
	}
	if to == nil || to.ID <= last {
		if to != nil && to.ID < last {
			return fail(fmt.Errorf("%w: %s already replays source snapshot %d, after the requested snapshot %d", types.ErrConflict, dst.name, last, to.ID))
		}
		return rep, rep.finish(ctx, dst, start)
	}

	// The snapshot before the first one to replay: nil for the start of
	// history, or the last one replayed.
	var prev *manifest.Snapshot
	first := last + 1
	if last > 0 {
		if prev, err = src.meta.Snapshot(ctx, last); err != nil {
			if errors.Is(err, types.ErrNotFound) {
				err = fmt.Errorf("%w: source snapshot %d, the last one replayed, has expired since: drop %s and rebuild it", types.ErrNotFound, last, dst.name)
			}
			return fail(err)
		}
	} else if first, err = firstRetained(ctx, src, to); err != nil {
		return fail(err)
	}
	rep.FullRead = last == 0 && first > 1
	rep.First = first
	w := dst.NewWriter(RebuildUser(src.name))
	err = replay(ctx, src, w, prev, first, to, rep, o.Progress)
	// Wait for the target's inline compactions (cancelled if ctx ended).
	if cerr := w.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	return rep, rep.finish(ctx, dst, start)
}

// replay replays source snapshots first..to.ID after prev through w.
func replay(ctx context.Context, src *Table, w *Writer, prev *manifest.Snapshot, first int64, to *manifest.Snapshot, rep *RebuildReport, progress func(RebuildProgress)) error {
	total := int(to.ID - first + 1)
	for id := first; id <= to.ID; id++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := to
		if id != to.ID {
			var err error
			if s, err = src.meta.Snapshot(ctx, id); err != nil {
				return fmt.Errorf("source snapshot %d: %w", id, err)
			}
		}
		n, err := replayOne(ctx, src, w, prev, s, rep.FullRead && id == first)
		if err != nil {
			_ = w.Abort(ctx)
			return fmt.Errorf("source snapshot %d: %w", id, err)
		}
		committed := false
		if n > 0 {
			snap, err := w.CommitWith(ctx, CommitRequest{
				Identifier: rebuildIdent(id),
				Properties: map[string]string{PropRebuildSource: src.name, PropRebuildSnapshot: strconv.FormatInt(id, 10)},
			})
			if err != nil {
				return fmt.Errorf("source snapshot %d: %w", id, err)
			}
			committed = snap != nil
			if committed {
				rep.Commits++
			}
		}
		rep.Rows += n
		rep.Snapshots++
		rep.To = id
		prev = s
		if progress != nil {
			progress(RebuildProgress{Done: rep.Snapshots, Total: total, SourceSnapshot: id, Rows: rep.Rows, Committed: committed})
		}
	}
	return nil
}

func (rep *RebuildReport) finish(ctx context.Context, dst *Table, start time.Time) error {
	latest, err := dst.Latest(ctx)
	if err != nil {
		return err
	}
	if latest != nil {
		rep.TargetSnapshot = latest.ID
	}
	rep.Elapsed = dst.env.Now().Sub(start)
	return nil
}

// replayOne writes the changes of source snapshot s (after prev) to w, or
// with full the whole content of s as +I rows, and returns their number.
func replayOne(ctx context.Context, src *Table, w *Writer, prev, s *manifest.Snapshot, full bool) (int64, error) {
	var n int64
	if full {
		scan, err := src.NewScan(ctx, ScanOptions{SnapshotID: s.ID})
		if err != nil {
			return 0, err
		}
		for row, err := range scan.Rows(ctx) {
			if err != nil {
				return n, err
			}
			if err := w.Write(ctx, types.Insert, row); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	for c, err := range src.Changes(ctx, prev, s) {
		if err != nil {
			return n, err
		}
		if err := w.Write(ctx, c.Kind, c.Row); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// firstRetained returns the first source snapshot id to replay in a fresh
// rebuild up to to: 1 when the whole history is retained, else the
// earliest retained snapshot (replayed as a full read), or to itself when
// nothing before it is retained (a tag of an expired snapshot).
func firstRetained(ctx context.Context, src *Table, to *manifest.Snapshot) (int64, error) {
	if _, err := src.meta.Snapshot(ctx, 1); err == nil {
		return 1, nil
	} else if !errors.Is(err, types.ErrNotFound) {
		return 0, err
	}
	snaps, err := src.meta.Snapshots(ctx)
	if err != nil {
		return 0, err
	}
	for _, s := range snaps {
		if s.ID <= to.ID {
			return s.ID, nil
		}
	}
	return to.ID, nil
}

// rebuiltUpTo returns the last source snapshot dst has replayed (0: none).
func rebuiltUpTo(ctx context.Context, src, dst *Table) (int64, error) {
	latest, err := dst.Latest(ctx)
	if err != nil || latest == nil {
		return 0, err
	}
	if s := latest.Properties[PropRebuildSource]; s != src.name {
		if s == "" {
			return 0, fmt.Errorf("%w: table %s has snapshots that were not written by a rebuild", types.ErrConflict, dst.name)
		}
		return 0, fmt.Errorf("%w: table %s is a rebuild of %s, not of %s", types.ErrConflict, dst.name, s, src.name)
	}
	v := latest.Properties[PropRebuildSnapshot]
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%w: table %s: snapshot %d has a bad %s %q", types.ErrCorruption, dst.name, latest.ID, PropRebuildSnapshot, v)
	}
	return id, nil
}

// CheckRebuildTarget checks that dst was made as a rebuild of src: its
// option rebuild.source names src and its columns (names, types,
// nullability), primary key and partition keys equal src's.
func CheckRebuildTarget(src, dst *Table) error {
	if got := dst.opts.History.RebuildSource; got != src.name {
		if got == "" {
			return fmt.Errorf("%w: table %s exists and was not created by silt rebuild (no option %s)", types.ErrConflict, dst.name, OptRebuildSource)
		}
		return fmt.Errorf("%w: table %s is a rebuild of %s, not of %s", types.ErrConflict, dst.name, got, src.name)
	}
	return SameColumns(src.schema, dst.schema)
}

// SameColumns checks that b has a's columns (names, types, nullability in
// order), primary key and partition keys; the error names the first
// difference.
func SameColumns(a, b *types.Schema) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: the target's columns differ from the source's: %s", types.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if len(a.Fields) != len(b.Fields) {
		return bad("%d columns, source has %d", len(b.Fields), len(a.Fields))
	}
	for i := range a.Fields {
		fa, fb := a.Fields[i], b.Fields[i]
		if fa.Name != fb.Name || !fa.Type.Equal(fb.Type) || fa.NotNull != fb.NotNull {
			return bad("column %d is %s %s, source has %s %s", i+1, fb.Name, fb.Type, fa.Name, fa.Type)
		}
	}
	if fmt.Sprint(a.PrimaryKeys) != fmt.Sprint(b.PrimaryKeys) {
		return bad("primary key %v, source has %v", b.PrimaryKeys, a.PrimaryKeys)
	}
	if fmt.Sprint(a.PartitionKeys) != fmt.Sprint(b.PartitionKeys) {
		return bad("partition keys %v, source has %v", b.PartitionKeys, a.PartitionKeys)
	}
	return nil
}
