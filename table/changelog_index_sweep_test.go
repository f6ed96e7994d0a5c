package table

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// ownIndexHelperEnv names the parent directory a child process of
// TestOwnIndexSweep opens its private index in.
const ownIndexHelperEnv = "SILT_TABLE_OWN_INDEX_HELPER"

// TestOwnIndexHelper is the child process of TestOwnIndexSweep: it opens
// a private index, prints its directory and holds it until its stdin
// ends (or it is killed).
func TestOwnIndexHelper(t *testing.T) {
	parent := os.Getenv(ownIndexHelperEnv)
	if parent == "" {
		t.Skip("helper process only")
	}
	w, dir := ownIndexWriter(t, parent)
	fmt.Printf("dir=%s\n", dir)
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// ownIndexChild is a child process holding a private index in dir.
type ownIndexChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *strings.Builder
	dir   string
}

// startOwnIndexChild starts a child process that holds a private index
// under parent and waits until it does.
func startOwnIndexChild(t *testing.T, parent string) *ownIndexChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOwnIndexHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), ownIndexHelperEnv+"="+parent)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &ownIndexChild{cmd: cmd, stdin: stdin, out: &strings.Builder{}}
	cmd.Stderr = c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		c.out.WriteString(sc.Text() + "\n")
		if d, ok := strings.CutPrefix(sc.Text(), "dir="); ok {
			c.dir = d
			break
		}
	}
	if c.dir == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child process printed no directory:\n%s", c.out)
	}
	go func() { _, _ = io.Copy(c.out, stdout) }()
	return c
}

// kill ends the child as a crash does: no Close, no deferred cleanup.
func (c *ownIndexChild) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

// stop lets the child close its writer and exit.
func (c *ownIndexChild) stop(t *testing.T) {
	t.Helper()
	_ = c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child process: %v\n%s", err, c.out)
	}
}

// legacyOwnDir makes a private index directory as versions without the
// lock file left it (Pebble's LOCK and a db directory), last modified age
// ago.
func legacyOwnDir(t *testing.T, parent string, age time.Duration) string {
	t.Helper()
	dir, err := os.MkdirTemp(parent, ownIndexPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "LOCK"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := os.Chtimes(dir, at, at); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOwnIndexSweep: a writer opening its private index removes the
// directories of dead writers (a killed process's, an old version's long
// unused one) and none that a live writer holds: another writer of this
// process, a writer of another process, an old version's writer (Pebble's
// LOCK held), or one too recent to judge.
func TestOwnIndexSweep(t *testing.T) {
	if !canFlock {
		t.Skip("no flock on this platform: private index directories are not swept")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	parent := t.TempDir()

	// Each opening sweeps, so the dead directory comes last.
	live := startOwnIndexChild(t, parent)
	a, aDir := ownIndexWriter(t, parent)
	defer func() { _ = a.Close(ctx) }()
	dead := startOwnIndexChild(t, parent)
	dead.kill(t)
	oldLegacy := legacyOwnDir(t, parent, time.Hour)
	youngLegacy := legacyOwnDir(t, parent, time.Minute)
	heldLegacy := legacyOwnDir(t, parent, time.Hour)
	held, err := vfs.Default.Lock(filepath.Join(heldLegacy, "LOCK"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := os.Chtimes(heldLegacy, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(parent, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(parent, ownIndexPrefix+"link")
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dead.dir, live.dir, aDir} {
		if !pathExists(t, d) {
			t.Fatalf("%s is missing before the sweep", d)
		}
	}

	b, bDir := ownIndexWriter(t, parent)
	defer func() { _ = b.Close(ctx) }()
	for _, c := range []struct {
		what, dir string
		keep      bool
	}{
		{"a killed process's", dead.dir, false},
		{"a live process's", live.dir, true},
		{"another writer's of this process", aDir, true},
		{"an old version's, unused for an hour", oldLegacy, false},
		{"an old version's, a minute old", youngLegacy, true},
		{"an old version's live writer's", heldLegacy, true},
		{"the sweeping writer's own", bDir, true},
		{"an unrelated directory", other, true},
		{"a symbolic link", link, true},
	} {
		if got := pathExists(t, c.dir); got != c.keep {
			t.Errorf("%s directory %s: exists %v after the sweep, want %v", c.what, c.dir, got, c.keep)
		}
	}

	// The writers kept their indexes and use them.
	for _, w := range []*Writer{a, b} {
		before := w.cl.lookups.FromIndex
		mustWrite(t, w, types.Insert, types.Row{int64(1), "after"})
		if _, err := w.Commit(ctx, "after"); err != nil {
			t.Fatal(err)
		}
		if w.cl.lookups.FromIndex == before {
			t.Errorf("writer of %s: the commit after the sweep read no before-image from its index", w.cl.own.dir)
		}
	}
	live.stop(t)
	for _, w := range []*Writer{a, b} {
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{live.dir, aDir, bDir} {
		if pathExists(t, d) {
			t.Errorf("%s remains after its writer closed", d)
		}
	}
}

// TestOwnIndexSweepErrorIsNotice: a sweep that fails (here the parent is
// no directory, so no private index can be made either) is told to
// Env.OnNotice and does not fail the writer, which reads data files.
func TestOwnIndexSweepErrorIsNotice(t *testing.T) {
	if !canFlock {
		t.Skip("no flock on this platform: private index directories are not swept")
	}
	ctx := context.Background()
	parent := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(parent, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var notices []string
	s := simpleSchema(2)
	s.Options[OptChangelogProducer] = ProducerLookup
	tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{LocalDir: parent, OnNotice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	defer func() { _ = w.Close(ctx) }()
	for c := range 3 {
		mustWrite(t, w, types.Insert, types.Row{int64(1), fmt.Sprint("v", c)})
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatalf("commit %d: %v", c, err)
		}
	}
	if len(notices) != 1 || !strings.Contains(notices[0], parent) {
		t.Fatalf("notices %q, want one naming %s", notices, parent)
	}
	if w.cl.own == nil || w.cl.own.x != nil {
		t.Fatal("the writer has a private index in a file")
	}
}
