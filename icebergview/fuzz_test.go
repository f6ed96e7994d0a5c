package icebergview

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/siltdb/silt/types"
)

// FuzzDecodePointer: any bytes decode to a checked pointer or an error,
// never a panic, and a decoded pointer names a metadata file under
// iceberg/metadata/.
func FuzzDecodePointer(f *testing.F) {
	f.Add([]byte(`{"version":1,"metadata":"iceberg/metadata/00001-a.metadata.json","location":"file:///w/t/iceberg/metadata/00001-a.metadata.json","snapshot":3}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"metadata":"iceberg/metadata/../../x.metadata.json","location":"s3://b/x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePointer(data)
		if err != nil {
			return
		}
		if p.Version != 1 || p.Location == "" || p.Snapshot < 0 || metadataVersion(p.Metadata) < 0 {
			t.Fatalf("accepted %+v", p)
		}
		if b, err := encodePointer(p); err != nil {
			t.Fatal(err)
		} else if q, err := decodePointer(b); err != nil || *q != *p {
			t.Fatalf("round trip %+v -> %+v, %v", p, q, err)
		}
	})
}

// FuzzFileLacksFieldIDs: any bytes give an answer or an error wrapping
// types.ErrCorruption, never a panic; the golden data files seed it.
func FuzzFileLacksFieldIDs(f *testing.F) {
	for _, name := range []string{"format-v1.parquet", "format-v2.parquet"} {
		data, err := os.ReadFile(filepath.Join("..", "lsm", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := fileLacksFieldIDs(bytes.NewReader(data), int64(len(data))); err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error %v does not wrap ErrCorruption", err)
		}
	})
}
