package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/server"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

const compactHelp = `DB.TABLE[$branch_NAME] [--full [--rewrite]] [--partition 'col=value,…']
       silt compact --watch [--interval 30s] [DB.TABLE …]`

// cmdCompact compacts tables once, or keeps compacting them (--watch)
// until SIGINT/SIGTERM.
func (a *app) cmdCompact(ctx context.Context, args []string) error {
	var (
		full      bool
		rewrite   bool
		partition string
		watch     bool
		interval  time.Duration
	)
	pos, err := a.parseFlags("compact", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&full, "full", false, "compact every bucket into one sorted run at the last level (drops deletes, applies the record TTL)")
		fs.BoolVar(&rewrite, "rewrite", false, "with --full: rewrite every file, also of buckets already compacted (writes older files in the current data-file format, codec and schema)")
		fs.StringVar(&partition, "partition", "", "only these partitions, e.g. 'dt=2024-01-01,region=eu'")
		fs.BoolVar(&watch, "watch", false, "keep compacting the tables (all tables if none is given) until interrupted")
		fs.DurationVar(&interval, "interval", 30*time.Second, "with --watch: pause between rounds")
	}, compactHelp)
	if err != nil {
		return err
	}
	switch {
	case a.g.format != "table" && a.g.format != "json":
		return fmt.Errorf("%w: compact prints --format table or json, not %q", errUsage, a.g.format)
	case rewrite && !full:
		return fmt.Errorf("%w: --rewrite is a full compaction: add --full", errUsage)
	case watch && (full || partition != ""):
		return fmt.Errorf("%w: --full and --partition are for a one-off compaction, not --watch", errUsage)
	case watch && interval <= 0:
		return fmt.Errorf("%w: --interval must be positive", errUsage)
	case !watch && len(pos) != 1:
		return fmt.Errorf("%w: compact takes one DB.TABLE (or --watch [DB.TABLE …])", errUsage)
	}
	names := make([][2]string, len(pos))
	branch := ""
	for i, p := range pos {
		base, b, err := splitBranchName(p)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if b != "" && watch {
			return fmt.Errorf("%w: --watch compacts main tables; compact branch %s of %s once, without --watch", errUsage, b, base)
		}
		db, t, err := splitTableName(base)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		names[i], branch = [2]string{db, t}, b
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	user := "silt-compact-" + uuid.NewString()
	if watch {
		return a.watchCompact(ctx, cat, names, interval, user)
	}
	t, err := cat.LoadTable(ctx, names[0][0], names[0][1])
	if err != nil {
		return err
	}
	label := t.Name()
	if branch != "" {
		if t, err = t.Branch(ctx, branch); err != nil {
			return err
		}
		label += "$" + branchPrefix + branch
	}
	prog := &compactProgress{w: a.stderr, label: "compacting " + label, now: time.Now}
	rep, err := t.Compact(ctx, table.CompactOptions{Full: full, Rewrite: rewrite, Partition: partition, User: user, Progress: prog.event})
	prog.finish()
	if rep != nil {
		a.printCompactReport(label, rep)
	}
	if err != nil && errors.Is(err, types.ErrConflict) && !hasFailure(rep) {
		// Another compactor got there first: not a failure of ours.
		fmt.Fprintf(a.stderr, "silt: %s\n", oneLine(err))
		return nil
	}
	return err
}

// branchPrefix marks a branch in a table name, as in SQL: db.t$branch_dev.
const branchPrefix = "branch_"

// splitBranchName splits "db.t$branch_NAME" into "db.t" and NAME ("" when
// the name has no branch part). Any other '$' suffix is an error.
func splitBranchName(name string) (string, string, error) {
	base, rest, ok := strings.Cut(name, "$")
	if !ok {
		return name, "", nil
	}
	b, isBranch := strings.CutPrefix(rest, branchPrefix)
	if !isBranch {
		return "", "", fmt.Errorf("table %q: only a branch (%s$%sNAME) can be compacted, not $%s", name, base, branchPrefix, rest)
	}
	if err := manifest.ValidateRefName("branch", b); err != nil {
		return "", "", fmt.Errorf("table %q: %w", name, err)
	}
	return base, b, nil
}

func hasFailure(rep *compaction.Report) bool {
	if rep == nil {
		return true
	}
	for _, b := range rep.Buckets {
		if b.Status == compaction.Failed {
			return true
		}
	}
	return false
}

// watchCompact compacts the named tables (all tables when none) every
// interval until ctx ends. Errors of one table are reported and do not stop
// the others.
func (a *app) watchCompact(ctx context.Context, cat *catalog.Catalog, names [][2]string, interval time.Duration, user string) error {
	fmt.Fprintf(a.stderr, "silt: compacting %s every %s; Ctrl-C stops\n", describeTables(names), interval)
	qualified := make([]string, len(names))
	for i, n := range names {
		qualified[i] = n[0] + "." + n[1]
	}
	rounds := 0
	for {
		tables, err := server.ResolveTables(ctx, cat, qualified)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(a.stderr, "silt: list tables: %s\n", oneLine(err))
		}
		server.CompactRound(ctx, nil, cat, tables, user, func(r server.CompactResult) {
			if r.Report != nil && len(r.Report.Buckets) > 0 {
				a.printWatchLine(r.Table, r.Report)
			}
			if r.Err != nil {
				fmt.Fprintf(a.stderr, "silt: %s\n", oneLine(r.Err))
			}
		})
		rounds++
		select {
		case <-ctx.Done():
			fmt.Fprintf(a.stderr, "silt: stopped after %d rounds\n", rounds)
			return nil
		case <-time.After(interval):
		}
	}
}

func describeTables(names [][2]string) string {
	if len(names) == 0 {
		return "all tables"
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n[0] + "." + n[1]
	}
	return strings.Join(parts, ", ")
}

// compactJSON is the --format json form of a report.
type compactJSON struct {
	Table     string              `json:"table"`
	Snapshot  int64               `json:"readSnapshot"`
	Committed []int64             `json:"committedSnapshots"`
	Buckets   []compactBucketJSON `json:"buckets"`
	Total     compaction.Stats    `json:"total"`
	Millis    int64               `json:"elapsedMs"`
}

type compactBucketJSON struct {
	Partition  string           `json:"partition"`
	Bucket     int              `json:"bucket"`
	Plan       string           `json:"plan"`
	RunsBefore int              `json:"runsBefore"`
	RunsAfter  int              `json:"runsAfter"`
	Status     string           `json:"status"`
	Error      string           `json:"error,omitempty"`
	Stats      compaction.Stats `json:"stats"`
}

func (a *app) printCompactReport(name string, rep *compaction.Report) {
	if a.g.format == "json" {
		j := compactJSON{Table: name, Snapshot: rep.SnapshotID, Committed: rep.Snapshots, Total: rep.Stats, Millis: rep.Elapsed.Milliseconds()}
		for _, b := range rep.Buckets {
			bj := compactBucketJSON{Partition: b.Partition, Bucket: b.Bucket, Plan: b.Plan.String(), RunsBefore: b.RunsBefore,
				RunsAfter: b.RunsAfter, Status: string(b.Status), Stats: b.Stats}
			if b.Err != nil {
				bj.Error = oneLine(b.Err)
			}
			j.Buckets = append(j.Buckets, bj)
		}
		out, _ := json.Marshal(j)
		fmt.Fprintln(a.stdout, string(out))
		return
	}
	if len(rep.Buckets) == 0 {
		fmt.Fprintf(a.stdout, "%s: nothing to compact (snapshot %d)\n", name, rep.SnapshotID)
		return
	}
	snaps := "no snapshot committed"
	if len(rep.Snapshots) > 0 {
		ids := make([]string, len(rep.Snapshots))
		for i, id := range rep.Snapshots {
			ids[i] = fmt.Sprint(id)
		}
		snaps = "COMPACT snapshot " + strings.Join(ids, ", ")
	}
	fmt.Fprintf(a.stdout, "compacted %s in %s: %s\n", name, rep.Elapsed.Round(time.Millisecond), snaps)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tBUCKET\tRUNS BEFORE\tRUNS AFTER\tFILES READ\tBYTES READ\tFILES WRITTEN\tBYTES WRITTEN\tUPGRADED\tROW GROUPS COPIED/MERGED\tSTATUS")
	for _, b := range rep.Buckets {
		part := b.Partition
		if part == "" {
			part = "-"
		}
		status := string(b.Status)
		if b.Err != nil && b.Status == compaction.Failed {
			status += ": " + oneLine(b.Err)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%d\t%d/%d\t%s\n", part, b.Bucket, b.RunsBefore, b.RunsAfter,
			b.Stats.FilesRead, humanBytes(b.Stats.BytesRead), b.Stats.FilesWritten, humanBytes(b.Stats.BytesWritten), b.Stats.FilesUpgraded,
			b.Stats.RowGroupsCopied, b.Stats.RowGroupsMerged, status)
	}
	tw.Flush()
	s := rep.Stats
	fmt.Fprintf(a.stdout, "total: %d files (%s, %d records) read, %d files (%s, %d records) written, %d files upgraded, "+
		"%d row groups copied without decoding (%s, %d records), %d row groups merged, %d deletes dropped, %d rows expired\n",
		s.FilesRead, humanBytes(s.BytesRead), s.RecordsRead, s.FilesWritten, humanBytes(s.BytesWritten), s.RecordsWritten,
		s.FilesUpgraded, s.RowGroupsCopied, humanBytes(s.BytesCopied), s.RowsCopied, s.RowGroupsMerged, s.DeletesDropped, s.Expired)
}

// printWatchLine prints one line per compaction round that did something.
func (a *app) printWatchLine(t *table.Table, rep *compaction.Report) {
	if a.g.format == "json" {
		a.printCompactReport(t.Name(), rep)
		return
	}
	var runs []string
	committed := 0
	for _, b := range rep.Buckets {
		if b.Status == compaction.Committed {
			committed++
			runs = append(runs, fmt.Sprintf("%s %d→%d", b.BucketID, b.RunsBefore, b.RunsAfter))
		}
	}
	sort.Strings(runs)
	fmt.Fprintf(a.stdout, "%s %s: compacted %d of %d buckets (%s): %s read, %s written, %s\n",
		time.Now().UTC().Format(time.RFC3339), t.Name(), committed, len(rep.Buckets), strings.Join(runs, ", "),
		humanBytes(rep.Stats.BytesRead), humanBytes(rep.Stats.BytesWritten), rep.Elapsed.Round(time.Millisecond))
}

// compactProgress draws "label [####....] 3/8 buckets, 12.0 MiB read".
type compactProgress struct {
	w     io.Writer
	label string
	now   func() time.Time

	mu        sync.Mutex
	last      time.Time
	drawn     bool
	done, all int
	read      int64
}

func (p *compactProgress) event(e compaction.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case compaction.EventPlanned:
		p.all = e.Total
	case compaction.EventExecuted:
		p.done = e.Done
		p.read += e.Stats.BytesRead
	case compaction.EventCommitted:
		p.draw()
		return
	}
	if t := p.now(); t.Sub(p.last) >= 200*time.Millisecond || e.Kind == compaction.EventPlanned {
		p.last = t
		p.draw()
	}
}

func (p *compactProgress) draw() {
	if p.all == 0 {
		return
	}
	const width = 20
	n := width * p.done / p.all
	bar := strings.Repeat("#", n) + strings.Repeat(".", width-n)
	fmt.Fprintf(p.w, "\r%s [%s] %d/%d buckets, %s read", p.label, bar, p.done, p.all, humanBytes(p.read))
	p.drawn = true
}

func (p *compactProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
