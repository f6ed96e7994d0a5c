package icebergview

import (
	"context"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestIcebergTemporalTypes: TIME, TIMESTAMP_LTZ and UUID columns (the
// key among them, a UUID partition) map to Iceberg's time, timestamptz
// and uuid, TIMESTAMP to timestamp, and read back with iceberg-go as silt
// returns them.
func TestIcebergTemporalTypes(t *testing.T) {
	for _, c := range []struct {
		t    types.DataType
		want iceberg.Type
	}{
		{types.TTimestamp, iceberg.PrimitiveTypes.Timestamp},
		{types.TTimestampLTZ, iceberg.PrimitiveTypes.TimestampTz},
		{types.TTime, iceberg.PrimitiveTypes.Time},
		{types.TUUID, iceberg.PrimitiveTypes.UUID},
	} {
		if got, err := icebergType(c.t); err != nil || !got.Equals(c.want) {
			t.Errorf("%s maps to %v %v, want %s", c.t, got, err, c.want)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &types.Schema{
		Fields: []types.Field{
			{Name: "u", Type: types.TUUID, NotNull: true},
			{Name: "tm", Type: types.TTime, NotNull: true},
			{Name: "tz", Type: types.TTimestampLTZ},
			{Name: "ts", Type: types.TTimestamp},
			{Name: "t2", Type: types.TTime},
		},
		PrimaryKeys:   []string{"u", "tm"},
		PartitionKeys: []string{"u"},
		Options:       map[string]string{"bucket": "2"},
	}
	f := newFixture(t, store, dir, s)
	w := f.tbl.NewWriter("test")
	for i := 0; i < 30; i++ {
		u := types.UUID{byte(i % 3), 0xab, 15: byte(i % 3)}
		row := types.Row{u, types.TimeOfDay(int64(i) * 3_600_000_001 % types.MicrosPerDay), types.TimestampLTZ(int64(i)*86_400_000_123 - 5), types.Timestamp(int64(i) * 1_000_001), nil}
		if i%4 == 0 {
			row[2], row[3] = nil, nil
		} else {
			row[4] = types.TimeOfDay(int64(i))
		}
		if err := w.Write(ctx, types.Insert, row); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	f.checkNoErrors(t)
	latest, err := f.tbl.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it := f.iceTable(t, ctx)
	for _, fl := range it.Schema().Fields() {
		if fl.Name == "tz" && !fl.Type.Equals(iceberg.PrimitiveTypes.TimestampTz) || fl.Name == "u" && !fl.Type.Equals(iceberg.PrimitiveTypes.UUID) {
			t.Errorf("view column %s is %s", fl.Name, fl.Type)
		}
	}
	want := siltRows(t, ctx, f.tbl, latest.ID, "")
	got := iceRows(t, ctx, it, latest.ID, f.tbl.Schema())
	if d := diffRows(want, got); d != "" {
		t.Fatalf("snapshot %d: %s", latest.ID, d)
	}
	if len(want) != 30 {
		t.Fatalf("%d rows, want 30", len(want))
	}
}
