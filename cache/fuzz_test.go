package cache

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/siltdb/silt/types"
)

// maxFuzzInput caps the inputs of this package's fuzz targets (see the
// fuzzing rule: every target caps its input, every decoder bounds its
// work by the sizes its input declares).
const maxFuzzInput = 64 << 10

// FuzzDecodeEntry: any bytes decode to an entry or an ErrCorruption error,
// never a panic; a decoded entry encodes to bytes that decode to itself.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(entry{kind: kindBlock, access: 7, fileNum: 3, length: 100_000, crcs: []uint32{0xdeadbeef, 7}}))
	f.Add(encodeEntry(entry{kind: kindBlock, access: 7, fileNum: 3, length: 5, crcs: []uint32{1}}))
	f.Add(encodeEntry(entry{kind: kindMeta, access: 1, size: 12345, modified: 1_700_000_000_000_000_000, etag: "0123456789abcdef"}))
	f.Add(encodeEntry(entry{kind: kindMeta}))
	f.Add([]byte{entryVersion, kindBlock, 0x80})
	f.Add([]byte{2, kindMeta, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		e, err := decodeEntry(b)
		if err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error %v does not wrap ErrCorruption", err)
			}
			return
		}
		if e.kind == kindBlock && (e.fileNum == 0 || e.length < 0 || e.length > maxBlockLen) {
			t.Fatalf("accepted a bad block entry %+v", e)
		}
		if e.kind == kindMeta && e.size < 0 {
			t.Fatalf("accepted a negative size %+v", e)
		}
		if e.kind == kindBlock && int64(len(e.crcs)) != numChunks(e.length) {
			t.Fatalf("accepted %d checksums for %d bytes", len(e.crcs), e.length)
		}
		again, err := decodeEntry(encodeEntry(e))
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip: %+v → %+v, %v", e, again, err)
		}
	})
}

// FuzzDecodeKey: the same for index keys; every record of an object
// shares the object's prefix.
func FuzzDecodeKey(f *testing.F) {
	f.Add(encodeKey(itemID{tier: "hot", key: "db/t/data/data-1.parquet", kind: kindBlock, block: 42}))
	f.Add(encodeKey(itemID{tier: "cold", key: "a", kind: kindMeta}))
	f.Add(encodeKey(itemID{kind: kindMeta}))
	f.Add(configKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		id, err := decodeKey(b)
		if err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error %v does not wrap ErrCorruption", err)
			}
			return
		}
		if id.block < 0 {
			t.Fatalf("negative block %+v", id)
		}
		again, err := decodeKey(encodeKey(id))
		if err != nil || again != id {
			t.Fatalf("round trip: %+v → %+v, %v", id, again, err)
		}
		if !bytes.HasPrefix(encodeKey(id), objectPrefix(id.tier, id.key)) {
			t.Fatalf("key of %+v does not start with its object's prefix", id)
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add(encodeConfig(DefaultBlockSize))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		bs, err := decodeConfig(b)
		if err != nil {
			return
		}
		if bs <= 0 || bs > maxBlockLen {
			t.Fatalf("accepted block size %d", bs)
		}
		if again, err := decodeConfig(encodeConfig(bs)); err != nil || again != bs {
			t.Fatalf("round trip %d → %d, %v", bs, again, err)
		}
	})
}
