//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package objstore

import (
	"errors"
	"os"
)

func tryFlock(*os.File) (bool, error) {
	return false, errors.New("local store: cross-process file locking is not supported on this platform")
}

func unflock(*os.File) error { return nil }
