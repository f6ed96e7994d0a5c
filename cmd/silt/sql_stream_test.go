package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// lineCounter counts the bytes and lines written to it and keeps the last
// line, so that a test can check a large output without holding it.
type lineCounter struct {
	lines, bytes int
	last, cur    []byte
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.bytes += len(p)
	for _, b := range p {
		if b == '\n' {
			c.lines++
			c.last = append(c.last[:0], c.cur...)
			c.cur = c.cur[:0]
		} else {
			c.cur = append(c.cur, b)
		}
	}
	return len(p), nil
}

// siltPeak runs silt with stdout going to out and returns its exit code,
// stderr and peak resident set size in MiB. The peak is the child's VmHWM
// from /proc, polled while it runs: getrusage's ru_maxrss is no use here,
// because Linux carries the parent's high-water mark across the vfork+exec
// that os/exec uses, so a child of a large test process reports the
// parent's size.
func siltPeak(t *testing.T, env []string, out *lineCounter, args ...string) (int, string, int64) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), siltBin, args...)
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	if _, err := os.Stat(status); err != nil {
		t.Skipf("no /proc on this platform: %v", err)
	}
	var peakKiB atomic.Int64
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if kib := vmHWM(status); kib > peakKiB.Load() {
				peakKiB.Store(kib)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-polled
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if peakKiB.Load() == 0 {
		t.Fatalf("never read VmHWM from %s", status)
	}
	return code, errb.String(), peakKiB.Load() >> 10
}

// vmHWM returns the VmHWM line of a /proc status file in KiB, or 0 once
// the process has gone.
func vmHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kib
		}
	}
	return 0
}

// TestSQLStreamsLargeResult: a SELECT over 3M rows writes its CSV in
// bounded memory (collecting the rows first took about 635 MiB), ORDER BY
// with LIMIT keeps only LIMIT rows, and an error mid-stream exits non-zero
// with one line after the rows before it.
func TestSQLStreamsLargeResult(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 3M rows")
	}
	const rows = 3_000_000
	const limitMiB = 300
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE db; CREATE TABLE db.t (id BIGINT PRIMARY KEY, v BIGINT)")
	csvPath := filepath.Join(dir, "t.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	bw.WriteString("id,v\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(bw, "%d,%d\n", i, i*7)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mustSilt(t, env, "", "load", "db.t", csvPath, "--format", "csv")

	var out lineCounter
	code, stderr, peak := siltPeak(t, env, &out, "--format", "csv", "sql", "SELECT * FROM db.t")
	t.Logf("SELECT *: %d lines, %d bytes, peak RSS %d MiB", out.lines, out.bytes, peak)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if out.lines != rows+1 || string(out.last) != fmt.Sprintf("%d,%d", rows-1, (rows-1)*7) {
		t.Fatalf("got %d lines ending %q", out.lines, out.last)
	}
	if peak > limitMiB {
		t.Errorf("SELECT * peak RSS %d MiB, want < %d MiB: the result is not streamed", peak, limitMiB)
	}

	out = lineCounter{}
	code, stderr, peak = siltPeak(t, env, &out, "--format", "csv", "sql", "SELECT id FROM db.t ORDER BY v DESC LIMIT 3")
	t.Logf("ORDER BY LIMIT: peak RSS %d MiB", peak)
	if code != 0 || out.lines != 4 || string(out.last) != fmt.Sprint(rows-3) {
		t.Fatalf("ORDER BY LIMIT: exit %d, %d lines ending %q: %s", code, out.lines, out.last, stderr)
	}
	if peak > limitMiB {
		t.Errorf("ORDER BY … LIMIT 3 peak RSS %d MiB, want < %d MiB: every row is kept for the sort", peak, limitMiB)
	}

	out = lineCounter{}
	code, stderr, _ = siltPeak(t, env, &out, "--format", "csv", "sql", "SELECT id, 10 / (v - 700) FROM db.t")
	if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "zero") {
		t.Fatalf("error mid-stream: exit %d, stderr %q", code, stderr)
	}
	if out.lines < 1 || out.lines > 101 {
		t.Fatalf("error mid-stream: %d lines written, want the header and at most the 100 rows before the error", out.lines)
	}
}
