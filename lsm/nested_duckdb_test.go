package lsm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/types"
)

// TestNestedDuckDB: DuckDB reads silt's nested columns as lists, maps and
// structs with the values silt wrote (compared through DuckDB's to_json,
// read back with silt's JSON text form), nested to any depth.
func TestNestedDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 9))
	scalars := []types.DataType{types.TInt, types.TBigInt, types.TString, types.TDate, types.TBoolean, types.TDecimal(9, 2)}
	dir := t.TempDir()
	var setup, queries []string
	type file struct {
		s    *types.Schema
		recs []Record
	}
	var files []file
	for round := range 6 {
		s := &types.Schema{ID: 1, PrimaryKeys: []string{"id"}}
		s.Fields = append(s.Fields, types.Field{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true})
		for c := range 3 {
			typ := nestedgen.TypeFrom(r, 3, scalars)
			if !typ.IsNested() {
				typ = types.TArray(typ)
			}
			s.Fields = append(s.Fields, types.Field{ID: c + 1, Name: fmt.Sprintf("n%d", c), Type: typ})
		}
		s.HighestFieldID = len(s.Fields) - 1
		for i := range s.Fields {
			types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
		}
		recs := nestedRecords(r, s, 20)
		enc, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 7})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("f%d.parquet", round))
		if err := os.WriteFile(path, enc[0].Data, 0o644); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, f := range s.Fields[1:] {
			cols = append(cols, "to_json("+f.Name+")")
		}
		queries = append(queries, fmt.Sprintf("SELECT %s FROM read_parquet('%s') ORDER BY _key", strings.Join(cols, ", "), path))
		files = append(files, file{s, recs})
	}
	res := db.Run(t, setup, queries)
	for i, f := range files {
		if res[i].Err != "" {
			t.Fatalf("file %d: DuckDB: %s", i, res[i].Err)
		}
		if len(res[i].Rows) != len(f.recs) {
			t.Fatalf("file %d: DuckDB read %d rows, want %d", i, len(res[i].Rows), len(f.recs))
		}
		for r, row := range res[i].Rows {
			for c, cell := range row {
				fld := f.s.Fields[c+1]
				want := f.recs[r].Row[c+1]
				var got types.Value
				if cell != nil {
					var err error
					if got, err = types.ParseText(*cell, fld.Type); err != nil {
						t.Fatalf("file %d row %d column %s %s: DuckDB gave %s: %v", i, r, fld.Name, fld.Type, *cell, err)
					}
				}
				if types.Compare(got, want) != 0 {
					t.Fatalf("file %d row %d column %s %s: DuckDB read %v, silt wrote %s", i, r, fld.Name, fld.Type, cell, types.FormatJSON(want, fld.Type))
				}
			}
		}
	}
}
