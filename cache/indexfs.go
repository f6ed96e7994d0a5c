package cache

import (
	"errors"
	"io/fs"
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// healFS is the filesystem the index (Pebble) runs on. When the cache
// directory is deleted under a running process, Pebble keeps its open
// files, but the next file it creates (a new WAL, an sstable, a MANIFEST)
// would fail, and Pebble treats a failed create as fatal. healFS recreates
// the missing directory and creates the file there instead, so the process
// goes on. At the next Open the directory holds an index Pebble may not be
// able to open; Open then starts afresh (the cache is never the source of
// truth).
type healFS struct{ vfs.FS }

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist)
}

func (h healFS) mkdirFor(name string) bool {
	return h.FS.MkdirAll(h.FS.PathDir(name), 0o755) == nil
}

func (h healFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := h.FS.Create(name, cat)
	if err != nil && isNotExist(err) && h.mkdirFor(name) {
		return h.FS.Create(name, cat)
	}
	return f, err
}

func (h healFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := h.FS.OpenReadWrite(name, cat, opts...)
	if err != nil && isNotExist(err) && h.mkdirFor(name) {
		return h.FS.OpenReadWrite(name, cat, opts...)
	}
	return f, err
}

// ReuseForWrite falls back to a new file when the one to recycle is gone.
func (h healFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := h.FS.ReuseForWrite(oldname, newname, cat)
	if err != nil && isNotExist(err) {
		return h.Create(newname, cat)
	}
	return f, err
}

func (h healFS) OpenDir(name string) (vfs.File, error) {
	f, err := h.FS.OpenDir(name)
	if err != nil && isNotExist(err) && h.FS.MkdirAll(name, 0o755) == nil {
		return h.FS.OpenDir(name)
	}
	return f, err
}
