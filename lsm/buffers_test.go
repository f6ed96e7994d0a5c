package lsm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// TestLentBuffersWriteSameBytes: files written into buffers lent by
// Buffers, which earlier files filled (and which this test scribbles over
// before lending them again), are byte for byte the files written into
// new buffers, over random record sets, schemas, codecs, file and row
// group sizes.
func TestLentBuffersWriteSameBytes(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 53))
	ctx := context.Background()
	bufs := NewBuffers(64 << 20)
	lent := 0
	for it := range 40 {
		s, pieces, opts := randWriteCase(t, rng, allTypesSchema())
		want, err := WritePieces(ctx, pieces, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		pooled := opts
		pooled.Buffers = bufs
		lent += len(bufs.free)
		got, err := WritePieces(ctx, pieces, s, pooled)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d it %d: %d files into lent buffers, %d into new ones", seed, it, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("seed %d it %d file %d of %d (%s): %d bytes written into a lent buffer differ from %d written into a new one",
					seed, it, i, len(want), opts.Compression, len(got[i].Data), len(want[i].Data))
			}
		}
		for i := range got {
			d := got[i].Data[:cap(got[i].Data)]
			for j := range d {
				d[j] = byte(rng.IntN(256)) // what the next file must not keep
			}
			bufs.Release(got[i].Data)
		}
	}
	if lent == 0 {
		t.Fatalf("seed %d: no write took a lent buffer", seed)
	}
}

// TestBuffersBound: Buffers keeps at most its limit of capacity, lends
// each kept buffer once, empty, and a nil *Buffers keeps nothing.
func TestBuffersBound(t *testing.T) {
	b := NewBuffers(100)
	b.Release(make([]byte, 10, 60))
	b.Release(make([]byte, 5, 50)) // 110 > 100: dropped
	b.Release(make([]byte, 0, 40))
	b.Release(nil)
	if b.bytes != 100 || len(b.free) != 2 {
		t.Fatalf("kept %d buffers of %d bytes, want 2 of 100", len(b.free), b.bytes)
	}
	for _, want := range []int{40, 60} {
		got := b.get()
		if len(got) != 0 || cap(got) != want {
			t.Fatalf("lent len %d cap %d, want 0 and %d", len(got), cap(got), want)
		}
	}
	if got := b.get(); got != nil || b.bytes != 0 {
		t.Fatalf("an empty pool lent cap %d (%d bytes kept)", cap(got), b.bytes)
	}
	var none *Buffers
	none.Release(make([]byte, 8))
	if none.get() != nil {
		t.Fatal("a nil pool lent a buffer")
	}
}
