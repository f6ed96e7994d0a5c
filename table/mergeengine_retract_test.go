package table

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestAggregationRetractRefused: a -U row with a value in a collect,
// merge_map, listagg or integer product column is refused by Write and by
// WriteBatch with an error naming the column and its function; a -U whose
// value there is NULL, or in a column with ignore-retract=true, is taken.
func TestAggregationRetractRefused(t *testing.T) {
	ctx := context.Background()
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "tags", Type: types.TArray(types.TString)},
			{ID: 2, Name: "names", Type: types.TString},
			{ID: 3, Name: "f", Type: types.TDouble},
			{ID: 4, Name: "n", Type: types.TBigInt},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 4,
		Options: map[string]string{OptMergeEngine: EngineAggregation,
			"fields.tags.aggregate-function": "collect", "fields.names.aggregate-function": "listagg",
			"fields.names.ignore-retract": "true", "fields.f.aggregate-function": "product", "fields.n.aggregate-function": "product"},
	}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("u")
	for _, c := range []struct {
		row  types.Row
		want string
	}{
		{types.Row{int64(1), types.List{"a"}, nil, nil, nil}, `column "tags": aggregate function collect on ARRAY<STRING> cannot retract a -U value`},
		{types.Row{int64(1), nil, nil, nil, int64(2)}, `column "n": aggregate function product on BIGINT cannot retract`},
	} {
		err := w.Write(ctx, types.UpdateBefore, c.row)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "ignore-retract=true") {
			t.Errorf("-U %v: got %v, want %q", c.row, err, c.want)
		}
	}
	for _, row := range []types.Row{{int64(1), nil, "x", 2.0, nil}, {int64(1), nil, nil, nil, nil}} {
		if err := w.Write(ctx, types.UpdateBefore, row); err != nil {
			t.Errorf("-U %v: %v", row, err)
		}
	}
	as, err := types.ArrowSchema(s, true)
	if err != nil {
		t.Fatal(err)
	}
	rec := buildRawBatch(t, as, [][]batchCell{
		{int64(1), types.List{"a"}, nil, 2.0, nil, int8(types.Insert)},
		{int64(1), nil, "x", 2.0, nil, int8(types.UpdateBefore)},
		{int64(1), types.List{"a"}, nil, nil, nil, int8(types.UpdateBefore)},
	})
	err = w.WriteBatch(ctx, rec)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `batch row 2: `) || !strings.Contains(err.Error(), `column "tags": aggregate function collect`) {
		t.Fatalf("batch with a -U in a collect column: %v", err)
	}
}

// retractableRow clears, in a -U row, the values tb refuses to retract
// (collect, merge_map, listagg, integer products), so that randomized
// writers can use any engine configuration.
func retractableRow(tb *Table, kind types.RowKind, row types.Row) types.Row {
	a, ok := tb.merger.(*aggregation)
	if !ok || kind != types.UpdateBefore || a.noRetract == nil {
		return row
	}
	for c, refused := range a.noRetract {
		if refused {
			row[c] = nil
		}
	}
	return row
}
