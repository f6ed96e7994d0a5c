package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// typesSchema is a table with the types CDC data carries beyond the flat
// basics: DECIMAL(30,4), TIME, TIMESTAMP_LTZ, UUID, ARRAY, MAP with STRING
// and with INT keys, and a ROW holding an ARRAY.
func typesSchema() *types.Schema {
	s := &types.Schema{Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "d", Type: types.TDecimal(30, 4)},
		{ID: 2, Name: "tm", Type: types.TTime},
		{ID: 3, Name: "at", Type: types.TTimestampLTZ},
		{ID: 4, Name: "u", Type: types.TUUID},
		{ID: 5, Name: "a", Type: types.TArray(types.TInt)},
		{ID: 6, Name: "ms", Type: types.TMap(types.TString, types.TBigInt)},
		{ID: 7, Name: "mi", Type: types.TMap(types.TInt, types.TString)},
		{ID: 8, Name: "r", Type: types.TStruct(types.Field{Name: "x", Type: types.TInt}, types.Field{Name: "days", Type: types.TArray(types.TDate)})},
	}, PrimaryKeys: []string{"id"}, HighestFieldID: 8, Options: map[string]string{"bucket": "2"}}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	return s
}

// randomTypesRow draws a row of typesSchema, NULLs and empty collections
// included.
func randomTypesRow(rng *rand.Rand, id int64) types.Row {
	null := func() bool { return rng.IntN(6) == 0 }
	row := types.Row{id, nil, nil, nil, nil, nil, nil, nil, nil}
	if !null() {
		row[1] = types.Decimal128(decimal128.New(rng.Int64N(1<<34)-1<<33, rng.Uint64()))
	}
	if !null() {
		row[2] = types.TimeOfDay(rng.Int64N(86_400_000_000))
	}
	if !null() {
		row[3] = types.TimestampLTZ(rng.Int64N(1<<52) - 1<<51)
	}
	if !null() {
		var u types.UUID
		for i := range u {
			u[i] = byte(rng.IntN(256))
		}
		row[4] = u
	}
	if !null() {
		l := types.List{}
		for range rng.IntN(4) {
			var e types.Value
			if !null() {
				e = rng.Int32()
			}
			l = append(l, e)
		}
		row[5] = l
	}
	if !null() {
		m := types.Map{}
		for i := range rng.IntN(3) {
			m = append(m, types.MapEntry{Key: fmt.Sprintf("k%d", i), Value: rng.Int64()})
		}
		row[6] = m
	}
	if !null() {
		m := types.Map{}
		for i := range rng.IntN(3) {
			m = append(m, types.MapEntry{Key: int32(i*7 - 3), Value: fmt.Sprintf("v\"%d", rng.IntN(100))})
		}
		row[7] = m
	}
	if !null() {
		days := types.List{}
		for range rng.IntN(3) {
			days = append(days, types.Date(rng.IntN(40000)-20000))
		}
		var x types.Value
		if !null() {
			x = rng.Int32()
		}
		row[8] = types.Struct{x, days}
	}
	return row
}

// TestExportTypesIntoSink: every new column type survives an export to
// Kafka (debezium-json and upsert-json) and a sink back into a table of
// the same schema over kfake: the mirror's rows equal the source's.
func TestExportTypesIntoSink(t *testing.T) {
	for _, format := range []string{"debezium-json", "upsert-json"} {
		t.Run(format, func(t *testing.T) {
			seed := testSeed(t)
			rng := rand.New(rand.NewPCG(seed, 10))
			c := newCluster(t, 2, "cdc")
			cat := newCatalog(objstore.NewMem())
			src := createTable(t, cat, "src", typesSchema())
			dst := createTable(t, cat, "dst", typesSchema())
			ctx := context.Background()
			for commit := range 3 {
				w := src.NewWriter("writer")
				for range 40 {
					id := rng.Int64N(30)
					kind, row := types.Insert, randomTypesRow(rng, id)
					if rng.IntN(6) == 0 {
						kind, row = types.Delete, types.Row{id, nil, nil, nil, nil, nil, nil, nil, nil}
					}
					if err := w.Write(ctx, kind, row); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := w.Commit(ctx, fmt.Sprintf("c%d", commit)); err != nil {
					t.Fatal(err)
				}
			}
			enc, err := NewEncoder(format, src.Schema(), Source{"db", "src"})
			if err != nil {
				t.Fatal(err)
			}
			e, err := NewExporter(src, ExportOptions{Brokers: c.ListenAddrs(), Topic: "cdc", Encoder: enc})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Run(ctx); err != nil {
				t.Fatalf("export: %v", err)
			}
			f := mustFormat(t, format, dst.Schema(), FormatOptions{UnknownFields: "reject"})
			_, stop := runSink(t, dst, Options{
				Brokers: c.ListenAddrs(), Topics: []string{"cdc"}, Group: "mirror", Member: "m", Format: f,
				CommitInterval: 30 * time.Millisecond, ClientOpts: fastGroup(),
			})
			want := typesState(t, src)
			deadline := time.Now().Add(30 * time.Second)
			for {
				got := typesState(t, dst)
				if fmt.Sprint(got) == fmt.Sprint(want) {
					break
				}
				if time.Now().After(deadline) {
					for k, w := range want {
						if got[k] != w {
							t.Errorf("key %s: mirror %s, source %s", k, got[k], w)
						}
					}
					t.Fatalf("the mirror did not converge (%d rows, source %d)", len(got), len(want))
				}
				time.Sleep(30 * time.Millisecond)
			}
			if len(want) < 10 {
				t.Fatalf("only %d rows: the test exercises too little", len(want))
			}
			if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		})
	}
}

// typesState renders the live rows of a table by key with the types'
// text forms.
func typesState(t *testing.T, tb *table.Table) map[string]string {
	t.Helper()
	ctx := context.Background()
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := tb.Schema()
	out := map[string]string{}
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		text := ""
		for i, v := range row {
			text += types.FormatValue(v, s.Fields[i].Type) + "|"
		}
		out[fmt.Sprint(row[0])] = text
	}
	return out
}
