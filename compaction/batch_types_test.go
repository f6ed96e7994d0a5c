package compaction_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// typesSchema has a column of every type, a two-column key, a NOT NULL
// column and one with a default; typesOldSchema is it before evolution:
// without the defaulted column, w INT, d FLOAT and e DECIMAL(9,3).
func typesSchema(opts map[string]string) (schema, old *types.Schema) {
	def := "dflt"
	f := []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "k", Type: types.TString, NotNull: true},
		{ID: 2, Name: "b", Type: types.TBoolean},
		{ID: 3, Name: "i", Type: types.TInt},
		{ID: 4, Name: "w", Type: types.TBigInt},
		{ID: 5, Name: "f", Type: types.TFloat},
		{ID: 6, Name: "d", Type: types.TDouble},
		{ID: 7, Name: "c", Type: types.TDecimal(9, 2)},
		{ID: 8, Name: "e", Type: types.TDecimal(18, 3)},
		{ID: 9, Name: "s", Type: types.TString},
		{ID: 10, Name: "y", Type: types.TBytes},
		{ID: 11, Name: "dt", Type: types.TDate},
		{ID: 12, Name: "ts", Type: types.TTimestamp},
		{ID: 13, Name: "nn", Type: types.TBigInt, NotNull: true},
		{ID: 14, Name: "added", Type: types.TString, Default: &def},
	}
	schema = &types.Schema{ID: 2, Fields: f, PrimaryKeys: []string{"id", "k"}, HighestFieldID: 14, Options: opts}
	of := append([]types.Field(nil), f[:14]...)
	of[4].Type, of[6].Type, of[8].Type = types.TInt, types.TFloat, types.TDecimal(9, 3)
	old = &types.Schema{ID: 1, Fields: of, PrimaryKeys: []string{"id", "k"}, HighestFieldID: 13, Options: opts}
	return schema, old
}

// randomValue is a random non-NULL value of t.
func randomValue(rng *rand.Rand, t types.DataType, now time.Time) types.Value {
	switch t.Kind {
	case types.Boolean:
		return rng.IntN(2) == 0
	case types.Int:
		return int32(rng.Uint32())
	case types.BigInt:
		return int64(rng.Uint64()) >> rng.IntN(64)
	case types.Float:
		return []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.NaN()), rng.Float32()*2e6 - 1e6}[rng.IntN(5)]
	case types.Double:
		return []float64{0, math.Copysign(0, -1), math.Inf(-1), math.NaN(), rng.NormFloat64() * 1e9}[rng.IntN(5)]
	case types.DecimalKind:
		lim := int64(math.Pow10(t.Precision))
		return types.Decimal(rng.Int64N(2*lim-1) - lim + 1)
	case types.String:
		return fmt.Sprintf("%016x", rng.Uint64())[:rng.IntN(17)]
	case types.Bytes:
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	case types.DateKind:
		return types.Date(rng.Int32N(40000) - 10000)
	case types.TimestampKind:
		return types.Timestamp(now.Add(-time.Duration(rng.IntN(3*3600)) * time.Second).UnixMicro())
	}
	panic(t.String())
}

// TestBatchPathMatchesBoxedTypes is TestBatchPathMatchesBoxed over a
// column of every type, widened columns of older files and a column they
// lack.
func TestBatchPathMatchesBoxedTypes(t *testing.T) {
	engines := []map[string]string{
		{},
		{table.OptSequenceField: "ts"},
		{table.OptMergeEngine: table.EngineFirstRow},
		{table.OptMergeEngine: table.EnginePartialUpdate},
		{table.OptMergeEngine: table.EngineAggregation, "fields.w.aggregate-function": "sum",
			"fields.d.aggregate-function": "max", "fields.b.aggregate-function": "bool_or"},
	}
	var total compaction.Stats
	seeds := testkit.Seeds(t, 3)
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 26))
			var all compaction.Stats
			for _, opts := range engines {
				schema, old := typesSchema(opts)
				merger, err := table.NewMergeEngine(schema)
				if err != nil {
					t.Fatal(err)
				}
				gen := func(ws *types.Schema, keys, base int64, now time.Time, tag string) []lsm.Record {
					return typedRecords(t, rng, ws, merger, keys, base, now)
				}
				for round := range 5 {
					all.Add(diffBatchBoxed(t, rng, schema, old, merger, gen, 12, fmt.Sprintf("%v round %d", opts, round)))
				}
			}
			checkCoverage(t, all)
			total.Add(all)
		})
	}
	if len(seeds) > 1 && total.RowGroupsCopied == 0 {
		t.Fatalf("no seed copied a row group: %+v", total)
	}
}

// typedRecords is randomRecords for schemas of typesSchema: ws's values,
// merged alone by merger (of the newest schema).
func typedRecords(t *testing.T, rng *rand.Rand, ws *types.Schema, merger lsm.Merger, keys, base int64, now time.Time) []lsm.Record {
	t.Helper()
	var out []lsm.Record
	from := rng.Int64N(keys)
	for id := from; id < min(keys, from+1+rng.Int64N(keys)); id++ {
		if rng.IntN(3) == 0 {
			continue
		}
		for k := range 1 + rng.IntN(2) {
			row := make(types.Row, len(ws.Fields))
			for c, f := range ws.Fields {
				if f.NotNull || rng.IntN(5) != 0 {
					row[c] = randomValue(rng, f.Type, now)
				}
			}
			row[0], row[1] = id, fmt.Sprint(k)
			kind := []types.RowKind{types.Insert, types.UpdateAfter, types.UpdateAfter, types.UpdateBefore, types.Delete}[rng.IntN(5)]
			key, err := types.EncodeRowKey(nil, row, ws.KeyIndexes())
			if err != nil {
				t.Fatal(err)
			}
			rec := lsm.Record{Key: key, Seq: base + int64(len(out)), Kind: kind, Row: row, Merged: true}
			if len(row) == 15 { // the newest schema: merged as the engine writes it
				rec = merger.Merge([]lsm.Record{rec})
				rec.Merged = true
			}
			out = append(out, rec)
		}
	}
	return out
}
