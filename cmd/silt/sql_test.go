package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTicks returns the CPU time pid has used, in clock ticks, from
// /proc/PID/stat (utime + stime).
func cpuTicks(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command name (in parentheses): state is the
	// first, utime and stime the 12th and 13th.
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.Atoi(f[11])
	s, err2 := strconv.Atoi(f[12])
	return u + s, err1 == nil && err2 == nil
}

// TestSQLInterrupt: SIGINT stops a long-running `silt sql` promptly, with a
// non-zero exit and a line saying it was canceled, and the interrupted
// UPDATE commits nothing. Before, a large expression was bound without
// looking at the context, so the signal went unanswered for minutes.
func TestSQLInterrupt(t *testing.T) {
	if _, ok := cpuTicks(os.Getpid()); !ok {
		t.Skip("needs /proc/PID/stat to see that silt is busy")
	}
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	var b strings.Builder
	b.WriteString("CREATE DATABASE d; CREATE TABLE d.t (id BIGINT PRIMARY KEY, v INT); INSERT INTO d.t VALUES ")
	const rows = 50000
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, %d)", i, i%7)
	}
	setup := filepath.Join(dir, "setup.sql")
	if err := os.WriteFile(setup, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSilt(t, env, "", "sql", "-f", setup)
	before := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n, SUM(v) AS s FROM d.t")

	// Every row evaluates an expression of 9,000 terms: tens of seconds of
	// work, unless interrupted.
	terms := make([]string, 9000)
	for i := range terms {
		terms[i] = "v"
	}
	update := filepath.Join(dir, "update.sql")
	if err := os.WriteFile(update, []byte("UPDATE d.t SET v = "+strings.Join(terms, " + ")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(siltBin, "sql", "-f", update)
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Interrupt once silt has used half a second of CPU: well past start-up
	// (signal handling is installed first thing), in the middle of the work.
	for {
		if n, _ := cpuTicks(cmd.Process.Pid); n >= 50 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("silt finished before it could be interrupted: %v\n%s%s", err, out.String(), errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case err := <-done:
		t.Logf("exited %v after SIGINT: %s", time.Since(sent).Round(time.Millisecond), strings.TrimSpace(errb.String()))
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("interrupted silt sql: %v, want exit status 1", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("silt sql did not stop within 20s of SIGINT\nstderr:\n%s", errb.String())
	}
	if got := errb.String(); !strings.HasPrefix(got, "silt: canceled by interrupt (") || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", got, "silt: canceled by interrupt (")
	}
	if after := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n, SUM(v) AS s FROM d.t"); after != before {
		t.Errorf("the interrupted UPDATE changed the table: %q, before %q", after, before)
	}
}

// TestREPLLongStatementLinear: a statement fed to the REPL line by line is
// rescanned for its end only on lines that can end it, not on every line
// (which cost time quadratic in its length).
func TestREPLLongStatementLinear(t *testing.T) {
	var buf stmtBuffer
	total := 0
	add := func(line string) bool {
		total += len(line) + 1
		return buf.add(line)
	}
	for _, l := range []string{"", "  ", "-- a comment", "/* a", "block */"} {
		if add(l) {
			t.Fatalf("%q: blank and comment lines are no statement", l)
		}
	}
	if buf.b.Len() != 0 {
		t.Fatalf("blank and comment lines were kept: %q", buf.b.String())
	}
	if add("SELECT 1") {
		t.Fatal("SELECT 1 without ';' ran")
	}
	for range 20000 {
		if add("  + 1 -- more") {
			t.Fatal("a statement ended without a ';'")
		}
	}
	if add("  + 'a;b'") || !add(";") {
		t.Fatal("the statement did not end at the ';'")
	}
	if want := 3 * total; buf.scanned > want {
		t.Errorf("rescanned %d bytes of a %d-byte input, want at most %d", buf.scanned, total, want)
	}
}
