package table

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestWriteBatchThenBatches: a change batch written through WriteBatch
// reads back through Batches and Rows as the same merged state.
func TestWriteBatchThenBatches(t *testing.T) {
	ctx := context.Background()
	schema := modelSchema("deduplicate", 2, false)
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		t.Fatal(err)
	}
	rows := []types.Row{
		{"eu", int32(1), int64(10), "a", types.Decimal(100), types.Insert},
		{"eu", int32(2), nil, nil, nil, types.Insert},
		{"eu", int32(1), int64(11), "b", types.Decimal(101), types.UpdateAfter},
		{"eu", int32(2), nil, nil, nil, types.Delete},
	}
	rec, err := types.BuildRecord(nil, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("u")
	if err := w.WriteBatch(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	s, err := tb.NewScan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []types.Row
	for b, err := range s.Batches(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, types.RecordRows(b)...)
	}
	if len(got) != 1 || got[0][2] != int64(11) || got[0][3] != "b" {
		t.Fatalf("got %v, want the one row eu/1 with 11, b", got)
	}

	// A batch of another shape names the column.
	bad := arrow.NewSchema(append(as.Fields()[:1:1], as.Fields()[2:]...), nil)
	brec, err := types.BuildRecord(nil, bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(ctx, brec); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "columns") {
		t.Fatalf("got %v, want a column-count error", err)
	}
}
