package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// A Scratch is reused from row group to row group and file to file: the
// batches decoded with it must equal those decoded with buffers of their
// own, and must stay equal after the Scratch decodes more (no batch points
// into it).

// batchesEqual reports how two decodings of a row group differ, or "".
func batchesEqual(a, b *Batch) string {
	if a.Len() != b.Len() {
		return fmt.Sprintf("%d rows, want %d", a.Len(), b.Len())
	}
	ka, sa, ra := a.Hidden()
	kb, sb, rb := b.Hidden()
	if !array.Equal(ka, kb) || !array.Equal(sa, sb) || !array.Equal(ra, rb) {
		return "hidden columns differ"
	}
	for c := range a.cols {
		x, y := a.Column(c), b.Column(c)
		if (x == nil) != (y == nil) || x != nil && !array.Equal(x, y) {
			return fmt.Sprintf("column %d differs", c)
		}
	}
	return ""
}

// decodeAll decodes every row group of data with scratch (nil: none);
// it stops at the first error.
func decodeAll(data []byte, s *types.Schema, scratch *Scratch) ([]*Batch, error) {
	ctx := context.Background()
	fr, err := OpenFile(ctx, NewBytesReader(data), int64(len(data)), s, 0)
	if err != nil {
		return nil, err
	}
	var out []*Batch
	for i := range fr.NumRowGroups() {
		b, err := fr.DecodeBatchWith(ctx, i, ReadOptions{}, scratch)
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, nil
}

func TestDecodeBatchScratchReuse(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 48))
			var scratch Scratch
			var kept [][]*Batch
			var files [][]byte
			for f := range 4 {
				data, _, s := smallFile(t, rng.Uint64())
				got, err := decodeAll(data, s, &scratch)
				if err != nil {
					t.Fatalf("file %d: %v", f, err)
				}
				kept = append(kept, got)
				files = append(files, data)
			}
			// After the Scratch decoded every file, each batch still
			// equals a decoding without it.
			for f, data := range files {
				want, err := decodeAll(data, allTypesSchema(), nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if d := batchesEqual(kept[f][i], want[i]); d != "" {
						t.Fatalf("file %d row group %d decoded with a reused Scratch: %s", f, i, d)
					}
				}
			}
		})
	}
}

// FuzzDecodeBatchScratch decodes every row group of a (damaged) file with
// a Scratch that decoded another file before, and without one: the same
// outcome, an error wrapping ErrCorruption on damage, equal batches.
func FuzzDecodeBatchScratch(f *testing.F) {
	data, _, s := smallFile(f, 4)
	other, _, _ := smallFile(f, 9)
	f.Add(data)
	f.Add(craftHugeLevelRun(f, data, 0, numHidden+7))
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		var scratch Scratch
		if _, err := decodeAll(other, s, &scratch); err != nil {
			t.Fatal(err)
		}
		orig := bytes.Clone(b)
		got, err := decodeAll(b, s, &scratch)
		want, wantErr := decodeAll(orig, s, nil)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("with a Scratch: %v; without: %v", err, wantErr)
		}
		if err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error without ErrCorruption: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d row groups decoded with a Scratch, %d without", len(got), len(want))
		}
		for i := range got {
			if d := batchesEqual(got[i], want[i]); d != "" {
				t.Fatalf("row group %d: %s", i, d)
			}
		}
	})
}
