//go:build !linux

package objstore

import "errors"

// errNoReplaceUnsupported is renameNoReplace's error where the kernel or
// the filesystem does not support RENAME_NOREPLACE.
var errNoReplaceUnsupported = errors.New("rename without replace is not supported")

// renameNoReplace always reports errNoReplaceUnsupported here: PutIfAbsent
// links instead.
func renameNoReplace(_, _ string) error { return errNoReplaceUnsupported }
