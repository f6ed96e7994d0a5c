package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// A writer's private lookup index (changelog_index.go) lives in a
// directory ownIndexPrefix+random under Env.LocalDir or the system's
// temporary directory, deleted on Writer.Close. A process that dies
// (kill -9, OOM, power loss) cannot delete it, so a crash-looping stream
// job would leave one Pebble directory per restart. Hence:
//
//   - the owner holds an exclusive flock(2) on the directory's
//     ownIndexLock file for as long as the index is open; the kernel
//     releases it when the process dies;
//   - opening a private index first sweeps the parent directory: it
//     removes the sibling directories whose lock file it can lock (their
//     owner is gone), and those without a lock file (made by versions
//     before the lock) once they are older than legacyOwnIndexAge and
//     Pebble's own LOCK in them is free.
//
// The lock file appears under its name already locked (the owner locks a
// temporary file and renames it), so a sweep never takes a directory
// whose owner is still creating it. The sweep is best effort: its errors
// reach Env.OnNotice and never fail the writer.

const (
	// ownIndexPrefix starts the name of every private index directory.
	ownIndexPrefix = "silt-changelog-lookup-"
	// ownIndexLock is the lock file a live owner holds.
	ownIndexLock = "owner.lock"
	// legacyOwnIndexAge: a directory without a lock file is left alone
	// until it is this old (by its modification time).
	legacyOwnIndexAge = 10 * time.Minute
)

// createOwnDir makes a new private index directory under parent ("": the
// system's temporary directory) and returns it with its lock, which the
// caller holds until it has deleted the directory (nil where flock is not
// available).
func createOwnDir(parent string) (string, *ownLock, error) {
	dir, err := os.MkdirTemp(parent, ownIndexPrefix)
	if err != nil {
		return "", nil, err
	}
	if !canFlock {
		return dir, nil, nil
	}
	lock, err := lockOwnDir(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, lock, nil
}

// lockOwnDir locks a new temporary file in dir and renames it to
// ownIndexLock: the lock file is never seen unlocked while its owner lives.
func lockOwnDir(dir string) (*ownLock, error) {
	f, err := os.CreateTemp(dir, ".owner-")
	if err != nil {
		return nil, fmt.Errorf("changelog lookup index %s: lock: %w", dir, err)
	}
	defer f.Close() // the lock stays with the ownLock's descriptor
	ok, err := tryFlock(f)
	if err == nil && !ok {
		err = errors.New("a new lock file is locked by someone else")
	}
	var lock *ownLock
	if err == nil {
		lock, err = keepFlock(f)
	}
	if err == nil {
		if err = os.Rename(f.Name(), filepath.Join(dir, ownIndexLock)); err != nil {
			_ = lock.release()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("changelog lookup index %s: lock: %w", dir, err)
	}
	return lock, nil
}

// sweepOwnDirs removes the private index directories under parent ("":
// the system's temporary directory) that no live writer holds; now is the
// time that legacy directories' ages are measured against. It reports how
// many it removed and the errors met on directories it could have removed
// (directories of other users are skipped).
func sweepOwnDirs(parent string, now time.Time) (int, error) {
	if !canFlock {
		return 0, nil
	}
	if parent == "" {
		parent = os.TempDir()
	}
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // nothing to sweep (and no private index either)
	}
	if err != nil {
		return 0, fmt.Errorf("changelog lookup index: sweep %s: %w", parent, err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ownIndexPrefix) {
			continue // symbolic links are no directories here: never followed
		}
		if fi, err := e.Info(); err != nil || !mine(fi) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		ok, err := sweepOwnDir(dir, now)
		switch {
		case err != nil && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("changelog lookup index: remove leftover %s: %w", dir, err))
		case ok && err == nil:
			removed++
		}
	}
	return removed, errors.Join(errs...)
}

// sweepOwnDir removes dir when its owner is gone and reports whether it
// tried to.
func sweepOwnDir(dir string, now time.Time) (bool, error) {
	f, err := openLockFile(filepath.Join(dir, ownIndexLock))
	if errors.Is(err, fs.ErrNotExist) {
		return sweepLegacyDir(dir, now)
	}
	if err != nil || f == nil {
		return false, err
	}
	defer f.Close()
	ok, err := tryFlock(f)
	if err != nil || !ok {
		return false, err // a live owner (or no lock to be had): keep it
	}
	// Still holding the lock, so a concurrent sweep leaves it alone.
	return true, os.RemoveAll(dir)
}

// sweepLegacyDir removes dir, which has no lock file: a directory of an
// older version, or one whose owner is creating it right now or whose
// sweep is deleting it (both are recent), once it is old enough and no
// process holds its Pebble LOCK (an older version's writer does while it
// lives).
func sweepLegacyDir(dir string, now time.Time) (bool, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	if now.Sub(st.ModTime()) < legacyOwnIndexAge {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(dir, ownIndexLock)); !errors.Is(err, fs.ErrNotExist) {
		return false, nil // it got a lock file after all: the next sweep decides
	}
	lock, err := vfs.Default.Lock(filepath.Join(dir, "LOCK"))
	if err != nil {
		return false, nil // held by a live writer (or not ours to lock)
	}
	defer lock.Close()
	return true, os.RemoveAll(dir)
}
