package objstore

import (
	"fmt"
	"strings"

	"github.com/siltdb/silt/types"
)

// localReserved prefixes the names of the local store's own files (temp
// files, lock files). No key segment may start with it, so they can never
// collide with, or be listed as, objects.
const localReserved = ".silt-"

// maxKeyLen matches S3's limit on object key length, in bytes.
const maxKeyLen = 1024

// ValidateLocalKey reports whether key is safe to map to a path under a
// local store's root: non-empty, at most 1024 bytes, '/'-separated
// segments that are neither empty, ".", ".." nor start with ".silt-", and
// no leading '/', '\\' or NUL. The error wraps types.ErrInvalid.
func ValidateLocalKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty object key", types.ErrInvalid)
	case len(key) > maxKeyLen:
		return fmt.Errorf("%w: object key of %d bytes exceeds %d", types.ErrInvalid, len(key), maxKeyLen)
	case strings.ContainsAny(key, "\x00\\"):
		return fmt.Errorf("%w: object key %q contains NUL or '\\'", types.ErrInvalid, key)
	case key[0] == '/':
		return fmt.Errorf("%w: object key %q starts with '/'", types.ErrInvalid, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: object key %q has an empty segment", types.ErrInvalid, key)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: object key %q has a %q segment", types.ErrInvalid, key, seg)
		case strings.HasPrefix(seg, localReserved):
			return fmt.Errorf("%w: object key %q has a segment starting with the reserved %q", types.ErrInvalid, key, localReserved)
		}
	}
	return nil
}

// listDir returns the deepest directory (as a key path, "" for the root)
// that holds every key starting with prefix, and false when no valid key
// can start with prefix.
func listDir(prefix string) (string, bool) {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return "", true
	}
	dir := prefix[:i]
	if ValidateLocalKey(dir) != nil {
		return "", false
	}
	return dir, true
}
