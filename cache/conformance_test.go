package cache

import (
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/objstore/objstoretest"
)

// cacheAll makes every key cacheable, so the conformance suite (whose
// keys are not silt's immutable names, and which overwrites and deletes
// them) exercises every cached path, invalidation included.
func cacheAll(string) bool { return true }

func openTest(t testing.TB, dir string, budget int64, opts Options) *Cache {
	t.Helper()
	c, err := Open(t.Context(), dir, budget, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"all", Options{Cacheable: cacheAll}},
		{"all-7-byte-blocks", Options{Cacheable: cacheAll, BlockSize: 7}},
		{"all-write-through", Options{Cacheable: cacheAll, BlockSize: 4096, WriteThrough: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objstoretest.Run(t, func(t *testing.T) objstore.Store {
				c := openTest(t, t.TempDir(), 64<<20, tc.opts)
				return c.Wrap(objstore.NewMem(), "hot")
			})
		})
	}
}

func TestConformanceS3(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		c := openTest(t, t.TempDir(), 64<<20, Options{Cacheable: cacheAll, BlockSize: 64 << 10, WriteThrough: true})
		return c.Wrap(s3test.NewStore(t), "hot")
	})
}
