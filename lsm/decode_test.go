package lsm

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/types"
)

// slowRecords reads every record of fr through the value-at-a-time decoder
// (columnCursor, the point-lookup path), row group by row group.
func slowRecords(t *testing.T, fr *FileReader) []Record {
	t.Helper()
	ctx := context.Background()
	var out []Record
	for i := range fr.groups {
		ra, err := fr.loadGroup(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		// rows [0, n-1) then [n-1, n): readRows takes the columnar path
		// only for a whole row group.
		n := fr.groups[i].rows
		for _, r := range [][2]int64{{0, n - 1}, {n - 1, n}} {
			if r[0] == r[1] {
				continue
			}
			if err := fr.readRows(ctx, ra, i, r[0], r[1], func(rec Record) error {
				out = append(out, rec)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func mustCollect(t *testing.T, seq iter.Seq2[Record, error]) []Record {
	t.Helper()
	var out []Record
	for r, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestColumnarDecodeMatchesValueDecoder checks the columnar decoder against
// the value-at-a-time one on random records of every type, with NULLs, in
// several pages and row groups.
func TestColumnarDecodeMatchesValueDecoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 3))
	s := allTypesSchema()
	for round := 0; round < 4; round++ {
		recs := randRecords(rng, s, 300+rng.IntN(3000))
		opts := WriterOptions{RowGroupRows: 100 + rng.IntN(2000), PageBytes: 512 + rng.IntN(8192)}
		files, err := WriteFiles(recs, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []Record
		for _, f := range files {
			fr, err := OpenFile(context.Background(), bytes.NewReader(f.Data), int64(len(f.Data)), s, 5)
			if err != nil {
				t.Fatal(err)
			}
			fast := mustCollect(t, fr.All(context.Background()))
			slow := slowRecords(t, fr)
			if len(fast) != len(slow) {
				t.Fatalf("round %d: columnar %d records, value decoder %d", round, len(fast), len(slow))
			}
			for i := range fast {
				if !recordsEqual(fast[i], slow[i]) {
					t.Fatalf("round %d record %d:\ncolumnar %s\nvalues   %s", round, i, debugRecord(fast[i]), debugRecord(slow[i]))
				}
			}
			got = append(got, fast...)
		}
		if len(got) != len(recs) {
			t.Fatalf("round %d: read %d records, wrote %d", round, len(got), len(recs))
		}
		for i := range got {
			want := recs[i]
			want.Seq += 5
			if !recordsEqual(got[i], want) {
				t.Fatalf("round %d record %d:\ngot  %s\nwant %s", round, i, debugRecord(got[i]), debugRecord(want))
			}
		}
	}
}

// TestProjectionMatchesFullRows reads random projections and checks that
// the projected columns equal the full rows' and the others are NULL,
// including a schema-evolved read schema whose added columns the file
// lacks (read as their defaults) and a widened column.
func TestProjectionMatchesFullRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 4))
	s := allTypesSchema()
	recs := randRecords(rng, s, 2000)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 700, PageBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	// The evolved schema: i32 widened to BIGINT, two added columns (one
	// with a default), and the columns in another order.
	evolved := allTypesSchema()
	evolved.ID = 8
	dflt := "dflt"
	evolved.Fields[3].Type = types.TBigInt
	evolved.Fields = append(evolved.Fields,
		types.Field{ID: 12, Name: "added", Type: types.TString, Default: &dflt},
		types.Field{ID: 13, Name: "added_null", Type: types.TInt})
	evolved.HighestFieldID = 13
	evolved.Fields[2], evolved.Fields[10] = evolved.Fields[10], evolved.Fields[2]
	for _, rs := range []*types.Schema{s, evolved} {
		for _, f := range files {
			fr, err := OpenFile(context.Background(), bytes.NewReader(f.Data), int64(len(f.Data)), rs, 0)
			if err != nil {
				t.Fatal(err)
			}
			full := mustCollect(t, fr.All(context.Background()))
			for try := 0; try < 12; try++ {
				cols := []int{} // never nil: nil reads every column
				for c := range rs.Fields {
					if rng.IntN(3) == 0 {
						cols = append(cols, c)
					}
				}
				if try == 0 {
					cols = cols[:0] // only the hidden columns
				}
				got := mustCollect(t, fr.Records(context.Background(), ReadOptions{Columns: cols}))
				if len(got) != len(full) {
					t.Fatalf("schema %d cols %v: %d records, full read %d", rs.ID, cols, len(got), len(full))
				}
				for i := range got {
					g, w := got[i], full[i]
					if !bytes.Equal(g.Key, w.Key) || g.Seq != w.Seq || g.Kind != w.Kind || g.Reset != w.Reset || len(g.Row) != len(rs.Fields) {
						t.Fatalf("schema %d cols %v record %d: %s, full %s", rs.ID, cols, i, debugRecord(g), debugRecord(w))
					}
					for c := range rs.Fields {
						want := types.Value(nil)
						if slices.Contains(cols, c) {
							want = w.Row[c]
						}
						if !valueEqual(g.Row[c], want) {
							t.Fatalf("schema %d cols %v record %d column %s: %v, want %v", rs.ID, cols, i, rs.Fields[c].Name, g.Row[c], want)
						}
					}
				}
			}
			if rs == evolved {
				ai := evolved.FieldIndex("added")
				if full[0].Row[ai] != "dflt" || full[0].Row[ai+1] != nil {
					t.Fatalf("added columns read as %v, %v; want their defaults", full[0].Row[ai], full[0].Row[ai+1])
				}
			}
		}
	}
	fr, err := OpenFile(context.Background(), bytes.NewReader(files[0].Data), int64(len(files[0].Data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range fr.Records(context.Background(), ReadOptions{Columns: []int{len(s.Fields)}}) {
		if !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("out-of-range projection: %v, want ErrInvalid", err)
		}
	}
}

// TestMergeFilesMatchesMergeRuns merges overlapping runs both ways.
func TestMergeFilesMatchesMergeRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 5))
	s := allTypesSchema()
	ctx := context.Background()
	for _, nruns := range []int{1, 2, 5} {
		var frs []*FileReader
		for r := 0; r < nruns; r++ {
			recs := randRecords(rng, s, 500)
			for i := range recs {
				recs[i].Seq = int64(r)<<40 | recs[i].Seq
			}
			files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 128})
			if err != nil {
				t.Fatal(err)
			}
			fr, err := OpenFile(ctx, bytes.NewReader(files[0].Data), int64(len(files[0].Data)), s, 0)
			if err != nil {
				t.Fatal(err)
			}
			frs = append(frs, fr)
		}
		for _, keep := range []bool{false, true} {
			var srcs []iter.Seq2[Record, error]
			for _, fr := range frs {
				srcs = append(srcs, fr.All(ctx))
			}
			want := mustCollect(t, MergeRuns(ctx, srcs, lastWins{}, keep))
			got := mustCollect(t, MergeFiles(ctx, frs, ReadOptions{}, lastWins{}, keep))
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%d runs keep=%v: MergeFiles %d records, MergeRuns %d", nruns, keep, len(got), len(want))
			}
			for i := range got {
				if !recordsEqual(got[i], want[i]) {
					t.Fatalf("%d runs record %d:\nMergeFiles %s\nMergeRuns  %s", nruns, i, debugRecord(got[i]), debugRecord(want[i]))
				}
			}
			// stopping early releases the cursors
			for range MergeFiles(ctx, frs, ReadOptions{Columns: []int{1}}, lastWins{}, keep) {
				break
			}
		}
	}
}

// FuzzDecodeRowGroup feeds the columnar decoder row-group bytes that did
// not pass a checksum (the fuzzer's mutations of a valid row group), with
// and without a projection: it must return records or an error wrapping
// types.ErrCorruption, never panic.
func FuzzDecodeRowGroup(f *testing.F) {
	data, _, s := smallFile(f, 5)
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		f.Fatal(err)
	}
	g := fr.groups[1]
	f.Add(data[g.start:g.end], false)
	f.Add(data[g.start:g.end], true)
	bad := craftHugeLevelRun(f, data, 1, numHidden+7)
	f.Add(bad[g.start:g.end], false)
	f.Fuzz(func(t *testing.T, b []byte, project bool) {
		if len(b) > maxFuzzInput {
			return
		}
		buf := make([]byte, g.end-g.start)
		copy(buf, b)
		opts := ReadOptions{}
		if project {
			opts.Columns = []int{1, 6, 7}
		}
		want, check, err := fr.projection(opts)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := fr.decodeLoaded(context.Background(), sliceReaderAt{off: g.start, data: buf}, 1, want, check)
		if err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error without ErrCorruption: %v", err)
			}
			return
		}
		var scratch []byte
		for r := 0; r < batch.rows; r++ {
			if _, err := fr.record(batch, r, &scratch); err != nil && !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("record %d: error without ErrCorruption: %v", r, err)
			}
		}
	})
}

// TestDecodeDamagedRowGroups decodes row groups damaged past their checksum
// (random bytes replaced, tails zeroed) with and without a projection:
// every outcome is records or an error wrapping types.ErrCorruption, and
// no panic escapes (FuzzDecodeRowGroup explores the same further).
func TestDecodeDamagedRowGroups(t *testing.T) {
	data, _, s := smallFile(t, 5)
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 6))
	failed := 0
	for i := 0; i < 400; i++ {
		gi := rng.IntN(len(fr.groups))
		g := fr.groups[gi]
		buf := bytes.Clone(data[g.start:g.end])
		if i%3 == 0 {
			clear(buf[rng.IntN(len(buf)):])
		} else {
			for k := 0; k < 1+rng.IntN(4); k++ {
				buf[rng.IntN(len(buf))] = byte(rng.IntN(256))
			}
		}
		opts := ReadOptions{}
		if i%2 == 0 {
			opts.Columns = []int{rng.IntN(len(s.Fields))}
		}
		want, check, err := fr.projection(opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fr.decodeLoaded(context.Background(), sliceReaderAt{off: g.start, data: buf}, gi, want, check)
		if err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("iteration %d: error without ErrCorruption: %v", i, err)
			}
			failed++
			continue
		}
		var scratch []byte
		for r := 0; r < b.rows; r++ {
			if _, err := fr.record(b, r, &scratch); err != nil && !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("iteration %d record %d: error without ErrCorruption: %v", i, r, err)
			}
		}
	}
	if failed == 0 {
		t.Fatal("no damaged row group was rejected")
	}
	t.Logf("%d of 400 damaged row groups rejected", failed)
}
