package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func (a *app) cmdLoad(ctx context.Context, args []string) error {
	var format string
	pos, err := a.parseFlags("load", args, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "input-format", "", "input format: csv or jsonl (default: from the file extension)")
	}, "DB.TABLE FILE [--input-format csv|jsonl]")
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: load takes TABLE and FILE", errUsage)
	}
	// --format selects the input format for load when given explicitly as
	// csv or jsonl (documented in docs/cli.md: silt load db.t FILE --format csv).
	if format == "" && (a.g.format == "csv" || a.g.format == "jsonl") {
		format = a.g.format
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(pos[1])) {
		case ".csv":
			format = "csv"
		case ".jsonl", ".ndjson", ".json":
			format = "jsonl"
		default:
			return fmt.Errorf("%w: cannot tell the format of %s: pass --format csv|jsonl", errUsage, pos[1])
		}
	}
	if format != "csv" && format != "jsonl" {
		return fmt.Errorf("%w: unknown load format %q (want csv or jsonl)", errUsage, format)
	}
	db, name, err := splitTableName(pos[0])
	if err != nil {
		return err
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	t, err := cat.LoadTable(ctx, db, name)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[1])
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	cr := &countingReader{r: bufio.NewReaderSize(f, 1<<20)}
	prog := newProgress(a.stderr, "loading "+db+"."+name, st.Size())
	w := t.NewWriter("load-" + uuid.NewString())
	// Close waits for a compaction round the commit may have started.
	defer func() { _ = w.Close(ctx) }()
	var rows int64
	write := func(r types.Row) error {
		if err := w.Write(ctx, types.Insert, r); err != nil {
			return err
		}
		rows++
		prog.update(cr.n.Load(), rows)
		return nil
	}
	if format == "csv" {
		err = loadCSV(cr, t.Schema(), maxLoadRecord, write)
	} else {
		err = loadJSONL(cr, t.Schema(), maxLoadRecord, write)
	}
	if err != nil {
		_ = w.Abort(ctx)
		fmt.Fprintln(a.stderr)
		return fmt.Errorf("load %s: %w (nothing was committed)", pos[1], err)
	}
	snap, err := w.CommitWith(ctx, table.CommitRequest{Identifier: "load", Fresh: true})
	if err != nil {
		_ = w.Abort(ctx)
		fmt.Fprintln(a.stderr)
		return err
	}
	prog.finish(st.Size(), rows)
	if snap == nil {
		fmt.Fprintf(a.stdout, "loaded 0 rows into %s.%s (nothing to commit)\n", db, name)
		return nil
	}
	stats := w.Stats()
	fmt.Fprintf(a.stdout, "loaded %d rows into %s.%s: snapshot %d, %d files, %s\n", rows, db, name, snap.ID, stats.Files, humanBytes(stats.BytesWritten))
	return nil
}

// maxLoadRecord is the longest JSONL line or CSV record silt load accepts.
const maxLoadRecord = query.MaxLoadRecord

// loadCSV and loadJSONL read silt load's input formats (query.LoadCSV,
// query.LoadJSONL, shared with COPY … FROM).
func loadCSV(r io.Reader, s *types.Schema, maxRecord int, write func(types.Row) error) error {
	return query.LoadCSV(r, s, query.LoadOptions{MaxRecord: maxRecord}, write)
}

func loadJSONL(r io.Reader, s *types.Schema, maxRecord int, write func(types.Row) error) error {
	return query.LoadJSONL(r, s, query.LoadOptions{MaxRecord: maxRecord}, write)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
