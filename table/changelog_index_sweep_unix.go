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
