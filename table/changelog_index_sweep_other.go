//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package table

import (
	"errors"
	"os"
)

// canFlock: without flock(2) private index directories are not locked and
// never swept (a sweep could not tell a live owner from a dead one).
const canFlock = false

var errNoFlock = errors.New("changelog lookup index: file locking is not supported on this platform")

func tryFlock(*os.File) (bool, error) { return false, errNoFlock }

type ownLock struct{}

func keepFlock(*os.File) (*ownLock, error) { return nil, errNoFlock }

func (*ownLock) release() error { return nil }

func openLockFile(string) (*os.File, error) { return nil, errNoFlock }

func mine(os.FileInfo) bool { return false }
