package lsm

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/types"
)

// uniqueRecords returns n merged records with distinct keys, sorted.
func uniqueRecords(rng *rand.Rand, s *types.Schema, n int) []Record {
	recs := randRecords(rng, s, 2*n)
	recs = slices.CompactFunc(recs, func(a, b Record) bool { return bytes.Equal(a.Key, b.Key) })
	return recs[:min(n, len(recs))]
}

// copyCase is a random sequence of pieces: stretches of records to merge and
// stretches held in their own source files, copied row group by row group.
type copyCase struct {
	pieces []Piece
	want   []Record // every record, absolute Seq
	copies int
	srcs   [][]byte
}

func makeCopyCase(t *testing.T, rng *rand.Rand, s *types.Schema, nulls bool) copyCase {
	t.Helper()
	ctx := context.Background()
	recs := uniqueRecords(rng, s, 300+rng.IntN(200))
	var c copyCase
	for i := 0; i < len(recs); {
		j := min(len(recs), i+5+rng.IntN(60))
		seg := recs[i:j]
		i = j
		c.want = append(c.want, seg...)
		if rng.IntN(2) == 0 {
			if nulls && rng.IntN(3) == 0 {
				seg = slices.Clone(seg)
				seg[0].Row = slices.Clone(seg[0].Row)
				seg[0].Row[len(s.Fields)-1] = nil // qty: NOT NULL, NULL in a -D row
				seg[0].Kind = types.Delete
				c.want[len(c.want)-len(seg)] = seg[0]
			}
			c.pieces = append(c.pieces, Piece{Records: seg})
			continue
		}
		base := []int64{0, 1 << 41}[rng.IntN(2)]
		stored := slices.Clone(seg)
		for k := range stored {
			stored[k].Seq -= base
		}
		files, err := WriteFiles(stored, s, WriterOptions{RowGroupRows: 10 + rng.IntN(20)})
		if err != nil {
			t.Fatal(err)
		}
		data := files[0].Data
		c.srcs = append(c.srcs, data)
		fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, base)
		if err != nil {
			t.Fatal(err)
		}
		for g := range fr.NumRowGroups() {
			gc, err := fr.CopyGroup(ctx, g, files[0].DeleteCount > 0)
			if err != nil {
				t.Fatal(err)
			}
			c.pieces = append(c.pieces, Piece{Copy: gc})
			c.copies++
		}
	}
	return c
}

// TestWritePiecesMatchesRecords: files written from merged records and
// copied row groups read back as the records, in order, with correct
// footer facts, and copied row groups are really copied.
func TestWritePiecesMatchesRecords(t *testing.T) {
	ctx := context.Background()
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(testSeed(t), 21))
	copied, decoded := 0, 0
	for round := range 12 {
		nulls := round%3 == 2
		c := makeCopyCase(t, rng, s, nulls)
		opts := WriterOptions{TargetFileSize: int64(8<<10 + rng.IntN(64<<10)), RowGroupRows: 64}
		files, err := WritePieces(ctx, c.pieces, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []Record
		for fi, f := range files {
			recs := readAll(t, f.Data, s, f.SeqBase)
			if int64(len(recs)) != f.RowCount {
				t.Fatalf("round %d file %d: RowCount %d, read %d", round, fi, f.RowCount, len(recs))
			}
			var dels int64
			minSeq, maxSeq := recs[0].Seq, recs[0].Seq
			for _, r := range recs {
				if !r.Kind.IsAdd() {
					dels++
				}
				minSeq, maxSeq = min(minSeq, r.Seq), max(maxSeq, r.Seq)
			}
			if dels != f.DeleteCount || minSeq != f.MinSeq+f.SeqBase || maxSeq != f.MaxSeq+f.SeqBase ||
				!bytes.Equal(f.MinKey, recs[0].Key) || !bytes.Equal(f.MaxKey, recs[len(recs)-1].Key) {
				t.Fatalf("round %d file %d: footer facts %d deletes, seq [%d,%d]+%d, keys %x..%x; records say %d, [%d,%d], %x..%x",
					round, fi, f.DeleteCount, f.MinSeq, f.MaxSeq, f.SeqBase, f.MinKey, f.MaxKey, dels, minSeq, maxSeq, recs[0].Key, recs[len(recs)-1].Key)
			}
			fr, err := OpenFile(ctx, bytes.NewReader(f.Data), int64(len(f.Data)), s, f.SeqBase)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs { // bloom filters and statistics of copied groups admit their keys
				if g, err := fr.Get(ctx, r.Key); err != nil || len(g) != 1 || !recordsEqual(g[0], r) {
					t.Fatalf("round %d file %d: Get(%x) = %v, %v", round, fi, r.Key, g, err)
				}
			}
			if fi < len(files)-1 && int64(len(f.Data)) < opts.TargetFileSize/2 {
				t.Errorf("round %d file %d: %d bytes, target %d", round, fi, len(f.Data), opts.TargetFileSize)
			}
			got = append(got, recs...)
			copied += f.GroupsCopied
			decoded += f.GroupsDecoded
			if f.GroupsReencoded != 0 {
				t.Errorf("round %d: %d row groups re-encoded instead of copied", round, f.GroupsReencoded)
			}
		}
		if len(got) != len(c.want) {
			t.Fatalf("round %d: read %d records, want %d", round, len(got), len(c.want))
		}
		for i := range got {
			if !recordsEqual(got[i], c.want[i]) {
				t.Fatalf("round %d record %d: got %s, want %s", round, i, debugRecord(got[i]), debugRecord(c.want[i]))
			}
		}
	}
	t.Logf("%d row groups copied, %d decoded", copied, decoded)
	if copied == 0 {
		t.Fatal("no row group was copied")
	}
}

// TestCopiedGroupCorruption: a flipped bit in a copied row group of an
// output file, or in a source row group before it is copied, is reported as
// corruption.
func TestCopiedGroupCorruption(t *testing.T) {
	ctx := context.Background()
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(testSeed(t), 22))
	recs := uniqueRecords(rand.New(rand.NewPCG(3, 11)), s, 120)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 40})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pieces []Piece
	for g := range fr.NumRowGroups() {
		gc, err := fr.CopyGroup(ctx, g, true)
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, Piece{Copy: gc})
	}
	files, err = WritePieces(ctx, pieces, s, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := files[0]
	if out.GroupsCopied != fr.NumRowGroups() || out.RowsCopied != int64(len(recs)) {
		t.Fatalf("copied %d groups (%d rows), want %d (%d)", out.GroupsCopied, out.RowsCopied, fr.NumRowGroups(), len(recs))
	}
	ofr, err := OpenFile(ctx, bytes.NewReader(out.Data), int64(len(out.Data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		g := ofr.groups[rng.IntN(len(ofr.groups))]
		at := g.start + rng.Int64N(g.end-g.start)
		d := bytes.Clone(out.Data)
		d[at] ^= 1 << rng.IntN(8)
		if err := readOutcome(t, bytes.NewReader(d), int64(len(d)), s, recs, "flip"); !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("flip %d at %d of a copied row group: err %v, want ErrCorruption", i, at, err)
		}
		d = bytes.Clone(data)
		sg := fr.groups[rng.IntN(len(fr.groups))]
		at = sg.start + rng.Int64N(sg.end-sg.start)
		d[at] ^= 1 << rng.IntN(8)
		bad, err := OpenFile(ctx, bytes.NewReader(d), int64(len(d)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		for g := range bad.NumRowGroups() {
			if _, err = bad.CopyGroup(ctx, g, false); err != nil {
				break
			}
		}
		if !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("flip %d at %d of a source row group: CopyGroup err %v, want ErrCorruption", i, at, err)
		}
	}
}

// TestWritePiecesRejectsOverlap: a copied row group must not overlap the
// records around it.
func TestWritePiecesRejectsOverlap(t *testing.T) {
	ctx := context.Background()
	data, recs, s := smallFile(t, 4)
	fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := fr.CopyGroup(ctx, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = WritePieces(ctx, []Piece{{Records: recs[len(recs)-3:]}, {Copy: gc}}, s, WriterOptions{})
	if !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
}
