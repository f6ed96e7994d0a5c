package main

import (
	"bufio"
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
	"golang.org/x/term"
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
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	eng := a.newEngine(cat)
	switch {
	case file != "" && len(pos) > 0:
		return fmt.Errorf("%w: give statements or -f FILE, not both", errUsage)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
		return canceled(ctx, a.execPrint(ctx, eng, string(data)))
	case len(pos) > 0:
		return canceled(ctx, a.execPrint(ctx, eng, strings.Join(pos, " ")))
	}
	return canceled(ctx, a.repl(ctx, eng))
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
	return query.NewEngine(query.NewSiltCatalog(cat, user), query.EngineOptions{CurrentDB: catalog.DefaultDatabase, Now: time.Now})
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

// repl reads statements interactively. With a terminal it offers line
// editing and history (kept in ~/.silt_history); otherwise it reads lines.
func (a *app) repl(ctx context.Context, eng *query.Engine) error {
	in, isFile := a.stdin.(*os.File)
	if isFile && term.IsTerminal(int(in.Fd())) {
		return a.replTerminal(ctx, eng, in)
	}
	return a.replLines(ctx, eng, bufio.NewScanner(a.stdin), nil)
}

func (a *app) replLines(ctx context.Context, eng *query.Engine, sc *bufio.Scanner, prompt func(string)) error {
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var buf stmtBuffer
	if prompt != nil {
		prompt("silt> ")
	}
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if buf.b.Len() == 0 && (trimmed == `\q` || trimmed == "quit" || trimmed == "exit") {
			return nil
		}
		if buf.add(line) {
			err := a.execPrint(ctx, eng, buf.b.String())
			if err != nil && ctx.Err() != nil {
				return err
			}
			if err != nil {
				fmt.Fprintln(a.stderr, "error:", oneLine(err))
			}
			buf.b.Reset()
		}
		if prompt != nil {
			if buf.b.Len() == 0 {
				prompt("silt> ")
			} else {
				prompt("   -> ")
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return sc.Err()
}

func (a *app) replTerminal(ctx context.Context, eng *query.Engine, in *os.File) error {
	old, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return a.replLines(ctx, eng, bufio.NewScanner(in), func(p string) { fmt.Fprint(a.stdout, p) })
	}
	defer term.Restore(int(in.Fd()), old)
	rw := struct {
		io.Reader
		io.Writer
	}{in, a.stdout}
	t := term.NewTerminal(rw, "silt> ")
	hist := loadHistory()
	for _, h := range hist {
		t.History.Add(h)
	}
	out := &crlfWriter{t}
	saved := a.stdout
	a.stdout, a.stderr = out, out
	defer func() { a.stdout, a.stderr = saved, saved }()
	var buf stmtBuffer
	for {
		line, err := t.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		trimmed := strings.TrimSpace(line)
		if buf.b.Len() == 0 && (trimmed == `\q` || trimmed == "quit" || trimmed == "exit") {
			return nil
		}
		if buf.add(line) || buf.b.Len() == 0 {
			stmt := strings.TrimSpace(buf.b.String())
			buf.b.Reset()
			if stmt != "" {
				appendHistory(stmt)
				// Cooked mode while the statement runs, so that Ctrl-C
				// sends SIGINT, which cancels it (and ends the session).
				_ = term.Restore(int(in.Fd()), old)
				err := a.execPrint(ctx, eng, stmt)
				if _, rerr := term.MakeRaw(int(in.Fd())); rerr != nil && err == nil {
					err = rerr
				}
				if err != nil && ctx.Err() != nil {
					return err
				}
				if err != nil {
					fmt.Fprintln(out, "error:", oneLine(err))
				}
			}
			t.SetPrompt("silt> ")
		} else {
			t.SetPrompt("   -> ")
		}
	}
}

// crlfWriter turns \n into \r\n for a terminal in raw mode.
type crlfWriter struct{ w io.Writer }

func (c *crlfWriter) Write(p []byte) (int, error) {
	_, err := c.w.Write([]byte(strings.ReplaceAll(string(p), "\n", "\r\n")))
	return len(p), err
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
