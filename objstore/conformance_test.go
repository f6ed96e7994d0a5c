package objstore_test

import (
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/objstore/objstoretest"
)

func TestConformanceMem(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return objstore.NewMem() })
}

func TestConformanceLocal(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		l, err := objstore.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

func TestConformanceFault(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return objstore.NewFault(objstore.NewMem()) })
}

func TestConformanceRetry(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		return objstore.NewRetry(objstore.NewMem(), objstore.RetryOptions{})
	})
}

func TestConformancePrefix(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		mem := objstore.NewMem()
		// A neighbour outside the namespace must never show up.
		if _, err := mem.Put(t.Context(), "tenant-other/list/a/1", []byte("x")); err != nil {
			t.Fatal(err)
		}
		return objstore.NewPrefix(mem, "tenant")
	})
}

func TestConformanceS3(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return s3test.NewStore(t) })
}

func TestConformanceRetryS3(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		return objstore.NewRetry(s3test.NewStore(t), objstore.RetryOptions{})
	})
}

func TestConformanceS3Prefix(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		base := s3test.NewStore(t)
		cfg := base.Config()
		cfg.Prefix = "/ns/inner/"
		s, err := objstore.NewS3(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := base.Put(t.Context(), "ns/inner-other/list/a/1", []byte("x")); err != nil {
			t.Fatal(err)
		}
		return s
	})
}
