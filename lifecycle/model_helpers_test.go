package lifecycle

// Helpers of the randomized model tests, copied from package table's
// tests (a test of package lifecycle cannot use them from there).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// modelSchema is the schema of the randomized tests: a composite key with a
// partition column, and value columns of several types.
func modelSchema(engine string, buckets int, partitioned bool) *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "region", Type: types.TString, NotNull: true},
			{ID: 1, Name: "id", Type: types.TInt, NotNull: true},
			{ID: 2, Name: "amount", Type: types.TBigInt},
			{ID: 3, Name: "note", Type: types.TString},
			{ID: 4, Name: "price", Type: types.TDecimal(10, 2)},
		},
		PrimaryKeys:    []string{"region", "id"},
		HighestFieldID: 4,
		Options: map[string]string{
			table.OptBucket:          fmt.Sprint(buckets),
			table.OptMergeEngine:     engine,
			table.OptWriteBufferSize: "2kb", // many flushes: several sorted runs per bucket
			table.OptRowGroupRows:    "7",   // several row groups per file
		},
	}
	if partitioned {
		s.PartitionKeys = []string{"region"}
	}
	if engine == "aggregation" {
		s.Options["fields.amount.aggregate-function"] = "sum"
		s.Options["fields.note.aggregate-function"] = "last_non_null_value"
		s.Options["fields.price.aggregate-function"] = "max"
	}
	return s
}

type modelKey struct {
	region string
	id     int32
}

func randRow(rng *rand.Rand, keys int) types.Row {
	regions := []string{"eu", "us", "ap", "a/b c"} // one needs path escaping
	r := types.Row{regions[rng.IntN(len(regions))], int32(rng.IntN(keys)), nil, nil, nil}
	if rng.IntN(5) > 0 {
		r[2] = rng.Int64N(1000) - 500
	}
	if rng.IntN(4) > 0 {
		r[3] = strings.Repeat("x", rng.IntN(20))
	}
	if rng.IntN(3) > 0 {
		r[4] = types.Decimal(rng.Int64N(100000))
	}
	return r
}

func diffStates(got, want map[modelKey]types.Row) string {
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("missing %v (want %v)", k, w))
		} else if !rowsEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("key %v: got %v want %v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %v = %v", k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("… %d more", len(diffs)-10))
	}
	return strings.Join(diffs, "\n")
}

func rowsEqual(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !types.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// commitRandom writes n random rows (inserts and deletes), commits, and
// returns the latest snapshot.
func commitRandom(t *testing.T, ctx context.Context, tb *table.Table, rng *rand.Rand, n int, ident string) *manifest.Snapshot {
	t.Helper()
	w := tb.NewWriter("w-" + ident)
	for i := 0; i < n; i++ {
		kind := types.Insert
		if rng.IntN(5) == 0 {
			kind = types.Delete
		}
		if err := w.Write(ctx, kind, randRow(rng, 50)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, ident); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil { // may commit an inline compaction
		t.Fatal(err)
	}
	s, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readRef(t *testing.T, ctx context.Context, tb *table.Table, r table.Ref) map[modelKey]types.Row {
	t.Helper()
	s, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: r.SnapshotID, Tag: r.Tag, AsOfMillis: r.AsOfMillis})
	if err != nil {
		t.Fatalf("scan %s: %v", r, err)
	}
	out := map[modelKey]types.Row{}
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatalf("scan %s: %v", r, err)
		}
		out[modelKey{row[0].(string), row[1].(int32)}] = row
	}
	return out
}

func sameState(t *testing.T, what string, got, want map[modelKey]types.Row) {
	t.Helper()
	if d := diffStates(got, want); d != "" {
		t.Fatalf("%s:\n%s", what, d)
	}
}

// applyChangeList applies changes to a copy of state.
func applyChangeList(state map[modelKey]types.Row, changes []table.Change) map[modelKey]types.Row {
	out := make(map[modelKey]types.Row, len(state))
	for k, v := range state {
		out[k] = v
	}
	for _, c := range changes {
		k := modelKey{c.Row[0].(string), c.Row[1].(int32)}
		if c.Kind.IsAdd() {
			out[k] = c.Row
		} else {
			delete(out, k)
		}
	}
	return out
}
