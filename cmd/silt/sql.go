package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/query"
)

func (a *app) cmdSQL(ctx context.Context, args []string) error {
	var file string
	pos, err := a.parseFlags("sql", args, func(fs *flag.FlagSet) {
		fs.StringVar(&file, "f", "", "run the statements in FILE")
	}, `["STMT; STMT…"] | -f FILE`)
	if err != nil {
		return err
	}
	if err := checkFormat(a.g.format); err != nil {
		return err
	}
	var script string
	switch {
	case file != "" && len(pos) > 0:
		return fmt.Errorf("%w: give statements or -f FILE, not both", errUsage)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
		script = string(data)
	case len(pos) > 0:
		script = strings.Join(pos, " ")
	}
	open := a.openWarehouse
	if scriptCreates(script) {
		open = a.createWarehouse
	}
	cat, err := open(ctx)
	if err != nil {
		return err
	}
	eng := a.newEngine(cat)
	if file != "" || len(pos) > 0 {
		return canceled(ctx, a.execPrint(ctx, eng, script))
	}
	return canceled(ctx, a.repl(ctx, eng, cat))
}

// canceled turns the error of a run that an interrupt (SIGINT, SIGTERM:
// main cancels ctx) stopped into one line that says so. The engine checks
// its context in every phase and before every commit.
func canceled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return fmt.Errorf("canceled by interrupt (%w); finished statements stay committed, an interrupted write commits nothing", err)
	}
	return err
}

// stmtBuffer collects REPL lines until they complete statements. A line
// can only complete a statement if it has a ';' or ends a comment, so only
// such lines rescan the buffer: a long statement arriving line by line
// costs time linear in its length.
type stmtBuffer struct {
	b       strings.Builder
	scanned int // bytes rescanned so far
}

// add appends line and reports whether the buffer now holds complete
// statements (run) or nothing but blanks and comments (discarded).
func (s *stmtBuffer) add(line string) (run bool) {
	first := s.b.Len() == 0
	s.b.WriteString(line)
	s.b.WriteByte('\n')
	if !first && !strings.Contains(line, ";") && !strings.Contains(line, "*/") {
		return false
	}
	s.scanned += s.b.Len()
	stmts, complete := query.SplitStatements(s.b.String())
	if complete && len(stmts) == 0 {
		s.b.Reset()
	}
	return complete && len(stmts) > 0
}

func (a *app) newEngine(cat *catalog.Catalog) *query.Engine {
	user := "sql-" + uuid.NewString()
	return query.NewEngine(query.NewSiltCatalog(cat, user), query.EngineOptions{CurrentDB: catalog.DefaultDatabase, Now: time.Now,
		WriteFile: writeCopyFile, OpenFile: openCopyFile})
}

// openCopyFile opens the local file of COPY … FROM.
func openCopyFile(_ context.Context, path string) (io.ReadCloser, error) {
	return os.Open(path)
}

// writeCopyFile writes the file of COPY … TO: to a temporary file beside
// it, renamed over it once complete, so a failed COPY leaves no partial file.
func writeCopyFile(_ context.Context, path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	err = f.Chmod(0o644) // as os.Create would (less the umask)
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

func checkFormat(f string) error {
	switch f {
	case "table", "csv", "json", "arrow":
		return nil
	}
	return fmt.Errorf("%w: unknown --format %q (want table, csv, json or arrow)", errUsage, f)
}

// execPrint runs statements and prints each result as it is produced; a
// plain SELECT streams its rows to the output (csv, json, arrow) in
// bounded memory. On an error the output written so far stays: it may end
// with part of a result.
func (a *app) execPrint(ctx context.Context, eng *query.Engine, sql string) error {
	return eng.ExecStream(ctx, sql, func(r *query.Result) error {
		return query.WriteResult(a.stdout, r, a.g.format)
	})
}

func historyPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".silt_history")
}

func loadHistory() []string {
	p := historyPath()
	if p == "" {
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 500 {
		lines = lines[len(lines)-500:]
	}
	return lines
}

func appendHistory(stmt string) {
	p := historyPath()
	if p == "" {
		return
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, strings.ReplaceAll(stmt, "\n", " "))
}
