package lsm

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/delta"
)

// deltaPage encodes values as a DELTA_BYTE_ARRAY page body with
// parquet-go's encoder.
func deltaPage(t testing.TB, values [][]byte) []byte {
	t.Helper()
	var data []byte
	offs := []uint32{0}
	for _, v := range values {
		data = append(data, v...)
		offs = append(offs, uint32(len(data)))
	}
	page, err := (&delta.ByteArrayEncoding{}).EncodeByteArray(nil, data, offs)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// randKeys returns n sorted values sharing prefixes as keys do, some empty.
func randKeys(rng *rand.Rand, n int) [][]byte {
	out := make([][]byte, n)
	var prev []byte
	for i := range out {
		v := append([]byte{}, prev[:rng.IntN(len(prev)+1)]...)
		for range rng.IntN(12) {
			v = append(v, byte(rng.IntN(256)))
		}
		if rng.IntN(20) == 0 {
			v = nil
		}
		out[i], prev = v, v
	}
	return out
}

// TestAppendDeltaByteArrayMatchesParquet: pages decoded in one pass give
// the values parquet-go's encoder was given, across several pages of one
// column, and each damaged length is refused.
func TestAppendDeltaByteArrayMatchesParquet(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 31))
	for round := range 50 {
		var c colVals
		var all [][]byte
		pages := 1 + rng.IntN(4)
		per := make([]int, pages)
		rows := 0
		for p := range per {
			per[p] = 1 + rng.IntN(700)
			rows += per[p]
		}
		c.init(parquet.ByteArray, rows)
		for _, n := range per {
			vals := randKeys(rng, n)
			all = append(all, vals...)
			if err := c.appendDeltaByteArray(deltaPage(t, vals), n, rows, 1<<20); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if c.rows != rows || len(c.offs) != rows+1 {
			t.Fatalf("round %d: %d rows, %d offsets, want %d", round, c.rows, len(c.offs), rows)
		}
		for r, want := range all {
			if got := c.data[c.offs[r]:c.offs[r+1]]; !bytes.Equal(got, want) {
				t.Fatalf("round %d row %d: %q, want %q", round, r, got, want)
			}
		}
		// More values than the row group has rows, or fewer than the page
		// header says, are refused.
		page := deltaPage(t, all[:per[0]])
		var d colVals
		d.init(parquet.ByteArray, per[0]-1)
		if err := d.appendDeltaByteArray(page, per[0], per[0]-1, 1<<20); err == nil {
			t.Fatalf("round %d: %d values accepted for %d rows", round, per[0], per[0]-1)
		}
		d.init(parquet.ByteArray, per[0]+1)
		if err := d.appendDeltaByteArray(page, per[0]+1, per[0]+1, 1<<20); err == nil {
			t.Fatalf("round %d: a page of %d values accepted as %d", round, per[0], per[0]+1)
		}
	}
}

// FuzzAppendDeltaByteArray: on any page body, the one-pass decoder
// succeeds exactly when the page check accepts the page and parquet-go
// decodes it to n values, and then yields parquet-go's values.
func FuzzAppendDeltaByteArray(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 3, 40, 200} {
		f.Add(deltaPage(f, randKeys(rng, n)), uint16(n))
	}
	f.Add([]byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, src []byte, n16 uint16) {
		n := int(n16)
		if n == 0 || len(src) > maxFuzzInput {
			return
		}
		var c colVals
		c.init(parquet.ByteArray, n)
		err := c.appendDeltaByteArray(src, n, n, 0)
		checkErr := checkDeltaByteArray(src, n, deltaByteArrayLimit(0))
		var vals []byte
		var offs []uint32
		var perr error
		if checkErr == nil {
			vals, offs, perr = (&delta.ByteArrayEncoding{}).DecodeByteArray(nil, src, nil)
		}
		refOK := checkErr == nil && perr == nil && len(offs) == n+1
		if refOK && err != nil {
			// The one-pass decoder also refuses bytes after the suffixes.
			_, rest, _ := deltaInts(src, n)
			suffix, rest, _ := deltaInts(rest, n)
			sum := 0
			for _, s := range suffix {
				sum += int(s)
			}
			refOK = sum == len(rest)
		}
		if (err == nil) != refOK {
			t.Fatalf("one pass: %v; check: %v, parquet-go: %v with %d offsets for %d values", err, checkErr, perr, len(offs), n)
		}
		if err != nil {
			return
		}
		for r := range n {
			got, want := c.data[c.offs[r]:c.offs[r+1]], vals[offs[r]:offs[r+1]]
			if !bytes.Equal(got, want) {
				t.Fatalf("value %d: %q, parquet-go %q", r, got, want)
			}
		}
	})
}
