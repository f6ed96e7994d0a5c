package manifest

import (
	"bytes"
	"errors"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

var rewrite = flag.Bool("rewrite", false, "regenerate the golden files in testdata/")

func goldenSnapshot() *Snapshot {
	return &Snapshot{
		Version: 1, ID: 7, ParentID: 6, SchemaID: 2,
		ManifestList:     "manifest/manifest-list-0123456789abcdef0123456789abcdef",
		CommitUser:       "writer-1",
		CommitIdentifier: "42",
		CommitKind:       CommitAppend,
		TimeMillis:       1700000000123,
		TotalRecordCount: 1000,
		DeltaRecordCount: 10,
		NextSequence:     5000,
		Properties:       map[string]string{"kafka.offsets": `{"t/0":17}`, "a": "b"},
	}
}

func goldenManifestList() *ManifestList {
	return &ManifestList{Manifests: []ManifestMeta{
		{Path: "manifest/manifest-aaaa", Size: 1234, NumAdded: 3, NumDeleted: 0, SchemaID: 1},
		{Path: "manifest/manifest-bbbb", Size: 456, NumAdded: 1, NumDeleted: 2, SchemaID: 2},
	}}
}

func goldenManifest() *Manifest {
	return &Manifest{Entries: []Entry{
		{Kind: Add, File: DataFile{
			Path: "data/dt=2024-01-01/bucket-3/data-1.parquet", Partition: "dt=2024-01-01", Bucket: 3, Level: 0,
			RowCount: 100, DeleteCount: 4, Size: 8192, MinKey: []byte{0x05, 0x80, 0, 0, 1}, MaxKey: []byte{0x05, 0x80, 0, 0, 0x7f, 0},
			MinSeq: 4900, MaxSeq: 4999, SeqBase: 4900, SchemaID: 2, CreatedMillis: 1700000000000,
		}},
		{Kind: Add, File: DataFile{
			Path: "data/bucket-0/data-2.parquet", Bucket: 0, Level: 5, RowCount: 1, Size: 10,
			MinKey: []byte{}, MaxKey: []byte{1}, MinSeq: 0, MaxSeq: 0, SchemaID: 0, Tier: "cold",
		}},
		{Kind: Delete, File: DataFile{Path: "data/bucket-0/data-0.parquet", RowCount: 7, MinKey: []byte{1}, MaxKey: []byte{2}}},
	}}
}

// goldenManifestV2 is goldenManifest with content checksums on its ADD
// entries (format version 2); the DELETE entry records a file of version 1.
func goldenManifestV2() *Manifest {
	m := goldenManifest()
	m.Entries[0].File.Checksum = "crc32c:0a1b2c3d"
	m.Entries[1].File.Checksum = "crc32c:ffffffff"
	return m
}

// goldenCase is one persisted object kind for table-driven codec tests.
type goldenCase struct {
	kind   string
	file   string
	encode func() ([]byte, error)
	decode func([]byte) (any, error)
	want   any
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{KindSnapshot, "snapshot-v1", func() ([]byte, error) { return EncodeSnapshot(goldenSnapshot()) },
			func(b []byte) (any, error) { return DecodeSnapshot(b) }, goldenSnapshot()},
		{KindManifestList, "manifest-list-v1", func() ([]byte, error) { return EncodeManifestList(goldenManifestList()) },
			func(b []byte) (any, error) { return DecodeManifestList(b) }, goldenManifestList()},
		{KindManifest, "manifest-v2", func() ([]byte, error) { return EncodeManifest(goldenManifestV2()) },
			func(b []byte) (any, error) { return DecodeManifest(b) }, goldenManifestV2()},
	}
}

// TestGoldenOldVersions: objects written by older format versions still
// decode (to what they held then). Their golden files are never rewritten.
func TestGoldenOldVersions(t *testing.T) {
	for _, tc := range []struct {
		file   string
		decode func([]byte) (any, error)
		want   any
	}{
		{"manifest-v1", func(b []byte) (any, error) { return DecodeManifest(b) }, goldenManifest()},
	} {
		golden, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := tc.decode(golden)
		if err != nil {
			t.Fatalf("decode %s: %v", tc.file, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("decoded %s:\n got %+v\nwant %+v", tc.file, got, tc.want)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.kind, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			enc, err := tc.encode()
			if err != nil {
				t.Fatal(err)
			}
			if *rewrite {
				if err := os.WriteFile(path, enc, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -rewrite to create)", err)
			}
			if !bytes.Equal(enc, golden) {
				t.Errorf("encoding of %s changed: this breaks old tables unless the format version is bumped (then keep the old golden file in TestGoldenOldVersions)\n got: %s\nwant: %s", tc.file, enc, golden)
			}
			got, err := tc.decode(golden)
			if err != nil {
				t.Fatalf("decode golden %s: %v", path, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded golden %s:\n got %+v\nwant %+v", path, got, tc.want)
			}
		})
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, tc := range goldenCases() {
		enc, err := tc.encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := tc.decode(enc)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v", tc.kind, got, tc.want)
		}
	}
	// Schema files use the same envelope (written by catalog).
	sch := types.Schema{ID: 3, Fields: []types.Field{{ID: 1, Name: "k", Type: types.DataType{Kind: types.BigInt}, NotNull: true}},
		PrimaryKeys: []string{"k"}, HighestFieldID: 1}
	enc, err := EncodeObject(KindSchema, &sch)
	if err != nil {
		t.Fatal(err)
	}
	var back types.Schema
	if err := DecodeObject(KindSchema, enc, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sch) {
		t.Errorf("schema round trip: got %+v want %+v", back, sch)
	}
	// Empty objects.
	for _, v := range []any{&ManifestList{}, &Manifest{}} {
		kind := KindManifest
		if _, ok := v.(*ManifestList); ok {
			kind = KindManifestList
		}
		enc, err := EncodeObject(kind, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := DecodeObject(kind, enc, v); err != nil {
			t.Errorf("empty %s: %v", kind, err)
		}
	}
}

// checkCorrupt asserts err reports damage to an object of the given kind.
func checkCorrupt(t *testing.T, what, kind string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: decoded without error", what)
	}
	if !errors.Is(err, types.ErrCorruption) && !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("%s: error %q wraps neither ErrCorruption nor ErrInvalid", what, err)
	}
	if !strings.Contains(err.Error(), kind) {
		t.Fatalf("%s: error %q does not name the object kind %q", what, err, kind)
	}
}

func TestCodecTruncation(t *testing.T) {
	for _, tc := range goldenCases() {
		enc, err := tc.encode()
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(enc); n++ {
			got, err := tc.decode(enc[:n])
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("%s truncated to %d of %d bytes: got %v, %v; want ErrCorruption", tc.kind, n, len(enc), got, err)
			}
			checkCorrupt(t, tc.kind+" truncated", tc.kind, err)
		}
		checkCorrupt(t, tc.kind+" with trailing garbage", tc.kind, decodeErr(tc, append(enc[:len(enc):len(enc)], 'x')))
	}
}

func decodeErr(tc goldenCase, b []byte) error {
	_, err := tc.decode(b)
	return err
}

func TestCodecBitFlips(t *testing.T) {
	for _, tc := range goldenCases() {
		enc, err := tc.encode()
		if err != nil {
			t.Fatal(err)
		}
		for i := range enc {
			for bit := 0; bit < 8; bit++ {
				b := bytes.Clone(enc)
				b[i] ^= 1 << bit
				checkCorrupt(t, tc.kind+" with a flipped bit", tc.kind, decodeErr(tc, b))
			}
		}
	}
}

func TestCodecWrongKindAndVersion(t *testing.T) {
	snap, err := EncodeSnapshot(goldenSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeManifest(snap)
	if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), `is a "snapshot", expected a "manifest"`) {
		t.Errorf("wrong kind: %v", err)
	}

	body := []byte(`{"version":2,"id":1,"manifestList":"m"}`)
	newer := append(header(KindSnapshot, 2, crc(body), len(body)), append(body, '\n')...)
	_, err = DecodeSnapshot(newer)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "format version 2 is newer") {
		t.Errorf("newer version: %v", err)
	}

	bad := []byte(`{"version":1,"id":0,"manifestList":"m"}`)
	_, err = DecodeSnapshot(append(header(KindSnapshot, 1, crc(bad), len(bad)), append(bad, '\n')...))
	checkCorrupt(t, "snapshot id 0", KindSnapshot, err)

	notJSON := []byte(`{"version":1,`)
	_, err = DecodeSnapshot(append(header(KindSnapshot, 1, crc(notJSON), len(notJSON)), append(notJSON, '\n')...))
	checkCorrupt(t, "bad json", KindSnapshot, err)

	for _, sum := range []string{"crc32c:0A1B2C3D", "crc32c:0a1b2c3", "md5:0a1b2c3d", "crc32c:0a1b2c3d0"} {
		badSum := []byte(`{"entries":[{"kind":0,"file":{"path":"x","checksum":"` + sum + `"}}]}`)
		_, err = DecodeManifest(append(header(KindManifest, 2, crc(badSum), len(badSum)), append(badSum, '\n')...))
		checkCorrupt(t, "bad checksum "+sum, KindManifest, err)
	}
	body3 := []byte(`{"entries":[]}`)
	_, err = DecodeManifest(append(header(KindManifest, 3, crc(body3), len(body3)), append(body3, '\n')...))
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "format version 3 is newer") {
		t.Errorf("newer manifest version: %v", err)
	}

	escape := []byte(`{"entries":[{"kind":0,"file":{"path":"../x"}}]}`)
	_, err = DecodeManifest(append(header(KindManifest, 1, crc(escape), len(escape)), append(escape, '\n')...))
	checkCorrupt(t, "path escaping the root", KindManifest, err)

	if _, err := EncodeObject("Bad Kind", 1); !errors.Is(err, types.ErrInvalid) {
		t.Errorf("bad kind: %v", err)
	}
}

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
