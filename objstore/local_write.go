package objstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/zeebo/xxh3"
)

// errTmpfileUnsupported: the kernel or the filesystem cannot make or name
// an unnamed file (O_TMPFILE); writes stage in named temp files instead.
var errTmpfileUnsupported = errors.New("unnamed temp files (O_TMPFILE) are not supported")

// Ways tmpLinker names an unnamed file, kept per Local (see tmpLinker).
const (
	linkEmptyPath int32 = iota // linkat(fd, "", AT_EMPTY_PATH): kernels from 6.10, or CAP_DAC_READ_SEARCH
	linkProcFD                 // linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW): needs procfs
	linkNone                   // neither works: stage in named temp files
)

// tmpLinker remembers which way of naming an unnamed file worked, so a
// Local tries a failing way once rather than on every write (and, once
// none works, stages in named temp files).
type tmpLinker struct {
	way atomic.Int32
	// unlinkable makes every link report errTmpfileUnsupported, as where
	// procfs is missing and AT_EMPTY_PATH is denied (set by tests).
	unlinkable bool
}

// Put writes the object, replacing any object at key. A new key is linked
// into place without the key's lock; replacing one takes it, so that a
// concurrent PutIfMatch never overwrites a Put made after its check.
func (l *Local) Put(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	return l.write(ctx, "put", key, data, "")
}

// PutIfAbsent places the object only if the key does not exist,
// atomically, whatever other processes do, and takes no lock: linkat(2)
// of the unnamed file, or rename(2) with RENAME_NOREPLACE of the temp
// file, or link(2) where the filesystem lacks that; each fails if the key
// exists.
func (l *Local) PutIfAbsent(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	return l.write(ctx, "put-if-absent", key, data, "")
}

// PutIfMatch compares the current ETag and renames under the key's lock.
func (l *Local) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (ObjectInfo, error) {
	return l.write(ctx, "put-if-match", key, data, etag)
}

// write stages data in a synced file in the key's directory, places it
// under the key as op says, and syncs the directory.
func (l *Local) write(ctx context.Context, op, key string, data []byte, match string) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	p, err := l.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	s, err := l.stage(filepath.Dir(p), data)
	if err != nil {
		return ObjectInfo{}, localErr(op, key, err)
	}
	defer s.discard()
	switch op {
	case "put-if-match":
		err = l.replace(ctx, key, p, s, data, func() error {
			cur, err := statObject(p, key)
			if errors.Is(err, fs.ErrNotExist) || err == nil && cur.ETag != match {
				return ErrPreconditionFailed
			}
			return err
		})
	default:
		err = l.placeNoReplace(p, s, data)
		if op == "put" && errors.Is(err, ErrPreconditionFailed) {
			err = l.replace(ctx, key, p, s, data, nil)
		}
	}
	if err != nil {
		return ObjectInfo{}, localErr(op, key, err)
	}
	if err := l.syncParents(s.dir); err != nil {
		return ObjectInfo{}, localErr(op, key, err)
	}
	if err := l.syncDir(s.dir); err != nil {
		return ObjectInfo{}, localErr(op, key, err)
	}
	return ObjectInfo{Key: key, Size: int64(len(data)), ETag: s.etag, LastModified: s.mtime}, nil
}

// syncParents makes sure the entries of dir and of its ancestors up to
// the root are durable before a write into dir returns: the first time
// this Local writes into a directory it did not create, it syncs the
// parent of each directory on the way up that it has not synced before.
// Another writer (another Local, another process, an earlier version) may
// have created the directory and not synced its parent yet, or never: a
// crash then could drop the directory with this write's object in it.
func (l *Local) syncParents(dir string) error {
	var chain []string
	for d := dir; d != l.root && filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, ok := l.durable.Load(d); ok {
			break
		}
		chain = append(chain, d)
	}
	for _, d := range chain {
		if err := l.syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	for _, d := range chain { // only once every entry on the way up is synced
		l.durable.Store(d, true)
	}
	return nil
}

// staged is an object's contents written and synced in the key's
// directory, not yet visible under the key: an unnamed file (f), or a
// named temp file (tmp), or both once f was linked to a temp name.
type staged struct {
	dir   string
	f     *os.File
	tmp   string
	etag  string
	mtime time.Time
}

// stage writes data to a new synced file in dir, unnamed where the
// filesystem allows. A missing dir is created.
func (l *Local) stage(dir string, data []byte) (*staged, error) {
	if l.linker.way.Load() == linkNone {
		return l.stageNamed(dir, data)
	}
	// Open first: the directory almost always exists already.
	f, err := l.openTmp(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err = l.mkdirs(dir); err == nil {
			f, err = l.openTmp(dir)
		}
	}
	if errors.Is(err, errTmpfileUnsupported) {
		return l.stageNamed(dir, data)
	}
	if err != nil {
		return nil, err
	}
	s := &staged{dir: dir, f: f}
	if err := s.fill(f, data); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// stageNamed writes data to a new synced temp file in dir.
func (l *Local) stageNamed(dir string, data []byte) (*staged, error) {
	f, err := os.CreateTemp(dir, localTempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		if err = l.mkdirs(dir); err == nil {
			f, err = os.CreateTemp(dir, localTempPrefix+"*")
		}
	}
	if err != nil {
		return nil, err
	}
	s := &staged{dir: dir, tmp: f.Name()}
	err = s.fill(f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(s.tmp)
		return nil, err
	}
	return s, nil
}

// fill writes data to the new file f and syncs it with its ETag xattr.
func (s *staged) fill(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	s.etag = newETag(f, data)
	if err := f.Sync(); err != nil { // the xattr is synced with the contents
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	s.mtime = fi.ModTime() // linking or renaming leaves it
	return nil
}

// restage writes data again to a named temp file, for when the unnamed
// file turns out impossible to link.
func (l *Local) restage(s *staged, data []byte) error {
	s.f.Close()
	s.f = nil
	n, err := l.stageNamed(s.dir, data)
	if err != nil {
		return err
	}
	*s = *n
	return nil
}

// discard drops whatever of s was not placed under the key.
func (s *staged) discard() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	if s.tmp != "" {
		os.Remove(s.tmp)
		s.tmp = ""
	}
}

// placeNoReplace makes s the object at p unless p exists
// (ErrPreconditionFailed; a directory there is fs.ErrExist).
func (l *Local) placeNoReplace(p string, s *staged, data []byte) error {
	if s.f != nil && s.tmp == "" {
		err := l.linker.link(s.f, p)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errTmpfileUnsupported):
			if err := l.restage(s, data); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist) && !isDir(p):
			return ErrPreconditionFailed
		default:
			return err
		}
	}
	if err := moveNoReplace(s.tmp, p, renameNoReplace); err != nil {
		return err
	}
	s.tmp = ""
	return nil
}

// replace makes s the object at p, replacing what is there, holding the
// key's lock; check, when set, runs under the lock first and vetoes.
func (l *Local) replace(ctx context.Context, key, p string, s *staged, data []byte, check func() error) error {
	if err := l.nameStaged(s, data); err != nil {
		return err
	}
	unlock, err := l.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	if err := os.Rename(s.tmp, p); err != nil {
		return err
	}
	s.tmp = ""
	return nil
}

// nameStaged gives s a temp name in its directory (rename(2) needs one),
// linking the unnamed file to a fresh ".silt-tmp-" name.
func (l *Local) nameStaged(s *staged, data []byte) error {
	if s.tmp != "" {
		return nil
	}
	for range 1000 {
		name := filepath.Join(s.dir, localTempPrefix+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(l.tmpSeq.Add(1), 10))
		err := l.linker.link(s.f, name)
		switch {
		case err == nil:
			s.tmp = name
			return nil
		case errors.Is(err, errTmpfileUnsupported):
			return l.restage(s, data)
		case !errors.Is(err, fs.ErrExist):
			return err
		}
	}
	return fmt.Errorf("local store: no free temp file name in %s", s.dir)
}

// moveNoReplace moves tmp to p unless p exists (ErrPreconditionFailed; a
// directory there is fs.ErrExist) with rename, or, when rename reports
// errNoReplaceUnsupported, by linking tmp to p and removing tmp.
func moveNoReplace(tmp, p string, rename func(oldpath, newpath string) error) error {
	err := rename(tmp, p)
	linked := errors.Is(err, errNoReplaceUnsupported)
	if linked {
		err = os.Link(tmp, p)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) && !isDir(p) {
			return ErrPreconditionFailed
		}
		return err
	}
	if linked {
		os.Remove(tmp) // best effort: List skips leftover temp files
	}
	return nil
}

// newETag is the ETag of the new object file f holding data: the
// XXH3-128 of data, kept in the file's xattr, or, where the filesystem
// keeps no xattr, the md5 every reader computes (see statObject). Hashing
// with XXH3 costs a small fraction of md5, which was a few percent of an
// ingest's CPU.
//
// Both are 32 hex digits, which is what earlier versions accept as a
// cached ETag, so they report the same ETag for the object as this one.
func newETag(f *os.File, data []byte) string {
	sum := xxh3.Hash128(data).Bytes()
	if etag := hex.EncodeToString(sum[:]); setETagXattr(f, etag) {
		return etag
	}
	return md5Hex(data)
}

// mkdirs creates dir and its missing parents and syncs the parent of
// each, so that a crash cannot lose a new directory, and with it the
// synced objects written into it. A parent another writer created at the
// same time is synced too: that writer may not have synced it yet.
func (l *Local) mkdirs(dir string) error {
	var missing []string // deepest first
	for d := dir; ; {
		_, err := os.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	for _, d := range slices.Backward(missing) {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := l.syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	if len(missing) > 0 && l.syncedUp(filepath.Dir(missing[len(missing)-1])) {
		for _, d := range missing {
			l.durable.Store(d, true)
		}
	}
	return nil
}

// syncedUp reports whether dir's entries up to the root are known durable.
func (l *Local) syncedUp(dir string) bool {
	if dir == l.root {
		return true
	}
	_, ok := l.durable.Load(dir)
	return ok
}
