package lsm

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/delta"
)

// TestUnpackBitsMatchesBitwise: unpackBits' one-load path gives what
// reading the value bit by bit gives, for every width, position and a
// packing cut short anywhere (bits past the end read as zero).
func TestUnpackBitsMatchesBitwise(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 21))
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	bitwise := func(data []byte, j, bw int) uint32 {
		var v uint32
		for k := 0; k < bw; k++ {
			b := j*bw + k
			if b/8 < len(data) && data[b/8]>>(b%8)&1 == 1 {
				v |= 1 << k
			}
		}
		return v
	}
	for bw := 0; bw <= 32; bw++ {
		for cut := 0; cut <= len(data); cut += 1 + rng.IntN(9) {
			d := data[:cut]
			for j := 0; j*bw <= 8*cut+bw && j < 300; j++ {
				if got, want := unpackBits(d, j, bw), bitwise(d, j, bw); got != want {
					t.Fatalf("width %d value %d of %d bytes: %#x, want %#x", bw, j, cut, got, want)
				}
			}
		}
	}
}

// FuzzDeltaIntsMatchesParquet: where parquet-go decodes a
// DELTA_BINARY_PACKED block of at most max values, deltaInts decodes the
// same values (the page check and the one-pass string decoder rely on it).
func FuzzDeltaIntsMatchesParquet(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 128, 300, 1000} {
		vals := make([]int32, n)
		for i := range vals {
			vals[i] = int32(rng.Uint32()) >> rng.IntN(32)
		}
		page, err := (&delta.BinaryPackedEncoding{}).EncodeInt32(nil, vals)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(page)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > maxFuzzInput {
			return
		}
		// parquet-go reads a mini-block cut short from the memory past
		// the input (deltaInts: as zero bits); compare only where its
		// result does not depend on what lies there.
		padded := func(fill byte) []byte {
			b := make([]byte, len(src)+256)
			for i := range b {
				b[i] = fill
			}
			return b[:copy(b, src)]
		}
		want, perr := (&delta.BinaryPackedEncoding{}).DecodeInt32(nil, padded(0))
		if perr != nil || len(want) > 1<<20 {
			return
		}
		if again, _ := (&delta.BinaryPackedEncoding{}).DecodeInt32(nil, padded(0xFF)); !slices.Equal(again, want) {
			return
		}
		got, _, err := deltaInts(src, 1<<20)
		if err != nil {
			return // deltaInts also refuses malformed headers parquet-go reads
		}
		if !slices.Equal(got, want) {
			t.Fatalf("deltaInts %v, parquet-go %v", got, want)
		}
	})
}
