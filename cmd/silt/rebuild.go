package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

const rebuildHelp = `DB.SRC --to DB.DST [--as-of ID|TAG|TIMESTAMP] [--merge-engine E] [--option k=v …]

Replays the history of DB.SRC, snapshot by snapshot, into DB.DST (created
with the source's columns and options, overridden by --merge-engine and
--option, if missing). Rerunning the same command resumes after the last
source snapshot replayed; a crash never applies a snapshot twice.`

// cmdRebuild replays a table's history into another table.
func (a *app) cmdRebuild(ctx context.Context, args []string) error {
	var (
		to, asOf, engine string
		options          []string
	)
	pos, err := a.parseFlags("rebuild", args, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "the table to rebuild into, DB.TABLE (created if missing)")
		fs.StringVar(&asOf, "as-of", "", "replay up to this source snapshot: an id, a tag, or a timestamp like 2026-11-22T10:00:00Z (default: the latest)")
		fs.StringVar(&engine, "merge-engine", "", "merge engine of the new table (default: the source's)")
		fs.Func("option", "table option k=v of the new table, overriding the source's (repeatable)", func(s string) error {
			options = append(options, s)
			return nil
		})
	}, rebuildHelp)
	if err != nil {
		return err
	}
	switch {
	case a.g.format != "table" && a.g.format != "json":
		return fmt.Errorf("%w: rebuild prints --format table or json, not %q", errUsage, a.g.format)
	case len(pos) != 1:
		return fmt.Errorf("%w: rebuild takes one source DB.TABLE and --to DB.TABLE", errUsage)
	case to == "":
		return fmt.Errorf("%w: rebuild needs --to DB.TABLE, the table to rebuild into", errUsage)
	}
	srcDB, srcName, err := splitTableName(pos[0])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	dstDB, dstName, err := splitTableName(to)
	if err != nil {
		return fmt.Errorf("%w: --to: %v", errUsage, err)
	}
	overrides := map[string]string{}
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return fmt.Errorf("%w: --option %q: want key=value", errUsage, o)
		}
		overrides[k] = strings.TrimSpace(v)
	}
	if engine != "" {
		if v, ok := overrides[table.OptMergeEngine]; ok && v != engine {
			return fmt.Errorf("%w: --merge-engine %s and --option %s=%s disagree", errUsage, engine, table.OptMergeEngine, v)
		}
		overrides[table.OptMergeEngine] = engine
	}
	ref, err := parseAsOf(asOf)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	src, err := cat.LoadTable(ctx, srcDB, srcName)
	if err != nil {
		return err
	}
	var until *manifest.Snapshot
	if !ref.IsZero() {
		if until, err = src.ResolveRef(ctx, ref); err != nil {
			return fmt.Errorf("--as-of %s: %w", asOf, err)
		}
	}
	dst, created, err := cat.RebuildTarget(ctx, src, dstDB, dstName, overrides)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(a.stderr, "silt: created %s as a rebuild of %s\n", dst.Name(), src.Name())
	}
	var prog *progress
	label := fmt.Sprintf("rebuilding %s from %s", dst.Name(), src.Name())
	var lastDone, lastRows int64
	rep, err := table.Rebuild(ctx, src, dst, table.RebuildOptions{To: until, Progress: func(p table.RebuildProgress) {
		if prog == nil {
			prog = newProgress(a.stderr, label, int64(p.Total))
		}
		lastDone, lastRows = int64(p.Done), p.Rows
		prog.update(lastDone, lastRows)
	}})
	if prog != nil {
		prog.finish(lastDone, lastRows)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w (interrupted: rerun the same command to resume)", err)
		}
		return err
	}
	a.printRebuildReport(rep, created)
	return nil
}

// parseAsOf reads --as-of: a snapshot id, a timestamp, or a tag name.
func parseAsOf(s string) (table.Ref, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return table.Ref{}, nil
	}
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		if id <= 0 {
			return table.Ref{}, fmt.Errorf("--as-of %s: a snapshot id must be positive", s)
		}
		return table.Ref{SnapshotID: id}, nil
	}
	if ts, err := types.ParseTimestamp(s); err == nil {
		return table.Ref{AsOfMillis: ts.Time().UnixMilli()}, nil
	}
	if err := manifest.ValidateRefName("tag", s); err != nil {
		return table.Ref{}, fmt.Errorf("--as-of %q is not a snapshot id, a timestamp (2026-11-22T10:00:00Z) or a tag name", s)
	}
	return table.Ref{Tag: s}, nil
}

type rebuildJSON struct {
	Source         string `json:"source"`
	Target         string `json:"target"`
	Created        bool   `json:"created"`
	FromSnapshot   int64  `json:"fromSourceSnapshot"`
	ToSnapshot     int64  `json:"toSourceSnapshot"`
	Snapshots      int    `json:"sourceSnapshotsReplayed"`
	Commits        int    `json:"targetCommits"`
	Rows           int64  `json:"changesApplied"`
	FullRead       bool   `json:"fullRead"`
	TargetSnapshot int64  `json:"targetSnapshot"`
	Millis         int64  `json:"elapsedMs"`
}

func (a *app) printRebuildReport(rep *table.RebuildReport, created bool) {
	if a.g.format == "json" {
		out, _ := json.Marshal(rebuildJSON{Source: rep.Source, Target: rep.Target, Created: created, FromSnapshot: rep.From,
			ToSnapshot: rep.To, Snapshots: rep.Snapshots, Commits: rep.Commits, Rows: rep.Rows, FullRead: rep.FullRead,
			TargetSnapshot: rep.TargetSnapshot, Millis: rep.Elapsed.Milliseconds()})
		fmt.Fprintln(a.stdout, string(out))
		return
	}
	if rep.Snapshots == 0 {
		fmt.Fprintf(a.stdout, "%s is up to date: it replays %s up to source snapshot %d (target snapshot %d)\n",
			rep.Target, rep.Source, rep.To, rep.TargetSnapshot)
		return
	}
	how := ""
	if rep.FullRead {
		how = fmt.Sprintf(" (earlier source snapshots have expired: started from a full read of snapshot %d)", rep.First)
	} else if rep.From > 0 {
		how = fmt.Sprintf(" (resumed after source snapshot %d)", rep.From)
	}
	fmt.Fprintf(a.stdout, "rebuilt %s from %s in %s%s\n", rep.Target, rep.Source, rep.Elapsed.Round(time.Millisecond), how)
	fmt.Fprintf(a.stdout, "  source snapshots  %d..%d (%d replayed)\n", rep.First, rep.To, rep.Snapshots)
	fmt.Fprintf(a.stdout, "  changes applied   %d\n", rep.Rows)
	fmt.Fprintf(a.stdout, "  target commits    %d (latest target snapshot %d)\n", rep.Commits, rep.TargetSnapshot)
}
