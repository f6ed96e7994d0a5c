package objstore_test

import (
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/objstore/objstoretest"
)

// TestConformanceLocalWritePaths runs the conformance suite on each way a
// local store can stage and place a write, including the fallbacks for
// filesystems without O_TMPFILE.
func TestConformanceLocalWritePaths(t *testing.T) {
	t.Parallel()
	for _, path := range objstore.LocalWritePaths {
		t.Run(path, func(t *testing.T) {
			objstoretest.Run(t, func(t *testing.T) objstore.Store {
				l, err := objstore.NewLocalWritePath(t.TempDir(), path)
				if err != nil {
					t.Fatal(err)
				}
				return l
			})
		})
	}
}
