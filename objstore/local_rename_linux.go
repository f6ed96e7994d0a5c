//go:build linux

package objstore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errNoReplaceUnsupported is renameNoReplace's error where the kernel or
// the filesystem does not support RENAME_NOREPLACE.
var errNoReplaceUnsupported = errors.New("rename without replace is not supported")

// renameNoReplace renames oldpath to newpath unless newpath exists
// (then the error wraps fs.ErrExist), atomically.
func renameNoReplace(oldpath, newpath string) error {
	for {
		err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
			return errNoReplaceUnsupported
		}
		return &os.LinkError{Op: "renameat2", Old: oldpath, New: newpath, Err: err}
	}
}
