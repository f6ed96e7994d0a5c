// Package objstoretest is the conformance suite every objstore.Store
// implementation and wrapper runs against itself:
//
//	func TestConformance(t *testing.T) {
//		objstoretest.Run(t, func(t *testing.T) objstore.Store { return objstore.NewMem() })
//	}
//
// newStore is called once per subtest and must return an empty store.
// Keys used by the suite never have one key as a "directory" of another,
// which a local-directory store cannot represent.
//
// It also helps test code that uses a store: Overlap shows whether writes
// run at once.
package objstoretest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// LargeSize exceeds minio-go's 16 MiB multipart threshold, so a
// conditional put of this size shows whether the precondition survives
// (minio-go drops it on multipart uploads).
const LargeSize = 20 << 20

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"NotFound", testNotFound},
		{"PutGet", testPutGet},
		{"EmptyObject", testEmptyObject},
		{"Overwrite", testOverwrite},
		{"GetRange", testGetRange},
		{"PutIfAbsent", testPutIfAbsent},
		{"PutIfAbsentRace", testPutIfAbsentRace},
		{"PutIfMatch", testPutIfMatch},
		{"PutIfMatchRace", testPutIfMatchRace},
		{"List", testList},
		{"ListDirs", testListDirs},
		{"Delete", testDelete},
		{"UnusualKeys", testUnusualKeys},
		{"Canceled", testCanceled},
		{"LargeConditionalPut", testLargeConditionalPut},
		{"LargeConditionalPutRace", testLargeConditionalPutRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// payload returns n deterministic pseudo-random bytes for seed.
func payload(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

func mustPut(t *testing.T, s objstore.Store, key string, data []byte) objstore.ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, data)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func mustGet(t *testing.T, s objstore.Store, key string) ([]byte, objstore.ObjectInfo) {
	t.Helper()
	data, info, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return data, info
}

func wantBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes %s, want %d bytes %s", what, len(got), head(got), len(want), head(want))
	}
}

func head(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%q...", b[:16])
	}
	return fmt.Sprintf("%q", b)
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %q", what, err, target)
	}
}

func testNotFound(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	_, _, err := s.Get(ctx, "missing/obj")
	wantErr(t, "Get missing", err, objstore.ErrNotFound)
	_, err = s.GetRange(ctx, "missing/obj", 0, 10)
	wantErr(t, "GetRange missing", err, objstore.ErrNotFound)
	_, err = s.GetRange(ctx, "missing/obj", 0, 0)
	wantErr(t, "GetRange missing, zero length", err, objstore.ErrNotFound)
	_, err = s.Stat(ctx, "missing/obj")
	wantErr(t, "Stat missing", err, objstore.ErrNotFound)
	// A key under an existing object's name is missing too.
	mustPut(t, s, "file", []byte("x"))
	_, _, err = s.Get(ctx, "file/child")
	wantErr(t, "Get under an object", err, objstore.ErrNotFound)
}

func testPutGet(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	data := payload(1, 4096)
	put := mustPut(t, s, "dir/obj", data)
	if put.Key != "dir/obj" || put.Size != int64(len(data)) || put.ETag == "" {
		t.Fatalf("Put info = %+v, want key dir/obj, size %d and an ETag", put, len(data))
	}
	got, info := mustGet(t, s, "dir/obj")
	wantBytes(t, "Get", got, data)
	st, err := s.Stat(ctx, "dir/obj")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []objstore.ObjectInfo{info, st} {
		if i.Key != "dir/obj" || i.Size != int64(len(data)) || i.ETag != put.ETag || i.LastModified.IsZero() {
			t.Fatalf("info = %+v, want key dir/obj, size %d, ETag %s (from Put), LastModified set", i, len(data), put.ETag)
		}
	}
	// The store must not alias the caller's buffers.
	data[0] ^= 0xff
	got[1] ^= 0xff
	again, _ := mustGet(t, s, "dir/obj")
	data[0] ^= 0xff
	wantBytes(t, "Get after mutating buffers", again, data)
}

func testEmptyObject(t *testing.T, s objstore.Store) {
	put := mustPut(t, s, "empty", nil)
	got, info := mustGet(t, s, "empty")
	if len(got) != 0 || info.Size != 0 || info.ETag != put.ETag {
		t.Fatalf("Get empty = %d bytes, %+v; want 0 bytes, ETag %s", len(got), info, put.ETag)
	}
	r, err := s.GetRange(t.Context(), "empty", 0, 10)
	if err != nil || len(r) != 0 {
		t.Fatalf("GetRange(empty, 0, 10) = %d bytes, %v; want 0, nil", len(r), err)
	}
}

func testOverwrite(t *testing.T, s objstore.Store) {
	a := mustPut(t, s, "k", []byte("first"))
	b := mustPut(t, s, "k", []byte("second, longer"))
	if a.ETag == b.ETag {
		t.Fatalf("ETag %s did not change when the content did", a.ETag)
	}
	got, info := mustGet(t, s, "k")
	wantBytes(t, "Get after overwrite", got, []byte("second, longer"))
	if info.ETag != b.ETag {
		t.Fatalf("ETag = %s, want %s", info.ETag, b.ETag)
	}
}

func testGetRange(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	data := payload(2, 100)
	mustPut(t, s, "r", data)
	for _, c := range []struct {
		off, length int64
		want        []byte
	}{
		{0, 10, data[:10]},
		{0, 100, data},
		{90, 10, data[90:]},
		{95, 10, data[95:]},   // truncated at the end
		{0, 1000, data},       // longer than the object
		{99, 1, data[99:]},    // last byte
		{100, 10, []byte{}},   // starts at the end
		{200, 5, []byte{}},    // starts past the end
		{10, 0, []byte{}},     // zero length
		{100, 0, []byte{}},    // zero length at the end
		{42, 17, data[42:59]}, // middle
	} {
		got, err := s.GetRange(ctx, "r", c.off, c.length)
		if err != nil {
			t.Fatalf("GetRange(%d, %d): %v", c.off, c.length, err)
		}
		wantBytes(t, fmt.Sprintf("GetRange(%d, %d)", c.off, c.length), got, c.want)
	}
	if _, err := s.GetRange(ctx, "r", -1, 5); err == nil {
		t.Fatal("GetRange with a negative offset succeeded")
	}
	if _, err := s.GetRange(ctx, "r", 0, -5); err == nil {
		t.Fatal("GetRange with a negative length succeeded")
	}
}

func testPutIfAbsent(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	first, err := s.PutIfAbsent(ctx, "once", []byte("first"))
	if err != nil {
		t.Fatalf("first PutIfAbsent: %v", err)
	}
	if first.ETag == "" || first.Size != 5 || first.Key != "once" {
		t.Fatalf("PutIfAbsent info = %+v", first)
	}
	_, err = s.PutIfAbsent(ctx, "once", []byte("second"))
	wantErr(t, "second PutIfAbsent", err, objstore.ErrPreconditionFailed)
	_, err = s.PutIfAbsent(ctx, "once", []byte("first"))
	wantErr(t, "PutIfAbsent of identical bytes", err, objstore.ErrPreconditionFailed)
	got, info := mustGet(t, s, "once")
	wantBytes(t, "Get after PutIfAbsent", got, []byte("first"))
	if info.ETag != first.ETag {
		t.Fatalf("ETag = %s, want %s", info.ETag, first.ETag)
	}
	// After a delete the key is absent again.
	if err := s.Delete(ctx, "once"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutIfAbsent(ctx, "once", []byte("third")); err != nil {
		t.Fatalf("PutIfAbsent after Delete: %v", err)
	}
}

const racers = 8

func testPutIfAbsentRace(t *testing.T, s objstore.Store) {
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = s.PutIfAbsent(t.Context(), "race", fmt.Appendf(nil, "writer %d", i))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won PutIfAbsent", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("losing writer %d", i), err, objstore.ErrPreconditionFailed)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won PutIfAbsent")
	}
	got, _ := mustGet(t, s, "race")
	wantBytes(t, "Get after race", got, fmt.Appendf(nil, "writer %d", winner))
}

func testPutIfMatch(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	_, err := s.PutIfMatch(ctx, "cas", []byte("v1"), "0123456789abcdef0123456789abcdef")
	wantErr(t, "PutIfMatch on a missing object", err, objstore.ErrPreconditionFailed)
	if _, err := s.Stat(ctx, "cas"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("failed PutIfMatch created the object (Stat: %v)", err)
	}
	v1 := mustPut(t, s, "cas", []byte("v1"))
	v2, err := s.PutIfMatch(ctx, "cas", []byte("v2"), v1.ETag)
	if err != nil {
		t.Fatalf("PutIfMatch with the current ETag: %v", err)
	}
	if v2.ETag == "" || v2.ETag == v1.ETag || v2.Size != 2 || v2.Key != "cas" {
		t.Fatalf("PutIfMatch info = %+v (previous ETag %s)", v2, v1.ETag)
	}
	_, err = s.PutIfMatch(ctx, "cas", []byte("v3"), v1.ETag)
	wantErr(t, "PutIfMatch with a stale ETag", err, objstore.ErrPreconditionFailed)
	for _, bad := range []string{"", "*"} {
		_, err = s.PutIfMatch(ctx, "cas", []byte("v3"), bad)
		wantErr(t, fmt.Sprintf("PutIfMatch with ETag %q", bad), err, objstore.ErrPreconditionFailed)
	}
	got, info := mustGet(t, s, "cas")
	wantBytes(t, "Get after failed PutIfMatch", got, []byte("v2"))
	if info.ETag != v2.ETag {
		t.Fatalf("ETag = %s, want %s", info.ETag, v2.ETag)
	}
	if _, err := s.PutIfMatch(ctx, "cas", []byte("v3"), v2.ETag); err != nil {
		t.Fatalf("PutIfMatch with the new ETag: %v", err)
	}
	if err := s.Delete(ctx, "cas"); err != nil {
		t.Fatal(err)
	}
	_, err = s.PutIfMatch(ctx, "cas", []byte("v4"), v2.ETag)
	wantErr(t, "PutIfMatch after Delete", err, objstore.ErrPreconditionFailed)
}

func testPutIfMatchRace(t *testing.T, s objstore.Store) {
	base := mustPut(t, s, "cas", []byte("base"))
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = s.PutIfMatch(t.Context(), "cas", fmt.Appendf(nil, "writer %d", i), base.ETag)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won PutIfMatch on the same ETag", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("losing writer %d", i), err, objstore.ErrPreconditionFailed)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won PutIfMatch")
	}
	got, _ := mustGet(t, s, "cas")
	wantBytes(t, "Get after race", got, fmt.Appendf(nil, "writer %d", winner))
}

func testList(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	keys := []string{
		"list/a/1", "list/a/2", "list/a/sub/x", "list/a.b", "list/a-c", "list/ab",
		"list/b/1", "lists/x", "other/list/y", "top",
	}
	etags := map[string]string{}
	for i, k := range slices.Backward(keys) { // insertion order must not matter
		etags[k] = mustPut(t, s, k, payload(uint64(i), i+1)).ETag
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"list/a-c", "list/a.b", "list/a/1", "list/a/2", "list/a/sub/x", "list/ab", "list/b/1", "lists/x", "other/list/y", "top"}},
		{"list/", []string{"list/a-c", "list/a.b", "list/a/1", "list/a/2", "list/a/sub/x", "list/ab", "list/b/1"}},
		{"list", []string{"list/a-c", "list/a.b", "list/a/1", "list/a/2", "list/a/sub/x", "list/ab", "list/b/1", "lists/x"}},
		{"list/a", []string{"list/a-c", "list/a.b", "list/a/1", "list/a/2", "list/a/sub/x", "list/ab"}},
		{"list/a/", []string{"list/a/1", "list/a/2", "list/a/sub/x"}},
		{"list/a/sub/x", []string{"list/a/sub/x"}},
		{"list/a/s", []string{"list/a/sub/x"}},
		{"list/b/1/", nil},
		{"nomatch", nil},
		{"nomatch/deeper/", nil},
		{"t", []string{"top"}},
	} {
		got, err := s.List(ctx, c.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", c.prefix, err)
		}
		var gotKeys []string
		for _, info := range got {
			gotKeys = append(gotKeys, info.Key)
			if info.ETag != etags[info.Key] || info.Size <= 0 || info.LastModified.IsZero() {
				t.Fatalf("List(%q) info %+v: want ETag %s, a size and LastModified", c.prefix, info, etags[info.Key])
			}
		}
		if !slices.Equal(gotKeys, c.want) {
			t.Fatalf("List(%q) = %q, want %q", c.prefix, gotKeys, c.want)
		}
	}
}

func testDelete(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustPut(t, s, "d/1", []byte("x"))
	mustPut(t, s, "d/2", []byte("y"))
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, _, err := s.Get(ctx, "d/1")
	wantErr(t, "Get after Delete", err, objstore.ErrNotFound)
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if err := s.Delete(ctx, "never/existed"); err != nil {
		t.Fatalf("Delete of a key never written: %v", err)
	}
	got, err := s.List(ctx, "d/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != "d/2" {
		t.Fatalf("List after Delete = %+v, want only d/2", got)
	}
}

// testUnusualKeys uses characters that need escaping in URLs and paths.
func testUnusualKeys(t *testing.T, s objstore.Store) {
	keys := []string{"sp ace/ü ñ", "pct/%2F%00x", "sym/+plus=eq&amp;?q#frag", "dots/a.b.c", "quote/\"'`"}
	for i, k := range keys {
		data := payload(uint64(100+i), 10)
		if _, err := s.PutIfAbsent(t.Context(), k, data); err != nil {
			t.Fatalf("PutIfAbsent(%q): %v", k, err)
		}
		got, _ := mustGet(t, s, k)
		wantBytes(t, fmt.Sprintf("Get(%q)", k), got, data)
		list, err := s.List(t.Context(), k)
		if err != nil || len(list) != 1 || list[0].Key != k {
			t.Fatalf("List(%q) = %+v, %v; want just the key", k, list, err)
		}
	}
}

func testCanceled(t *testing.T, s objstore.Store) {
	mustPut(t, s, "c", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		wantErr(t, op+" with a canceled context", err, context.Canceled)
	}
	_, _, err := s.Get(ctx, "c")
	check("Get", err)
	_, err = s.GetRange(ctx, "c", 0, 1)
	check("GetRange", err)
	_, err = s.Stat(ctx, "c")
	check("Stat", err)
	_, err = s.List(ctx, "")
	check("List", err)
	_, err = s.Put(ctx, "new", []byte("y"))
	check("Put", err)
	_, err = s.PutIfAbsent(ctx, "new", []byte("y"))
	check("PutIfAbsent", err)
	_, err = s.PutIfMatch(ctx, "c", []byte("y"), "any")
	check("PutIfMatch", err)
	err = s.Delete(ctx, "c")
	check("Delete", err)
	// Nothing changed.
	got, _ := mustGet(t, s, "c")
	wantBytes(t, "Get after canceled calls", got, []byte("x"))
	if _, err := s.Stat(t.Context(), "new"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("canceled Put created an object (Stat: %v)", err)
	}
}

// testLargeConditionalPut guards against conditional puts that go
// multipart and lose their precondition.
func testLargeConditionalPut(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	first, second := payload(7, LargeSize), payload(8, LargeSize)
	info, err := s.PutIfAbsent(ctx, "big", first)
	if err != nil {
		t.Fatalf("first large PutIfAbsent: %v", err)
	}
	_, err = s.PutIfAbsent(ctx, "big", second)
	wantErr(t, "second large PutIfAbsent", err, objstore.ErrPreconditionFailed)
	got, _ := mustGet(t, s, "big")
	wantBytes(t, "large object after a failed PutIfAbsent", got, first)

	_, err = s.PutIfMatch(ctx, "big", second, "0123456789abcdef0123456789abcdef")
	wantErr(t, "large PutIfMatch with a wrong ETag", err, objstore.ErrPreconditionFailed)
	got, _ = mustGet(t, s, "big")
	wantBytes(t, "large object after a failed PutIfMatch", got, first)

	if _, err := s.PutIfMatch(ctx, "big", second, info.ETag); err != nil {
		t.Fatalf("large PutIfMatch with the right ETag: %v", err)
	}
	got, _ = mustGet(t, s, "big")
	wantBytes(t, "large object after PutIfMatch", got, second)
}

// testLargeConditionalPutRace races large conditional puts. A server that
// checks the precondition when a multipart upload starts (MinIO does)
// passes testLargeConditionalPut even when the client drops the condition
// from the completing request; only a race shows the lost update.
func testLargeConditionalPutRace(t *testing.T, s objstore.Store) {
	const n = 3
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.PutIfAbsent(t.Context(), "bigrace", payload(uint64(20+i), LargeSize))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("large PutIfAbsent: writers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("losing writer %d", i), err, objstore.ErrPreconditionFailed)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won the large PutIfAbsent")
	}
	got, _ := mustGet(t, s, "bigrace")
	wantBytes(t, "large object after the race", got, payload(uint64(20+winner), LargeSize))
}

func testListDirs(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	for i, k := range []string{"dirs/a/1", "dirs/a/2/x", "dirs/b.db/t/schema", "dirs/c", "dirsx/d/1", "other/e/1"} {
		mustPut(t, s, k, payload(uint64(i), i+1))
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"dirs", "dirsx", "other"}},
		{"dirs/", []string{"a", "b.db"}},
		{"dirs/a/", []string{"2"}},
		{"dirs/b.db/", []string{"t"}},
		{"dirs/c/", nil},
		{"nomatch/", nil},
	} {
		got, err := s.ListDirs(ctx, c.prefix)
		if err != nil {
			t.Fatalf("ListDirs(%q): %v", c.prefix, err)
		}
		if !slices.Equal(got, c.want) {
			t.Fatalf("ListDirs(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
}
