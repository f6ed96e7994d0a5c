//go:build linux

package objstore

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openTmpfile opens a new unnamed file (O_TMPFILE) in dir: the kernel
// frees it if the process dies before tmpLinker.link names it, so a crash
// leaves nothing behind. It reports errTmpfileUnsupported where the
// kernel or the filesystem cannot make one.
func openTmpfile(dir string) (*os.File, error) {
	for {
		fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), dir+"/(unnamed)"), nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
			// EISDIR: kernels before O_TMPFILE read it as O_DIRECTORY.
			return nil, errTmpfileUnsupported
		}
		return nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
}

// link gives the unnamed file f the name newpath, failing if newpath
// exists (the error then wraps fs.ErrExist), atomically. It reports
// errTmpfileUnsupported when no way of naming f is allowed here.
func (t *tmpLinker) link(f *os.File, newpath string) error {
	if t.unlinkable {
		return errTmpfileUnsupported
	}
	fd := int(f.Fd())
	for {
		var err error
		way := t.way.Load()
		switch way {
		case linkEmptyPath:
			err = unix.Linkat(fd, "", unix.AT_FDCWD, newpath, unix.AT_EMPTY_PATH)
		case linkProcFD:
			err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, newpath, unix.AT_SYMLINK_FOLLOW)
		default:
			return errTmpfileUnsupported
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case way == linkEmptyPath && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL)):
			// AT_EMPTY_PATH without the capability (kernels before 6.10)
			// fails with ENOENT; fall through to procfs.
			t.way.CompareAndSwap(linkEmptyPath, linkProcFD)
			continue
		case way == linkProcFD && errors.Is(err, unix.ENOENT) && !procFDExists(fd):
			t.way.CompareAndSwap(linkProcFD, linkNone)
			return errTmpfileUnsupported
		}
		return &os.LinkError{Op: "linkat", Old: f.Name(), New: newpath, Err: err}
	}
}

// procFDExists reports whether /proc/self/fd shows fd (procfs mounted).
func procFDExists(fd int) bool {
	_, err := os.Lstat("/proc/self/fd/" + strconv.Itoa(fd))
	return err == nil
}
