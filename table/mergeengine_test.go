package table

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// engineSchema: id BIGINT key, v BIGINT, s STRING, ts BIGINT (a sequence
// field candidate).
func engineSchema(opts map[string]string) *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "v", Type: types.TBigInt},
			{ID: 2, Name: "s", Type: types.TString},
			{ID: 3, Name: "ts", Type: types.TBigInt},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 3,
		Options:        opts,
	}
}

// aggSchema has a column per aggregate function.
func aggSchema() *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "sum_i", Type: types.TInt},
			{ID: 2, Name: "sum_l", Type: types.TBigInt},
			{ID: 3, Name: "sum_d", Type: types.TDecimal(10, 2)},
			{ID: 4, Name: "cnt", Type: types.TBigInt},
			{ID: 5, Name: "mn", Type: types.TString},
			{ID: 6, Name: "mx", Type: types.TInt},
			{ID: 7, Name: "lv", Type: types.TString},
			{ID: 8, Name: "lnn", Type: types.TString},
			{ID: 9, Name: "fv", Type: types.TString},
			{ID: 10, Name: "fnn", Type: types.TString},
			{ID: 11, Name: "band", Type: types.TBoolean},
			{ID: 12, Name: "bor", Type: types.TBoolean},
			{ID: 13, Name: "cnt_i", Type: types.TInt},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 13,
		Options:        map[string]string{OptMergeEngine: EngineAggregation},
	}
	for col, f := range map[string]string{"sum_i": "sum", "sum_l": "SUM", "sum_d": "sum", "cnt": "count", "mn": "min", "mx": "max",
		"lv": "last_value", "fv": "first_value", "fnn": "first_non_null_value", "band": "bool_and", "bor": "bool_or", "cnt_i": "count"} {
		s.Options["fields."+col+".aggregate-function"] = f
	}
	return s
}

func mustEngine(t *testing.T, s *types.Schema) lsm.Merger {
	t.Helper()
	m, err := NewMergeEngine(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mk builds a raw record of key id 1.
func mk(seq int64, kind types.RowKind, vals ...types.Value) lsm.Record {
	row := append(types.Row{int64(1)}, vals...)
	key, err := types.EncodeRowKey(nil, row, []int{0})
	if err != nil {
		panic(err)
	}
	return lsm.Record{Key: key, Seq: seq, Kind: kind, Row: row}
}

// visible is what a read returns for merged record r: the row, or "absent".
func visible(r lsm.Record) string {
	if !r.Kind.IsAdd() {
		return "absent"
	}
	return fmt.Sprint(r.Row[1:])
}

func TestEngineSemantics(t *testing.T) {
	I, UB, UA, D := types.Insert, types.UpdateBefore, types.UpdateAfter, types.Delete
	dedup := engineSchema(nil)
	dedupSeq := engineSchema(map[string]string{OptSequenceField: "ts"})
	first := engineSchema(map[string]string{OptMergeEngine: EngineFirstRow})
	firstSeq := engineSchema(map[string]string{OptMergeEngine: EngineFirstRow, OptSequenceField: "TS"})
	partial := engineSchema(map[string]string{OptMergeEngine: EnginePartialUpdate})
	cases := []struct {
		name   string
		schema *types.Schema
		recs   []lsm.Record
		want   string
	}{
		{"dedup last wins", dedup, []lsm.Record{mk(1, I, int64(1), "a", nil), mk(2, UA, int64(2), nil, nil)}, "[2 <nil> <nil>]"},
		{"dedup delete", dedup, []lsm.Record{mk(1, I, int64(1), "a", nil), mk(2, D, nil, nil, nil)}, "absent"},
		{"dedup -U last", dedup, []lsm.Record{mk(1, I, int64(1), "a", nil), mk(2, UB, int64(1), "a", nil)}, "absent"},
		{"dedup insert after delete", dedup, []lsm.Record{mk(1, D, nil, nil, nil), mk(2, I, int64(3), "c", nil)}, "[3 c <nil>]"},
		{"dedup seq field out of order", dedupSeq, []lsm.Record{mk(1, I, int64(1), "new", int64(9)), mk(2, UA, int64(2), "old", int64(5))}, "[1 new 9]"},
		{"dedup seq field NULL first", dedupSeq, []lsm.Record{mk(1, I, int64(1), "x", int64(-5)), mk(2, UA, int64(2), "y", nil)}, "[1 x -5]"},
		{"dedup seq field tie by write order", dedupSeq, []lsm.Record{mk(1, I, int64(1), "x", int64(5)), mk(2, UA, int64(2), "y", int64(5))}, "[2 y 5]"},
		{"dedup seq field old delete loses", dedupSeq, []lsm.Record{mk(1, I, int64(1), "x", int64(7)), mk(2, D, nil, nil, int64(3))}, "[1 x 7]"},
		{"dedup seq field newer delete wins", dedupSeq, []lsm.Record{mk(1, I, int64(1), "x", int64(7)), mk(2, D, nil, nil, int64(8))}, "absent"},
		{"first-row first wins", first, []lsm.Record{mk(1, I, int64(1), "a", nil), mk(2, UA, int64(2), "b", nil)}, "[1 a <nil>]"},
		{"first-row ignores deletes", first, []lsm.Record{mk(1, I, int64(1), "a", nil), mk(2, D, nil, nil, nil), mk(3, I, int64(3), "c", nil)}, "[1 a <nil>]"},
		{"first-row only deletes", first, []lsm.Record{mk(1, D, nil, nil, nil), mk(2, UB, nil, nil, nil)}, "absent"},
		{"first-row seq field", firstSeq, []lsm.Record{mk(1, I, int64(1), "late", int64(9)), mk(2, I, int64(2), "early", int64(4))}, "[2 early 4]"},
		{"partial overlay", partial, []lsm.Record{mk(1, I, int64(1), nil, int64(7)), mk(2, UA, nil, "s", nil), mk(3, UB, int64(9), "x", int64(9))}, "[1 s 7]"},
		{"partial delete then rebuild", partial, []lsm.Record{mk(1, I, int64(1), "a", int64(7)), mk(2, D, nil, nil, nil), mk(3, UA, nil, "b", nil)}, "[<nil> b <nil>]"},
		{"partial delete last", partial, []lsm.Record{mk(1, I, int64(1), "a", nil), mk(2, D, nil, nil, nil)}, "absent"},
		{"partial only -U", partial, []lsm.Record{mk(1, UB, int64(1), "a", nil)}, "absent"},
	}
	for _, c := range cases {
		got := mustEngine(t, c.schema).Merge(c.recs)
		if v := visible(got); v != c.want {
			t.Errorf("%s: got %s (%s), want %s", c.name, v, got.Kind, c.want)
		}
	}
}

func TestAggregation(t *testing.T) {
	I, UB, UA, D := types.Insert, types.UpdateBefore, types.UpdateAfter, types.Delete
	m := mustEngine(t, aggSchema())
	//               sum_i            sum_l           sum_d              cnt       mn    mx         lv   lnn  fv   fnn  band  bor    cnt_i
	r1 := mk(1, I, int32(math.MaxInt32), int64(10), types.Decimal(150), int64(77), "m", int32(5), "a", "a", nil, nil, true, false, int32(1))
	r2 := mk(2, UA, int32(2), int64(-3), types.Decimal(-50), nil, "b", int32(9), nil, nil, "x", "y", nil, false, nil)
	r3 := mk(3, UB, int32(1), int64(5), types.Decimal(100), int64(1), "a", int32(100), "z", "z", "z", "z", false, true, int32(1))
	r4 := mk(4, UA, nil, nil, nil, int64(5), "c", nil, "c", nil, "w", "w", false, nil, nil)
	got := m.Merge([]lsm.Record{r1, r2, r3, r4})
	// sum_i wraps: MaxInt32+2-1 = MinInt32. cnt: r1 counts, r2 is NULL, r3
	// retracts one, r4 counts: 1. cnt_i: 1 - 1 = 0. lnn keeps "a" (r4 NULL).
	want := fmt.Sprint([]types.Value{int32(math.MinInt32), int64(2), types.Decimal(0), int64(1), "b", int32(9), "c", "a", nil, "y", false, false, int32(0)})
	if v := visible(got); v != want {
		t.Fatalf("got  %s\nwant %s", v, want)
	}
	// A delete restarts the state.
	got = m.Merge([]lsm.Record{r1, mk(2, D), r2})
	want = fmt.Sprint([]types.Value{int32(2), int64(-3), types.Decimal(-50), int64(0), "b", int32(9), nil, nil, "x", "y", nil, false, int32(0)})
	if v := visible(got); v != want {
		t.Fatalf("after delete got %s\nwant %s", v, want)
	}
	if !got.Reset {
		t.Fatal("merge across a delete must set Reset")
	}
	// Retractions alone are not a row but still apply later.
	got = m.Merge([]lsm.Record{r3})
	if visible(got) != "absent" || got.Kind != UB {
		t.Fatalf("retraction only: %s %s", got.Kind, visible(got))
	}
}

func TestMergeEngineOptionErrors(t *testing.T) {
	base := func(opts map[string]string) *types.Schema { return engineSchema(opts) }
	cases := []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{OptMergeEngine: "last-wins"}, `merge-engine: unknown merge engine "last-wins"`},
		{map[string]string{OptSequenceField: "nope"}, `sequence.field: unknown column "nope"`},
		{map[string]string{OptMergeEngine: EnginePartialUpdate, OptSequenceField: "ts"}, `sequence.field="ts" is not supported with merge-engine=partial-update`},
		{map[string]string{OptMergeEngine: EngineAggregation, OptSequenceField: "ts"}, "not supported with merge-engine=aggregation"},
		{map[string]string{OptMergeEngine: EngineAggregation, "fields.nope.aggregate-function": "sum"}, `fields.nope.aggregate-function: unknown column "nope"`},
		{map[string]string{OptMergeEngine: EngineAggregation, "fields.v.aggregate-function": "median"}, `unknown aggregate function "median"`},
		{map[string]string{OptMergeEngine: EngineAggregation, "fields.s.aggregate-function": "sum"}, `fields.s.aggregate-function: aggregate function sum does not apply to column "s" of type STRING`},
		{map[string]string{OptMergeEngine: EngineAggregation, "fields.v.aggregate-function": "bool_or"}, "bool_or does not apply"},
		{map[string]string{OptMergeEngine: EngineAggregation, "fields.s.aggregate-function": "count"}, "count does not apply"},
		{map[string]string{OptMergeEngine: EngineAggregation, "fields.id.aggregate-function": "sum"}, "primary-key column"},
		{map[string]string{"fields.v.aggregate-function": "sum"}, "only applies to merge-engine=aggregation"},
	}
	for _, c := range cases {
		_, err := NewMergeEngine(base(c.opts))
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want ErrInvalid containing %q", c.opts, err, c.want)
		}
	}
	for _, s := range []*types.Schema{aggSchema(), base(map[string]string{OptMergeEngine: EngineFirstRow, OptSequenceField: "v"})} {
		if _, err := NewMergeEngine(s); err != nil {
			t.Errorf("valid options rejected: %v", err)
		}
	}
}

// engineConfigs are the configurations the randomized tests run.
func engineConfigs() map[string]*types.Schema {
	return map[string]*types.Schema{
		"deduplicate":          engineSchema(nil),
		"deduplicate+seqfield": engineSchema(map[string]string{OptSequenceField: "ts"}),
		"first-row":            engineSchema(map[string]string{OptMergeEngine: EngineFirstRow}),
		"first-row+seqfield":   engineSchema(map[string]string{OptMergeEngine: EngineFirstRow, OptSequenceField: "ts"}),
		"partial-update":       engineSchema(map[string]string{OptMergeEngine: EnginePartialUpdate}),
		"aggregation":          aggSchema(),
		"aggregation+nested":   aggNestedSchema(),
	}
}

// randEngineRow returns a random row for schema s: small value domains so
// ties, NULLs and repeated values are common.
func randEngineRow(rng *rand.Rand, s *types.Schema, id int64) types.Row {
	row := make(types.Row, len(s.Fields))
	row[0] = id
	for c := 1; c < len(row); c++ {
		if rng.IntN(4) == 0 {
			continue
		}
		switch strings.ToLower(s.Options["fields."+s.Fields[c].Name+".aggregate-function"]) {
		case "collect", "merge_map", "listagg", "product":
			row[c] = randSmall(rng, s.Fields[c].Type, true)
			continue
		}
		switch s.Fields[c].Type.Kind {
		case types.Int:
			row[c] = int32(rng.IntN(7) - 3)
			if rng.IntN(20) == 0 {
				row[c] = int32(math.MaxInt32 - rng.IntN(3))
			}
		case types.BigInt:
			row[c] = int64(rng.IntN(7) - 3)
			if rng.IntN(20) == 0 {
				row[c] = int64(math.MinInt64 + rng.IntN(3))
			}
		case types.DecimalKind:
			row[c] = types.Decimal(rng.IntN(2001) - 1000)
		case types.String:
			row[c] = string(rune('a' + rng.IntN(5)))
		case types.Boolean:
			row[c] = rng.IntN(2) == 0
		}
	}
	return row
}

func randKind(rng *rand.Rand) types.RowKind {
	return []types.RowKind{types.Insert, types.Insert, types.UpdateAfter, types.UpdateAfter, types.UpdateBefore, types.Delete}[rng.IntN(6)]
}

// TestPreMergeEqualsSingleMerge checks, for every engine, that merging a
// key's records in one go equals pre-merging contiguous parts through write
// buffers (a flush) and merging the parts again (a read), with and without
// an older merged state in front.
func TestPreMergeEqualsSingleMerge(t *testing.T) {
	seed := testSeed(t)
	for name, s := range engineConfigs() {
		m := mustEngine(t, s)
		rng := rand.New(rand.NewPCG(seed, uint64(len(name))))
		for it := 0; it < 3000; it++ {
			n := 1 + rng.IntN(8)
			var recs []lsm.Record
			for i := 0; i < n; i++ {
				row := randEngineRow(rng, s, 1)
				key, _ := types.EncodeRowKey(nil, row, []int{0})
				recs = append(recs, lsm.Record{Key: key, Seq: int64(i + 10), Kind: randKind(rng), Row: row})
			}
			// An older merged state, from its own flush.
			var base []lsm.Record
			if rng.IntN(2) == 0 {
				wb := lsm.NewWriteBuffer()
				for i := 0; i < 1+rng.IntN(3); i++ {
					row := randEngineRow(rng, s, 1)
					wb.Add(lsm.Record{Key: recs[0].Key, Seq: int64(i), Kind: randKind(rng), Row: row})
				}
				base = wb.Flush(m)
			}
			single := flushAll(m, append(append([]lsm.Record(nil), base...), recs...))
			var parts []lsm.Record
			for i := 0; i < n; {
				j := i + 1 + rng.IntN(n-i)
				parts = append(parts, flushAll(m, recs[i:j]))
				i = j
			}
			split := flushAll(m, append(append([]lsm.Record(nil), base...), parts...))
			if visible(single) != visible(split) {
				t.Fatalf("%s: single merge %s, pre-merged %s\nbase %v\nrecords %v", name, visible(single), visible(split), base, recs)
			}
		}
	}
}

// flushAll merges recs (one key) through a write buffer, as a flush does.
func flushAll(m lsm.Merger, recs []lsm.Record) lsm.Record {
	wb := lsm.NewWriteBuffer()
	for _, r := range recs {
		wb.Add(r)
	}
	out := wb.Flush(m)
	if len(out) != 1 {
		panic(fmt.Sprintf("flush of one key gave %d records", len(out)))
	}
	return out[0]
}
