package lsm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/types"
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
		s, pieces, opts := randWriteCase(t, rng, flat, renumbered)
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

// randWriteCase is a random write for the writer tests: records of one of
// schemas (or of a random nested schema), or pieces with copied row
// groups, and random codec, file size, row group rows and page size.
func randWriteCase(t *testing.T, rng *rand.Rand, schemas ...*types.Schema) (*types.Schema, []Piece, WriterOptions) {
	t.Helper()
	s := schemas[0]
	var pieces []Piece
	switch k := rng.IntN(len(schemas) + 2); {
	case k < len(schemas):
		s = schemas[k]
		pieces = []Piece{{Records: randRecords(rng, s, 1+rng.IntN(2000))}}
	case k == len(schemas):
		s = nestedSchema(rng)
		pieces = []Piece{{Records: nestedRecords(rng, s, 1+rng.IntN(500))}}
	default:
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
	return s, pieces, opts
}
