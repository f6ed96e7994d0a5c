//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package table

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOwnIndexUnclosedWriterKeepsDir: a writer that is never closed (a
// bug, but its Pebble database keeps running) holds its directory for as
// long as the process lives, also after the garbage collector collected
// the writer; a directory whose lock nobody holds is removed by the same
// sweep.
func TestOwnIndexUnclosedWriterKeepsDir(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir, reg, fd := func() (string, *LookupIndexes, int) {
		w, dir := ownIndexWriter(t, parent)
		return dir, w.cl.own.reg, w.cl.own.lock.fd
	}()
	defer func() { _ = reg.Close(); _ = unix.Close(fd) }()
	for range 5 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	dead, err := os.MkdirTemp(parent, ownIndexPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, ownIndexLock), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	b, bDir := ownIndexWriter(t, parent)
	defer func() { _ = b.Close(ctx) }()
	if !pathExists(t, dir) {
		t.Errorf("the unclosed writer's directory %s was removed", dir)
	}
	if pathExists(t, dead) {
		t.Errorf("%s, whose lock nobody holds, remains", dead)
	}
	if !pathExists(t, bDir) {
		t.Errorf("the sweeping writer's directory %s is missing", bDir)
	}
}

// TestOwnIndexSweepOddLockFiles: a lock file that is a FIFO or a symbolic
// link (planted by someone else in a shared temporary directory) neither
// blocks the sweep nor is taken for a dead owner's, and another user's
// directory is left alone even where the sweep could remove it (root).
func TestOwnIndexSweepOddLockFiles(t *testing.T) {
	parent := t.TempDir()
	fifo, err := os.MkdirTemp(parent, ownIndexPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(fifo, ownIndexLock), 0o644); err != nil {
		t.Fatal(err)
	}
	link, err := os.MkdirTemp(parent, ownIndexPrefix)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(parent, "target")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(link, ownIndexLock)); err != nil {
		t.Fatal(err)
	}
	// Another user's dead directory (only root can make one here).
	others := ""
	if os.Geteuid() == 0 {
		if others, err = os.MkdirTemp(parent, ownIndexPrefix); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(others, ownIndexLock), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(others, 54321, 54321); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := sweepOwnDirs(parent, time.Now()); err != nil {
			t.Errorf("sweep: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the sweep blocks on a FIFO lock file")
	}
	for _, d := range []string{fifo, link, target, others} {
		if d != "" && !pathExists(t, d) {
			t.Errorf("%s was removed", d)
		}
	}
}
