package lsm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// TestReusedWriterWritesSameBytes: files written with parquet writers
// reused across files and writes (writer_pool.go) are byte for byte those
// of new writers, for writes of several schemas interleaved (flat, nested,
// the flat one with other field ids), several files and row groups per
// write, copied row groups, every codec and random page sizes.
func TestReusedWriterWritesSameBytes(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 49))
	ctx := context.Background()
	flat := allTypesSchema()
	renumbered := allTypesSchema()
	for i := range renumbered.Fields {
		renumbered.Fields[i].ID += 100
	}
	renumbered.HighestFieldID += 100
	multi := 0
	for it := range 40 {
		s := flat
		var pieces []Piece
		switch rng.IntN(4) {
		case 0:
			pieces = []Piece{{Records: randRecords(rng, s, 1+rng.IntN(2000))}}
		case 1:
			s = renumbered
			pieces = []Piece{{Records: randRecords(rng, s, 1+rng.IntN(2000))}}
		case 2:
			s = nestedSchema(rng)
			pieces = []Piece{{Records: nestedRecords(rng, s, 1+rng.IntN(500))}}
		case 3:
			pieces = makeCopyCase(t, rng, s, rng.IntN(2) == 0).pieces
		}
		opts := WriterOptions{Compression: Compression{Codec: Codec(rng.IntN(4))}}
		if rng.IntN(2) == 0 {
			opts.TargetFileSize = int64(1 + rng.IntN(64<<10))
		}
		if rng.IntN(2) == 0 {
			opts.RowGroupRows = 1 + rng.IntN(700)
		}
		if rng.IntN(3) == 0 {
			opts.PageBytes = 512 + rng.IntN(8192)
		}
		got, err := WritePieces(ctx, pieces, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		fresh := opts
		fresh.newWriters = true
		want, err := WritePieces(ctx, pieces, s, fresh)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d it %d: %d files, with new writers %d", seed, it, len(got), len(want))
		}
		if len(got) > 1 {
			multi++
		}
		for i := range want {
			if !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("seed %d it %d file %d of %d (schema %d, %s): a reused writer wrote %d bytes that differ from a new writer's %d",
					seed, it, i, len(want), s.ID, opts.Compression, len(got[i].Data), len(want[i].Data))
			}
		}
	}
	if multi == 0 {
		t.Fatalf("seed %d: no write had several files", seed)
	}
}
