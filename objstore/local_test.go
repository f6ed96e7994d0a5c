package objstore_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func newLocal(t *testing.T, dir string) *objstore.Local {
	t.Helper()
	l, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var unsafeKeys = []string{
	"", "/abs", "../x", "a/../../x", "a/..", "..", ".", "./a", "a/./b", "a//b", "a/", "a\\b",
	"a\x00b", ".silt-tmp-123", "d/.silt-locks/00", strings.Repeat("k", 1025),
}

func TestLocalRejectsUnsafeKeys(t *testing.T) {
	root := t.TempDir()
	l := newLocal(t, filepath.Join(root, "store"))
	ctx := t.Context()
	for _, k := range unsafeKeys {
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, types.ErrInvalid) {
				t.Errorf("%s(%q): %v, want types.ErrInvalid", op, k, err)
			}
		}
		_, err := l.Put(ctx, k, []byte("x"))
		check("Put", err)
		_, err = l.PutIfAbsent(ctx, k, []byte("x"))
		check("PutIfAbsent", err)
		_, err = l.PutIfMatch(ctx, k, []byte("x"), "e")
		check("PutIfMatch", err)
		_, _, err = l.Get(ctx, k)
		check("Get", err)
		_, err = l.GetRange(ctx, k, 0, 1)
		check("GetRange", err)
		_, err = l.Stat(ctx, k)
		check("Stat", err)
		check("Delete", l.Delete(ctx, k))
	}
	// Nothing escaped the store's directory.
	entries, err := os.ReadDir(root)
	if err != nil || len(entries) != 1 || entries[0].Name() != "store" {
		t.Fatalf("root holds %v (%v), want only the store directory", entries, err)
	}
	// Listing with a hostile prefix finds nothing rather than walking out.
	if _, err := l.Put(ctx, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../", "/", "a/../", "a//", ".silt-locks/"} {
		got, err := l.List(ctx, p)
		if err != nil || len(got) != 0 {
			t.Fatalf("List(%q) = %v, %v; want nothing", p, got, err)
		}
	}
}

func TestLocalKeyCollidesWithDirectory(t *testing.T) {
	l := newLocal(t, t.TempDir())
	ctx := t.Context()
	if _, err := l.Put(ctx, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "a/b/c"} {
		if _, err := l.Put(ctx, k, []byte("y")); !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("Put(%q) with a/b stored: %v, want types.ErrInvalid", k, err)
		}
		if _, err := l.PutIfAbsent(ctx, k, []byte("y")); !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("PutIfAbsent(%q) with a/b stored: %v, want types.ErrInvalid", k, err)
		}
	}
	if _, _, err := l.Get(ctx, "a"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get of a directory: %v, want ErrNotFound", err)
	}
	if err := l.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete of a directory: %v", err)
	}
	if got := getBytes(t, l, "a/b"); got != "x" {
		t.Fatalf("a/b = %q", got)
	}
}

func TestLocalSkipsTempFiles(t *testing.T) {
	dir := t.TempDir()
	l := newLocal(t, dir)
	if _, err := l.Put(t.Context(), "d/k", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// A crash can leave a temp file behind.
	if err := os.WriteFile(filepath.Join(dir, "d", ".silt-tmp-999"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := l.List(t.Context(), "")
	if err != nil || len(got) != 1 || got[0].Key != "d/k" {
		t.Fatalf("List = %+v, %v; want only d/k", got, err)
	}
	// No temp files are left after successful and failed writes.
	l.PutIfAbsent(t.Context(), "d/k", []byte("y"))
	l.PutIfMatch(t.Context(), "d/k", []byte("y"), "stale")
	entries, _ := os.ReadDir(filepath.Join(dir, "d"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := "[.silt-tmp-999 k]"; fmt.Sprint(names) != want {
		t.Fatalf("directory holds %v, want %s", names, want)
	}
}

// Separate Local instances on one directory lock like separate processes
// (flock locks belong to open file descriptions).
func TestLocalPutIfAbsentRaceAcrossInstances(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		l := newLocal(t, dir)
		wg.Go(func() { _, errs[i] = l.PutIfAbsent(t.Context(), "x/snap", fmt.Appendf(nil, "writer %d", i)) })
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, objstore.ErrPreconditionFailed):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d writers won PutIfAbsent, want 1", winners)
	}
}

const helperEnv = "SILT_OBJSTORE_LOCAL_HELPER"

// TestLocalCrossProcessCounter runs processes that each increment a
// counter object with read + PutIfMatch; a lost update shows as a total
// below processes*increments.
func TestLocalCrossProcessCounter(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	l := newLocal(t, dir)
	if _, err := l.Put(t.Context(), "counter", []byte("0")); err != nil {
		t.Fatal(err)
	}
	const procs, incs = 4, 25
	var wg sync.WaitGroup
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	for i := range procs {
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestLocalCounterHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+dir, "SILT_HELPER_INCS="+strconv.Itoa(incs))
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i := range procs {
		if errs[i] != nil {
			t.Fatalf("helper %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	if got := getBytes(t, l, "counter"); got != strconv.Itoa(procs*incs) {
		t.Fatalf("counter = %s, want %d", got, procs*incs)
	}
}

// TestLocalCounterHelper is the child of TestLocalCrossProcessCounter.
func TestLocalCounterHelper(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	incs, _ := strconv.Atoi(os.Getenv("SILT_HELPER_INCS"))
	l := newLocal(t, dir)
	for done := 0; done < incs; {
		b, info, err := l.Get(t.Context(), "counter")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(string(b))
		_, err = l.PutIfMatch(t.Context(), "counter", []byte(strconv.Itoa(n+1)), info.ETag)
		switch {
		case err == nil:
			done++
		case !errors.Is(err, objstore.ErrPreconditionFailed):
			t.Fatal(err)
		}
	}
}

// maxFuzzInput caps the inputs of this package's fuzz targets (see the
// fuzzing rule: every target caps its input, every decoder bounds its
// work by the sizes its input declares).
const maxFuzzInput = 64 << 10

func FuzzValidateLocalKey(f *testing.F) {
	for _, k := range append(unsafeKeys, "a", "a/b/c", "x.y/z", "dots/..a/b..", "sp ace/ü") {
		f.Add(k)
	}
	root := filepath.FromSlash("/store/root")
	f.Fuzz(func(t *testing.T, key string) {
		if len(key) > maxFuzzInput {
			return
		}
		if objstore.ValidateLocalKey(key) != nil {
			return
		}
		// An accepted key is a clean relative path inside the root that
		// maps back to itself, and never names the store's own files.
		p := filepath.Join(root, filepath.FromSlash(key))
		rel, err := filepath.Rel(root, p)
		if err != nil || filepath.ToSlash(rel) != key {
			t.Fatalf("key %q maps to %q (rel %q, %v)", key, p, rel, err)
		}
		if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(key) {
			t.Fatalf("key %q escapes the root: %q", key, p)
		}
		for seg := range strings.SplitSeq(key, "/") {
			if strings.HasPrefix(seg, ".silt-") {
				t.Fatalf("key %q has a reserved segment", key)
			}
		}
	})
}
