//go:build !linux

package objstore

import "os"

// openTmpfile always reports errTmpfileUnsupported here: writes stage in
// named temp files.
func openTmpfile(string) (*os.File, error) { return nil, errTmpfileUnsupported }

func (*tmpLinker) link(*os.File, string) error { return errTmpfileUnsupported }
