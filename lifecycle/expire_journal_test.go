package lifecycle

import (
	"errors"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func TestExpireJournalCodec(t *testing.T) {
	j := &expireJournal{Version: 1, ID: "abc", CreatedMillis: 5, Snapshots: []int64{1, 2},
		Objects: []objRef{{Path: "manifest/manifest-x"}, {Tier: table.TierCold, Path: "data/bucket-0/data-y.parquet", Size: 9}}}
	b, err := encodeExpireJournal(j)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeExpireJournal(b)
	if err != nil || len(got.Objects) != 2 || got.Objects[1].Tier != table.TierCold || got.Snapshots[1] != 2 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	b[len(b)-3] ^= 1
	if _, err := decodeExpireJournal(b); !errors.Is(err, types.ErrCorruption) {
		t.Fatalf("flipped bit: %v", err)
	}
	// A journal may never name what collectors must not delete.
	for _, p := range []string{"snapshot/snapshot-1", "tag/tag-x", "lease/lease-1", "schema/schema-0", "gc/expire-x", "data/../snapshot/snapshot-1", "/data/x", ""} {
		bad := &expireJournal{Version: 1, ID: "x", Objects: []objRef{{Path: p}}}
		if _, err := encodeExpireJournal(bad); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("journal naming %q encoded: %v", p, err)
		}
		raw, _ := manifest.EncodeObject(kindExpireJournal, bad)
		if _, err := decodeExpireJournal(raw); !errors.Is(err, types.ErrCorruption) {
			t.Errorf("journal naming %q decoded: %v", p, err)
		}
	}
	if _, err := encodeExpireJournal(&expireJournal{Version: 1, ID: "x", Snapshots: []int64{3, 2}}); err == nil {
		t.Error("descending snapshot ids accepted")
	}
}

// maxFuzzInput caps the inputs of this package's fuzz targets.
const maxFuzzInput = 64 << 10

func FuzzDecodeExpireJournal(f *testing.F) {
	good, _ := encodeExpireJournal(&expireJournal{Version: 1, ID: "a", Snapshots: []int64{1}, Objects: []objRef{{Path: "data/x"}}})
	f.Add(good)
	f.Add([]byte("silt expire-journal v1 crc32c=00000000 len=2\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		j, err := decodeExpireJournal(data)
		if err != nil {
			return
		}
		if _, err := encodeExpireJournal(j); err != nil {
			t.Fatalf("decoded journal does not re-encode: %v", err)
		}
	})
}
