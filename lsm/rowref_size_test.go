package lsm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/internal/testkit"
)

// slowApproxBytes is RowRef.approxBytes computed column by column for
// every row, without the batch's shared part.
func slowApproxBytes(ref *RowRef, key []byte) int64 {
	b := ref.B
	n := int64(96 + len(key) + 16*len(b.cols))
	for c := range b.cols {
		a := b.cols[c].arr
		if a == nil || a.IsNull(ref.R) {
			continue
		}
		switch x := a.(type) {
		case *array.String:
			n += int64(x.ValueLen(ref.R)) + 16
		case *array.Binary:
			n += int64(x.ValueLen(ref.R)) + 24
		default:
			n += 8
		}
	}
	return n
}

// TestRowRefApproxBytes: the batch-shared computation gives every row of
// random batches (every column type, NULLs, projections) the bytes the
// per-column one does.
func TestRowRefApproxBytes(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 48))
			data, _, s := smallFile(t, rng.Uint64())
			ctx := context.Background()
			fr, err := OpenFile(ctx, NewBytesReader(data), int64(len(data)), s, 0)
			if err != nil {
				t.Fatal(err)
			}
			for g := range fr.NumRowGroups() {
				opts := ReadOptions{}
				if rng.IntN(2) == 0 {
					for c := range s.Fields {
						if rng.IntN(2) == 0 {
							opts.Columns = append(opts.Columns, c)
						}
					}
				}
				b, err := fr.DecodeBatch(ctx, g, opts)
				if err != nil {
					t.Fatal(err)
				}
				for r := range b.Len() {
					rec := b.RefRecord(r)
					ref := RefOf(&rec)
					if got, want := rec.ApproxBytes(), slowApproxBytes(ref, rec.Key); got != want {
						t.Fatalf("row group %d row %d (columns %v): %d bytes, want %d", g, r, opts.Columns, got, want)
					}
				}
			}
		})
	}
}
