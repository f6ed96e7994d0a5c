package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Each fuzz target decodes its input both as a whole object and, so the
// fuzzer reaches the JSON and validation layers past the checksum, as a
// body wrapped in a valid envelope. Decoding must never panic, and any
// success must re-encode to a fixed point: encode(decode(x)) decodes and
// re-encodes to the same bytes.

func fuzzSeeds(f *testing.F, file string) {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		f.Add(b[i+1 : len(b)-1]) // the bare body
	}
	f.Add([]byte{})
	f.Add([]byte("silt snapshot v1 crc32c=00000000 len=0\n\n"))
	f.Add([]byte(`{}`))
}

func wrapBody(kind string, body []byte) []byte {
	return append(header(kind, kindVersion(kind), crc(body), len(body)), append(bytes.Clone(body), '\n')...)
}

func fuzzDecode[T any](t *testing.T, kind string, data []byte, dec func([]byte) (*T, error), enc func(*T) ([]byte, error)) {
	for _, in := range [][]byte{data, wrapBody(kind, data)} {
		v, err := dec(in)
		if err != nil {
			if v != nil {
				t.Fatalf("decode returned a value and error %v", err)
			}
			continue
		}
		e1, err := enc(v)
		if err != nil {
			t.Fatalf("decoded %+v but cannot re-encode it: %v", v, err)
		}
		v2, err := dec(e1)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%s", err, e1)
		}
		e2, err := enc(v2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e1, e2) {
			t.Fatalf("re-encoding is not stable:\n%s\n%s", e1, e2)
		}
	}
}

// maxFuzzInput caps the inputs of this package's fuzz targets (see the
// fuzzing rule: every target caps its input, every decoder bounds its
// work by the sizes its input declares).
const maxFuzzInput = 64 << 10

func FuzzDecodeSnapshot(f *testing.F) {
	fuzzSeeds(f, "snapshot-v1")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		fuzzDecode(t, KindSnapshot, data, DecodeSnapshot, EncodeSnapshot)
	})
}

func FuzzDecodeManifestList(f *testing.F) {
	fuzzSeeds(f, "manifest-list-v1")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		fuzzDecode(t, KindManifestList, data, DecodeManifestList, EncodeManifestList)
	})
}

func FuzzDecodeManifest(f *testing.F) {
	fuzzSeeds(f, "manifest-v1")
	fuzzSeeds(f, "manifest-v2")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		fuzzDecode(t, KindManifest, data, DecodeManifest, EncodeManifest)
	})
}

// FuzzDecodeObject checks the envelope alone: any accepted input carries
// exactly the body it was built from.
func FuzzDecodeObject(f *testing.F) {
	fuzzSeeds(f, "snapshot-v1")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		_, body, err := openEnvelope(KindSnapshot, data)
		if err != nil {
			return
		}
		if !bytes.Equal(wrapBody(KindSnapshot, body), data) {
			t.Fatalf("accepted a non-canonical envelope %q", data)
		}
	})
}
