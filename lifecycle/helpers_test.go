package lifecycle

import (
	"context"
	"fmt"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// testSeed returns -seed, or a time-based seed, and logs it for replay.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	return testkit.Seed(t)
}

// simpleSchema: (id BIGINT primary key, v STRING) in buckets buckets.
func simpleSchema(buckets int) *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "v", Type: types.TString},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 1,
		Options:        map[string]string{table.OptBucket: fmt.Sprint(buckets)},
	}
}

func mustWrite(t *testing.T, w *table.Writer, kind types.RowKind, r types.Row) {
	t.Helper()
	if err := w.Write(context.Background(), kind, r); err != nil {
		t.Fatal(err)
	}
}

// readIDs reads the latest snapshot of an (id, v) table.
func readIDs(t *testing.T, tb *table.Table) map[int64]string {
	t.Helper()
	ctx := context.Background()
	s, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out[row[0].(int64)] = row[1].(string)
	}
	return out
}
