//go:build linux

package objstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// etagXattr holds an object file's ETag (a hash of its contents, see
// Local) so that Get, Stat and List need not hash the whole file. Object files are never
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

// setETagXattr caches etag on f, best effort: it reports false when the
// filesystem keeps no user xattrs (readers then hash the contents).
func setETagXattr(f *os.File, etag string) bool {
	return unix.Fsetxattr(int(f.Fd()), etagXattr, []byte(etag), 0) == nil
}
