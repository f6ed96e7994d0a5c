package objstore

import "os"

// LocalWritePaths names the ways a Local can stage and place a write,
// each forced on a store by NewLocalWritePath, so that every way runs the
// conformance suite whatever this machine's filesystem supports best.
var LocalWritePaths = []string{"tmpfile", "tmpfile-procfd", "tmpfile-unlinkable", "named"}

// NewLocalWritePath opens a local store at dir that writes by path: an
// unnamed file linked with AT_EMPTY_PATH ("tmpfile") or through
// /proc/self/fd ("tmpfile-procfd"), an unnamed file that cannot be linked
// and is written again to a named temp file ("tmpfile-unlinkable"), or a
// named temp file from the start ("named").
func NewLocalWritePath(dir, path string) (*Local, error) {
	l, err := NewLocal(dir)
	if err != nil {
		return nil, err
	}
	switch path {
	case "tmpfile-procfd":
		l.linker.way.Store(linkProcFD)
	case "tmpfile-unlinkable":
		l.linker.unlinkable = true
	case "named":
		l.openTmp = func(string) (*os.File, error) { return nil, errTmpfileUnsupported }
	}
	return l, nil
}
