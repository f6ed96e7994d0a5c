package lsm

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestColumnarEncoderMatchesRowEncoder: the columnar encoder, with its
// columns encoded by one goroutine and by several, writes the same bytes
// as the row encoder (parquet.Row per record) it replaced, for
// random records of every type with NULLs, long strings (truncated
// statistics), several pages, row groups and files; and the files decode
// to the records written.
func TestColumnarEncoderMatchesRowEncoder(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	s := allTypesSchema()
	for it := range 12 {
		recs := randRecords(rng, s, 1+rng.IntN(3000))
		opts := WriterOptions{}
		switch it % 4 {
		case 1:
			opts.PageBytes = 1 + rng.IntN(4096)
		case 2:
			opts.RowGroupRows = 1 + rng.IntN(700)
			opts.PageBytes = 512
		case 3:
			opts.TargetFileSize = int64(1 + rng.IntN(64<<10))
			opts.RowGroupBytes = int64(1 + rng.IntN(16<<10))
		}
		workers := 2 + rng.IntN(3)
		opts.workers = workers
		newFiles, err := WriteFiles(recs, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		opts.workers = 1
		serial, err := WriteFiles(recs, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(serial) != len(newFiles) {
			t.Fatalf("seed %d it %d: %d files, with one encoding goroutine %d", seed, it, len(newFiles), len(serial))
		}
		for i := range serial {
			if !bytes.Equal(newFiles[i].Data, serial[i].Data) {
				t.Fatalf("seed %d it %d file %d: %d encoding goroutines wrote %d bytes that differ from one goroutine's %d", seed, it, i, workers, len(newFiles[i].Data), len(serial[i].Data))
			}
		}
		opts.rowPath = true
		oldFiles, err := WriteFiles(recs, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(newFiles) != len(oldFiles) {
			t.Fatalf("seed %d it %d: %d files, row encoder %d", seed, it, len(newFiles), len(oldFiles))
		}
		var got []Record
		for i := range newFiles {
			nf, of := newFiles[i], oldFiles[i]
			if !bytes.Equal(nf.Data, of.Data) {
				t.Fatalf("seed %d it %d file %d: columnar encoder wrote %d bytes that differ from the row encoder's %d", seed, it, i, len(nf.Data), len(of.Data))
			}
			nf.Data, of.Data = nil, nil
			if nf.RowCount != of.RowCount || nf.DeleteCount != of.DeleteCount || !bytes.Equal(nf.MinKey, of.MinKey) ||
				!bytes.Equal(nf.MaxKey, of.MaxKey) || nf.MinSeq != of.MinSeq || nf.MaxSeq != of.MaxSeq {
				t.Fatalf("seed %d it %d file %d: facts %+v, row encoder %+v", seed, it, i, nf, of)
			}
			got = append(got, readAll(t, newFiles[i].Data, s, 0)...)
		}
		if len(got) != len(recs) {
			t.Fatalf("seed %d it %d: read %d records, wrote %d", seed, it, len(got), len(recs))
		}
		for i := range recs {
			if !recordsEqual(got[i], recs[i]) {
				t.Fatalf("seed %d it %d record %d: read %s, wrote %s", seed, it, i, debugRecord(got[i]), debugRecord(recs[i]))
			}
		}
	}
}
