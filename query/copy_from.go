package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// COPY t FROM 'file' [(FORMAT csv|json|parquet, HEADER [bool], DELIMITER 'c')]
// (DuckDB's form): the file's rows are inserted into t in one commit,
// upserting by primary key like INSERT. CSV and JSON are read by LoadCSV
// and LoadJSONL (silt load's rules, which read what COPY … TO writes),
// Parquet by copy_from_parquet.go. Columns the file lacks are NULL. The
// first bad row fails the statement with its line (CSV, JSON) or row
// (Parquet) number and nothing is committed.

type copyFromStmt struct {
	pos    position
	table  tableName
	path   string
	format string // "" = from the extension
	header *bool  // nil = default (true)
	delim  string // "" = default (',')
}

func (s *copyFromStmt) stmtPos() position { return s.pos }
func (s *copyFromStmt) String() string {
	out := "COPY " + s.table.String() + " FROM " + quoteString(s.path)
	var opts []string
	if s.format != "" {
		opts = append(opts, "FORMAT "+s.format)
	}
	if s.header != nil {
		opts = append(opts, "HEADER "+strings.ToUpper(strconv.FormatBool(*s.header)))
	}
	if s.delim != "" {
		opts = append(opts, "DELIMITER "+quoteString(s.delim))
	}
	if len(opts) > 0 {
		out += " (" + strings.Join(opts, ", ") + ")"
	}
	return out
}

// parseCopyFrom parses the rest of COPY t FROM … after the table name.
func (p *parser) parseCopyFrom(pos position, n tableName) (statement, error) {
	p.next() // FROM
	s := &copyFromStmt{pos: pos, table: n}
	var err error
	if s.path, err = p.stringLit("a file name such as 'in.csv'"); err != nil {
		return nil, err
	}
	if !p.acceptOp("(") {
		return s, nil
	}
	seen := map[string]bool{}
	for {
		o := p.peek()
		if o.kind != tIdent {
			return nil, syntaxErr(o, "expected a COPY option (FORMAT, HEADER, DELIMITER)")
		}
		p.next()
		name := strings.ToUpper(o.text)
		if name == "DELIM" || name == "SEP" {
			name = "DELIMITER"
		}
		if seen[name] {
			return nil, syntaxErr(o, "COPY option %s is given twice", name)
		}
		seen[name] = true
		switch name {
		case "FORMAT":
			f := p.peek()
			if f.kind != tIdent && f.kind != tString {
				return nil, syntaxErr(f, "expected a format (%s)", strings.Join(copyFormats, ", "))
			}
			p.next()
			s.format = strings.ToLower(f.text)
			if !containsFold(copyFormats, s.format) {
				return nil, syntaxErr(f, "unknown COPY format %q (formats: %s)", f.text, strings.Join(copyFormats, ", "))
			}
		case "HEADER":
			h := true
			switch v := p.peek(); {
			case isKwTok(v, "TRUE") || (v.kind == tInt && v.text == "1"):
				p.next()
			case isKwTok(v, "FALSE") || (v.kind == tInt && v.text == "0"):
				p.next()
				h = false
			}
			s.header = &h
		case "DELIMITER":
			d := p.peek()
			if d.kind != tString || len(d.text) != 1 || d.text == `"` || d.text == "\n" || d.text == "\r" {
				return nil, syntaxErr(d, "DELIMITER takes one character in quotes, e.g. DELIMITER '|' (not a quote or line break)")
			}
			p.next()
			s.delim = d.text
		default:
			return nil, syntaxErr(o, "unknown COPY … FROM option %s (options: FORMAT, HEADER, DELIMITER)", name)
		}
		if !p.acceptOp(",") {
			break
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return s, nil
}

// copyFromFormat is the format of s: FORMAT, else the file's extension,
// else CSV.
func copyFromFormat(s *copyFromStmt) string {
	if s.format != "" {
		return s.format
	}
	switch strings.ToLower(strings.TrimPrefix(filepath.Ext(s.path), ".")) {
	case "parquet":
		return "parquet"
	case "json", "jsonl", "ndjson":
		return "json"
	}
	return "csv"
}

// RowLoader is an optional Table capability: write a stream of rows (full
// rows in current schema order, upserted like INSERT) as one commit
// without holding them all in memory. rows calls write for each row and
// returns the first error; then nothing is committed. It returns the new
// snapshot's id (0 when there were no rows).
type RowLoader interface {
	LoadRows(ctx context.Context, rows func(write func(types.Row) error) error) (int64, error)
}

func (e *Engine) execCopyFrom(ctx context.Context, s *copyFromStmt) (*Result, error) {
	if e.openFile == nil {
		return nil, errf(types.ErrInvalid, "COPY … FROM cannot read files here (silt sql can)")
	}
	r, err := e.writableTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	format := copyFromFormat(s)
	if format != "csv" && (s.header != nil || s.delim != "") {
		return nil, errf(types.ErrInvalid, "COPY … FROM: HEADER and DELIMITER apply to CSV only, not %s", format)
	}
	f, err := e.openFile(ctx, s.path)
	if err != nil {
		return nil, fmt.Errorf("COPY: opening %s: %w", s.path, err)
	}
	defer f.Close()
	opts := LoadOptions{NoHeader: s.header != nil && !*s.header}
	if s.delim != "" {
		opts.Delimiter = s.delim[0]
	}
	keys := r.schema.KeyIndexes()
	var n int64
	rows := func(write func(types.Row) error) error {
		check := func(row types.Row) error {
			if n++; n%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			for _, k := range keys {
				if k >= 0 && row[k] == nil {
					return errf(types.ErrInvalid, "missing value for primary key column %q", r.schema.Fields[k].Name)
				}
			}
			if err := r.schema.CheckRow(row); err != nil {
				return err
			}
			return write(row)
		}
		switch format {
		case "parquet":
			return loadParquet(f, r.schema, check)
		case "json":
			return LoadJSONL(f, r.schema, opts, check)
		}
		return LoadCSV(f, r.schema, opts, check)
	}
	var id int64
	if rl, ok := r.t.(RowLoader); ok {
		id, err = rl.LoadRows(ctx, rows)
	} else {
		var changes []Change
		if err = rows(func(row types.Row) error {
			changes = append(changes, Change{Kind: types.Insert, Row: row})
			return nil
		}); err == nil {
			id, err = r.t.Apply(ctx, changes)
		}
	}
	if errors.Is(err, types.ErrInvalid) {
		// One line: the kind first, then where in the file.
		msg := strings.Replace(errText(err), ": "+types.ErrInvalid.Error()+": ", ": ", 1)
		return nil, errf(types.ErrInvalid, "COPY %s FROM %s: %s (nothing was committed)", r, s.path, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("COPY %s FROM %s: %w (nothing was committed)", r, s.path, err)
	}
	return &Result{Message: "COPY " + strconv.FormatInt(n, 10), SnapshotID: id}, nil
}

// LoadRows implements RowLoader with one table writer: rows it flushes
// before the commit are deleted again when rows fails.
func (s *siltTable) LoadRows(ctx context.Context, rows func(write func(types.Row) error) error) (int64, error) {
	w := s.t.NewWriter(s.c.User)
	defer func() { _ = w.Close(ctx) }()
	if err := rows(func(row types.Row) error { return w.Write(ctx, types.Insert, row) }); err != nil {
		_ = w.Abort(context.WithoutCancel(ctx))
		return 0, err
	}
	s.c.stmt++
	snap, err := w.CommitWith(ctx, table.CommitRequest{Identifier: strconv.FormatInt(s.c.stmt, 10), Fresh: true})
	if err != nil {
		_ = w.Abort(context.WithoutCancel(ctx))
		return 0, err
	}
	if snap == nil {
		return 0, nil
	}
	return snap.ID, nil
}

// readAllAt returns r as an io.ReaderAt with its size: r itself when it
// can (a local file), else its content read into memory.
func readAllAt(r io.Reader) (io.ReaderAt, int64, error) {
	if ra, ok := r.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		size, err := ra.Seek(0, io.SeekEnd)
		if err == nil {
			return ra, size, nil
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(b), int64(len(b)), nil
}
