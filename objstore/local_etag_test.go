package objstore

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeebo/xxh3"
)

func xxh3Hex(data []byte) string {
	sum := xxh3.Hash128(data).Bytes()
	return hex.EncodeToString(sum[:])
}

func md5HexOf(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// keepsXattrs reports whether dir's filesystem keeps silt's ETag xattr.
func keepsXattrs(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.CreateTemp(dir, "probe-*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if !setETagXattr(f, md5HexOf(nil)) {
		return false
	}
	_, ok := getETagXattr(f)
	return ok
}

// TestLocalETagIsXXH3: where the filesystem keeps the ETag xattr, a write
// hashes the contents with XXH3-128 instead of md5 (a few percent of an
// ingest's CPU), and Put, Get, Stat and List report that ETag. The xattr
// holds 32 hex digits, which earlier versions accept as a cached ETag, so
// they report the same.
func TestLocalETagIsXXH3(t *testing.T) {
	dir := t.TempDir()
	if !keepsXattrs(t, dir) {
		t.Skip("the filesystem keeps no user xattrs: ETags are md5")
	}
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	data := []byte("some object contents")
	want := xxh3Hex(data)
	for _, put := range []func(string) (ObjectInfo, error){
		func(k string) (ObjectInfo, error) { return l.Put(ctx, k, data) },
		func(k string) (ObjectInfo, error) { return l.PutIfAbsent(ctx, k, data) },
	} {
		info, err := put("a/obj")
		if err != nil {
			t.Fatal(err)
		}
		if info.ETag != want {
			t.Fatalf("write ETag %s, want XXH3-128 %s (md5 would be %s)", info.ETag, want, md5HexOf(data))
		}
		if _, gi, err := l.Get(ctx, "a/obj"); err != nil || gi.ETag != want {
			t.Fatalf("Get ETag %s (%v), want %s", gi.ETag, err, want)
		}
		if si, err := l.Stat(ctx, "a/obj"); err != nil || si.ETag != want {
			t.Fatalf("Stat ETag %s (%v), want %s", si.ETag, err, want)
		}
		if ls, err := l.List(ctx, "a/"); err != nil || len(ls) != 1 || ls[0].ETag != want {
			t.Fatalf("List %+v (%v), want one object with ETag %s", ls, err, want)
		}
		f, err := os.Open(filepath.Join(dir, "a", "obj"))
		if err != nil {
			t.Fatal(err)
		}
		// What an earlier version reads: a 32-character cached ETag.
		cached, ok := getETagXattr(f)
		f.Close()
		if !ok || len(cached) != 32 || cached != want {
			t.Fatalf("cached ETag %q (%v), want the 32 hex digits %s", cached, ok, want)
		}
		if err := l.Delete(ctx, "a/obj"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLocalETagOfOlderObjects: objects written by earlier versions (md5
// ETag cached in the xattr, or no xattr at all) keep their md5 ETag, and
// a conditional write against that ETag succeeds while one against the
// XXH3 of the same contents fails; the replacement then carries the new
// ETag for every later conditional write.
func TestLocalETagOfOlderObjects(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old := []byte("written by an earlier version")
	for _, cached := range []bool{true, false} {
		p := filepath.Join(dir, "ptr")
		if err := os.WriteFile(p, old, 0o644); err != nil {
			t.Fatal(err)
		}
		if cached {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			setETagXattr(f, md5HexOf(old)) // an earlier version's write
			f.Close()
		}
		si, err := l.Stat(ctx, "ptr")
		if err != nil {
			t.Fatal(err)
		}
		if si.ETag != md5HexOf(old) {
			t.Fatalf("cached=%v: Stat ETag %s, want the md5 %s", cached, si.ETag, md5HexOf(old))
		}
		if _, gi, err := l.Get(ctx, "ptr"); err != nil || gi.ETag != si.ETag {
			t.Fatalf("cached=%v: Get ETag %s (%v), want %s", cached, gi.ETag, err, si.ETag)
		}
		if _, err := l.PutIfMatch(ctx, "ptr", []byte("x"), xxh3Hex(old)); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("cached=%v: PutIfMatch with the XXH3 of the old contents: %v, want ErrPreconditionFailed", cached, err)
		}
		next := []byte("written by this version")
		ni, err := l.PutIfMatch(ctx, "ptr", next, si.ETag)
		if err != nil {
			t.Fatalf("cached=%v: PutIfMatch with the older object's md5 ETag: %v", cached, err)
		}
		if _, err := l.PutIfMatch(ctx, "ptr", []byte("y"), si.ETag); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("cached=%v: PutIfMatch with the replaced ETag: %v, want ErrPreconditionFailed", cached, err)
		}
		if _, err := l.PutIfMatch(ctx, "ptr", []byte("z"), ni.ETag); err != nil {
			t.Fatalf("cached=%v: PutIfMatch with the new ETag: %v", cached, err)
		}
		if err := l.Delete(ctx, "ptr"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLocalETagWithoutXattrIsMD5: where the xattr cannot be set (the
// filesystem keeps none), a write's ETag is the md5 that readers compute
// from the contents, not the XXH3 nobody could find again.
func TestLocalETagWithoutXattrIsMD5(t *testing.T) {
	r, w, err := os.Pipe() // no user xattrs on a pipe
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	data := []byte("contents")
	if got := newETag(w, data); got != md5HexOf(data) {
		t.Fatalf("ETag without an xattr %s, want the md5 %s", got, md5HexOf(data))
	}
}

// TestMoveNoReplace: PutIfAbsent's move, by rename(2) with
// RENAME_NOREPLACE and by the link(2) fallback: it places the file when
// the key is absent (leaving no temp file), refuses an existing key with
// ErrPreconditionFailed and keeps its contents, and reports a directory
// in the way as fs.ErrExist.
func TestMoveNoReplace(t *testing.T) {
	unsupported := func(string, string) error { return errNoReplaceUnsupported }
	for name, rename := range map[string]func(string, string) error{"rename": renameNoReplace, "link": unsupported} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tmp := func(s string) string {
				p := filepath.Join(dir, ".silt-tmp-"+s)
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			dst := filepath.Join(dir, "obj")
			t1 := tmp("first")
			if err := moveNoReplace(t1, dst, rename); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(t1); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the temp file is still there: %v", err)
			}
			t2 := tmp("second")
			if err := moveNoReplace(t2, dst, rename); !errors.Is(err, ErrPreconditionFailed) {
				t.Fatalf("move onto an existing key: %v, want ErrPreconditionFailed", err)
			}
			if b, err := os.ReadFile(dst); err != nil || string(b) != "first" {
				t.Fatalf("existing key holds %q (%v), want %q", b, err, "first")
			}
			if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := moveNoReplace(t2, filepath.Join(dir, "d"), rename); err == nil || errors.Is(err, ErrPreconditionFailed) || !errors.Is(err, fs.ErrExist) {
				t.Fatalf("move onto a directory: %v, want fs.ErrExist (not ErrPreconditionFailed)", err)
			}
		})
	}
}
