package objstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/types"
)

// dirNames lists the entries of dir, with "/" after directories.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names
}

// TestLocalWritePaths: every way of staging and placing a write (an
// unnamed O_TMPFILE file linked by AT_EMPTY_PATH or /proc/self/fd, one
// that cannot be linked and is written again to a named temp file, a
// named temp file from the start) creates a missing directory, refuses an
// existing key for PutIfAbsent with ErrPreconditionFailed and a directory
// at the key (or a file as its parent) with types.ErrInvalid, replaces
// with Put and PutIfMatch, reports the ETag and LastModified that Stat and
// Get compute afterwards by the rules of earlier versions (the xattr or
// the md5), writes objects with the same permissions, and leaves no temp
// file behind whether the write succeeded or failed.
func TestLocalWritePaths(t *testing.T) {
	for _, path := range LocalWritePaths {
		t.Run(path, func(t *testing.T) {
			dir := t.TempDir()
			l, err := NewLocalWritePath(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			unnamed := 0
			open := l.openTmp
			l.openTmp = func(d string) (*os.File, error) {
				f, err := open(d)
				if err == nil {
					unnamed++
				}
				return f, err
			}
			xattrs := keepsXattrs(t, dir)
			ctx := t.Context()
			check := func(key string, info ObjectInfo, data string) {
				t.Helper()
				want := md5HexOf([]byte(data))
				if xattrs {
					want = xxh3Hex([]byte(data))
				}
				if info.ETag != want || info.Size != int64(len(data)) || info.Key != key {
					t.Fatalf("%s: write info %+v, want ETag %s, size %d", key, info, want, len(data))
				}
				si, err := l.Stat(ctx, key)
				if err != nil || si.ETag != info.ETag || !si.LastModified.Equal(info.LastModified) {
					t.Fatalf("%s: Stat %+v (%v), want ETag %s, LastModified %v", key, si, err, info.ETag, info.LastModified)
				}
				got, gi, err := l.Get(ctx, key)
				if err != nil || string(got) != data || gi.ETag != info.ETag {
					t.Fatalf("%s: Get %q %+v (%v), want %q with ETag %s", key, got, gi, err, data, info.ETag)
				}
				fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key)))
				if err != nil || fi.Mode() != 0o600 {
					t.Fatalf("%s: mode %v (%v), want -rw------- as the named temp files made", key, fi.Mode(), err)
				}
			}
			info, err := l.PutIfAbsent(ctx, "t/new/a", []byte("first"))
			if err != nil {
				t.Fatalf("PutIfAbsent into a missing directory: %v", err)
			}
			check("t/new/a", info, "first")
			if _, err := l.PutIfAbsent(ctx, "t/new/a", []byte("second")); !errors.Is(err, ErrPreconditionFailed) {
				t.Fatalf("PutIfAbsent of an existing key: %v, want ErrPreconditionFailed", err)
			}
			check("t/new/a", info, "first")
			if info, err = l.Put(ctx, "t/new/a", []byte("replaced")); err != nil {
				t.Fatalf("Put over an existing key: %v", err)
			}
			check("t/new/a", info, "replaced")
			if _, err := l.PutIfMatch(ctx, "t/new/a", []byte("stale"), "0123456789abcdef0123456789abcdef"); !errors.Is(err, ErrPreconditionFailed) {
				t.Fatalf("PutIfMatch with a stale ETag: %v, want ErrPreconditionFailed", err)
			}
			if info, err = l.PutIfMatch(ctx, "t/new/a", []byte("matched"), info.ETag); err != nil {
				t.Fatalf("PutIfMatch with the current ETag: %v", err)
			}
			check("t/new/a", info, "matched")
			if info, err = l.Put(ctx, "t/new/b", []byte("put new")); err != nil {
				t.Fatalf("Put of a new key: %v", err)
			}
			check("t/new/b", info, "put new")
			// A directory at the key, or a file as its parent.
			for _, k := range []string{"t/new", "t/new/a/x"} {
				if _, err := l.PutIfAbsent(ctx, k, []byte("y")); !errors.Is(err, types.ErrInvalid) || errors.Is(err, ErrPreconditionFailed) {
					t.Fatalf("PutIfAbsent(%s): %v, want types.ErrInvalid", k, err)
				}
				if _, err := l.Put(ctx, k, []byte("y")); !errors.Is(err, types.ErrInvalid) {
					t.Fatalf("Put(%s): %v, want types.ErrInvalid", k, err)
				}
			}
			if _, err := l.PutIfMatch(ctx, "t/new", []byte("y"), info.ETag); !errors.Is(err, ErrPreconditionFailed) {
				t.Fatalf("PutIfMatch onto a directory: %v, want ErrPreconditionFailed", err)
			}
			if got, want := dirNames(t, filepath.Join(dir, "t", "new")), []string{"a", "b"}; !slices.Equal(got, want) {
				t.Fatalf("the key's directory holds %v, want only %v", got, want)
			}
			if got, want := dirNames(t, filepath.Join(dir, "t")), []string{"new/"}; !slices.Equal(got, want) {
				t.Fatalf("t/ holds %v, want only %v", got, want)
			}
			if strings.HasPrefix(path, "tmpfile") != (unnamed > 0) {
				t.Fatalf("%d writes staged in unnamed files on path %s", unnamed, path)
			}
		})
	}
}

// TestLocalCreateTakesNoLock: creating a key (PutIfAbsent, Put of a new
// key) is atomic by itself and does not wait for the key's lock, which
// another process may hold; replacing a key (Put, PutIfMatch) waits for
// it, so a PutIfMatch holding it cannot overwrite a Put made after its
// check. A write that gave up waiting leaves no temp file.
func TestLocalCreateTakesNoLock(t *testing.T) {
	for _, path := range LocalWritePaths {
		t.Run(path, func(t *testing.T) {
			dir := t.TempDir()
			l, err := NewLocalWritePath(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			other, err := NewLocal(dir) // another process, as far as flock goes
			if err != nil {
				t.Fatal(err)
			}
			unlock, err := other.lock(t.Context(), "k/x")
			if err != nil {
				t.Fatal(err)
			}
			short := func() context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			}
			if _, err := l.PutIfAbsent(short(), "k/x", []byte("created")); err != nil {
				t.Fatalf("PutIfAbsent while another process holds the key's lock: %v", err)
			}
			if _, err := l.Put(short(), "k/y", []byte("created")); err != nil {
				t.Fatalf("Put of a new key while another process holds a lock: %v", err)
			}
			if _, err := l.Put(short(), "k/x", []byte("replaced")); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Put over the key while another process holds its lock: %v, want it to wait", err)
			}
			cur, _ := l.Stat(t.Context(), "k/x")
			if _, err := l.PutIfMatch(short(), "k/x", []byte("matched"), cur.ETag); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("PutIfMatch while another process holds the key's lock: %v, want it to wait", err)
			}
			if got, want := dirNames(t, filepath.Join(dir, "k")), []string{"x", "y"}; !slices.Equal(got, want) {
				t.Fatalf("after the writes that gave up, k/ holds %v, want %v", got, want)
			}
			unlock()
			if _, err := l.Put(short(), "k/x", []byte("replaced")); err != nil {
				t.Fatalf("Put over the key once the lock is free: %v", err)
			}
			if b, _, err := l.Get(t.Context(), "k/x"); err != nil || string(b) != "replaced" {
				t.Fatalf("k/x = %q (%v), want %q", b, err, "replaced")
			}
		})
	}
}

// lockFDs counts this process's open descriptors on the store's lock files.
func lockFDs(t *testing.T, root string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range ents {
		if p, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(p, filepath.Join(root, ".silt-locks")+"/") {
			n++
		}
	}
	return n
}

// TestLocalKeepsLockFilesOpen: a stripe's lock file is opened once and
// kept open across writes (opening it cost a path lookup and a file per
// write); Close closes them, and the store still writes afterwards.
func TestLocalKeepsLockFilesOpen(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 3 {
		if _, err := l.Put(ctx, "k", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if i > 0 { // the first Put created the key without a lock
			if n := lockFDs(t, l.root); n != 1 {
				t.Fatalf("after %d replacing Puts of one key, %d lock files are open, want 1", i, n)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := lockFDs(t, l.root); n != 0 {
		t.Fatalf("after Close, %d lock files are open", n)
	}
	if _, err := l.Put(ctx, "k", []byte("after close")); err != nil {
		t.Fatalf("Put after Close: %v", err)
	}
	if err := l.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLocalStageFailureLeavesNothing: a write whose staging fails (here a
// directory that cannot be created) leaves no temp file and no object.
func TestLocalStageFailureLeavesNothing(t *testing.T) {
	for _, path := range LocalWritePaths {
		t.Run(path, func(t *testing.T) {
			dir := t.TempDir()
			l, err := NewLocalWritePath(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "f"), []byte("a file"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Put(t.Context(), "f/x/y", []byte("z")); !errors.Is(err, types.ErrInvalid) {
				t.Fatalf("Put under a file: %v, want types.ErrInvalid", err)
			}
			err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), localTempPrefix) {
					t.Errorf("temp file left: %s", p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLocalSyncsNewDirectories: a write that creates its key's directory
// syncs the parent of every directory it creates as well as the key's
// directory, so that a crash cannot lose the new directories and with
// them an acknowledged object; a write into an existing directory syncs
// only that directory.
func TestLocalSyncsNewDirectories(t *testing.T) {
	for _, path := range LocalWritePaths {
		t.Run(path, func(t *testing.T) {
			dir := t.TempDir()
			l, err := NewLocalWritePath(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			synced := recordSyncs(l, dir)
			if _, err := l.PutIfAbsent(t.Context(), "a/b/c/k", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if want := []string{".", "a", "a/b", "a/b/c"}; !slices.Equal(*synced, want) {
				t.Fatalf("writing a/b/c/k into an empty store synced %v, want %v", *synced, want)
			}
			*synced = nil
			if _, err := l.Put(t.Context(), "a/b/c/j", []byte("y")); err != nil {
				t.Fatal(err)
			}
			if want := []string{"a/b/c"}; !slices.Equal(*synced, want) {
				t.Fatalf("writing a/b/c/j synced %v, want %v", *synced, want)
			}
		})
	}
}

// TestLocalSyncsParentsOfDirectoriesItFinds: a store that writes into a
// directory another store (or process, or an earlier version) created
// syncs the parents up to the root the first time, since the creator may
// not have synced them yet; later writes there sync only the directory.
func TestLocalSyncsParentsOfDirectoriesItFinds(t *testing.T) {
	for _, path := range LocalWritePaths {
		t.Run(path, func(t *testing.T) {
			dir := t.TempDir()
			first, err := NewLocalWritePath(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := first.PutIfAbsent(t.Context(), "a/b/c/k", []byte("x")); err != nil {
				t.Fatal(err)
			}
			l, err := NewLocalWritePath(dir, path)
			if err != nil {
				t.Fatal(err)
			}
			synced := recordSyncs(l, dir)
			if _, err := l.Put(t.Context(), "a/b/c/j", []byte("y")); err != nil {
				t.Fatal(err)
			}
			if want := []string{"a/b", "a", ".", "a/b/c"}; !slices.Equal(*synced, want) {
				t.Fatalf("a first write into a/b/c, which another store made, synced %v, want %v", *synced, want)
			}
			*synced = nil
			if _, err := l.PutIfAbsent(t.Context(), "a/b/c/i", []byte("z")); err != nil {
				t.Fatal(err)
			}
			if _, err := l.PutIfAbsent(t.Context(), "a/b/d/i", []byte("z")); err != nil {
				t.Fatal(err)
			}
			if want := []string{"a/b/c", "a/b", "a/b/d"}; !slices.Equal(*synced, want) {
				t.Fatalf("later writes into a/b/c and a new a/b/d synced %v, want %v", *synced, want)
			}
		})
	}
}

// recordSyncs makes l record the directories it syncs, relative to dir.
func recordSyncs(l *Local, dir string) *[]string {
	var synced []string
	l.syncDir = func(d string) error {
		rel, err := filepath.Rel(dir, d)
		if err != nil {
			return err
		}
		synced = append(synced, filepath.ToSlash(rel))
		return syncDir(d)
	}
	return &synced
}
