package table

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

func codecSample() lsm.Record {
	return lsm.Record{
		Key: []byte{3, 0x80, 0, 0, 0, 0, 0, 0, 1}, Seq: -7 << 40, Kind: types.UpdateBefore, Merged: true, Reset: true,
		Row: types.Row{nil, true, false, int32(-5), int64(1 << 62), float32(1.5), -2.25, types.Decimal(-12345),
			"héllo\x00", []byte{0, 1, 2}, []byte{}, types.Date(-3), types.Timestamp(1_700_000_000_000_000),
			types.Decimal128(decimal128.New(-3, 12345)), types.TimeOfDay(86_399_999_999), types.TimestampLTZ(-1),
			types.UUID{0: 0xfa, 15: 7}, types.List{int32(1), nil, types.List{}}, types.Map{{Key: "k", Value: types.Struct{nil, 2.5}}},
			types.Struct{types.Map{}, []byte{9}}},
	}
}

func TestLookupIndexRecordRoundTrip(t *testing.T) {
	r := codecSample()
	b, err := encodeRecord(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(r.Key, b, len(r.Row))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Key, r.Key) || got.Seq != r.Seq || got.Kind != r.Kind || got.Merged != r.Merged || got.Reset != r.Reset || !rowsEqual(got.Row, r.Row) {
		t.Fatalf("round trip: got %+v want %+v", got, r)
	}
	for i, v := range got.Row { // Go types, not just equal values
		if v != nil && r.Row[i] != nil && typeName(v) != typeName(r.Row[i]) {
			t.Fatalf("column %d: %T, want %T", i, v, r.Row[i])
		}
	}
	// Wrong column count, truncation, trailing bytes and another version
	// are corruption.
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)-1],
		"trailing":  append(append([]byte(nil), b...), 0),
		"version":   append([]byte{2}, b[1:]...),
		"kind":      append([]byte{1, 9}, b[2:]...),
	} {
		if _, err := decodeRecord(r.Key, bad, len(r.Row)); !errors.Is(err, types.ErrCorruption) {
			t.Errorf("%s: %v, want corruption", name, err)
		}
	}
	if _, err := decodeRecord(r.Key, b, len(r.Row)+1); !errors.Is(err, types.ErrCorruption) {
		t.Errorf("column count: %v", err)
	}
	if _, err := encodeRecord(nil, &lsm.Record{Row: types.Row{struct{}{}}}); !errors.Is(err, types.ErrInvalid) {
		t.Errorf("unsupported value: %v", err)
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func TestLookupIndexMeta(t *testing.T) {
	s := &manifest.Snapshot{Version: manifest.FormatVersion, ID: 42, ManifestList: "manifest/manifest-list-x", CommitKind: manifest.CommitAppend, CommitUser: "u", CommitIdentifier: "i"}
	b, err := encodeMeta("fp", 3, s)
	if err != nil {
		t.Fatal(err)
	}
	m, got, err := decodeMeta(b)
	if err != nil || m.Schema != "fp" || m.SchemaID != 3 || got.ID != 42 || got.ManifestList != s.ManifestList {
		t.Fatalf("meta round trip: %+v %+v %v", m, got, err)
	}
	for _, bad := range [][]byte{nil, []byte("{"), []byte(`{"version":2}`), b[:len(b)/2]} {
		if _, _, err := decodeMeta(bad); !errors.Is(err, types.ErrCorruption) {
			t.Errorf("decodeMeta(%q): %v, want corruption", bad, err)
		}
	}
}

func TestLookupIndexKeys(t *testing.T) {
	// Keys of one bucket share its prefix and sort by primary key; no key
	// of another (partition, bucket) falls in the prefix range.
	a := recordKey(nil, "p=1", 2, []byte{3, 1})
	b := recordKey(nil, "p=1", 2, []byte{3, 2})
	p := bucketPrefix(nil, "p=1", 2)
	end := prefixEnd(p)
	if bytes.Compare(a, b) >= 0 || !bytes.HasPrefix(a, p) || bytes.Compare(b, end) >= 0 {
		t.Fatal("bucket keys out of order or range")
	}
	for _, other := range [][]byte{recordKey(nil, "p=1", 3, nil), recordKey(nil, "p=10", 2, nil), recordKey(nil, "p=", 2, []byte{1}), metaKey} {
		if bytes.Compare(other, p) >= 0 && bytes.Compare(other, end) < 0 {
			t.Fatalf("key %q falls in the range of bucket prefix %q", other, p)
		}
	}
	if prefixEnd([]byte{0xff, 0xff}) != nil || !bytes.Equal(prefixEnd([]byte{1, 0xff}), []byte{2}) {
		t.Fatal("prefixEnd")
	}
}

// FuzzLookupIndexRecord: decoding arbitrary bytes never panics; whatever
// decodes re-encodes to bytes that decode to the same record.
func FuzzLookupIndexRecord(f *testing.F) {
	r := codecSample()
	b, _ := encodeRecord(nil, &r)
	f.Add(b)
	f.Add([]byte{1, 1, 0, 0, 0})
	f.Add([]byte{1, 1, 2, 2, 1, 8, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		rec, err := decodeRecord([]byte{1}, data, -1)
		if err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error %v is not corruption", err)
			}
			return
		}
		again, err := encodeRecord(nil, &rec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeRecord([]byte{1}, again, len(rec.Row))
		if err != nil {
			t.Fatal(err)
		}
		if back.Seq != rec.Seq || back.Kind != rec.Kind || back.Reset != rec.Reset || back.Merged != rec.Merged || !rowsEqual(back.Row, rec.Row) {
			t.Fatalf("re-encoding changed the record: %+v, was %+v", back, rec)
		}
	})
}

// FuzzLookupIndexMeta: decoding arbitrary meta never panics.
func FuzzLookupIndexMeta(f *testing.F) {
	b, _ := encodeMeta("fp", 1, &manifest.Snapshot{Version: 1, ID: 1, ManifestList: "manifest/manifest-list-a", CommitKind: manifest.CommitAppend})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		if _, _, err := decodeMeta(data); err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error %v is not corruption", err)
		}
	})
}
