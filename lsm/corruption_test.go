package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/types"
)

// smallFile writes a small file with several row groups.
func smallFile(t testing.TB, seed uint64) ([]byte, []Record, *types.Schema) {
	t.Helper()
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(seed, 11))
	recs := randRecords(rng, s, 120)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 40})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("want one file, got %d", len(files))
	}
	return files[0].Data, recs, s
}

// readOutcome opens data, reads every record (with the row and the batch
// decoder) and looks up every key of want.
// It returns nil if everything read equals want, the error if one occurred,
// and fails the test on a panic or on silently wrong rows.
func readOutcome(t *testing.T, r io.ReaderAt, size int64, s *types.Schema, want []Record, what string) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: panic: %v", what, p)
		}
	}()
	ctx := context.Background()
	fr, err := OpenFile(ctx, r, size, s, 0)
	if err != nil {
		return err
	}
	// The batch decoder must hold the same line on the same damage; the
	// row decoder's outcome is checked in full either way.
	batchErr := batchOutcome(t, fr, want, what)
	defer func() {
		if err == nil {
			err = batchErr
		}
	}()
	i := 0
	for rec, err := range fr.All(ctx) {
		if err != nil {
			return err
		}
		if i >= len(want) || !recordsEqual(rec, want[i]) {
			t.Fatalf("%s: wrong record %d without an error: %s", what, i, debugRecord(rec))
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("%s: %d records without an error, want %d", what, i, len(want))
	}
	for j := 0; j < len(want); j += 7 {
		got, err := fr.Get(ctx, want[j].Key)
		if err != nil {
			return err
		}
		n := 0
		for _, w := range want {
			if bytes.Equal(w.Key, want[j].Key) {
				if n >= len(got) || !recordsEqual(got[n], w) {
					t.Fatalf("%s: Get(%x) wrong without an error", what, w.Key)
				}
				n++
			}
		}
		if n != len(got) {
			t.Fatalf("%s: Get(%x) returned %d records, want %d", what, want[j].Key, len(got), n)
		}
	}
	return nil
}

// shortReader serves only the first n bytes of data (a torn upload whose
// manifest records the full size).
type shortReader struct {
	data []byte
	n    int64
}

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.n {
		return 0, io.EOF
	}
	m := copy(p, r.data[off:r.n])
	if m < len(p) {
		return m, io.EOF
	}
	return m, nil
}

func TestTruncatedFile(t *testing.T) {
	data, recs, s := smallFile(t, 1)
	size := int64(len(data))
	for cut := int64(0); cut < size; cut++ {
		// The manifest says size, the object holds cut bytes.
		err := readOutcome(t, shortReader{data, cut}, size, s, recs, fmt.Sprintf("short read at %d", cut))
		if !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("cut at %d of %d: want ErrCorruption, got %v", cut, size, err)
		}
		// The object and the recorded size are both truncated.
		err = readOutcome(t, bytes.NewReader(data[:cut]), cut, s, recs, fmt.Sprintf("truncated to %d", cut))
		if !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("truncated to %d of %d: want ErrCorruption, got %v", cut, size, err)
		}
	}
}

// TestBitFlips flips one bit in a byte of a file, for every byte of the
// footer region and every fourth byte of the row groups (a random phase per
// run, so runs cover every byte). Every flip must be reported as corruption
// or leave every read result intact: never a panic, never a wrong row.
func TestBitFlips(t *testing.T) {
	data, recs, s := smallFile(t, 2)
	rng := rand.New(rand.NewPCG(testSeed(t), 12))
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	tailStart := int(fr.groups[len(fr.groups)-1].end)
	phase := rng.IntN(4)
	detected, harmless := 0, 0
	var harmlessAt []int
	for i := range data {
		if i < tailStart && i%4 != phase {
			continue
		}
		d := bytes.Clone(data)
		d[i] ^= 1 << rng.IntN(8)
		err := readOutcome(t, bytes.NewReader(d), int64(len(d)), s, recs, fmt.Sprintf("flip at %d", i))
		switch {
		case err == nil:
			harmless++
			harmlessAt = append(harmlessAt, i)
		case errors.Is(err, types.ErrCorruption):
			detected++
		default:
			t.Fatalf("flip at %d: error without ErrCorruption: %v", i, err)
		}
	}
	t.Logf("%d bytes (tail from %d, row-group phase %d): %d flips detected, %d harmless (at %v)", len(data), tailStart, phase, detected, harmless, harmlessAt)
	// Only the leading magic is not read by silt.
	for _, at := range harmlessAt {
		if at >= 4 {
			t.Errorf("flip at %d went unnoticed", at)
		}
	}
}

// errReader fails every read with a transport error.
type errReader struct{ err error }

func (r errReader) ReadAt([]byte, int64) (int, error) { return 0, r.err }

func TestReadErrorsPassThrough(t *testing.T) {
	data, _, s := smallFile(t, 3)
	boom := errors.New("connection reset")
	_, err := OpenFile(context.Background(), errReader{boom}, int64(len(data)), s, 0)
	if !errors.Is(err, boom) || errors.Is(err, types.ErrCorruption) {
		t.Fatalf("want the transport error, not corruption: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

// maxFuzzInput caps the inputs of this package's fuzz targets: a few
// times the seed files, so every input decodes in bounded time.
const maxFuzzInput = 64 << 10

func FuzzOpenFile(f *testing.F) {
	data, recs, s := smallFile(f, 4)
	f.Add(data)
	f.Add(craftHugeLevelRun(f, data, 0, numHidden+7))
	f.Add(data[:len(data)/2])
	f.Add([]byte("PAR1"))
	f.Add([]byte{})
	f.Add(append([]byte("PAR1\x00\x00\x00\x00"), "\x10\x00\x00\x00PAR1"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		ctx := context.Background()
		fr, err := OpenFile(ctx, bytes.NewReader(b), int64(len(b)), s, 0)
		if err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error without ErrCorruption: %v", err)
			}
			return
		}
		for _, err := range fr.All(ctx) {
			if err != nil {
				break
			}
		}
		fr.MayContain(recs[0].Key)
		_, _ = fr.Get(ctx, recs[0].Key)
	})
}
