package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func TestReaderAt(t *testing.T) {
	mem := objstore.NewMem()
	data := []byte("0123456789abcdefghij")
	mem.Put(t.Context(), "f", data)
	fault := objstore.NewFault(mem)
	r := objstore.NewReaderAt(t.Context(), fault, "f", int64(len(data)))
	if r.Size() != 20 {
		t.Fatalf("Size = %d", r.Size())
	}
	for _, tc := range []struct {
		off    int64
		n      int
		want   string
		wantEr error
	}{
		{0, 5, "01234", nil},
		{15, 5, "fghij", nil},
		{18, 5, "ij", io.EOF}, // short read at the end
		{20, 5, "", io.EOF},
		{25, 5, "", io.EOF},
		{3, 0, "", nil},
	} {
		p := make([]byte, tc.n)
		n, err := r.ReadAt(p, tc.off)
		if string(p[:n]) != tc.want || !errors.Is(err, tc.wantEr) && err != tc.wantEr {
			t.Errorf("ReadAt(%d bytes at %d) = %q, %v; want %q, %v", tc.n, tc.off, p[:n], err, tc.want, tc.wantEr)
		}
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); !errors.Is(err, types.ErrInvalid) {
		t.Errorf("ReadAt at -1: %v, want types.ErrInvalid", err)
	}
	// It composes with the standard library.
	all, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("ReadAll via SectionReader = %q, %v", all, err)
	}
	// Errors of the store come through with their kind.
	fault.Add(objstore.Rule{Op: objstore.OpGetRange, Err: objstore.ErrInjected, Times: 1})
	if _, err := r.ReadAt(make([]byte, 3), 0); !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("ReadAt with a failing store: %v", err)
	}
	if _, err := objstore.NewReaderAt(t.Context(), mem, "missing", 10).ReadAt(make([]byte, 3), 0); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("ReadAt of a missing object: %v, want ErrNotFound", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := objstore.NewReaderAt(ctx, mem, "f", 20).ReadAt(make([]byte, 3), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadAt with a canceled context: %v", err)
	}
}

// A torn object, shorter than the size the manifest recorded, must fail
// loudly rather than read short.
func TestReaderAtTruncatedObject(t *testing.T) {
	mem := objstore.NewMem()
	mem.Put(t.Context(), "f", []byte("0123456789"))
	r := objstore.NewReaderAt(t.Context(), mem, "f", 20)
	p := make([]byte, 8)
	n, err := r.ReadAt(p, 6)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAt past the real end = %d, %v; want io.ErrUnexpectedEOF", n, err)
	}
	if _, err := r.ReadAt(p, 12); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAt wholly past the real end: %v; want io.ErrUnexpectedEOF", err)
	}
}
