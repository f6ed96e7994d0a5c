package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// pickLast is lastWins declaring its rule, so the batch merge skips Merge.
type pickLast struct{ lastWins }

func (pickLast) PickRule() PickRule { return PickLast }

// firstAdd keeps the first +I/+U (first-row without sequence.field).
type firstAdd struct{}

func (firstAdd) Merge(recs []Record) Record {
	for _, r := range recs {
		if r.Kind.IsAdd() {
			return r
		}
	}
	r := recs[len(recs)-1]
	r.Kind = types.Delete
	return r
}

type pickFirstAdd struct{ firstAdd }

func (pickFirstAdd) PickRule() PickRule { return PickFirstAdd }

// overlay builds a new row from the non-NULL values of each +I/+U (like
// partial-update), so the batch merge appends boxed rows.
type overlay struct{}

func (overlay) Merge(recs []Record) Record {
	var row types.Row
	kind := types.Delete
	for _, r := range recs {
		if r.Kind == types.Delete || r.Reset {
			row, kind = nil, types.Delete
		}
		if !r.Kind.IsAdd() {
			continue
		}
		if row == nil {
			row = make(types.Row, len(r.Row))
		}
		for c, v := range r.Row {
			if v != nil {
				row[c] = v
			}
		}
		kind = r.Kind
	}
	last := recs[len(recs)-1]
	if row == nil {
		row = last.Row
	}
	return Record{Key: last.Key, Seq: last.Seq, Kind: kind, Row: row}
}

// writeRun writes recs (sorted) as one sorted run split into up to parts
// files at key boundaries, opened with seqBase.
func writeRun(t testing.TB, s *types.Schema, recs []Record, parts, rowGroupRows int, seqBase int64) []*FileReader {
	return writeRunAs(t, s, s, recs, parts, rowGroupRows, seqBase)
}

// writeRunAs is writeRun with the files opened with read schema rs.
func writeRunAs(t testing.TB, s, rs *types.Schema, recs []Record, parts, rowGroupRows int, seqBase int64) []*FileReader {
	t.Helper()
	var frs []*FileReader
	for len(recs) > 0 {
		n := len(recs)
		if parts > 1 {
			n = max(1, len(recs)/parts)
			for n < len(recs) && bytes.Equal(recs[n-1].Key, recs[n].Key) {
				n++
			}
			parts--
		}
		files, err := WriteFiles(recs[:n], s, WriterOptions{RowGroupRows: rowGroupRows})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			fr, err := OpenFile(context.Background(), bytes.NewReader(f.Data), int64(len(f.Data)), rs, seqBase)
			if err != nil {
				t.Fatal(err)
			}
			frs = append(frs, fr)
		}
		recs = recs[n:]
	}
	return frs
}

// batchRows collects MergeBatches as rows, checking batch sizes.
func batchRows(t *testing.T, frs []*FileReader, s *types.Schema, m Merger, read ReadOptions, maxRows int) ([]types.Row, error) {
	t.Helper()
	schema, err := types.ArrowSchema(s, false)
	if err != nil {
		t.Fatal(err)
	}
	var rows []types.Row
	for rec, err := range MergeBatches(context.Background(), frs, m, BatchOptions{Read: read, Schema: schema, MaxRows: maxRows}) {
		if err != nil {
			return rows, err
		}
		if n := int(rec.NumRows()); n == 0 || (maxRows > 0 && n > maxRows) {
			t.Fatalf("batch of %d rows (max %d)", n, maxRows)
		}
		if !rec.Schema().Equal(schema) {
			t.Fatalf("batch schema %s, want %s", rec.Schema(), schema)
		}
		rows = append(rows, types.RecordRows(rec)...)
	}
	return rows, nil
}

// TestMergeBatchesMatchesMergeFiles compares MergeBatches with MergeFiles
// (the row merge) over random runs of random records: every merger kind
// (picked, returning an input, building a new row), projections, runs
// split into several files, several row groups, seq bases and ties.
func TestMergeBatchesMatchesMergeFiles(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 21))
			ws := allTypesSchema()
			for iter := 0; iter < 12; iter++ {
				s := ws
				if rng.IntN(3) == 0 {
					s = evolvedSchema(ws)
				}
				nruns := 1 + rng.IntN(4)
				allAdds := rng.IntN(4) == 0
				var frs []*FileReader
				for r := 0; r < nruns; r++ {
					recs := randRecords(rng, ws, 20+rng.IntN(300))
					for i := range recs {
						if allAdds {
							recs[i].Kind = types.Insert
						}
						if rng.IntN(3) == 0 {
							recs[i].Seq = rng.Int64N(3) // ties across runs
						}
					}
					sortRecords(recs)
					frs = append(frs, writeRunAs(t, ws, s, recs, 1+rng.IntN(3), 1+rng.IntN(64), rng.Int64N(3))...)
				}
				read := ReadOptions{}
				if rng.IntN(2) == 0 {
					read.Columns = []int{rng.IntN(len(s.Fields)), rng.IntN(len(s.Fields))}
				}
				maxRows := []int{0, 1, 7, 100}[rng.IntN(4)]
				for _, m := range []Merger{lastWins{}, pickLast{}, firstAdd{}, pickFirstAdd{}, overlay{}} {
					what := fmt.Sprintf("iteration %d: %d runs, %d files, %T, columns %v, max rows %d", iter, nruns, len(frs), m, read.Columns, maxRows)
					want := mustCollect(t, MergeFiles(context.Background(), frs, read, m, false))
					got, err := batchRows(t, frs, s, m, read, maxRows)
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					if len(got) != len(want) {
						t.Fatalf("%s: %d rows, MergeFiles %d", what, len(got), len(want))
					}
					for i := range got {
						for c := range got[i] {
							if !valueEqual(got[i][c], want[i].Row[c]) {
								t.Fatalf("%s: row %d column %d: batch %v (%T), MergeFiles %v (%T)\nbatch row %v\nwant  %s",
									what, i, c, got[i][c], got[i][c], want[i].Row[c], want[i].Row[c], got[i], debugRecord(want[i]))
							}
						}
					}
				}
			}
		})
	}
}

// evolvedSchema is s after an ALTER: INT→BIGINT, FLOAT→DOUBLE widened and
// columns added with and without defaults (the files lack them).
func evolvedSchema(s *types.Schema) *types.Schema {
	e := *s
	e.ID++
	e.Fields = append([]types.Field(nil), s.Fields...)
	e.Fields[3].Type = types.TBigInt
	e.Fields[4].Type = types.TDouble
	five, word, yes := "5", "d\x00v", "true"
	e.Fields = append(e.Fields,
		types.Field{ID: 20, Name: "added_big", Type: types.TBigInt, Default: &five},
		types.Field{ID: 21, Name: "added_str", Type: types.TString, Default: &word},
		types.Field{ID: 22, Name: "added_bool", Type: types.TBoolean, Default: &yes},
		types.Field{ID: 23, Name: "added_blob", Type: types.TBytes},
	)
	e.HighestFieldID = 23
	return &e
}

func sortRecords(recs []Record) {
	for i := 1; i < len(recs); i++ {
		for j := i; j > 0 && compareRecords(&recs[j-1], &recs[j]) > 0; j-- {
			recs[j-1], recs[j] = recs[j], recs[j-1]
		}
	}
}

// TestMergeBatchesCompactedIsZeroCopy checks that one run of adds passes
// the decoded arrays through: the batches are the row groups themselves.
func TestMergeBatchesCompactedIsZeroCopy(t *testing.T) {
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(1, 2))
	recs := randRecords(rng, s, 300)
	var kept []Record
	for i, r := range recs {
		if i == 0 || !bytes.Equal(recs[i-1].Key, r.Key) {
			r.Kind = types.Insert
			kept = append(kept, r)
		}
	}
	frs := writeRun(t, s, kept, 2, 50, 0)
	groups := 0
	for _, fr := range frs {
		groups += fr.NumRowGroups()
	}
	schema, _ := types.ArrowSchema(s, false)
	n, batches := 0, 0
	for rec, err := range MergeBatches(context.Background(), frs, pickLast{}, BatchOptions{Schema: schema}) {
		if err != nil {
			t.Fatal(err)
		}
		if rec.NumRows() > 50 {
			t.Fatalf("batch of %d rows: not one row group", rec.NumRows())
		}
		n += int(rec.NumRows())
		batches++
	}
	if n != len(kept) || batches != groups {
		t.Fatalf("%d rows in %d batches, want %d rows in %d (one per row group)", n, batches, len(kept), groups)
	}
}

// batchRecords decodes every row group of fr with DecodeBatch into
// Records (every column).
func batchRecords(fr *FileReader) ([]Record, error) {
	var out []Record
	for i := range fr.NumRowGroups() {
		b, err := fr.DecodeBatch(context.Background(), i, ReadOptions{})
		if err != nil {
			return out, err
		}
		out = append(out, batchToRecords(b)...)
	}
	return out, nil
}

func batchToRecords(b *Batch) []Record {
	out := make([]Record, b.Len())
	keys, seqs, kinds := b.Hidden()
	for r := range out {
		row := make(types.Row, len(b.cols))
		for c := range row {
			if a := b.Column(c); a != nil {
				row[c] = types.ValueAt(a, r)
			}
		}
		k := kinds.Value(r)
		out[r] = Record{Key: keys.Value(r), Seq: seqs.Value(r), Kind: types.RowKind(k & 3), Reset: k&kindResetBit != 0, Merged: true, Row: row}
	}
	return out
}

// batchOutcome is readOutcome's check of the batch decoder: the records
// of every row group equal want, or an error wrapping ErrCorruption.
func batchOutcome(t *testing.T, fr *FileReader, want []Record, what string) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: batch decoder panic: %v", what, p)
		}
	}()
	got, err := batchRecords(fr)
	if err != nil {
		if !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("%s: batch decoder error without ErrCorruption: %v", what, err)
		}
		return err
	}
	if len(got) != len(want) {
		t.Fatalf("%s: batch decoder: %d records without an error, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !recordsEqual(got[i], want[i]) {
			t.Fatalf("%s: batch decoder: wrong record %d without an error: %s", what, i, debugRecord(got[i]))
		}
	}
	return nil
}

// TestDecodeBatchDamagedRowGroups is TestDecodeDamagedRowGroups for the
// batch decoder: damage past the checksum gives rows or ErrCorruption.
func TestDecodeBatchDamagedRowGroups(t *testing.T) {
	data, _, s := smallFile(t, 5)
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 16))
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
		if err := decodeBatchBytes(fr, buf, gi, opts); err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("iteration %d: error without ErrCorruption: %v", i, err)
			}
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no damaged row group was rejected")
	}
	t.Logf("%d of 400 damaged row groups rejected", failed)
}

// decodeBatchBytes decodes buf as row group gi of fr with the batch
// decoder and reads every value of the result.
func decodeBatchBytes(fr *FileReader, buf []byte, gi int, opts ReadOptions) error {
	want, check, err := fr.projection(opts)
	if err != nil {
		return err
	}
	b, err := fr.decodeBatchLoaded(context.Background(), sliceReaderAt{off: fr.groups[gi].start, data: buf}, gi, want, check)
	if err != nil {
		return err
	}
	for _, r := range batchToRecords(b) {
		_ = r
	}
	for c := range b.cols {
		if a := b.Column(c); a != nil {
			if err := validateArray(a); err != nil {
				return fmt.Errorf("%w: %v", types.ErrCorruption, err)
			}
		}
	}
	return nil
}

func validateArray(a arrow.Array) error {
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		return v.ValidateFull()
	}
	return nil
}

// FuzzDecodeBatch feeds the batch decoder row-group bytes that did not
// pass a checksum (the fuzzer's mutations of a valid row group): it must
// return arrays or an error wrapping types.ErrCorruption, never panic.
func FuzzDecodeBatch(f *testing.F) {
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
			opts.Columns = []int{1, 6, 7, 8}
		}
		if err := decodeBatchBytes(fr, buf, 1, opts); err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error without ErrCorruption: %v", err)
		}
	})
}

// TestFoldPagesEnabled: the columnar decoder decodes pages from the
// bodies the page check decompressed. If a parquet-go upgrade changed the
// page header type, the probe turns that off (correct, but every page is
// decompressed twice again): this test says so.
func TestFoldPagesEnabled(t *testing.T) {
	if !foldPages {
		t.Fatal("decoding from the checked page bodies is off: parquet.DataPageHeaderV2 changed layout (see batch_pageheader.go)")
	}
}
