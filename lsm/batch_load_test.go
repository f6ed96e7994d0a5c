package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/types"
)

// A file opened over a BytesReader decodes its row groups in place: the
// same damage must be caught as through a copying reader (readOutcome
// runs the row and the batch decoder), and decoding must leave the
// file's bytes as they were.

func TestInPlaceBitFlips(t *testing.T) {
	data, recs, s := smallFile(t, 2)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 13))
	phase := rng.IntN(4)
	t.Logf("row-group phase %d", phase)
	for i := 4; i < len(data); i++ {
		if i%4 != phase {
			continue
		}
		d := bytes.Clone(data)
		d[i] ^= 1 << rng.IntN(8)
		err := readOutcome(t, NewBytesReader(d), int64(len(d)), s, recs, fmt.Sprintf("flip at %d", i))
		if !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("flip at %d: want ErrCorruption, got %v", i, err)
		}
	}
}

func TestInPlaceTruncated(t *testing.T) {
	data, recs, s := smallFile(t, 1)
	for cut := 0; cut < len(data); cut += 3 {
		err := readOutcome(t, NewBytesReader(data[:cut]), int64(cut), s, recs, fmt.Sprintf("truncated to %d", cut))
		if !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("truncated to %d of %d: want ErrCorruption, got %v", cut, len(data), err)
		}
		// The manifest's size is the full one, the object is short.
		err = readOutcome(t, NewBytesReader(data[:cut]), int64(len(data)), s, recs, fmt.Sprintf("short object of %d", cut))
		if !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("short object of %d of %d: want ErrCorruption, got %v", cut, len(data), err)
		}
	}
}

func TestInPlaceLeavesBytes(t *testing.T) {
	data, recs, s := smallFile(t, 5)
	orig := bytes.Clone(data)
	if err := readOutcome(t, NewBytesReader(data), int64(len(data)), s, recs, "intact"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, orig) {
		t.Fatal("decoding in place wrote into the file's bytes")
	}
}

// FuzzDecodeBatchInPlace decodes every row group of a file opened over a
// BytesReader: damage is an error wrapping ErrCorruption, never a panic,
// and the input is never written to.
func FuzzDecodeBatchInPlace(f *testing.F) {
	data, _, s := smallFile(f, 4)
	f.Add(data)
	f.Add(craftHugeLevelRun(f, data, 0, numHidden+7))
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		orig := bytes.Clone(b)
		ctx := context.Background()
		fr, err := OpenFile(ctx, NewBytesReader(b), int64(len(b)), s, 0)
		if err == nil {
			for i := range fr.NumRowGroups() {
				if _, err = fr.DecodeBatch(ctx, i, ReadOptions{}); err != nil {
					break
				}
			}
		}
		if err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error without ErrCorruption: %v", err)
		}
		if !bytes.Equal(b, orig) {
			t.Fatal("decoding in place wrote into the input")
		}
	})
}
