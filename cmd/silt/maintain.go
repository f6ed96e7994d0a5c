package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/lifecycle"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/server"
	"github.com/siltdb/silt/table"
)

const maintainHelp = `[DB.TABLE …] [--dry-run]
  Runs every lifecycle policy once on the tables (all tables if none is given):
  automatic tags, snapshot expiry, partition expiry, tiering, orphan cleanup,
  expired-lease cleanup; prints what it did (or, with --dry-run, would do).`

const lifecycleHelp = `show DB.TABLE
  Prints the table's effective lifecycle policy, its current state and what
  the next "silt maintain" would do (a dry run: nothing changes).`

// cmdMaintain runs the lifecycle policies of tables once.
func (a *app) cmdMaintain(ctx context.Context, args []string) error {
	var dryRun bool
	pos, err := a.parseFlags("maintain", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "only report what would be done")
	}, maintainHelp)
	if err != nil {
		return err
	}
	if a.g.format != "table" && a.g.format != "json" {
		return fmt.Errorf("%w: maintain prints --format table or json, not %q", errUsage, a.g.format)
	}
	names := make([][2]string, len(pos))
	for i, p := range pos {
		db, t, err := splitTableName(p)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		names[i] = [2]string{db, t}
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		all, err := server.ResolveTables(ctx, cat, nil)
		if err != nil {
			return err
		}
		for _, q := range all {
			db, t, _ := strings.Cut(q, ".")
			names = append(names, [2]string{db, t})
		}
		if len(names) == 0 {
			fmt.Fprintln(a.stdout, "no tables")
			return nil
		}
	}
	var errs []error
	for _, n := range names {
		if err := a.maintainOne(ctx, cat, n, dryRun); err != nil {
			if len(names) == 1 {
				return err
			}
			fmt.Fprintf(a.stderr, "silt: %s.%s: %s\n", n[0], n[1], oneLine(err))
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("maintenance failed for %d of %d tables", len(errs), len(names))
	}
	return nil
}

func (a *app) maintainOne(ctx context.Context, cat *catalog.Catalog, n [2]string, dryRun bool) error {
	t, err := cat.LoadTable(ctx, n[0], n[1])
	if err != nil {
		return err
	}
	rep, err := lifecycle.Maintain(ctx, t, lifecycle.MaintainOptions{DryRun: dryRun})
	if rep != nil {
		a.printMaintainReport(rep, dryRun)
	}
	return err
}

// maintainJSON is the --format json form of a report.
type maintainJSON struct {
	Table             string   `json:"table"`
	DryRun            bool     `json:"dryRun"`
	TagsCreated       []string `json:"tagsCreated,omitempty"`
	TagsDeleted       []string `json:"tagsDeleted,omitempty"`
	SnapshotsExpired  int      `json:"snapshotsExpired"`
	PartitionsExpired int      `json:"partitionsExpired"`
	FilesTiered       int      `json:"filesTiered"`
	BytesTiered       int64    `json:"bytesTiered"`
	FilesDeleted      int      `json:"filesDeleted"`
	BytesDeleted      int64    `json:"bytesDeleted"`
	OrphansDeleted    int      `json:"orphansDeleted"`
	LeasesCleaned     int      `json:"leasesCleaned"`
	TempFilesDeleted  int      `json:"tempFilesDeleted"`
	Next              []string `json:"next,omitempty"`
	Millis            int64    `json:"elapsedMs"`
}

func (a *app) printMaintainReport(r *lifecycle.MaintainReport, dryRun bool) {
	if a.g.format == "json" {
		out, _ := json.Marshal(maintainJSON{Table: r.Table, DryRun: dryRun, TagsCreated: r.TagsCreated, TagsDeleted: r.TagsDeleted,
			SnapshotsExpired: r.SnapshotsExpired, PartitionsExpired: r.PartitionsExpired, FilesTiered: r.FilesTiered, BytesTiered: r.BytesTiered,
			FilesDeleted: r.FilesDeleted, BytesDeleted: r.BytesDeleted, OrphansDeleted: r.OrphansDeleted, LeasesCleaned: r.LeasesCleaned,
			TempFilesDeleted: r.TempFilesDeleted, Next: r.Next, Millis: r.Duration.Milliseconds()})
		fmt.Fprintln(a.stdout, string(out))
		return
	}
	if dryRun {
		a.printNext(r.Table, r.Next)
		return
	}
	fmt.Fprintf(a.stdout, "%s: %d snapshots expired, %d partitions dropped, %d files (%s) moved to the cold tier, "+
		"%d files (%s) deleted (%d orphans), %d expired leases removed, %d crashed temp files removed",
		r.Table, r.SnapshotsExpired, r.PartitionsExpired, r.FilesTiered, humanBytes(r.BytesTiered),
		r.FilesDeleted, humanBytes(r.BytesDeleted), r.OrphansDeleted, r.LeasesCleaned, r.TempFilesDeleted)
	if len(r.TagsCreated)+len(r.TagsDeleted) > 0 {
		fmt.Fprintf(a.stdout, ", tags created %s deleted %s", listOrNone(r.TagsCreated), listOrNone(r.TagsDeleted))
	}
	fmt.Fprintf(a.stdout, " (%s)\n", r.Duration.Round(time.Millisecond))
}

func (a *app) printNext(name string, next []string) {
	if len(next) == 0 {
		fmt.Fprintf(a.stdout, "%s: nothing to do\n", name)
		return
	}
	fmt.Fprintf(a.stdout, "%s: the next maintenance would:\n", name)
	for _, n := range next {
		fmt.Fprintf(a.stdout, "  - %s\n", n)
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// cmdLifecycle implements "silt lifecycle show DB.TABLE".
func (a *app) cmdLifecycle(ctx context.Context, args []string) error {
	pos, err := a.parseFlags("lifecycle", args, nil, lifecycleHelp)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "show" {
		return fmt.Errorf("%w: usage: silt lifecycle show DB.TABLE", errUsage)
	}
	if a.g.format != "table" {
		return fmt.Errorf("%w: lifecycle show prints --format table only", errUsage)
	}
	db, name, err := splitTableName(pos[1])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	t, err := cat.LoadTable(ctx, db, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Lifecycle policy of %s:\n", t.Name())
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	for _, r := range lifecycleRows(t) {
		fmt.Fprintf(tw, "  %s\t%s\t(%s)\n", r[0], r[1], r[2])
	}
	tw.Flush()
	state, err := lifecycleState(ctx, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "State: %s\n", state)
	rep, err := lifecycle.Maintain(ctx, t, lifecycle.MaintainOptions{DryRun: true})
	if rep != nil {
		a.printNext(t.Name(), rep.Next)
	}
	return err
}

// lifecycleRows lists each lifecycle option with its effective value and
// where it comes from.
func lifecycleRows(t *table.Table) [][3]string {
	raw := t.Schema().Options
	l := t.Options().Lifecycle
	c := t.Options().Compaction
	dur := func(d time.Duration) string {
		if d == 0 {
			return "off"
		}
		if d%(24*time.Hour) == 0 {
			return fmt.Sprintf("%dd", d/(24*time.Hour))
		}
		out := d.String() // "15m0s" -> "15m", "1h0m0s" -> "1h"
		if strings.HasSuffix(out, "m0s") {
			out = strings.TrimSuffix(out, "0s")
		}
		if strings.HasSuffix(out, "h0m") {
			out = strings.TrimSuffix(out, "0m")
		}
		return out
	}
	maxRet := "unlimited"
	if l.NumRetainedMax > 0 {
		maxRet = fmt.Sprint(l.NumRetainedMax)
	}
	minLevel := "off"
	if l.TierMinLevel >= 0 {
		minLevel = fmt.Sprint(l.TierMinLevel)
	}
	pattern := l.PartitionPattern
	if pattern == "" {
		pattern = "$<first partition column>"
		if keys := t.Schema().PartitionKeys; len(keys) > 0 {
			pattern = "$" + keys[0]
		}
	}
	cold, coldSrc := objstore.RedactURI(t.ColdURI()), ""
	switch {
	case raw[table.OptTierColdURI] != "":
		coldSrc = "set"
	case cold != "":
		coldSrc = "warehouse --cold-uri"
	default:
		cold = "none"
	}
	ttlField := c.TimeField
	if ttlField == "" {
		ttlField = "none"
	}
	class := l.ColdStorageClass
	if class == "" {
		class = "bucket default"
	}
	rows := [][3]string{
		{table.OptSnapshotNumRetainedMin, fmt.Sprint(l.NumRetainedMin), ""},
		{table.OptSnapshotNumRetainedMax, maxRet, ""},
		{table.OptSnapshotTimeRetained, dur(l.TimeRetained), ""},
		{table.OptSnapshotLeaseTTL, dur(l.LeaseTTL), ""},
		{table.OptPartitionExpiration, dur(l.PartitionExpiration), ""},
		{table.OptPartitionTimeFormatter, l.PartitionFormatter, ""},
		{table.OptPartitionTimePattern, pattern, ""},
		{table.OptRecordExpireTime, dur(c.ExpireTime), ""},
		{table.OptRecordExpireColumn, ttlField, ""},
		{table.OptTierColdURI, cold, coldSrc},
		{table.OptTierColdStorageClass, class, ""},
		{table.OptTierMoveAfter, dur(l.TierMoveAfter), ""},
		{table.OptTierMinLevel, minLevel, ""},
		{table.OptTierPartitionAge, dur(l.TierPartitionAge), ""},
		{table.OptOrphanGracePeriod, dur(l.OrphanGracePeriod), ""},
	}
	for i := range rows {
		if rows[i][2] != "" {
			continue
		}
		if _, ok := raw[rows[i][0]]; ok {
			rows[i][2] = "set"
		} else {
			rows[i][2] = "default"
		}
	}
	return rows
}

// lifecycleState summarizes what the table holds that the policies act on.
func lifecycleState(ctx context.Context, t *table.Table) (string, error) {
	meta := t.Meta()
	snaps, err := meta.Snapshots(ctx)
	if err != nil {
		return "", err
	}
	tags, err := meta.Tags(ctx)
	if err != nil {
		return "", err
	}
	branches, err := meta.Branches(ctx)
	if err != nil {
		return "", err
	}
	leases, err := meta.Leases(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return "", err
	}
	var b strings.Builder
	if len(snaps) == 0 {
		b.WriteString("no snapshots")
	} else {
		first, last := snaps[0], snaps[len(snaps)-1]
		fmt.Fprintf(&b, "%d snapshots (%d..%d; oldest from %s, latest from %s)", len(snaps), first.ID, last.ID,
			time.UnixMilli(first.TimeMillis).UTC().Format(time.RFC3339), time.UnixMilli(last.TimeMillis).UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, ", %d tags, %d branches, %d leases", len(tags), len(branches), len(leases))
	return b.String(), nil
}
