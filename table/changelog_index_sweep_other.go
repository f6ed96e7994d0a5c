//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package table

import (
	"errors"
	"os"
)

// canFlock: without flock(2) private index directories are not locked and
// never swept (a sweep could not tell a live owner from a dead one).
const canFlock = false

func tryFlock(*os.File) (bool, error) {
	return false, errors.New("changelog lookup index: file locking is not supported on this platform")
}
