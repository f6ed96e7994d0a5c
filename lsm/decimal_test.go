package lsm

import (
	"testing"

	"github.com/siltdb/silt/types"
)

// TestSmallDecimalRoundTrip: DECIMAL with precision <= 9 is stored as INT32
// (as the Parquet spec asks) and reads back exactly, also widened to a
// precision stored as INT64.
func TestSmallDecimalRoundTrip(t *testing.T) {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "d", Type: types.TDecimal(5, 2)},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 1,
	}
	vals := []types.Value{types.Decimal(99999), types.Decimal(-99999), types.Decimal(0), nil, types.Decimal(150)}
	var recs []Record
	for i, v := range vals {
		key, err := types.EncodeKey(nil, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, Record{Key: key, Seq: int64(i), Kind: types.Insert, Row: types.Row{int64(i), v}, Merged: true})
	}
	files, err := WriteFiles(recs, s, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	wide := *s
	wide.Fields = []types.Field{s.Fields[0], {ID: 1, Name: "d", Type: types.TDecimal(14, 2)}}
	for _, rs := range []*types.Schema{s, &wide} {
		got := readAll(t, data, rs, 0)
		if len(got) != len(vals) {
			t.Fatalf("%d records, want %d", len(got), len(vals))
		}
		for i, r := range got {
			if !types.Equal(r.Row[1], vals[i]) {
				t.Fatalf("read as %s: record %d = %v, want %v", rs.Fields[1].Type, i, r.Row[1], vals[i])
			}
		}
	}
}
