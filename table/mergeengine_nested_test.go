package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// aggNestedSchema has a column per collection and product function, with
// nested element, key and value types, for the randomized engine tests.
func aggNestedSchema() *types.Schema {
	pair := types.TStruct(types.Field{Name: "a", Type: types.TInt}, types.Field{Name: "b", Type: types.TString})
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "coll", Type: types.TArray(types.TInt)},
			{ID: 2, Name: "colld", Type: types.TArray(pair)},
			{ID: 3, Name: "mm", Type: types.TMap(types.TString, types.TArray(types.TInt))},
			{ID: 4, Name: "la", Type: types.TString},
			{ID: 5, Name: "pi", Type: types.TInt},
			{ID: 6, Name: "pl", Type: types.TBigInt},
			{ID: 7, Name: "pf", Type: types.TFloat},
			{ID: 8, Name: "pd", Type: types.TDouble},
			{ID: 9, Name: "pdec", Type: types.TDecimal(18, 2)},
			{ID: 10, Name: "pdec38", Type: types.TDecimal(38, 4)},
			{ID: 11, Name: "lair", Type: types.TString},
			{ID: 12, Name: "sumir", Type: types.TBigInt},
			{ID: 13, Name: "mmi", Type: types.TMap(types.TInt, types.TString)},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 13,
		Options: map[string]string{
			OptMergeEngine:                 "aggregation",
			"fields.colld.distinct":        "true",
			"fields.la.list-agg-delimiter": "|",
			"fields.lair.ignore-retract":   "true",
			"fields.sumir.ignore-retract":  "true",
		},
	}
	for col, f := range map[string]string{"coll": "collect", "colld": "collect", "mm": "merge_map", "mmi": "merge_map", "la": "listagg", "lair": "listagg",
		"pi": "product", "pl": "product", "pf": "product", "pd": "product", "pdec": "product", "pdec38": "PRODUCT", "sumir": "sum"} {
		s.Options["fields."+col+".aggregate-function"] = f
	}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	return s
}

// randSmall is a random value of t from a small domain, so that equal
// elements, keys and NULLs are common.
func randSmall(rng *rand.Rand, t types.DataType, product bool) types.Value {
	switch t.Kind {
	case types.Int:
		if product {
			return int32(rng.IntN(7) - 3)
		}
		return int32(rng.IntN(4))
	case types.BigInt:
		if product {
			return int64(rng.IntN(7) - 3)
		}
		return int64(rng.IntN(4))
	case types.Float:
		// Powers of two (never 0): products and quotients are exact, so
		// any grouping gives the same bits.
		return float32([]float64{0.5, 1, 2, -1, -2}[rng.IntN(5)])
	case types.Double:
		return []float64{0.5, 1, 2, -1, -0.5}[rng.IntN(5)]
	case types.DecimalKind:
		// Whole numbers of magnitude 1 or 2: no rounding and no overflow
		// (mergeengine_nested_test.go covers both by hand).
		u := int64([]int{-2, -1, 1, 2}[rng.IntN(4)])
		for range t.Scale {
			u *= 10
		}
		if t.Is128() {
			return types.Decimal128FromInt64(u)
		}
		return types.Decimal(u)
	case types.String:
		return []string{"a", "b", "c", "", " ", "a|b"}[rng.IntN(6)]
	case types.ArrayKind:
		l := make(types.List, rng.IntN(4))
		for i := range l {
			if rng.IntN(6) > 0 {
				l[i] = randSmall(rng, t.Fields[0].Type, false)
			}
		}
		return l
	case types.MapKind:
		var m types.Map
		for range rng.IntN(4) {
			k := randSmall(rng, t.Fields[0].Type, false)
			dup := false
			for _, e := range m {
				dup = dup || types.Equal(e.Key, k)
			}
			if dup {
				continue
			}
			var v types.Value
			if rng.IntN(5) > 0 {
				v = randSmall(rng, t.Fields[1].Type, false)
			}
			m = append(m, types.MapEntry{Key: k, Value: v})
		}
		return m
	case types.StructKind:
		st := make(types.Struct, len(t.Fields))
		for i, f := range t.Fields {
			if rng.IntN(5) > 0 {
				st[i] = randSmall(rng, f.Type, false)
			}
		}
		return st
	}
	return nil
}

// TestAggregationNestedFunctions: collect, merge_map, listagg and product
// fold +I/+U values as Apache Paimon does, skip NULLs, and a -D restarts
// them.
func TestAggregationNestedFunctions(t *testing.T) {
	I, UA, D := types.Insert, types.UpdateAfter, types.Delete
	m := mustEngine(t, aggNestedSchema())
	pair := func(a int32, b string) types.Struct { return types.Struct{a, b} }
	row := func(seq int64, kind types.RowKind, vals map[int]types.Value) lsm.Record {
		r := make([]types.Value, 13)
		for c, v := range vals {
			r[c-1] = v
		}
		return mk(seq, kind, r...)
	}
	r1 := row(1, I, map[int]types.Value{1: types.List{int32(1), nil}, 2: types.List{pair(1, "x"), pair(1, "x"), nil},
		3: types.Map{{Key: "k", Value: types.List{int32(1)}}, {Key: "j", Value: nil}}, 4: "a", 5: int32(3), 6: int64(-2), 7: float32(1.5), 8: 2.5,
		9: types.Decimal(150), 10: types.Decimal128FromInt64(25000), 11: "x", 13: types.Map{{Key: int32(1), Value: "one"}}})
	r2 := row(2, UA, map[int]types.Value{1: types.List{int32(1)}, 2: types.List{pair(2, "y"), nil, pair(1, "x")},
		3: types.Map{{Key: "n", Value: types.List{}}, {Key: "k", Value: nil}}, 4: "  ", 5: nil, 6: int64(4), 7: float32(2), 8: nil,
		9: types.Decimal(-333), 10: types.Decimal128FromInt64(-5), 11: "y"})
	r3 := row(3, UA, map[int]types.Value{1: nil, 4: "b", 5: int32(5), 9: types.Decimal(1)})
	got := m.Merge([]lsm.Record{r1, r2, r3})
	// pdec: 1.50 * -3.33 = -4.995 -> -5.00 (half up, away from zero), * 0.01 = -0.05.
	// pdec38: 2.5000 * -0.0005 = -0.00125 -> -0.0013.
	want := fmt.Sprint([]types.Value{
		types.List{int32(1), nil, int32(1)},
		types.List{pair(1, "x"), nil, pair(2, "y")},
		types.Map{{Key: "k", Value: nil}, {Key: "j", Value: nil}, {Key: "n", Value: types.List{}}},
		"a|b", int32(15), int64(-8), float32(3), 2.5, types.Decimal(-5), types.Decimal128FromInt64(-13), "x,y", nil,
		types.Map{{Key: int32(1), Value: "one"}},
	})
	if v := visible(got); v != want {
		t.Fatalf("got  %s\nwant %s", v, want)
	}
	// A delete restarts every function; all-NULL inputs stay NULL.
	got = m.Merge([]lsm.Record{r1, mk(2, D), row(3, I, map[int]types.Value{4: " "})})
	if v := visible(got); v != fmt.Sprint(make([]types.Value, 13)) {
		t.Fatalf("after delete got %s, want all NULL", v)
	}
}

// TestAggregationProductOverflow: a DECIMAL product that needs more digits
// than the column's precision is an overflow error naming the column, and
// stays one through later merges; INT and BIGINT wrap like sum.
func TestAggregationProductOverflow(t *testing.T) {
	I := types.Insert
	m := mustEngine(t, aggNestedSchema())
	row := func(seq int64, vals map[int]types.Value) lsm.Record {
		r := make([]types.Value, 13)
		for c, v := range vals {
			r[c-1] = v
		}
		return mk(seq, I, r...)
	}
	big38, err := types.ParseDecimal128("9999999999999999999999999999999999.9999", types.TDecimal(38, 4))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Merge([]lsm.Record{
		row(1, map[int]types.Value{5: int32(1 << 20), 6: int64(1) << 40, 9: types.Decimal(999999999999999999), 10: big38}),
		row(2, map[int]types.Value{5: int32(1 << 20), 6: int64(1) << 40, 9: types.Decimal(1000), 10: types.Decimal128FromInt64(20000)}),
	})
	for c, name := range map[int]string{9: "pdec", 10: "pdec38"} {
		err, ok := got.Row[c].(error)
		if !ok || !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `column "`+name+`": aggregate function product overflows`) {
			t.Fatalf("column %s: got %v, want an overflow error naming it", name, got.Row[c])
		}
	}
	if got.Row[5] != int32(0) || got.Row[6] != int64(0) {
		t.Fatalf("INT/BIGINT products = %v, %v; want 0, 0 (2^40 and 2^80 wrap)", got.Row[5], got.Row[6])
	}
	// An overflow stays one when merged with later values.
	again := m.Merge([]lsm.Record{got, row(3, map[int]types.Value{9: types.Decimal(0), 10: types.Decimal128FromInt64(0)})})
	if _, ok := again.Row[9].(error); !ok {
		t.Fatalf("overflow merged with 0 = %v, want the overflow", again.Row[9])
	}
}

// TestAggregationRetractNested: -U divides FLOAT and DOUBLE products (a
// key holding only retractions stores the divisor), and is ignored by the
// functions that cannot retract, in the merge itself.
func TestAggregationRetractNested(t *testing.T) {
	I, UB := types.Insert, types.UpdateBefore
	m := mustEngine(t, aggNestedSchema())
	row := func(seq int64, kind types.RowKind, vals map[int]types.Value) lsm.Record {
		r := make([]types.Value, 13)
		for c, v := range vals {
			r[c-1] = v
		}
		return mk(seq, kind, r...)
	}
	only := m.Merge([]lsm.Record{row(1, UB, map[int]types.Value{7: float32(4), 8: 0.5, 12: int64(5)})})
	if only.Kind != UB || only.Row[7] != float32(4) || only.Row[8] != 0.5 || only.Row[12] != nil {
		t.Fatalf("retraction-only state %s %v, want -U with divisors 4 and 0.5 (sumir ignores retractions)", only.Kind, only.Row)
	}
	got := m.Merge([]lsm.Record{
		row(0, I, map[int]types.Value{1: types.List{int32(7)}, 4: "a", 7: float32(8), 8: 3.0, 12: int64(10)}),
		only,
		row(2, UB, map[int]types.Value{1: types.List{int32(7)}, 4: "a", 5: int32(3), 11: "z"}),
	})
	if got.Row[7] != float32(2) || got.Row[8] != 6.0 || got.Row[12] != int64(10) {
		t.Fatalf("after retractions %v; want pf 2, pd 6, sumir 10", got.Row)
	}
	if fmt.Sprint(got.Row[1]) != "[7]" || got.Row[4] != "a" {
		t.Fatalf("collect/listagg changed by -U: %v %v", got.Row[1], got.Row[4])
	}
}

// TestAggregationNestedOptionErrors: functions on the wrong column type and
// misplaced per-column options are refused when the table is defined.
func TestAggregationNestedOptionErrors(t *testing.T) {
	cases := []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"fields.v.aggregate-function": "collect"}, `aggregate function collect does not apply to column "v" of type BIGINT`},
		{map[string]string{"fields.s.aggregate-function": "merge_map"}, "merge_map does not apply"},
		{map[string]string{"fields.v.aggregate-function": "listagg"}, "listagg does not apply"},
		{map[string]string{"fields.s.aggregate-function": "product"}, "product does not apply"},
		{map[string]string{"fields.s.aggregate-function": "listagg", "fields.s.distinct": "true"}, "fields.s.distinct applies only to columns whose aggregate function is collect"},
		{map[string]string{"fields.v.list-agg-delimiter": ";"}, "fields.v.list-agg-delimiter applies only to columns whose aggregate function is listagg"},
		{map[string]string{"fields.v.ignore-retract": "yes"}, `fields.v.ignore-retract: "yes" is not true or false`},
		{map[string]string{"fields.nope.ignore-retract": "true"}, `fields.nope.ignore-retract: unknown column "nope"`},
		{map[string]string{"fields.id.ignore-retract": "true"}, "primary-key column"},
	}
	for _, c := range cases {
		opts := map[string]string{OptMergeEngine: EngineAggregation}
		for k, v := range c.opts {
			opts[k] = v
		}
		_, err := NewMergeEngine(engineSchema(opts))
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want ErrInvalid containing %q", c.opts, err, c.want)
		}
	}
	_, err := NewMergeEngine(engineSchema(map[string]string{"fields.s.list-agg-delimiter": ";"}))
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "only applies to merge-engine=aggregation") {
		t.Errorf("delimiter on a deduplicate table: %v", err)
	}
	for _, k := range []string{"fields.s.distinct", "fields.s.list-agg-delimiter", "fields.s.ignore-retract"} {
		if !IsOption(k) {
			t.Errorf("IsOption(%q) = false", k)
		}
		if _, err := ParseOptions(map[string]string{k: "true"}); err != nil {
			t.Errorf("ParseOptions(%s): %v", k, err)
		}
	}
}

// TestAggregationProductOverflowTable: a DECIMAL product that overflows
// is an error, not a row, in every path: a flush that pre-merges the
// overflowing rows, a scan and a point lookup that merge them on read, and
// a compaction that merges them.
func TestAggregationProductOverflowTable(t *testing.T) {
	ctx := context.Background()
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "p", Type: types.TDecimal(38, 0)},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 1,
		Options:        map[string]string{OptMergeEngine: EngineAggregation, "fields.p.aggregate-function": "product"},
	}
	big, err := types.ParseDecimal128("10000000000000000000", s.Fields[1].Type) // 10^19: its square has 39 digits
	if err != nil {
		t.Fatal(err)
	}
	want := `column "p": aggregate function product overflows DECIMAL(38,0)`
	isOverflow := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: got %v, want an error containing %q", what, err, want)
		}
	}
	// Pre-merged by the write buffer: the flush fails.
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("u")
	for range 2 {
		if err := w.Write(ctx, types.Insert, types.Row{int64(1), big}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.Commit(ctx, "c")
	isOverflow("flush", err)

	// Merged on read and by compaction: one row per commit.
	store := objstore.NewMem()
	tb, err = Open("db.t", store, "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewLookupIndexes()
	defer reg.Close()
	var indexed *Table
	for i := range 2 {
		w := tb.NewWriter("u")
		if err := w.Write(ctx, types.Insert, types.Row{int64(1), big}); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, types.Insert, types.Row{int64(2), types.Decimal128FromInt64(3)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			indexed = indexedTable(t, store, s, t.TempDir(), reg)
			if _, ok, err := indexed.Get(ctx, 0, int64(1)); err != nil || !ok {
				t.Fatalf("get through the lookup index after one commit: %v, %v", ok, err)
			}
		}
	}
	sc, err := tb.NewScan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var scanErr error
	for _, err := range sc.Rows(ctx) {
		if err != nil {
			scanErr = err
			break
		}
	}
	isOverflow("scan", scanErr)
	_, _, err = tb.Get(ctx, 0, int64(1))
	isOverflow("get", err)
	if row, ok, err := tb.Get(ctx, 0, int64(2)); err != nil || !ok || row[1] != types.Decimal128FromInt64(9) {
		t.Fatalf("get of the key that fits = %v, %v, %v; want 9", row, ok, err)
	}
	// The local lookup index, built after the first commit, merges the
	// key's indexed record with the second commit's when it catches up.
	_, _, err = indexed.Get(ctx, 0, int64(1))
	isOverflow("get through the lookup index", err)
	_, err = tb.Compact(ctx, CompactOptions{Full: true})
	isOverflow("compaction", err)
}

// TestMergeMapDuplicateKeys: a map written with a key twice folds like two
// maps (the later value wins), so merging it alone or after another map
// agree.
func TestMergeMapDuplicateKeys(t *testing.T) {
	dup := types.Map{{Key: int32(1), Value: "a"}, {Key: int32(1), Value: "b"}}
	if got := fmt.Sprint(mergeMapAdd(nil, dup)); got != "[{1 b}]" {
		t.Fatalf("alone: %s, want [{1 b}]", got)
	}
	if got := fmt.Sprint(mergeMapAdd(types.Map{{Key: int32(2), Value: "c"}}, dup)); got != "[{2 c} {1 b}]" {
		t.Fatalf("after a map: %s", got)
	}
}
