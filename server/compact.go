package server

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/table"
)

// ResolveTables returns names ("db.table"), or every table of the
// warehouse when names is empty or [AllTables]. Listing errors are joined
// and returned with the tables that could be listed.
func ResolveTables(ctx context.Context, cat *catalog.Catalog, names []string) ([]string, error) {
	if len(names) > 0 && !slices.Contains(names, AllTables) {
		return names, nil
	}
	dbs, err := cat.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	var errs []error
	for _, db := range dbs {
		ts, err := cat.ListTables(ctx, db)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, t := range ts {
			out = append(out, db+"."+t)
		}
	}
	return out, errors.Join(errs...)
}

// CompactResult is one table's outcome in a compaction round.
type CompactResult struct {
	Name   string
	Table  *table.Table // nil when the table could not be loaded
	Report *compaction.Report
	Err    error
}

// CompactRound compacts each named table once (the universal picker
// decides which buckets) as commit user user, and passes each outcome to
// report. It starts no further table once stop is closed (nil: never) or
// ctx ends, and reports nothing for a table whose compaction ctx cut
// short. `silt compact --watch` and `silt serve` both run it.
func CompactRound(ctx context.Context, stop <-chan struct{}, cat *catalog.Catalog, names []string, user string, report func(CompactResult)) {
	for _, name := range names {
		select {
		case <-stop:
			return
		default:
		}
		if ctx.Err() != nil {
			return
		}
		r := CompactResult{Name: name}
		db, tn, err := SplitTableName(name)
		if err == nil {
			r.Table, err = cat.LoadTable(ctx, db, tn)
		}
		if err != nil {
			if ctx.Err() == nil {
				r.Err = fmt.Errorf("%s: %w", name, err)
				report(r)
			}
			continue
		}
		r.Report, r.Err = r.Table.Compact(ctx, table.CompactOptions{User: user})
		if ctx.Err() != nil {
			return
		}
		report(r)
	}
}
