package lsm

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// TestCheckIdentity: a file passes the identity check of the manifest
// entry written for it (with or without a recorded checksum, as manifests
// of format version 1 have none) and fails, naming the file and what
// differs, against the entry of another file, even one with the same row
// count and key range.
func TestCheckIdentity(t *testing.T) {
	ctx := context.Background()
	seed := testSeed(t)
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(seed, 3))
	recs := randRecords(rng, s, 60)
	encode := func(recs []Record) EncodedFile {
		files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 20})
		if err != nil || len(files) != 1 {
			t.Fatalf("write: %d files, %v", len(files), err)
		}
		return files[0]
	}
	a := encode(recs)
	// b: same keys and row count, other sequence numbers.
	other := make([]Record, len(recs))
	for i, r := range recs {
		r.Seq++
		other[i] = r
	}
	b := encode(other)
	entry := func(f EncodedFile) manifest.DataFile {
		sum, err := f.Checksum()
		if err != nil {
			t.Fatal(err)
		}
		if manifest.ValidChecksum(sum) != nil {
			t.Fatalf("checksum %q is not valid for a manifest", sum)
		}
		return manifest.DataFile{Path: "data/x.parquet", RowCount: f.RowCount, MinKey: f.MinKey, MaxKey: f.MaxKey, Size: int64(len(f.Data)), Checksum: sum}
	}
	ea, eb := entry(a), entry(b)
	if ea.Checksum == eb.Checksum {
		t.Fatalf("seed %d: two files with other values have the same checksum %s", seed, ea.Checksum)
	}
	fr, err := OpenFile(ctx, bytes.NewReader(a.Data), int64(len(a.Data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fr.Checksum(); err != nil || got != ea.Checksum {
		t.Fatalf("opened file's checksum %q, %v; written %q", got, err, ea.Checksum)
	}
	if err := CheckIdentity(fr, ea); err != nil {
		t.Fatalf("the file fails its own entry: %v", err)
	}
	v1 := ea
	v1.Checksum = ""
	if err := CheckIdentity(fr, v1); err != nil {
		t.Fatalf("the file fails its own entry without a checksum (format version 1): %v", err)
	}
	// Its footer reopened (the metadata cache's path) checks the same way.
	fr2, err := OpenFooter(bytes.NewReader(a.Data), fr.Footer(), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckIdentity(fr2, eb); err == nil {
		t.Fatal("a cached footer passed the entry of another file")
	}

	wrongRows, wrongKeys := v1, v1
	wrongRows.RowCount++
	wrongKeys.MaxKey = append(bytes.Clone(wrongKeys.MaxKey), 0)
	for what, e := range map[string]manifest.DataFile{"content checksum": eb, "row count": wrongRows, "key range": wrongKeys} {
		err := CheckIdentity(fr, e)
		if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), what) || !strings.Contains(err.Error(), e.Path) {
			t.Errorf("entry with another %s: %v; want a corruption error naming the file and the %s", what, err, what)
		}
	}
}

// FuzzChecksum: the checksum of arbitrary bytes never panics, and for a
// file that opens it is the checksum the opened file reports.
func FuzzChecksum(f *testing.F) {
	data, _, s := smallFile(f, 5)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("PAR1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ef := EncodedFile{Data: b}
		sum, sumErr := ef.Checksum()
		fr, err := OpenFile(context.Background(), bytes.NewReader(b), int64(len(b)), s, 0)
		if err != nil {
			return
		}
		got, err := fr.Checksum()
		if err != nil || sumErr != nil || got != sum {
			t.Fatalf("opened file's checksum %q (%v), encoded file's %q (%v)", got, err, sum, sumErr)
		}
	})
}
