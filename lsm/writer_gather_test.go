package lsm

import (
	"bytes"
	"math/rand/v2"
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
