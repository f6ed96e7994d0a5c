package objstore

import "testing"

// TestMemETagIsXXH3: Mem's ETag is the XXH3-128 of the contents in 32
// hex digits (cheaper than the md5 it was), on every kind of write.
func TestMemETagIsXXH3(t *testing.T) {
	m := NewMem()
	ctx := t.Context()
	data := []byte("some object contents")
	want := xxh3Hex(data)
	for _, put := range []func() (ObjectInfo, error){
		func() (ObjectInfo, error) { return m.PutIfAbsent(ctx, "k", data) },
		func() (ObjectInfo, error) { return m.Put(ctx, "k", data) },
		func() (ObjectInfo, error) { return m.PutIfMatch(ctx, "k", data, want) },
	} {
		info, err := put()
		if err != nil {
			t.Fatal(err)
		}
		if info.ETag != want || len(info.ETag) != 32 {
			t.Fatalf("ETag %s, want the XXH3-128 %s (md5 is %s)", info.ETag, want, md5HexOf(data))
		}
		if si, err := m.Stat(ctx, "k"); err != nil || si.ETag != want {
			t.Fatalf("Stat ETag %s (%v), want %s", si.ETag, err, want)
		}
	}
}
