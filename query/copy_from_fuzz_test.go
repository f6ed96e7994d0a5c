package query

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/siltdb/silt/types"
)

func copyFromFuzzSchema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "amount", Type: types.TDecimal(10, 2)},
			{ID: 3, Name: "day", Type: types.TDate},
			{ID: 4, Name: "at", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 4,
	}
}

// FuzzLoadCSVOptions: with any delimiter and with or without a header,
// any input gives rows that fit the schema or an error, never a panic.
func FuzzLoadCSVOptions(f *testing.F) {
	f.Add([]byte("id|name|day\n1|a|2026-01-02\n"), byte('|'), false)
	f.Add([]byte("1\tx\t1.50\t2026-01-02\t2026-01-02 00:00:00\n2\t\"a\tb\"\t\t\t\n"), byte('\t'), true)
	f.Add([]byte("1;\"x\";2\n"), byte(';'), true)
	f.Add([]byte("id,name\n\"1\"x,2\n"), byte(','), false)
	f.Add([]byte("1\"2\n"), byte('"'), true)
	s := copyFromFuzzSchema()
	f.Fuzz(func(t *testing.T, data []byte, delim byte, noHeader bool) {
		if len(data) > 64<<10 {
			return
		}
		_ = LoadCSV(bytes.NewReader(data), s, LoadOptions{MaxRecord: 512, Delimiter: delim, NoHeader: noHeader}, func(r types.Row) error {
			if len(r) != len(s.Fields) {
				t.Fatalf("row of %d values for %d columns", len(r), len(s.Fields))
			}
			return s.CheckRow(r)
		})
	})
}

// FuzzLoadParquet: any bytes given as a Parquet file load rows that fit
// the schema or fail with an error, never a panic.
func FuzzLoadParquet(f *testing.F) {
	e, _ := copyFromEngine(f)
	dir := f.TempDir()
	for _, q := range []string{"SELECT id, name, amount, day, at FROM t", "SELECT id, big AS amount FROM t", "SELECT CAST(id AS BIGINT) AS id, d AS name FROM t"} {
		p := filepath.Join(dir, "seed.parquet")
		mustExec(f, e, "COPY ("+q+") TO "+quoteString(p))
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PAR1PAR1"))
	s := copyFromFuzzSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 256<<10 {
			return
		}
		_ = loadParquet(bytes.NewReader(data), s, func(r types.Row) error {
			if len(r) != len(s.Fields) {
				t.Fatalf("row of %d values for %d columns", len(r), len(s.Fields))
			}
			return s.CheckRow(r)
		})
	})
}

// FuzzLoadParquetNested: any bytes given as a Parquet file with LIST, MAP
// and group columns load rows that fit the schema or fail with an error,
// never a panic.
func FuzzLoadParquetNested(f *testing.F) {
	e, cat := copyFromEngine(f)
	mustExec(f, e, nestedConfDDL)
	mustExec(f, e, nestedConfRows)
	dir := f.TempDir()
	for i, q := range []string{"SELECT * FROM n", "SELECT id, l AS a FROM n", "SELECT id, r FROM n WHERE r IS NOT NULL"} {
		p := filepath.Join(dir, "seed"+string(rune('0'+i))+".parquet")
		mustExec(f, e, "COPY ("+q+") TO "+quoteString(p))
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	tb, err := cat.LoadTable(context.Background(), "default", "n")
	if err != nil {
		f.Fatal(err)
	}
	s := tb.Schema()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 256<<10 {
			return
		}
		_ = loadParquet(bytes.NewReader(data), s, func(r types.Row) error {
			if len(r) != len(s.Fields) {
				t.Fatalf("row of %d values for %d columns", len(r), len(s.Fields))
			}
			return s.CheckRow(r)
		})
	})
}
