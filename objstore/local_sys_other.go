//go:build !unix

package objstore

import "os"

// syncDir fsyncs the directory dir, so that the names it holds survive a
// crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openRead opens the file p for reading.
func openRead(p string) (*os.File, error) { return os.Open(p) }
