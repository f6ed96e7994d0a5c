//go:build unix

package objstore

import (
	"os"
	"syscall"
)

// syncDir fsyncs the directory dir, so that the names it holds survive a
// crash. It uses the raw descriptor: os.Open would try (and fail) to
// register the directory with the poller, four syscalls more per write.
func syncDir(dir string) error {
	for {
		fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "open", Path: dir, Err: err}
		}
		for {
			err = syscall.Fsync(fd)
			if err != syscall.EINTR {
				break
			}
		}
		syscall.Close(fd)
		if err != nil {
			return &os.PathError{Op: "fsync", Path: dir, Err: err}
		}
		return nil
	}
}

// openRead opens the file p for reading through the raw descriptor:
// os.Open would try (and fail) to register a regular file with the
// poller, four syscalls more per read.
func openRead(p string) (*os.File, error) {
	for {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: p, Err: err}
		}
		return os.NewFile(uintptr(fd), p), nil
	}
}
