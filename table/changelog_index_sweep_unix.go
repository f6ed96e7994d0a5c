//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package table

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// canFlock: this platform has flock(2), so private index directories are
// locked while open and swept after their owner died.
const canFlock = true

// tryFlock takes an exclusive flock(2) on f without blocking. It reports
// false when another open file description holds the lock. flock locks
// belong to the open file description, so they exclude other processes
// and other descriptors in this process alike, and a process that dies
// releases them with its descriptors.
func tryFlock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

// ownLock is a held flock by a descriptor of its own: without the
// finalizer of an os.File, so that a writer that is never closed keeps
// its directory until the process ends, not until the garbage collector
// finds the file (its Pebble database may still be running), and
// close-on-exec, so that no child process inherits the lock.
type ownLock struct{ fd int }

// keepFlock returns the flock f holds as an ownLock; f may be closed
// afterwards (the lock belongs to the open file description, which the
// new descriptor shares).
func keepFlock(f *os.File) (*ownLock, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &ownLock{fd: fd}, nil
}

// release drops the lock.
func (l *ownLock) release() error { return unix.Close(l.fd) }

// openLockFile opens a lock file for a sweep without blocking on a FIFO
// and without following a symbolic link; nil (and no error) when the name
// is no regular file, which no owner made.
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, err
	}
	return f, nil
}

// mine reports whether the effective user owns fi's file: a sweep leaves
// other users' directories alone, even where it could remove them (root).
func mine(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
