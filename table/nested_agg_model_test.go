package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// nestedAggSchema is the table of TestNestedAggregationModel: collect,
// merge_map, listagg and product columns with nested element types.
func nestedAggSchema(buckets int) *types.Schema {
	pair := types.TStruct(types.Field{Name: "a", Type: types.TInt}, types.Field{Name: "b", Type: types.TString})
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TInt, NotNull: true},
			{ID: 1, Name: "coll", Type: types.TArray(pair)},
			{ID: 2, Name: "colld", Type: types.TArray(types.TArray(types.TInt))},
			{ID: 3, Name: "mm", Type: types.TMap(types.TString, types.TArray(types.TInt))},
			{ID: 4, Name: "la", Type: types.TString},
			{ID: 5, Name: "p", Type: types.TBigInt},
			{ID: 6, Name: "pd", Type: types.TDouble},
			{ID: 7, Name: "pdec", Type: types.TDecimal(38, 2)},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 7,
		Options: map[string]string{
			OptBucket: fmt.Sprint(buckets), OptMergeEngine: EngineAggregation,
			OptWriteBufferSize: "2kb", OptRowGroupRows: "5",
			"fields.coll.aggregate-function": "collect", "fields.colld.aggregate-function": "collect", "fields.colld.distinct": "true",
			"fields.mm.aggregate-function": "merge_map", "fields.la.aggregate-function": "listagg", "fields.la.list-agg-delimiter": ";",
			"fields.p.aggregate-function": "product", "fields.pd.aggregate-function": "product", "fields.pdec.aggregate-function": "product",
		},
	}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	return s
}

// aggModelKey is the model's state of one key: the folded columns, whether
// a +I/+U was folded since the last -D (the key is a row), and the
// DOUBLE product's pending quotient.
type aggModelKey struct {
	row    types.Row
	hasRow bool
}

// foldModel is a plain, sequential restatement of the functions' rules
// (Apache Paimon's): it shares no code with the merge engine.
func foldModel(st *aggModelKey, kind types.RowKind, r types.Row) {
	if st.row == nil {
		st.row = make(types.Row, len(r))
	}
	acc := st.row
	acc[0] = r[0]
	switch kind {
	case types.Delete:
		*st = aggModelKey{}
		return
	case types.UpdateBefore:
		if v, ok := r[6].(float64); ok { // only pd retracts: it divides
			if x, ok := acc[6].(float64); ok {
				acc[6] = x / v
			} else {
				acc[6] = 1 / v
			}
		}
		return
	}
	st.hasRow = true
	if in, ok := r[1].(types.List); ok {
		old, _ := acc[1].(types.List)
		acc[1] = append(append(types.List{}, old...), in...)
	}
	if in, ok := r[2].(types.List); ok {
		out, _ := acc[2].(types.List)
		out = append(types.List{}, out...)
		for _, e := range in {
			found := false
			for _, o := range out {
				found = found || types.Equal(o, e)
			}
			if !found {
				out = append(out, e)
			}
		}
		acc[2] = out
	}
	if in, ok := r[3].(types.Map); ok {
		out, _ := acc[3].(types.Map)
		out = append(types.Map{}, out...)
	next:
		for _, e := range in {
			for i := range out {
				if types.Equal(out[i].Key, e.Key) {
					out[i].Value = e.Value
					continue next
				}
			}
			out = append(out, e)
		}
		acc[3] = out
	}
	if s, ok := r[4].(string); ok && strings.TrimSpace(s) != "" {
		if old, ok := acc[4].(string); ok {
			acc[4] = old + ";" + s
		} else {
			acc[4] = s
		}
	}
	if v, ok := r[5].(int64); ok {
		if x, ok := acc[5].(int64); ok {
			acc[5] = x * v
		} else {
			acc[5] = v
		}
	}
	if v, ok := r[6].(float64); ok {
		if x, ok := acc[6].(float64); ok {
			acc[6] = x * v
		} else {
			acc[6] = v
		}
	}
	if v, ok := r[7].(types.Decimal128); ok { // whole numbers: no rounding
		if x, ok := acc[7].(types.Decimal128); ok {
			q, _ := x.Num().Mul(v.Num()).Div(types.Decimal128FromInt64(100).Num())
			acc[7] = types.Decimal128(q)
		} else {
			acc[7] = v
		}
	}
}

// TestNestedAggregationModel: random changelogs of collect, merge_map,
// listagg and product columns written through a table (write buffer
// pre-merges, flushes, background and explicit compactions), read back by
// scans and point lookups and compared with a sequential model. -U rows
// carry a value only in the DOUBLE product (which divides); a -U with a
// value in another of these columns must be refused and change nothing.
func TestNestedAggregationModel(t *testing.T) {
	for _, seed := range append([]uint64{testSeed(t)}, testkit.Seeds(t, 2)...) {
		for _, buckets := range []int{1, 2} {
			t.Run(fmt.Sprintf("%d/buckets=%d", seed, buckets), func(t *testing.T) {
				testkit.LogSeed(t, seed)
				rng := rand.New(rand.NewPCG(seed, uint64(buckets)))
				runNestedAggModel(t, rng, buckets)
			})
		}
	}
}

func runNestedAggModel(t *testing.T, rng *rand.Rand, buckets int) {
	ctx := context.Background()
	s := nestedAggSchema(buckets)
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	const keys = 30
	state := map[int32]*aggModelKey{}
	check := func(when string) {
		t.Helper()
		sc, err := tb.NewScan(ctx, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for row, err := range sc.Rows(ctx) {
			if err != nil {
				t.Fatalf("%s: scan: %v", when, err)
			}
			st := state[row[0].(int32)]
			if st == nil || !st.hasRow || !rowsEqual(row, st.row) {
				t.Fatalf("%s: key %v: got %v, want %v", when, row[0], row, st)
			}
			n++
		}
		want := 0
		for _, st := range state {
			if st.hasRow {
				want++
			}
		}
		if n != want {
			t.Fatalf("%s: scan returned %d rows, want %d", when, n, want)
		}
		for range 5 {
			k := int32(rng.IntN(keys))
			row, ok, err := tb.Get(ctx, 0, k)
			st := state[k]
			wantOK := st != nil && st.hasRow
			if err != nil || ok != wantOK || (ok && !rowsEqual(row, st.row)) {
				t.Fatalf("%s: Get(%d) = %v, %v, %v; want %v", when, k, row, ok, err, st)
			}
		}
	}
	for c := 1; c <= 10; c++ {
		w := tb.NewWriter("model")
		for range rng.IntN(80) {
			k := int32(rng.IntN(keys))
			row := types.Row{k}
			for i, f := range s.Fields[1:] {
				var v types.Value
				if rng.IntN(4) > 0 {
					v = randSmall(rng, f.Type, true)
					if i+1 == 7 {
						v = types.Decimal128FromInt64(int64([]int{-200, -100, 100, 200}[rng.IntN(4)]))
					}
				}
				row = append(row, v)
			}
			kind := []types.RowKind{types.Insert, types.Insert, types.UpdateAfter, types.UpdateBefore, types.Delete}[rng.IntN(5)]
			if kind == types.UpdateBefore && rng.IntN(3) > 0 {
				// A -U carries a value only where it can retract.
				for i := range row[1:] {
					if i+1 != 6 {
						row[i+1] = nil
					}
				}
			}
			err := w.Write(ctx, kind, row)
			refused := kind == types.UpdateBefore && (row[1] != nil || row[2] != nil || row[3] != nil || row[4] != nil || row[5] != nil || row[7] != nil)
			if refused {
				if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "cannot retract") {
					t.Fatalf("-U %v: got %v, want a refusal", row, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("write %v %v: %v", kind, row, err)
			}
			if state[k] == nil {
				state[k] = &aggModelKey{}
			}
			foldModel(state[k], kind, row)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("commit %d", c))
		if c%3 == 0 {
			if _, err := tb.Compact(ctx, CompactOptions{Full: c%2 == 0}); err != nil {
				t.Fatalf("compact: %v", err)
			}
			check(fmt.Sprintf("compaction after commit %d", c))
		}
	}
}
