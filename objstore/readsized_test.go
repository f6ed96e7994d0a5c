package objstore

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadAllSizedExact: a body of the announced size is returned in a
// buffer of that size (reading to EOF through a full bytes.Buffer used to
// double it), a longer body whole, a shorter one as io.ErrUnexpectedEOF.
func TestReadAllSizedExact(t *testing.T) {
	body := bytes.Repeat([]byte("silt"), 1<<18)
	got, err := readAllSized(bytes.NewReader(body), int64(len(body)))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("exact: %d bytes, %v", len(got), err)
	}
	if cap(got) != len(body) {
		t.Fatalf("exact: buffer of %d bytes for a %d-byte body", cap(got), len(body))
	}
	got, err = readAllSized(bytes.NewReader(body), int64(len(body))-5)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("longer than announced: %d bytes, %v", len(got), err)
	}
	if _, err := readAllSized(bytes.NewReader(body), int64(len(body))+1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("shorter than announced: %v, want io.ErrUnexpectedEOF", err)
	}
	got, err = readAllSized(strings.NewReader("abc"), -1)
	if err != nil || string(got) != "abc" {
		t.Fatalf("unknown size: %q, %v", got, err)
	}
	got, err = readAllSized(strings.NewReader(""), 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty: %q, %v", got, err)
	}
}

// TestLocalGetUsesCachedETag: Get reports the ETag cached with the object
// (as Stat does) instead of hashing every object it reads.
func TestLocalGetUsesCachedETag(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := l.Put(ctx, "a/obj", []byte("contents")); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "a", "obj"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	marker := strings.Repeat("e", 32)
	setETagXattr(f, marker)
	f.Close()
	st, err := l.Stat(ctx, "a/obj")
	if err != nil {
		t.Fatal(err)
	}
	if st.ETag != marker {
		t.Skip("the filesystem keeps no user xattrs: Get hashes the contents")
	}
	data, info, err := l.Get(ctx, "a/obj")
	if err != nil || string(data) != "contents" {
		t.Fatalf("get: %q, %v", data, err)
	}
	if info.ETag != st.ETag {
		t.Fatalf("Get's ETag %s, Stat's %s: Get hashed the contents instead of using the cached ETag", info.ETag, st.ETag)
	}
}
