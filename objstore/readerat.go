package objstore

import (
	"context"
	"fmt"
	"io"

	"github.com/siltdb/silt/types"
)

// ReaderAt reads an object of known size with ranged gets; parquet-go
// reads files through it. It holds the ctx it was made with (io.ReaderAt
// has no ctx parameter); every read honours it. Safe for concurrent use.
type ReaderAt struct {
	ctx  context.Context
	s    Store
	key  string
	size int64
}

// NewReaderAt returns a reader of the size-byte object key in s. size is
// trusted (it usually comes from a manifest); an object shorter than size
// yields io.ErrUnexpectedEOF instead of short data.
func NewReaderAt(ctx context.Context, s Store, key string, size int64) *ReaderAt {
	return &ReaderAt{ctx: ctx, s: s, key: key, size: size}
}

// Size returns the object size given to NewReaderAt.
func (r *ReaderAt) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt with one GetRange call.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %q: %w: negative offset %d", r.key, types.ErrInvalid, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	if want == 0 {
		return 0, nil
	}
	data, err := r.s.GetRange(r.ctx, r.key, off, want)
	if err != nil {
		return 0, fmt.Errorf("read %q at %d: %w", r.key, off, err)
	}
	n := copy(p, data)
	switch {
	case int64(len(data)) != want:
		return n, fmt.Errorf("read %q at %d: got %d of %d bytes, object shorter than its recorded size %d: %w",
			r.key, off, len(data), want, r.size, io.ErrUnexpectedEOF)
	case n < len(p):
		return n, io.EOF // read up to the end of the object
	}
	return n, nil
}

var _ io.ReaderAt = (*ReaderAt)(nil)
