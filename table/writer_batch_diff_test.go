package table

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// allTypesTableSchema has a (region, id) key and a column of every type,
// one of them NOT NULL.
func allTypesTableSchema(engine string, buckets int, partitioned bool) *types.Schema {
	s := modelSchema(engine, buckets, partitioned)
	s.Fields = append(s.Fields,
		types.Field{ID: 5, Name: "flag", Type: types.TBoolean},
		types.Field{ID: 6, Name: "f32", Type: types.TFloat},
		types.Field{ID: 7, Name: "f64", Type: types.TDouble},
		types.Field{ID: 8, Name: "blob", Type: types.TBytes},
		types.Field{ID: 9, Name: "day", Type: types.TDate},
		types.Field{ID: 10, Name: "at", Type: types.TTimestamp},
		types.Field{ID: 11, Name: "big", Type: types.TDecimal(18, 4)},
		types.Field{ID: 12, Name: "qty", Type: types.TInt, NotNull: true},
	)
	s.HighestFieldID = 12
	return s
}

// randAllTypesRow is randRow plus random values of the other columns.
func randAllTypesRow(rng *rand.Rand, keys int, kind types.RowKind) types.Row {
	r := append(randRow(rng, keys), nil, nil, nil, nil, nil, nil, nil, nil)
	if !kind.IsAdd() && rng.IntN(2) == 0 { // -U/-D often carry only the key
		for i := 2; i < len(r); i++ {
			r[i] = nil
		}
		return r
	}
	maybe := func(v types.Value) types.Value {
		if rng.IntN(4) == 0 {
			return nil
		}
		return v
	}
	r[5] = maybe(rng.IntN(2) == 0)
	r[6] = maybe(float32(rng.NormFloat64()))
	r[7] = maybe([]float64{math.Inf(-1), math.Copysign(0, -1), rng.NormFloat64() * 1e9}[rng.IntN(3)])
	r[8] = maybe([][]byte{{}, {0, 0xFF}, bytes.Repeat([]byte{9}, 80)}[rng.IntN(3)])
	r[9] = maybe(types.Date(rng.Int32N(40000) - 20000))
	r[10] = maybe(types.Timestamp(rng.Int64N(1<<50) - 1<<49))
	r[11] = maybe(types.Decimal(rng.Int64N(2e18) - 1e18 + 1))
	r[12] = int32(rng.IntN(100))
	if kind.IsAdd() && rng.IntN(3) == 0 {
		r[3] = strings.Repeat("é", 40) // long: truncated statistics
	}
	return r
}

// TestWriteBatchMatchesWrite writes the same random changelogs through
// Write, row by row, and through WriteBatch, in batches of random sizes
// (some of them slices of larger batches) mixed with single Writes,
// for every merge engine, bucketed and partitioned or not, with a column
// of every type, NULLs, -U and -D rows; both tables must read back the
// same rows at every commit, equal to the model where it knows the schema.
func TestWriteBatchMatchesWrite(t *testing.T) {
	seed := testSeed(t)
	for _, engine := range []string{"deduplicate", "partial-update", "aggregation", "first-row"} {
		for _, buckets := range []int{1, 3} {
			for _, partitioned := range []bool{false, true} {
				for _, allTypes := range []bool{false, true} {
					if allTypes && engine == "aggregation" {
						continue // the model's aggregation options name the first columns only; covered without
					}
					name := fmt.Sprintf("%s/buckets=%d/partitioned=%v/alltypes=%v", engine, buckets, partitioned, allTypes)
					t.Run(name, func(t *testing.T) {
						rng := rand.New(rand.NewPCG(seed, uint64(len(name))*7+uint64(buckets)))
						schema := modelSchema(engine, buckets, partitioned)
						if allTypes {
							schema = allTypesTableSchema(engine, buckets, partitioned)
						}
						runBatchDiff(t, rng, schema, allTypes)
					})
				}
			}
		}
	}
}

func runBatchDiff(t *testing.T, rng *rand.Rand, schema *types.Schema, allTypes bool) {
	ctx := context.Background()
	if rng.IntN(2) == 0 {
		schema.Options[OptWriteBufferSize] = fmt.Sprint(1024 + rng.IntN(64<<10))
	}
	open := func() *Table {
		tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	rowT, batchT := open(), open()
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		t.Fatal(err)
	}
	engine := schema.Options[OptMergeEngine]
	m := &model{engine: engine, state: map[modelKey]types.Row{}}
	rw, bw := rowT.NewWriter("w"), batchT.NewWriter("w")
	keys := 5 + rng.IntN(80)
	for c := 1; c <= 4; c++ {
		n := rng.IntN(250)
		var pending []types.Row // the batch being built: the row, then its kind
		flushBatch := func() {
			if len(pending) == 0 {
				return
			}
			rec, err := types.BuildRecord(nil, as, pending)
			if err != nil {
				t.Fatal(err)
			}
			if rng.IntN(3) == 0 { // a slice of a larger batch: arrays with an offset
				padded, err := types.BuildRecord(nil, as, append(append([]types.Row{pending[len(pending)-1]}, pending...), pending[0]))
				if err != nil {
					t.Fatal(err)
				}
				rec.Release()
				rec = padded.NewSlice(1, int64(len(pending))+1)
				padded.Release()
			}
			if err := bw.WriteBatch(ctx, rec); err != nil {
				t.Fatalf("WriteBatch of %d rows: %v", len(pending), err)
			}
			rec.Release()
			pending = pending[:0]
		}
		batchSize := 1 + rng.IntN(200)
		for i := 0; i < n; i++ {
			kind := types.RowKind(rng.IntN(4))
			if engine == "aggregation" && kind == types.UpdateBefore {
				kind = types.UpdateAfter // as in TestRandomizedModel
			}
			var r types.Row
			if allTypes {
				r = randAllTypesRow(rng, keys, kind)
			} else {
				r = randRow(rng, keys)
			}
			if err := rw.Write(ctx, kind, r); err != nil {
				t.Fatalf("Write %v %v: %v", kind, r, err)
			}
			if !allTypes || engine == "deduplicate" || engine == "first-row" {
				m.apply(kind, r)
			}
			if rng.IntN(12) == 0 { // now and then a single Write between batches
				flushBatch()
				if err := bw.Write(ctx, kind, r); err != nil {
					t.Fatalf("Write %v %v: %v", kind, r, err)
				}
				continue
			}
			pending = append(pending, append(append(types.Row(nil), r...), kind))
			if len(pending) >= batchSize {
				flushBatch()
				batchSize = 1 + rng.IntN(200)
			}
		}
		flushBatch()
		for _, w := range []*Writer{rw, bw} {
			if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
				t.Fatal(err)
			}
		}
		got, want := latestRowStrings(t, ctx, batchT), latestRowStrings(t, ctx, rowT)
		if d := diffRowLists(got, want); d != "" {
			t.Fatalf("commit %d: WriteBatch table differs from the Write table:\n%s", c, d)
		}
		if !allTypes || engine == "deduplicate" || engine == "first-row" {
			if d := diffStates(readAll(t, ctx, batchT, 0), m.state); d != "" {
				t.Fatalf("commit %d: WriteBatch table differs from the model:\n%s", c, d)
			}
		}
		if bw.Stats().Rows != rw.Stats().Rows {
			t.Fatalf("commit %d: WriteBatch counted %d rows, Write %d", c, bw.Stats().Rows, rw.Stats().Rows)
		}
	}
}

// latestRowStrings returns the latest rows of a table, formatted and sorted.
func latestRowStrings(t *testing.T, ctx context.Context, tb *Table) []string {
	t.Helper()
	s, err := tb.NewScan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%#v", row))
	}
	sort.Strings(out)
	return out
}

func diffRowLists(got, want []string) string {
	var d []string
	if len(got) != len(want) {
		d = append(d, fmt.Sprintf("%d rows, want %d", len(got), len(want)))
	}
	for i := 0; i < len(got) && i < len(want) && len(d) < 6; i++ {
		if got[i] != want[i] {
			d = append(d, fmt.Sprintf("row %d: got %s\n  want %s", i, got[i], want[i]))
		}
	}
	return strings.Join(d, "\n")
}
