package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/query"
	"golang.org/x/term"
)

// replSession is one interactive SQL session: the engine, the display
// settings the meta-commands change (repl_meta.go), and the names tab
// completion offers (repl_complete.go).
type replSession struct {
	a        *app
	eng      *query.Engine
	cat      *catalog.Catalog
	format   string // table, csv, json (\pset format, .mode)
	expanded bool   // \x: one "column | value" line per field
	timing   bool   // \timing: print each statement's time
	// width is the terminal's width in columns (0: not a terminal, or
	// unknown): the table format fits its columns into it.
	width func() int
	names *nameCache
}

// repl reads statements interactively. On a terminal it edits lines, keeps
// history (~/.silt_history), completes names with Tab, and Ctrl-C cancels
// the line or the running statement; otherwise it reads lines, and a last
// statement without its ';' still runs at the end of the input.
func (a *app) repl(ctx context.Context, eng *query.Engine, cat *catalog.Catalog) error {
	s := &replSession{a: a, eng: eng, cat: cat, format: a.g.format, width: func() int { return 0 }, names: &nameCache{cat: cat}}
	in, isFile := a.stdin.(*os.File)
	if isFile && term.IsTerminal(int(in.Fd())) {
		return s.terminal(ctx, in)
	}
	return s.lines(ctx, bufio.NewScanner(a.stdin))
}

// banner is what a terminal session starts with: how to get help and how
// to leave.
func (s *replSession) banner(w io.Writer) {
	fmt.Fprintf(w, "silt %s: SQL on warehouse %s\n", version, objstore.RedactURI(s.a.g.warehouse))
	fmt.Fprintln(w, `Enter SQL ending in ';'. Type \? or help for help, \q or Ctrl-D to quit; Ctrl-C cancels the line or a running statement.`)
}

// lines runs statements read line by line (piped input, or a terminal
// that cannot be put in raw mode). An error does not end the session.
func (s *replSession) lines(ctx context.Context, sc *bufio.Scanner) error {
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var buf stmtBuffer
	for sc.Scan() {
		quit, err := s.feed(ctx, &buf, sc.Text(), s.runOrReport)
		if err != nil || quit {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	// The input ended: a last statement without its ';' runs too.
	rest := strings.TrimSpace(buf.b.String())
	switch {
	case rest == "":
	case endsOpen(rest):
		fmt.Fprintln(s.a.stderr, "error: the input ends inside a quoted string or a comment: the pending statement did not run")
	default:
		return s.runOrReport(ctx, rest)
	}
	return nil
}

// endsOpen reports whether sql ends inside a string literal, quoted
// identifier or comment (the statement is cut off, not just unterminated).
func endsOpen(sql string) bool {
	_, complete := query.SplitStatements(sql + "\n;")
	return !complete
}

// runOrReport runs statements; an error is reported and the session goes
// on, unless the session itself was interrupted.
func (s *replSession) runOrReport(ctx context.Context, sql string) error {
	err := s.exec(ctx, sql)
	if err != nil && ctx.Err() != nil {
		return err
	}
	if err != nil {
		fmt.Fprintln(s.a.stderr, "error:", oneLine(err))
	}
	return nil
}

// feed takes one input line: a meta-command, or part of a statement, run
// through run once complete.
func (s *replSession) feed(ctx context.Context, buf *stmtBuffer, line string, run func(context.Context, string) error) (quit bool, err error) {
	// A backslash command is one anywhere (a pending statement waits, as
	// in psql); the others only between statements.
	if cmd, ok := metaCommand(line); ok && (buf.b.Len() == 0 || strings.HasPrefix(cmd, `\`)) {
		return s.meta(ctx, cmd)
	}
	if buf.add(line) {
		sql := buf.b.String()
		buf.b.Reset()
		s.names.forget() // the statement may create or drop tables
		return false, run(ctx, sql)
	}
	return false, nil
}

// exec runs statements and prints each result as it comes.
func (s *replSession) exec(ctx context.Context, sql string) error {
	start := time.Now()
	return s.eng.ExecStream(ctx, sql, func(r *query.Result) error {
		err := s.print(r)
		if s.timing {
			fmt.Fprintf(s.a.stdout, "Time: %.3f ms\n", float64(time.Since(start).Microseconds())/1000)
			start = time.Now()
		}
		return err
	})
}

// print writes one result in the session's format: on a terminal the
// table format fits the terminal's width; \x prints one field a line.
func (s *replSession) print(r *query.Result) error {
	switch {
	case len(r.Columns) == 0:
		return query.WriteResult(s.a.stdout, r, s.format)
	case s.expanded:
		return writeExpanded(s.a.stdout, r, s.width())
	case s.format == "table" && s.width() > 0:
		return writeFitted(s.a.stdout, r, s.width())
	}
	return query.WriteResult(s.a.stdout, r, s.format)
}

// interruptKey is what a Ctrl-C typed at the prompt reaches the line
// editor as: a private-use rune the completion callback turns into "^C",
// then Enter, so that the editor returns the line and the session drops
// it. (The editor itself reports Ctrl-C as end of input.)
const interruptKey = "\uE003\r"

// terminal runs the session on a terminal in raw mode. Raw mode stays on
// while a statement runs, so Ctrl-C arrives as a key, not as SIGINT: it
// cancels that statement and the session goes on.
func (s *replSession) terminal(ctx context.Context, in *os.File) error {
	fd := int(in.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return s.lines(ctx, bufio.NewScanner(in))
	}
	defer term.Restore(fd, old)
	keys := newKeyReader(in)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{keys, s.a.stdout}, "silt> ")
	resize := func() int {
		w, h, err := term.GetSize(fd)
		if err != nil || w <= 0 {
			return 0
		}
		_ = t.SetSize(w, h)
		return w
	}
	s.width = resize
	hist := &replHistory{skip: keys.interruptPending}
	for _, h := range loadHistory() {
		hist.Add(h)
	}
	t.History = hist
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		switch key {
		case []rune(interruptKey)[0]:
			return line + "^C", len(line) + 2, true
		case '\t':
			return s.complete(ctx, t, line, pos)
		}
		return "", 0, false
	}
	out := t // writes above the prompt, turning \n into \r\n
	saved, savedErr := s.a.stdout, s.a.stderr
	s.a.stdout, s.a.stderr = out, out
	defer func() { s.a.stdout, s.a.stderr = saved, savedErr }()
	s.banner(out)
	var buf stmtBuffer
	for {
		resize()
		if buf.b.Len() == 0 {
			t.SetPrompt("silt> ")
		} else {
			t.SetPrompt("   -> ")
		}
		line, err := t.ReadLine()
		if errors.Is(err, io.EOF) { // Ctrl-D on an empty line
			fmt.Fprintln(out)
			return nil
		}
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			return err
		}
		if keys.takeInterrupt() { // Ctrl-C: drop the line and the pending statement
			buf.b.Reset()
			continue
		}
		quit, err := s.feed(ctx, &buf, line, func(ctx context.Context, sql string) error {
			appendHistory(strings.TrimSpace(sql))
			return s.runInterruptible(ctx, keys, sql)
		})
		if err != nil || quit {
			return err
		}
	}
}

// runInterruptible runs statements until they finish or Ctrl-C cancels
// them; only a cancellation of the whole session ends it.
func (s *replSession) runInterruptible(ctx context.Context, keys *keyReader, sql string) error {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keys.onInterrupt(cancel)
	err := s.exec(qctx, sql)
	keys.onInterrupt(nil)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return err
	case qctx.Err() != nil:
		fmt.Fprintln(s.a.stderr, "canceled (Ctrl-C): finished statements stay committed, an interrupted write commits nothing")
	default:
		fmt.Fprintln(s.a.stderr, "error:", oneLine(err))
	}
	return nil
}

// keyReader reads the terminal in the background and hands the keys to
// the line editor, except Ctrl-C: while a statement runs it cancels the
// statement; at the prompt it becomes interruptKey.
type keyReader struct {
	mu          sync.Mutex
	cond        *sync.Cond
	buf         []byte
	err         error
	cancel      func() // set while a statement runs
	interrupted bool   // a Ctrl-C at the prompt the session has not taken
}

func newKeyReader(r io.Reader) *keyReader {
	k := &keyReader{}
	k.cond = sync.NewCond(&k.mu)
	go k.pump(r) // ends with the process: a read of a terminal cannot be undone
	return k
}

func (k *keyReader) pump(r io.Reader) {
	b := make([]byte, 512)
	for {
		n, err := r.Read(b)
		k.mu.Lock()
		for _, c := range b[:n] {
			if c != 3 {
				k.buf = append(k.buf, c)
				continue
			}
			if k.cancel != nil {
				k.cancel()
				continue
			}
			k.interrupted = true
			k.buf = append(k.buf, interruptKey...)
		}
		if err != nil {
			k.err = err
		}
		k.cond.Broadcast()
		k.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (k *keyReader) Read(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for len(k.buf) == 0 && k.err == nil {
		k.cond.Wait()
	}
	if len(k.buf) > 0 {
		n := copy(p, k.buf)
		k.buf = k.buf[n:]
		return n, nil
	}
	return 0, k.err
}

// onInterrupt sets what Ctrl-C does while a statement runs (nil: back at
// the prompt).
func (k *keyReader) onInterrupt(cancel func()) {
	k.mu.Lock()
	k.cancel = cancel
	k.mu.Unlock()
}

func (k *keyReader) interruptPending() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.interrupted
}

func (k *keyReader) takeInterrupt() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	was := k.interrupted
	k.interrupted = false
	return was
}

// replHistory is the line editor's history: the last 500 lines, without
// blank lines, repeats, or lines canceled with Ctrl-C.
type replHistory struct {
	lines []string // oldest first
	skip  func() bool
}

func (h *replHistory) Add(line string) {
	if strings.TrimSpace(line) == "" || (h.skip != nil && h.skip()) {
		return
	}
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > 500 {
		h.lines = h.lines[len(h.lines)-500:]
	}
}

func (h *replHistory) Len() int { return len(h.lines) }

// At returns the idx-th most recent line (0: the newest).
func (h *replHistory) At(idx int) string { return h.lines[len(h.lines)-1-idx] }
