package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/types"
)

// nestedSchema is a random schema with nested columns (ids assigned as
// the catalog does), a flat column after them, NOT NULL ones sometimes.
func nestedSchema(r *rand.Rand) *types.Schema {
	s := &types.Schema{ID: 3, PrimaryKeys: []string{"id"}}
	s.Fields = append(s.Fields, types.Field{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true})
	for c := range 1 + r.IntN(3) {
		t := nestedgen.Type(r, 3)
		if !t.IsNested() {
			t = types.TArray(t)
		}
		s.Fields = append(s.Fields, types.Field{ID: len(s.Fields), Name: fmt.Sprintf("n%d", c), Type: t, NotNull: r.IntN(4) == 0})
	}
	s.Fields = append(s.Fields, types.Field{ID: len(s.Fields), Name: "tail", Type: types.TString})
	s.HighestFieldID = len(s.Fields) - 1
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return s
}

// nestedRecords returns n records of distinct keys, sorted.
func nestedRecords(r *rand.Rand, s *types.Schema, n int) []Record {
	recs := make([]Record, 0, n)
	for i := range n {
		row := make(types.Row, len(s.Fields))
		row[0] = int64(i)
		for c := 1; c < len(s.Fields); c++ {
			if s.Fields[c].NotNull || r.IntN(5) > 0 {
				row[c] = nestedgen.Value(r, s.Fields[c].Type)
			}
		}
		key, err := types.EncodeRowKey(nil, row, s.KeyIndexes())
		if err != nil {
			panic(err)
		}
		recs = append(recs, Record{Key: key, Seq: int64(i), Kind: types.Insert, Row: row, Merged: true})
	}
	slices.SortFunc(recs, func(a, b Record) int { return compareRecords(&a, &b) })
	return recs
}

func sameRow(s *types.Schema, got, want types.Row) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	for c, f := range s.Fields {
		if types.Compare(got[c], want[c]) != 0 || (got[c] == nil) != (want[c] == nil) {
			return fmt.Errorf("column %s %s: got %s, want %s", f.Name, f.Type, types.FormatJSON(got[c], f.Type), types.FormatJSON(want[c], f.Type))
		}
	}
	return nil
}

// TestNestedRoundTrip: random nested columns written, read back by the
// columnar reader, point lookups and Arrow batches, then rewritten from
// the batches' rows (as a compaction does) and read again.
func TestNestedRoundTrip(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	for round := range 12 {
		s := nestedSchema(r)
		recs := nestedRecords(r, s, 1+r.IntN(60))
		files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 1 + r.IntN(20), PageBytes: 64 + r.IntN(512)})
		if err != nil {
			t.Fatalf("round %d schema %v: write: %v", round, s.Fields, err)
		}
		if len(files) != 1 {
			t.Fatalf("%d files", len(files))
		}
		data := files[0].Data
		fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
		if err != nil {
			t.Fatalf("round %d: open: %v", round, err)
		}
		i := 0
		for rec, err := range fr.All(ctx) {
			if err != nil {
				t.Fatalf("round %d: read: %v", round, err)
			}
			if err := sameRow(s, rec.Row, recs[i].Row); err != nil {
				t.Fatalf("round %d record %d: %v", round, i, err)
			}
			i++
		}
		if i != len(recs) {
			t.Fatalf("round %d: read %d records of %d", round, i, len(recs))
		}
		k := r.IntN(len(recs))
		got, err := fr.Get(ctx, recs[k].Key)
		if err != nil || len(got) != 1 {
			t.Fatalf("round %d: Get: %v %v", round, got, err)
		}
		if err := sameRow(s, got[0].Row, recs[k].Row); err != nil {
			t.Fatalf("round %d Get(%d): %v", round, k, err)
		}
		// Arrow batches, and a rewrite from their rows (RowRef records).
		var refs []Record
		i = 0
		for g := range fr.NumRowGroups() {
			b, err := fr.DecodeBatch(ctx, g, ReadOptions{})
			if err != nil {
				t.Fatalf("round %d: batch %d: %v", round, g, err)
			}
			for row := range b.Len() {
				if err := sameRow(s, b.Record(row).Row, recs[i].Row); err != nil {
					t.Fatalf("round %d batch %d row %d: %v", round, g, row, err)
				}
				refs = append(refs, b.RefRecord(row))
				i++
			}
		}
		again, err := WritePieces(ctx, []Piece{{Records: refs}}, s, WriterOptions{RowGroupRows: 1 + r.IntN(30)})
		if err != nil {
			t.Fatalf("round %d: rewrite: %v", round, err)
		}
		fr2, err := OpenFile(ctx, bytes.NewReader(again[0].Data), int64(len(again[0].Data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		i = 0
		for rec, err := range fr2.All(ctx) {
			if err != nil {
				t.Fatalf("round %d: read rewrite: %v", round, err)
			}
			if err := sameRow(s, rec.Row, recs[i].Row); err != nil {
				t.Fatalf("round %d rewritten record %d: %v", round, i, err)
			}
			i++
		}
	}
}

// TestNestedEvolution: a file written before a ROW field was added reads
// NULL for it; a widened nested INT reads as BIGINT; a dropped field is
// skipped; renamed fields keep their values (matched by id).
func TestNestedEvolution(t *testing.T) {
	ctx := context.Background()
	old := &types.Schema{ID: 1, PrimaryKeys: []string{"id"}, HighestFieldID: 5, Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "r", Type: types.TStruct(types.Field{ID: 2, Name: "a", Type: types.TInt}, types.Field{ID: 3, Name: "b", Type: types.TString})},
		{ID: 4, Name: "l", Type: types.DataType{Kind: types.ArrayKind, Fields: []types.Field{{ID: 5, Name: "element", Type: types.TInt}}}},
	}}
	rows := []types.Row{
		{int64(1), types.Struct{int32(7), "x"}, types.List{int32(1), nil}},
		{int64(2), nil, types.List{}},
	}
	var recs []Record
	for i, row := range rows {
		key, _ := types.EncodeRowKey(nil, row, old.KeyIndexes())
		recs = append(recs, Record{Key: key, Seq: int64(i), Row: row, Merged: true})
	}
	files, err := WriteFiles(recs, old, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur := &types.Schema{ID: 2, PrimaryKeys: []string{"id"}, HighestFieldID: 7, Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "r", Type: types.TStruct(types.Field{ID: 7, Name: "c", Type: types.TDouble}, types.Field{ID: 2, Name: "aa", Type: types.TInt})},
		{ID: 4, Name: "l", Type: types.DataType{Kind: types.ArrayKind, Fields: []types.Field{{ID: 5, Name: "element", Type: types.TBigInt}}}},
	}}
	if !types.ReadableAs(old.Fields[1].Type, cur.Fields[1].Type) || !types.ReadableAs(old.Fields[2].Type, cur.Fields[2].Type) {
		t.Fatal("evolved types not readable")
	}
	data := files[0].Data
	fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), cur, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []types.Row{
		{int64(1), types.Struct{nil, int32(7)}, types.List{int64(1), nil}},
		{int64(2), nil, types.List{}},
	}
	i := 0
	for rec, err := range fr.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if err := sameRow(cur, rec.Row, want[i]); err != nil {
			t.Errorf("row %d: %v", i, err)
		}
		i++
	}
	b, err := fr.DecodeBatch(ctx, 0, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sameRow(cur, b.Record(0).Row, want[0]); err != nil {
		t.Errorf("batch: %v", err)
	}
	// A nested column is not readable as a flat one, nor as another kind.
	bad := *cur
	bad.Fields = slices.Clone(cur.Fields)
	bad.Fields[2].Type = types.TString
	if _, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), &bad, 0); !errors.Is(err, types.ErrInvalid) {
		t.Errorf("nested read as STRING: %v", err)
	}
}

// TestFlatFilesUnchanged: a schema without nested columns writes the same
// bytes as before nested columns existed (golden files in testdata check
// the reading side).
func TestNestedNotNullChecked(t *testing.T) {
	s := &types.Schema{ID: 1, PrimaryKeys: []string{"id"}, HighestFieldID: 2, Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "l", Type: types.DataType{Kind: types.ArrayKind, Fields: []types.Field{{ID: 2, Name: "element", Type: types.TInt, NotNull: true}}}},
	}}
	row := types.Row{int64(1), types.List{int32(1), nil}}
	key, _ := types.EncodeRowKey(nil, row, s.KeyIndexes())
	_, err := WriteFiles([]Record{{Key: key, Row: row, Merged: true}}, s, WriterOptions{})
	if !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("NULL in a NOT NULL element: %v", err)
	}
}

// nestedFuzzFile is a small file with a column of every nested kind.
func nestedFuzzFile(tb testing.TB) ([]byte, *types.Schema, []Record) {
	tb.Helper()
	r := rand.New(rand.NewPCG(5, 5))
	s := &types.Schema{ID: 1, PrimaryKeys: []string{"id"}}
	s.Fields = []types.Field{{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true}}
	for i, text := range []string{"ARRAY<ARRAY<INT>>", "MAP<STRING, ROW<a BIGINT, b ARRAY<STRING NOT NULL>>>", "ROW<x DATE NOT NULL, y MAP<INT, BOOLEAN>>"} {
		typ, err := types.ParseType(text)
		if err != nil {
			tb.Fatal(err)
		}
		s.Fields = append(s.Fields, types.Field{ID: i + 1, Name: fmt.Sprintf("n%d", i), Type: typ})
	}
	s.HighestFieldID = len(s.Fields) - 1
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	recs := nestedRecords(r, s, 24)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 8, PageBytes: 128})
	if err != nil {
		tb.Fatal(err)
	}
	return files[0].Data, s, recs
}

// FuzzDecodeNestedBatch feeds the nested-column decoders (page check,
// level assembly, Arrow building) row-group bytes that did not pass a
// checksum: they must return values or an error wrapping
// types.ErrCorruption, never panic or hang.
func FuzzDecodeNestedBatch(f *testing.F) {
	data, s, recs := nestedFuzzFile(f)
	ctx := context.Background()
	fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		f.Fatal(err)
	}
	g := fr.groups[1]
	f.Add(data[g.start:g.end], false)
	f.Add(data[g.start:g.end], true)
	f.Fuzz(func(t *testing.T, b []byte, partial bool) {
		if len(b) > maxFuzzInput {
			return
		}
		buf := make([]byte, g.end-g.start)
		copy(buf, b)
		if partial { // the point-lookup path: rows 1..3 of the group
			err := fr.readRows(ctx, sliceReaderAt{off: g.start, data: buf}, 1, 1, 3, func(Record) error { return nil })
			if err != nil && !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error without ErrCorruption: %v", err)
			}
			return
		}
		if err := decodeBatchBytes(fr, buf, 1, ReadOptions{}); err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error without ErrCorruption: %v", err)
		}
	})
	_ = recs
}
