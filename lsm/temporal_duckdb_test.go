package lsm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/types"
)

// TestTemporalDuckDB: DuckDB reads silt's TIME, TIMESTAMP_LTZ, UUID and
// TIMESTAMP columns with their types (TIME, TIMESTAMP WITH TIME ZONE,
// UUID, TIMESTAMP) and silt's values.
func TestTemporalDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 5))
	s := temporalSchema()
	n := 200
	rows := make([]types.Row, 0, n)
	var recs []Record
	wb := NewWriteBuffer()
	for i := range n {
		var u, v types.UUID
		for j := range u {
			u[j], v[j] = byte(rng.IntN(256)), byte(rng.IntN(256))
		}
		// DuckDB reads the extreme int64 timestamps as ±infinity: stay
		// within years 1677..2262.
		row := types.Row{u, types.TimeOfDay(rng.Int64N(types.MicrosPerDay)), types.TimestampLTZ(rng.Int64N(1<<62) - 1<<61),
			types.TimeOfDay(rng.Int64N(types.MicrosPerDay)), types.TimestampLTZ(rng.Int64N(1<<62) - 1<<61), v, types.Timestamp(rng.Int64N(1<<62) - 1<<61)}
		if i%7 == 0 {
			row[3], row[4], row[5], row[6] = nil, nil, nil, nil
		}
		key, err := types.EncodeRowKey(nil, row, s.KeyIndexes())
		if err != nil {
			t.Fatal(err)
		}
		wb.Add(Record{Key: key, Seq: int64(i), Kind: types.Insert, Row: row})
	}
	recs = wb.Flush(lastWins{})
	for _, r := range recs {
		rows = append(rows, r.Row)
	}
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 64})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(path, files[0].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := db.Run(t, []string{"SET TimeZone = 'UTC'"}, []string{
		"SELECT typeof(ku), typeof(kt), typeof(kz), typeof(t), typeof(z), typeof(u), typeof(ts) FROM read_parquet('" + path + "') LIMIT 1",
		"SELECT ku::VARCHAR, kt::VARCHAR, epoch_us(kz), t::VARCHAR, epoch_us(z), u::VARCHAR, epoch_us(ts) FROM read_parquet('" + path + "')",
	})
	for _, r := range res {
		if r.Err != "" {
			t.Fatalf("DuckDB: %s", r.Err)
		}
	}
	if got := strings.Join(deref(res[0].Rows[0]), ","); got != "UUID,TIME,TIMESTAMP WITH TIME ZONE,TIME,TIMESTAMP WITH TIME ZONE,UUID,TIMESTAMP" {
		t.Fatalf("DuckDB types: %s", got)
	}
	if len(res[1].Rows) != len(rows) {
		t.Fatalf("DuckDB read %d rows, silt wrote %d", len(res[1].Rows), len(rows))
	}
	for i, row := range rows {
		want := make([]string, len(row))
		for c, v := range row {
			switch x := v.(type) {
			case nil:
				want[c] = "NULL"
			case types.TimeOfDay:
				want[c] = types.FormatTimeOfDay(x) // DuckDB trims trailing zeros too
			case types.TimestampLTZ:
				want[c] = fmt.Sprint(int64(x))
			case types.Timestamp:
				want[c] = fmt.Sprint(int64(x))
			case types.UUID:
				want[c] = x.String()
			}
		}
		if got := strings.Join(deref(res[1].Rows[i]), ","); got != strings.Join(want, ",") {
			t.Fatalf("seed %d row %d: DuckDB read %s, silt wrote %s", seed, i, got, strings.Join(want, ","))
		}
	}
}

func deref(row []*string) []string {
	out := make([]string, len(row))
	for i, v := range row {
		if v == nil {
			out[i] = "NULL"
		} else {
			out[i] = *v
		}
	}
	return out
}
