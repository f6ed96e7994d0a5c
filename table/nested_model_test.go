package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestNestedModel: random ARRAY, MAP and ROW columns (nested to depth 3)
// written through changelogs, flushed into several runs and compacted,
// read back by scans and point lookups and compared with the oracle.
func TestNestedModel(t *testing.T) {
	seed := testSeed(t)
	for _, engine := range []string{"deduplicate", "partial-update"} {
		t.Run(engine, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(len(engine))))
			runNestedModel(t, rng, engine)
		})
	}
}

func runNestedModel(t *testing.T, rng *rand.Rand, engine string) {
	ctx := context.Background()
	s := &types.Schema{
		Fields:         []types.Field{{ID: 0, Name: "id", Type: types.TInt, NotNull: true}},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 0,
		Options: map[string]string{OptBucket: fmt.Sprint(1 + rng.IntN(2)), OptMergeEngine: engine,
			OptWriteBufferSize: "2kb", OptRowGroupRows: "5"},
	}
	for c := range 1 + rng.IntN(3) {
		typ := nestedgen.Type(rng, 3)
		if !typ.IsNested() {
			typ = types.TMap(types.TString, typ)
		}
		s.HighestFieldID++
		s.Fields = append(s.Fields, types.Field{ID: s.HighestFieldID, Name: fmt.Sprintf("n%d", c), Type: typ})
	}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	const keys = 40
	state := map[int32]types.Row{}
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
			want, ok := state[row[0].(int32)]
			if !ok || !rowsEqual(row, want) {
				t.Fatalf("%s: key %v: got %v, want %v (present %v)", when, row[0], row, want, ok)
			}
			n++
		}
		if n != len(state) {
			t.Fatalf("%s: scan returned %d rows, want %d", when, n, len(state))
		}
		for range 5 {
			k := int32(rng.IntN(keys))
			row, ok, err := tb.Get(ctx, 0, k)
			want, wantOK := state[k]
			if err != nil || ok != wantOK || (ok && !rowsEqual(row, want)) {
				t.Fatalf("%s: Get(%d) = %v, %v, %v; want %v, %v", when, k, row, ok, err, want, wantOK)
			}
		}
	}
	for c := 1; c <= 8; c++ {
		w := tb.NewWriter("model")
		for range rng.IntN(60) {
			k := int32(rng.IntN(keys))
			row := types.Row{k}
			for _, f := range s.Fields[1:] {
				var v types.Value
				if rng.IntN(5) > 0 {
					v = nestedgen.Value(rng, f.Type)
				}
				row = append(row, v)
			}
			kind := types.Insert
			if rng.IntN(6) == 0 {
				kind = types.Delete
			}
			if err := w.Write(ctx, kind, row); err != nil {
				t.Fatalf("write %v: %v", row, err)
			}
			switch {
			case kind == types.Delete:
				delete(state, k)
			case engine == "partial-update" && state[k] != nil:
				merged := append(types.Row{}, state[k]...)
				for i, v := range row {
					if v != nil {
						merged[i] = v
					}
				}
				state[k] = merged
			default:
				state[k] = row
			}
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil { // its background compactions
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
