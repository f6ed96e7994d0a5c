//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptyWidth is the terminal width the REPL tests give silt.
const ptyWidth = 100

// openPTY opens a pseudo-terminal pair: the controller end the test types
// into and reads from, and the terminal end silt gets as stdin, stdout and
// stderr.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: ptyWidth}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close(); tty.Close() })
	return ctl, tty
}

// ptySession is silt running on a pseudo-terminal, with what it printed.
type ptySession struct {
	t    *testing.T
	ctl  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	seen int // expect looks after this offset
	done chan error
}

func startPTY(t *testing.T, env []string, args ...string) *ptySession {
	t.Helper()
	ctl, tty := openPTY(t)
	cmd := exec.Command(siltBin, args...)
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir(), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has it
	s := &ptySession{t: t, ctl: ctl, cmd: cmd, done: make(chan error, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := ctl.Read(b)
			s.mu.Lock()
			s.out.Write(b[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return s
}

func (s *ptySession) typeKeys(keys string) {
	s.t.Helper()
	if _, err := s.ctl.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits until silt has printed want since the last expect, and
// returns what it printed up to and including it.
func (s *ptySession) expect(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		out := s.out.String()
		i := strings.Index(out[s.seen:], want)
		if i >= 0 {
			got := out[s.seen : s.seen+i+len(want)]
			s.seen += i + len(want)
			s.mu.Unlock()
			return got
		}
		s.mu.Unlock()
		select {
		case err := <-s.done:
			s.t.Fatalf("silt exited (%v) before printing %q; it printed:\n%s", err, want, out[s.seen:])
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("silt did not print %q within 30s; it printed:\n%s", want, out[s.seen:])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestREPLTerminal drives the REPL through a pseudo-terminal as a person
// would: the banner, Ctrl-C on a line, \d, Tab completion, output fitted
// to the terminal, Ctrl-C on a running statement, and Ctrl-D.
func TestREPLTerminal(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts+"; INSERT INTO shop.orders VALUES (1, 'ann', 10.5, NULL, '"+
		strings.Repeat("a long note ", 20)+"'), (2, 'bob', 3, NULL, NULL)")

	s := startPTY(t, env, "sql")
	s.expect(`Type \? or help for help, \q or Ctrl-D to quit`)
	s.expect("silt> ")

	// Ctrl-C drops the line (and a pending statement) and keeps the session.
	s.typeKeys("SELECT 1,\r  2 FROM")
	s.expect("FROM")
	s.typeKeys("\x03")
	s.expect("^C")
	s.expect("silt> ")

	s.typeKeys("\\d\r")
	if got := s.expect("(1 row)"); !strings.Contains(got, "shop") || !strings.Contains(got, "orders") {
		t.Fatalf(`\d printed:\n%s`, got)
	}

	// Tab completes a table name, then a column of it.
	s.typeKeys("SELECT COUNT(*) FROM shop.or\t")
	s.expect("shop.orders ")
	s.typeKeys(";\r")
	s.expect("(1 row)")
	s.typeKeys("SELECT custo\t")
	s.expect("customer ")
	s.typeKeys("FROM shop.orders ORDER BY id;\r")
	s.expect("(2 rows)")

	// A wide result fits the terminal: long values are cut with "…".
	s.typeKeys("SELECT * FROM shop.orders ORDER BY id;\r")
	got := s.expect("(2 rows)")
	if !strings.Contains(got, "…") {
		t.Errorf("a wide row was not cut to the terminal:\n%s", got)
	}
	for _, line := range strings.Split(got, "\n") {
		line = strings.TrimRight(line, "\r")
		if n := len([]rune(line)); n > ptyWidth && !strings.HasPrefix(line, "SELECT") && !strings.Contains(line, "silt> ") {
			t.Errorf("a line of %d characters on a terminal of %d: %q", n, ptyWidth, line)
		}
	}

	// Ctrl-C cancels a running statement; the session goes on.
	setup := filepath.Join(dir, "setup.sql")
	if err := os.WriteFile(setup, []byte(slowSetup()), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSilt(t, env, "", "sql", "-f", setup)
	before, _ := cpuTicks(s.cmd.Process.Pid)
	s.typeKeys(slowUpdate())
	for start := time.Now(); ; {
		if n, ok := cpuTicks(s.cmd.Process.Pid); !ok || n >= before+100 {
			break // busy in the statement (or no /proc: Ctrl-C comes early, still mid-statement)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("the slow statement did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.typeKeys("\x03")
	s.expect("canceled (Ctrl-C)")
	s.expect("silt> ")
	s.typeKeys("SELECT COUNT(*) AS n FROM shop.orders;\r")
	s.expect("(1 row)")

	// Ctrl-D on an empty line quits.
	s.typeKeys("\x04")
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("Ctrl-D: silt exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-D did not end the session")
	}
}

// slowSetup is a table of 50,000 rows; slowUpdate is an UPDATE of it,
// typed over many lines, whose every row evaluates a sum of 9,000 terms:
// tens of seconds of work unless interrupted.
func slowSetup() string {
	var b strings.Builder
	b.WriteString("CREATE DATABASE d; CREATE TABLE d.t (id BIGINT PRIMARY KEY, v INT); INSERT INTO d.t VALUES ")
	for i := range 50000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, %d)", i, i%7)
	}
	return b.String()
}

func slowUpdate() string {
	var b strings.Builder
	b.WriteString("UPDATE d.t SET v = v\r")
	for range 18 {
		b.WriteString(strings.Repeat("+ v ", 500) + "\r")
	}
	b.WriteString(";\r")
	return b.String()
}
