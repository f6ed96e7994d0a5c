package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestHistoryCLI drives tags, time travel by tag, rollback, branches,
// table_changes, system tables and `silt changes` through the binary.
func TestHistoryCLI(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	csv := func(sql string) string {
		t.Helper()
		return mustSilt(t, env, "", "--format", "csv", "sql", sql)
	}
	expect := func(sql, want string) {
		t.Helper()
		if got := csv(sql); got != want {
			t.Fatalf("%s:\n got %q\nwant %q", sql, got, want)
		}
	}
	fails := func(want string, args ...string) {
		t.Helper()
		r := silt(t, env, "", args...)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.code == 0 || len(lines) != 1 || !strings.Contains(r.stderr, want) {
			t.Fatalf("silt %s: exit %d, stderr %q; want one line containing %q", strings.Join(args, " "), r.code, r.stderr, want)
		}
	}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.t (id BIGINT PRIMARY KEY, v STRING) WITH ('bucket' = '2')")
	mustSilt(t, env, "", "sql", "INSERT INTO shop.t VALUES (1, 'a'), (2, 'b')")
	out := mustSilt(t, env, "", "sql", "ALTER TABLE shop.t CREATE TAG v1")
	if !strings.Contains(out, "CREATE TAG v1") {
		t.Fatalf("create tag: %q", out)
	}
	mustSilt(t, env, "", "sql", "UPDATE shop.t SET v = 'z' WHERE id = 1; DELETE FROM shop.t WHERE id = 2")
	expect("SELECT * FROM shop.t VERSION AS OF 'v1' ORDER BY id", "id,v\n1,a\n2,b\n")
	fails("unknown tag 'nope' of table shop.t", "sql", "SELECT * FROM shop.t VERSION AS OF 'nope'")
	fails("no snapshot of table shop.t at or before", "sql", "SELECT * FROM shop.t TIMESTAMP AS OF '2001-01-01 00:00:00'")
	fails("syntax error", "sql", "ALTER TABLE shop.t ROLLBACK TO 1")
	fails("unknown branch 'nope'", "sql", "ALTER TABLE shop.t FAST FORWARD TO BRANCH nope")
	fails("schema changes on branch", "sql", "ALTER TABLE shop.t CREATE BRANCH b1; ALTER TABLE shop.t$branch_b1 ADD COLUMN c INT")

	// table_changes and silt changes agree.
	expect("SELECT rowkind, snapshot_id, id, v FROM table_changes('shop.t', 'v1', NULL)", "rowkind,snapshot_id,id,v\n-U,2,1,a\n+U,2,1,z\n-D,3,2,b\n")
	out = mustSilt(t, env, "", "--format", "csv", "changes", "shop.t", "--from", "v1")
	if want := "rowkind,snapshot_id,id,v\n-U,2,1,a\n+U,2,1,z\n-D,3,2,b\n"; out != want {
		t.Fatalf("silt changes --from v1:\n%s\nwant\n%s", out, want)
	}
	out = mustSilt(t, env, "", "--format", "csv", "changes", "shop.t", "--to", "1")
	if want := "rowkind,snapshot_id,id,v\n+I,1,1,a\n+I,1,2,b\n"; out != want {
		t.Fatalf("silt changes --to 1:\n%s", out)
	}
	fails("neither a tag", "changes", "shop.t", "--from", "nope")
	fails("--follow and --to", "changes", "shop.t", "--follow", "--to", "2")
	fails("one table", "changes")

	// Rollback to the tag, then branch, write, query, fast-forward, drop.
	out = mustSilt(t, env, "", "sql", "ALTER TABLE shop.t ROLLBACK TO VERSION 'v1'")
	if !strings.Contains(out, "tag:v1") {
		t.Fatalf("rollback: %q", out)
	}
	expect("SELECT * FROM shop.t ORDER BY id", "id,v\n1,a\n2,b\n")
	mustSilt(t, env, "", "sql", "ALTER TABLE shop.t CREATE BRANCH dev AS OF VERSION 'v1'")
	mustSilt(t, env, "", "sql", "INSERT INTO shop.t$branch_dev VALUES (7, 'g'); UPDATE shop.t FOR BRANCH dev SET v = 'q' WHERE id = 2")
	expect("SELECT * FROM shop.t FOR BRANCH dev ORDER BY id", "id,v\n1,a\n2,q\n7,g\n")
	expect("SELECT * FROM shop.t ORDER BY id", "id,v\n1,a\n2,b\n")
	expect("SELECT branch_name, created_from_tag FROM shop.t$branches WHERE branch_name = 'dev'", "branch_name,created_from_tag\ndev,v1\n")
	mustSilt(t, env, "", "sql", "ALTER TABLE shop.t FAST FORWARD TO BRANCH dev")
	expect("SELECT * FROM shop.t ORDER BY id", "id,v\n1,a\n2,q\n7,g\n")
	mustSilt(t, env, "", "sql", "ALTER TABLE shop.t DROP BRANCH dev")
	fails("unknown branch 'dev'", "sql", "SELECT * FROM shop.t$branch_dev")

	// System tables with WHERE and ORDER BY.
	expect("SELECT snapshot_id, commit_kind FROM shop.t$snapshots WHERE commit_kind = 'REPLACE' ORDER BY snapshot_id DESC", "snapshot_id,commit_kind\n5,REPLACE\n4,REPLACE\n")
	expect("SELECT tag_name, snapshot_id FROM shop.t$tags ORDER BY tag_name", "tag_name,snapshot_id\nv1,1\n")
	expect("SELECT key, value FROM shop.t$options WHERE key = 'bucket'", "key,value\nbucket,2\n")
	expect("SELECT COUNT(*) > 0 FROM shop.t$manifests", "COUNT(*) > 0\ntrue\n")
	expect("SELECT rowkind, id FROM shop.t$audit_log WHERE snapshot_id = 2 ORDER BY rowkind", "rowkind,id\n+U,1\n-U,1\n")
	expect("SELECT DISTINCT tier FROM shop.t$files WHERE level >= 0 ORDER BY tier", "tier\nhot\n")
	mustSilt(t, env, "", "sql", "CALL sys.delete_tag('shop.t', 'v1')")
	expect("SELECT COUNT(*) FROM shop.t$tags", "COUNT(*)\n0\n")
}

// TestChangesFollow starts `silt changes --follow`, commits, sees the new
// rows appear, and stops it with SIGTERM.
func TestChangesFollow(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING); INSERT INTO t VALUES (1, 'a')")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, siltBin, "--format", "csv", "changes", "t", "--follow", "--poll-interval", "50ms")
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("silt changes --follow ended early; stderr: %s", stderr.String())
			}
			return l
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("no output from silt changes --follow; stderr: %s", stderr.String())
		}
		return ""
	}
	for _, want := range []string{"rowkind,snapshot_id,id,v", "+I,1,1,a"} {
		if got := next(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	mustSilt(t, env, "", "sql", "UPDATE t SET v = 'b' WHERE id = 1")
	for _, want := range []string{"-U,2,1,a", "+U,2,1,b"} {
		if got := next(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	mustSilt(t, env, "", "sql", "INSERT INTO t VALUES (2, 'c')")
	if got := next(); got != "+I,3,2,c" {
		t.Fatalf("got %q, want +I,3,2,c", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("silt changes --follow after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
}
