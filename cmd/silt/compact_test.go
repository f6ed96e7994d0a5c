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

// insertRound is one INSERT of keys 0..n-1 (over two days) with values of
// round r.
func insertRound(n, r int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO shop.kv VALUES ")
	for k := 0; k < n; k++ {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(DATE '2026-01-0%d', %d, 'r%d-k%d', %d)", 1+k%2, k, r, k, r*1000+k)
	}
	return b.String()
}

// runsPerBucket reads t$files and counts the sorted runs of every bucket:
// each level-0 file, plus each non-empty level above 0.
func runsPerBucket(t *testing.T, env []string, tbl string) (map[string]int, map[int]bool) {
	t.Helper()
	out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT partition, bucket, level, COUNT(*) AS n FROM "+tbl+"$files GROUP BY partition, bucket, level")
	runs := map[string]int{}
	levels := map[int]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Split(line, ",")
		level, _ := strconv.Atoi(f[2])
		n, _ := strconv.Atoi(f[3])
		levels[level] = true
		if level == 0 {
			runs[f[0]+"/"+f[1]] += n
		} else {
			runs[f[0]+"/"+f[1]]++
		}
	}
	return runs, levels
}

const createKV = `CREATE TABLE shop.kv (day DATE, k INT, v STRING, n BIGINT, PRIMARY KEY (day, k))
  PARTITIONED BY (day) WITH ('bucket' = '2')`

// TestCompactOverwrite10x overwrites the same key space ten times, one
// silt process per overwrite, as a user would: reads equal the oracle, no
// bucket ever has more sorted runs than the stop trigger (8), t$files
// shows the levels, and silt compact (normal, then --full) reports what it
// did and leaves one run per bucket at the last level.
func TestCompactOverwrite10x(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createKV)
	const keys = 200
	oracle := func(r int) string {
		var b strings.Builder
		b.WriteString("k,v,n\n")
		for k := 0; k < keys; k++ {
			fmt.Fprintf(&b, "%d,r%d-k%d,%d\n", k, r, k, r*1000+k)
		}
		return b.String()
	}
	sawLevels := map[int]bool{}
	for r := 1; r <= 10; r++ {
		mustSilt(t, env, "", "sql", insertRound(keys, r))
		runs, levels := runsPerBucket(t, env, "shop.kv")
		for b, n := range runs {
			if n > 8 {
				t.Fatalf("after overwrite %d: bucket %s has %d sorted runs > stop trigger 8", r, b, n)
			}
		}
		for l := range levels {
			sawLevels[l] = true
		}
	}
	if !sawLevels[0] || len(sawLevels) < 2 {
		t.Errorf("t$files never showed a level above 0: %v", sawLevels)
	}
	query := "SELECT k, v, n FROM shop.kv ORDER BY k"
	if got := mustSilt(t, env, "", "--format", "csv", "sql", query); got != oracle(10) {
		t.Fatalf("after 10 overwrites:\n%s", got)
	}

	r := silt(t, env, "", "compact", "shop.kv")
	if r.code != 0 || (!strings.Contains(r.stdout, "nothing to compact") && !strings.Contains(r.stdout, "RUNS BEFORE")) {
		t.Fatalf("silt compact: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = silt(t, env, "", "compact", "shop.kv", "--full")
	if r.code != 0 || !strings.Contains(r.stdout, "COMPACT snapshot") || !strings.Contains(r.stdout, "RUNS AFTER") ||
		!strings.Contains(r.stdout, "total:") || !strings.Contains(r.stderr, "buckets") {
		t.Fatalf("silt compact --full: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	runs, levels := runsPerBucket(t, env, "shop.kv")
	if len(levels) != 1 || !levels[5] {
		t.Errorf("after --full, levels %v, want only the last level 5", levels)
	}
	for b, n := range runs {
		if n != 1 {
			t.Errorf("after --full: bucket %s has %d runs", b, n)
		}
	}
	if got := mustSilt(t, env, "", "--format", "csv", "sql", query); got != oracle(10) {
		t.Fatalf("after silt compact --full:\n%s", got)
	}
	// Older snapshots are still readable.
	if got := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT k, v, n FROM shop.kv VERSION AS OF 1 ORDER BY k"); got != oracle(1) {
		t.Fatalf("VERSION AS OF 1 after compaction:\n%s", got)
	}
	out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n FROM shop.kv$snapshots WHERE commit_kind = 'COMPACT'")
	if out == "n\n0\n" {
		t.Errorf("no COMPACT snapshot in history")
	}
	out = mustSilt(t, env, "", "--format", "csv", "sql", "SELECT min_key, max_key FROM shop.kv$files WHERE partition = 'day=2026-01-01' ORDER BY min_key LIMIT 1")
	if !strings.HasPrefix(out, "min_key,max_key\n\"[2026-01-01, 0]\",\"[2026-01-01, ") {
		t.Errorf("t$files keys: %q", out)
	}

	// --full --rewrite writes every file again, also of buckets already
	// in one run; a plain --full has nothing left to do.
	filesOf := func() string {
		return mustSilt(t, env, "", "--format", "csv", "sql", "SELECT file_path FROM shop.kv$files ORDER BY file_path")
	}
	before := filesOf()
	mustSilt(t, env, "", "compact", "shop.kv", "--full")
	if got := filesOf(); got != before {
		t.Errorf("a second --full changed the files")
	}
	mustSilt(t, env, "", "compact", "shop.kv", "--full", "--rewrite")
	for _, f := range strings.Split(strings.TrimSpace(filesOf()), "\n")[1:] {
		if strings.Contains(before, f) {
			t.Errorf("--rewrite kept file %s", f)
		}
	}
	if got := mustSilt(t, env, "", "--format", "csv", "sql", query); got != oracle(10) {
		t.Fatalf("after silt compact --full --rewrite:\n%s", got)
	}

	// --partition and --format json.
	r = silt(t, env, "", "--format", "json", "compact", "shop.kv", "--full", "--partition", "day=2026-01-02")
	if r.code != 0 || !strings.Contains(r.stdout, `"table":"shop.kv"`) {
		t.Fatalf("compact --partition: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestCompactWatch: write-only writers stall at the stop trigger until
// `silt compact --watch` (all tables) compacts; SIGINT stops the watcher
// with exit code 0.
func TestCompactWatch(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+strings.Replace(createKV, "'bucket' = '2'",
		"'bucket' = '1', 'write-only' = 'true', 'num-sorted-run.compaction-trigger' = '2', 'num-sorted-run.stop-trigger' = '3'", 1))
	cmd := exec.Command(siltBin, "compact", "--watch", "--interval", "50ms")
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for r := 1; r <= 8; r++ {
		mustSilt(t, env, "", "sql", insertRound(20, r))
	}
	runs, _ := runsPerBucket(t, env, "shop.kv")
	for b, n := range runs {
		if n > 3 {
			t.Errorf("bucket %s has %d sorted runs > stop trigger 3", b, n)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watcher exit: %v\nstderr:\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watcher did not stop on SIGINT")
	}
	if !strings.Contains(out.String(), "shop.kv: compacted") || !strings.Contains(errb.String(), "stopped after") {
		t.Errorf("watcher output:\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	got := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS c, MIN(n) AS lo FROM shop.kv")
	if got != "c,lo\n20,8000\n" {
		t.Errorf("after the watched writes: %q", got)
	}
}

func TestCompactUsage(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createKV)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compact"}, 2, "one DB.TABLE"},
		{[]string{"compact", "--watch", "--full"}, 2, "--full"},
		{[]string{"compact", "shop.kv", "--rewrite"}, 2, "add --full"},
		{[]string{"compact", "a.b", "c.d"}, 2, "one DB.TABLE"},
		{[]string{"compact", "shop.nope"}, 1, "nope"},
		{[]string{"compact", "shop.kv", "--partition", "k=1"}, 1, "not a partition column"},
		{[]string{"compact", "shop.kv", "--partition", "day=notadate"}, 1, "day"},
	} {
		r := silt(t, env, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("silt %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// TestCompactBranch: `silt compact db.t$branch_b` compacts the branch, as
// SQL names it, and leaves main alone.
func TestCompactBranch(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createKV)
	mustSilt(t, env, "", "sql", insertRound(20, 1))
	mustSilt(t, env, "", "sql", "ALTER TABLE shop.kv CREATE BRANCH dev")
	for r := 2; r <= 4; r++ {
		mustSilt(t, env, "", "sql", strings.Replace(insertRound(20, r), "shop.kv", "shop.kv$branch_dev", 1))
	}
	mainBefore := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT file_path, level FROM shop.kv$files ORDER BY file_path")
	r := silt(t, env, "", "compact", "shop.kv$branch_dev", "--full")
	if r.code != 0 || !strings.Contains(r.stdout, "compacted shop.kv$branch_dev") || !strings.Contains(r.stdout, "COMPACT snapshot") {
		t.Fatalf("silt compact shop.kv$branch_dev --full: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	runs, levels := runsPerBucket(t, env, "shop.kv$branch_dev")
	if len(levels) != 1 || !levels[5] {
		t.Errorf("branch after --full: levels %v, want only the last level 5", levels)
	}
	for b, n := range runs {
		if n != 1 {
			t.Errorf("branch after --full: bucket %s has %d runs", b, n)
		}
	}
	out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n FROM shop.kv$branch_dev$snapshots WHERE commit_kind = 'COMPACT'")
	if out != "n\n1\n" {
		t.Errorf("COMPACT snapshots on the branch: %q", out)
	}
	if got := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT file_path, level FROM shop.kv$files ORDER BY file_path"); got != mainBefore {
		t.Errorf("main's files changed by compacting the branch:\nbefore:\n%s\nafter:\n%s", mainBefore, got)
	}
	out = mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n FROM shop.kv$snapshots WHERE commit_kind = 'COMPACT'")
	if out != "n\n0\n" {
		t.Errorf("COMPACT snapshots on main: %q", out)
	}
	if got := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS c, MIN(n) AS lo FROM shop.kv FOR BRANCH dev"); got != "c,lo\n20,4000\n" {
		t.Errorf("branch content after compaction: %q", got)
	}
	// JSON names the branch too.
	r = silt(t, env, "", "--format", "json", "compact", "shop.kv$branch_dev")
	if r.code != 0 || !strings.Contains(r.stdout, `"table":"shop.kv$branch_dev"`) {
		t.Errorf("compact --format json on a branch: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compact", "shop.kv$branch_nope"}, 1, "nope"},
		{[]string{"compact", "shop.kv$snapshots"}, 2, "only a branch"},
		{[]string{"compact", "shop.kv$branch_"}, 2, "branch"},
		{[]string{"compact", "--watch", "shop.kv$branch_dev"}, 2, "--watch"},
	} {
		r := silt(t, env, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("silt %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
}
