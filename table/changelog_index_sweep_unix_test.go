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
