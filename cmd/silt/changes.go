package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/siltdb/silt/query"
)

const changesHelp = `DB.TABLE[$branch_NAME] [--from A] [--to B] [--follow] [--poll-interval D]

Prints the row changes that lead from the table's state at snapshot A to
its state at snapshot B, commit by commit: one row per change with its row
kind (+I, -U, +U, -D), the snapshot that made it, and the row. A and B are
snapshot ids, tag names or times ('2026-01-02 15:04:05'); --from 0 (the
default) starts from the empty table, so the first rows are the state at
the first retained snapshot; --from latest prints only what comes next.
--to defaults to the latest snapshot. --follow keeps printing the changes
of new commits until interrupted (it cannot be combined with --to). The
same rows: SELECT * FROM table_changes('db.t', A, B).`

func (a *app) cmdChanges(ctx context.Context, args []string) error {
	var (
		from, to string
		follow   bool
		poll     time.Duration
	)
	pos, err := a.parseFlags("changes", args, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "0", "start: a snapshot id, tag or time; 0 = the empty table; latest = only new commits")
		fs.StringVar(&to, "to", "", "end: a snapshot id, tag or time (default: the latest snapshot)")
		fs.BoolVar(&follow, "follow", false, "keep printing the changes of new commits until interrupted")
		fs.DurationVar(&poll, "poll-interval", time.Second, "how often --follow looks for new commits")
	}, changesHelp)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: changes takes one table (DB.TABLE)", errUsage)
	}
	if follow && to != "" {
		return fmt.Errorf("%w: --follow and --to cannot be combined", errUsage)
	}
	if poll <= 0 {
		return fmt.Errorf("%w: --poll-interval must be positive", errUsage)
	}
	if err := checkFormat(a.g.format); err != nil {
		return err
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	eng := a.newEngine(cat)
	tbl := sqlString(pos[0])
	if from == "latest" {
		res, err := eng.ExecStatement(ctx, "SELECT COALESCE(MAX(snapshot_id), 0) FROM "+sqlTableRef(pos[0], "snapshots"))
		if err != nil {
			return err
		}
		from = fmt.Sprint(res.Rows[0][0])
	}
	toArg := "NULL"
	if to != "" {
		toArg = sqlBound(to)
	}
	res, err := eng.ExecStatement(ctx, fmt.Sprintf("SELECT * FROM table_changes(%s, %s, %s)", tbl, sqlBound(from), toArg))
	if err != nil {
		return err
	}
	if err := query.WriteResult(a.stdout, res, a.g.format); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	last := res.SnapshotID
	if last == 0 { // an empty table: wait for its first commit
		last = -1
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
		start := "0"
		if last > 0 {
			start = fmt.Sprint(last)
		}
		res, err := eng.ExecStatement(ctx, fmt.Sprintf("SELECT * FROM table_changes(%s, %s, NULL)", tbl, start))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if res.SnapshotID == 0 || res.SnapshotID == last {
			continue
		}
		last = res.SnapshotID
		if len(res.Rows) == 0 {
			continue
		}
		if err := a.writeMore(res); err != nil {
			return err
		}
	}
}

// writeMore prints a later batch of --follow: CSV without its header line.
func (a *app) writeMore(res *query.Result) error {
	if a.g.format != "csv" {
		return query.WriteResult(a.stdout, res, a.g.format)
	}
	var b bytes.Buffer
	if err := query.WriteResult(&b, res, "csv"); err != nil {
		return err
	}
	_, rest, _ := bytes.Cut(b.Bytes(), []byte("\n"))
	_, err := a.stdout.Write(rest)
	return err
}

// sqlBound renders a --from/--to value: an id as a number, anything else
// (a tag or a time) as a string.
func sqlBound(v string) string {
	if v != "" && strings.Trim(v, "0123456789") == "" && len(v) < 19 {
		return v
	}
	return sqlString(v)
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlTableRef names system table sys of DB.TABLE[$branch_x] in SQL.
func sqlTableRef(name, sys string) string {
	q := func(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
	if db, t, ok := strings.Cut(name, "."); ok {
		return q(db) + "." + q(t+"$"+sys)
	}
	return q(name + "$" + sys)
}
