package query

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// COPY (query) TO 'file' [(FORMAT csv|json|parquet)] and COPY t TO 'file'
// (DuckDB's form): the query's result written to a file through
// EngineOptions.WriteFile. CSV and JSON are the output formats of
// WriteResult (a header line; newline-delimited JSON objects), Parquet is
// written by copy_parquet.go. Without FORMAT the file's extension chooses,
// else CSV.

type copyStmt struct {
	pos    position
	query  statement // a SELECT * FROM t for COPY t TO …
	table  *tableName
	path   string
	format string // "" = from the extension
}

func (s *copyStmt) stmtPos() position { return s.pos }
func (s *copyStmt) String() string {
	src := "(" + s.query.String() + ")"
	if s.table != nil {
		src = s.table.String()
	}
	out := "COPY " + src + " TO " + quoteString(s.path)
	if s.format != "" {
		out += " (FORMAT " + s.format + ")"
	}
	return out
}

// copyFormats are the formats COPY writes.
var copyFormats = []string{"csv", "json", "parquet"}

func (p *parser) parseCopy() (statement, error) {
	t := p.next()
	s := &copyStmt{pos: t.pos}
	if p.acceptOp("(") {
		q := p.peek()
		if !isKwTok(q, "SELECT") && !isKwTok(q, "VALUES") && !isKwTok(q, "WITH") && !(q.kind == tOp && q.text == "(") {
			return nil, syntaxErr(q, "COPY (…) takes a query (SELECT …)")
		}
		var err error
		if s.query, err = p.parseQuery(); err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	} else {
		n, err := p.tableName()
		if err != nil {
			return nil, err
		}
		s.table = &n
		s.query = &selectStmt{pos: t.pos, items: []selectItem{{star: true, pos: t.pos}}, from: &tableRef{name: n}, limit: -1}
	}
	if p.isKw("FROM") {
		if s.table == nil {
			return nil, syntaxErr(p.peek(), "COPY … FROM loads a file into a table: COPY t FROM 'file'")
		}
		return p.parseCopyFrom(t.pos, *s.table)
	}
	if err := p.expectKw("TO"); err != nil {
		return nil, err
	}
	var err error
	if s.path, err = p.stringLit("a file name such as 'out.csv'"); err != nil {
		return nil, err
	}
	if p.acceptOp("(") {
		if err := p.expectKw("FORMAT"); err != nil {
			return nil, err
		}
		f := p.peek()
		if f.kind != tIdent && f.kind != tString {
			return nil, syntaxErr(f, "expected a format (%s)", strings.Join(copyFormats, ", "))
		}
		p.next()
		s.format = strings.ToLower(f.text)
		if !containsFold(copyFormats, s.format) {
			return nil, syntaxErr(f, "unknown COPY format %q (formats: %s)", f.text, strings.Join(copyFormats, ", "))
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (e *Engine) execCopy(ctx context.Context, s *copyStmt) (*Result, error) {
	if e.writeFile == nil {
		return nil, errf(types.ErrInvalid, "COPY … TO cannot write files here (silt sql can)")
	}
	format := s.format
	if format == "" {
		format = "csv"
		if ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(s.path), ".")); containsFold(copyFormats, ext) {
			format = ext
		}
	}
	res, err := e.run(ctx, s.query, false)
	if err != nil {
		return nil, err
	}
	if isMessageOnly(res) {
		return nil, errf(types.ErrInvalid, "COPY: the query returns no columns")
	}
	var buf bytes.Buffer
	switch format {
	case "parquet":
		err = writeParquet(&buf, res)
	default:
		err = WriteResult(&buf, res, format)
	}
	if err != nil {
		return nil, fmt.Errorf("COPY to %s: %w", s.path, err)
	}
	if err := e.writeFile(ctx, s.path, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("COPY: writing %s: %w", s.path, err)
	}
	return &Result{Message: "COPY " + strconv.Itoa(len(res.Rows)), SnapshotID: res.SnapshotID}, nil
}
