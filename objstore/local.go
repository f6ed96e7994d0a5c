package objstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/siltdb/silt/types"
)

// Local is a Store in a local directory: key "a/b/c" is the file
// <root>/a/b/c. Several processes may share a root.
//
//   - Writes are atomic and durable before they return: the contents are
//     written and fsynced to an unnamed file (O_TMPFILE) in the key's
//     directory, which linkat(2) names as the key only if the key does
//     not exist, and the directory is fsynced. Replacing a key links the
//     file to a temp name (".silt-tmp-*") and renames it over the key.
//     Where unnamed files are not supported (other systems, some
//     filesystems) the contents go to a named temp file, renamed into
//     place (with RENAME_NOREPLACE, or hard-linked where the filesystem
//     lacks it, when the key must not exist).
//   - Writers that replace a key (Put over an existing key, PutIfMatch)
//     and Delete are serialized by an in-process lock plus flock(2) on
//     one of 64 lock files under <root>/.silt-locks, so conditional puts
//     are linearizable across processes. Creating a key takes no lock:
//     the kernel's no-replace link or rename is atomic. Readers take no
//     lock.
//   - The ETag is a 128-bit hash of the contents in hex, kept in a user
//     xattr when the filesystem supports one: XXH3-128 for objects this
//     version writes, the md5 for objects written by earlier versions and
//     wherever the xattr is missing (every reader then computes the md5,
//     so all versions sharing a root agree on every object's ETag).
//
// Because keys are paths, a key cannot also be a "directory" of other
// keys: with "a/b" stored, writing "a" fails with types.ErrInvalid.
type Local struct {
	root  string
	locks localLocks
	// openTmp opens an unnamed file in a directory (openTmpfile; tests
	// inject errTmpfileUnsupported to reach the named temp file path).
	openTmp func(dir string) (*os.File, error)
	// syncDir fsyncs a directory (syncDir; tests record the calls).
	syncDir func(dir string) error
	linker  tmpLinker
	tmpSeq  atomic.Uint64 // numbers the temp names this Local links
	// durable holds the directories under root whose entries, up to
	// root, this Local has synced (see syncParents).
	durable sync.Map
}

// NewLocal opens (creating if needed) a local store rooted at dir.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty local store directory", types.ErrInvalid)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(root, localReserved+"locks"), 0o755); err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	return newLocal(root), nil
}

// OpenLocal opens the local store rooted at dir, which must exist: it
// writes nothing until the first write (that one creates the lock files),
// so opening a warehouse only to read leaves no trace in it. A missing
// dir is types.ErrNotFound.
func OpenLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty local store directory", types.ErrInvalid)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	fi, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: local store %s: no such directory", types.ErrNotFound, root)
	}
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: local store %s is a file, not a directory", types.ErrInvalid, root)
	}
	return newLocal(root), nil
}

func newLocal(root string) *Local {
	l := &Local{root: root, openTmp: openTmpfile, syncDir: syncDir}
	l.locks.init()
	return l
}

// String names the store's root.
func (l *Local) String() string { return "local:" + l.root }

func (l *Local) path(key string) (string, error) {
	if err := ValidateLocalKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

func (l *Local) Get(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, ObjectInfo{}, err
	}
	p, err := l.path(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	f, fi, err := openObject(p)
	if err != nil {
		return nil, ObjectInfo{}, localErr("get", key, err)
	}
	defer f.Close()
	data, err := readAllSized(f, fi.Size())
	if err != nil {
		return nil, ObjectInfo{}, localErr("get", key, err)
	}
	// The ETag cached at write time (as Stat reads it) spares hashing
	// every object read: for a scan, that hash cost as much as decoding.
	etag, ok := getETagXattr(f)
	if !ok {
		etag = md5Hex(data)
	}
	return data, ObjectInfo{Key: key, Size: int64(len(data)), ETag: etag, LastModified: fi.ModTime()}, nil
}

func (l *Local) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if off < 0 || length < 0 {
		return nil, fmt.Errorf("local get %q: %w: negative range %d+%d", key, types.ErrInvalid, off, length)
	}
	f, fi, err := openObject(p)
	if err != nil {
		return nil, localErr("get", key, err)
	}
	defer f.Close()
	if off >= fi.Size() {
		return []byte{}, nil
	}
	buf := make([]byte, min(length, fi.Size()-off))
	if _, err := f.ReadAt(buf, off); err != nil {
		// The file is immutable, so a short read means it is damaged.
		return nil, localErr("get", key, err)
	}
	return buf, nil
}

func (l *Local) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	p, err := l.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	info, err := statObject(p, key)
	if err != nil {
		return ObjectInfo{}, localErr("stat", key, err)
	}
	return info, nil
}

func (l *Local) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, ok := listDir(prefix)
	if !ok {
		return nil, nil // no valid key starts with prefix
	}
	var out []ObjectInfo
	err := filepath.WalkDir(filepath.Join(l.root, filepath.FromSlash(dir)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed under us, or the prefix has no directory
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(d.Name(), localReserved) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // temp or lock file
		}
		if d.IsDir() {
			if key != "." && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := statObject(p, key)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted under us
		}
		if err != nil {
			return err
		}
		out = append(out, info)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local list %q: %w", prefix, err)
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete removes the file; parent directories are left in place (removing
// them would race with writers creating files in them).
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := l.path(key)
	if err != nil {
		return err
	}
	unlock, err := l.lock(ctx, key)
	if err != nil {
		return localErr("delete", key, err)
	}
	defer unlock()
	if isDir(p) {
		return nil // a "directory" of other keys, not an object
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return localErr("delete", key, err)
	}
	if err := l.syncDir(filepath.Dir(p)); err != nil {
		return localErr("delete", key, err)
	}
	return nil
}

// openObject opens the object file at p; a directory is "not found".
func openObject(p string) (*os.File, os.FileInfo, error) {
	f, err := openRead(p)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, fi, nil
}

// statObject returns the info of the object file at p, hashing it when no
// cached ETag is available.
func statObject(p, key string) (ObjectInfo, error) {
	f, fi, err := openObject(p)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer f.Close()
	etag, ok := getETagXattr(f)
	if !ok {
		h := md5.New()
		if _, err := io.Copy(h, f); err != nil {
			return ObjectInfo{}, err
		}
		etag = hex.EncodeToString(h.Sum(nil))
		setETagXattr(f, etag)
	}
	return ObjectInfo{Key: key, Size: fi.Size(), ETag: etag, LastModified: fi.ModTime()}, nil
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// localErr classifies a filesystem error. Reading, a missing file (or
// parent, or a parent that is a file) is ErrNotFound; writing, a key that
// collides with a directory of other keys (or whose parent is a file) is
// types.ErrInvalid.
func localErr(op, key string, err error) error {
	writing := strings.HasPrefix(op, "put")
	switch {
	case errors.Is(err, ErrPreconditionFailed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("local %s %q: %w", op, key, err)
	case !writing && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)):
		return fmt.Errorf("local %s %q: %w: %w", op, key, ErrNotFound, err)
	case writing && (errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, fs.ErrExist)):
		return fmt.Errorf("local %s %q: %w: key collides with a file or directory of other keys: %w", op, key, types.ErrInvalid, err)
	}
	return fmt.Errorf("local %s %q: %w", op, key, err)
}
