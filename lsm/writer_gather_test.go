package lsm

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// TestFillFlatMatchesFillRows: the typed conversion of a chunk of
// pending rows (fillFlat) gives the Values the row-by-row conversion
// (fillRows) gives, for random mixes of records and rows of many change
// batches (sliced arrays, NULLs, every fixed-width type and STRING), and
// declines exactly the chunks it does not handle: other types, arrays of
// another Arrow type, rows spanning more than maxChunkSources sources.
func TestFillFlatMatchesFillRows(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 47))
	s := &types.Schema{
		ID: 3,
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "i32", Type: types.TInt},
			{ID: 2, Name: "f32", Type: types.TFloat},
			{ID: 3, Name: "f64", Type: types.TDouble},
			{ID: 4, Name: "d9", Type: types.TDecimal(9, 2)},
			{ID: 5, Name: "d18", Type: types.TDecimal(18, 4)},
			{ID: 6, Name: "s", Type: types.TString},
			{ID: 7, Name: "day", Type: types.TDate},
			{ID: 8, Name: "at", Type: types.TTimestamp},
			{ID: 9, Name: "flag", Type: types.TBoolean},
			{ID: 10, Name: "blob", Type: types.TBytes},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 10,
	}
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		t.Fatal(err)
	}
	randRow := func(nullPct int) types.Row {
		r := make(types.Row, len(s.Fields))
		for c, f := range s.Fields {
			if c == 0 || rng.IntN(100) >= nullPct {
				r[c] = randValue(rng, f.Type)
			}
		}
		return r
	}
	flat := 0
	for it := range 300 {
		// Sources: change batches, some sliced, some without NULLs.
		nsrc := 1 + rng.IntN(8)
		if it%5 == 0 {
			nsrc = 1 + rng.IntN(2*maxChunkSources)
		}
		var srcs [][]arrow.Array
		for range nsrc {
			rows := make([]types.Row, 1+rng.IntN(40))
			nullPct := []int{0, 10, 50}[rng.IntN(3)]
			for i := range rows {
				rows[i] = randRow(nullPct)
			}
			rec, err := types.BuildRecord(nil, as, rows)
			if err != nil {
				t.Fatal(err)
			}
			cols := rec.Columns()
			if off := rng.IntN(len(rows)); off > 0 && rng.IntN(2) == 0 {
				sliced := make([]arrow.Array, len(cols))
				for c, a := range cols {
					sliced[c] = array.NewSlice(a, int64(off), int64(a.Len()))
				}
				cols = sliced
			}
			srcs = append(srcs, cols)
		}
		fw := &fileWriter{schema: s, optional: make([]bool, len(s.Fields))}
		for c := range fw.optional {
			fw.optional[c] = c > 0 && rng.IntN(4) > 0
		}
		recsPct := []int{0, 20, 100}[rng.IntN(3)]
		n := 1 + rng.IntN(pageChunkRows)
		rows := make([]pendingRow, n)
		for i := range rows {
			if rng.IntN(100) < recsPct {
				rec := &Record{Row: randRow(20)}
				rows[i] = pendingRow{rec: rec, src: -1}
				continue
			}
			cols := srcs[rng.IntN(len(srcs))]
			rows[i] = pendingRow{cols: cols, row: rng.IntN(cols[0].Len()), src: fw.srcOf(cols)}
		}
		lo, hi, spanOK := sourceRange(rows)
		for f, fd := range s.Fields {
			c := numHidden + f
			def := 0
			if fw.optional[f] {
				def = 1
			}
			want := fillRows(make([]parquet.Value, 0, pageChunkRows), rows, f, fd.Type, fw.optional[f], c)
			got, ok := fw.fillFlat(make([]parquet.Value, 0, pageChunkRows), rows, f, fd.Type, def)
			handled := fd.Type.Kind != types.Boolean && fd.Type.Kind != types.Bytes && !fd.Type.Is128()
			if ok != (handled && spanOK) {
				t.Fatalf("seed %d it %d column %s: fillFlat ok=%v, want %v (sources %d..%d)", seed, it, fd.Name, ok, handled && spanOK, lo, hi)
			}
			if !ok {
				continue
			}
			flat++
			if len(got) != len(want) {
				t.Fatalf("seed %d it %d column %s: %d values, fillRows %d", seed, it, fd.Name, len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.Kind() != w.Kind() || g.IsNull() != w.IsNull() || g.DefinitionLevel() != w.DefinitionLevel() ||
					g.RepetitionLevel() != w.RepetitionLevel() || !bytes.Equal(g.Bytes(), w.Bytes()) {
					t.Fatalf("seed %d it %d column %s row %d: %v (def %d), fillRows %v (def %d)", seed, it, fd.Name, i, g, g.DefinitionLevel(), w, w.DefinitionLevel())
				}
			}
		}
	}
	if flat == 0 {
		t.Fatalf("seed %d: fillFlat converted nothing", seed)
	}
}

// TestAppendChecksRowsOfEachBatch: the checks of appended batch rows,
// made once per batch when the whole batch passes, still reject the rows
// of a batch that has a NULL in a column the file stores as required,
// row by row, whether the row before it passed or not: change-batch rows
// (appendBatchRow) and rows of a decoded batch (appendRef).
func TestAppendChecksRowsOfEachBatch(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 48))
	s := ingestSchema()
	for it := range 20 {
		n := 2 + rng.IntN(300)
		rows := make([]types.Row, n)
		nulls := map[int]bool{}
		for i := range rows {
			rows[i] = types.Row{int64(i), "x", "y", types.Decimal(1), int32(2), 3.0, types.Timestamp(4)}
			if rng.IntN(4) == 0 {
				rows[i][4] = nil
				nulls[i] = true
			}
		}
		optional := []bool{false, true, true, true, false, true, true} // qty required
		// Change-batch rows.
		as, err := types.ArrowSchema(s, false)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := types.BuildRecord(nil, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		fw := &fileWriter{schema: s, optional: optional}
		for i := range rows {
			key, _ := types.EncodeRowKey(nil, rows[i], []int{0})
			err := fw.appendBatchRow(rec.Columns(), i, key, int64(i), types.UpdateAfter)
			if (err != nil) != nulls[i] {
				t.Fatalf("seed %d it %d: change-batch row %d (NULL %v): error %v", seed, it, i, nulls[i], err)
			}
		}
		rec.Release()
		// Rows of a decoded batch.
		recs := make([]Record, n)
		for i := range rows {
			key, _ := types.EncodeRowKey(nil, rows[i], []int{0})
			recs[i] = Record{Key: key, Seq: int64(i), Kind: types.UpdateAfter, Row: rows[i], Merged: true}
		}
		slices.SortFunc(recs, func(x, y Record) int { return compareRecords(&x, &y) })
		files, err := WriteFiles(recs, s, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fr, err := OpenFile(t.Context(), bytes.NewReader(files[0].Data), int64(len(files[0].Data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		fw = &fileWriter{schema: s, optional: optional}
		for g := range fr.NumRowGroups() {
			b, err := fr.DecodeBatch(t.Context(), g, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for r := range b.Len() {
				rec := b.RefRecord(r)
				err := fw.appendRef(&rec, RefOf(&rec))
				if null := b.Record(r).Row[4] == nil; (err != nil) != null {
					t.Fatalf("seed %d it %d: decoded row %d (NULL %v): error %v", seed, it, r, null, err)
				}
			}
		}
	}
}
