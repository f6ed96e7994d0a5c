//go:build linux

package objstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// etagXattr caches an object file's ETag (the md5 of its contents) so
// that Stat and List need not read the whole file. Object files are never
// modified in place (every write is a new file renamed or linked into
// place), so the attribute cannot go stale.
const etagXattr = "user.silt.etag"

// getETagXattr returns the cached ETag of f, if the filesystem holds one.
func getETagXattr(f *os.File) (string, bool) {
	var buf [64]byte
	n, err := unix.Fgetxattr(int(f.Fd()), etagXattr, buf[:])
	if err != nil || n != 32 {
		return "", false
	}
	return string(buf[:n]), true
}

// setETagXattr caches etag on f, best effort: filesystems without user
// xattrs fall back to hashing the contents.
func setETagXattr(f *os.File, etag string) {
	_ = unix.Fsetxattr(int(f.Fd()), etagXattr, []byte(etag), 0)
}
