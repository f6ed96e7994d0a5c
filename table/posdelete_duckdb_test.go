package table

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
)

// TestPositionDeletesDuckDB: DuckDB, an outside Parquet reader, sees the
// position delete file's columns with Iceberg's field ids, both required,
// and its rows in (file_path, pos) order.
func TestPositionDeletesDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	var buf bytes.Buffer
	deletes := []PositionDelete{{"s3://b/t/data/z.parquet", 4}, {"s3://b/t/data/a.parquet", 9}, {"s3://b/t/data/a.parquet", 2}}
	if _, err := WritePositionDeletes(&buf, deletes); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "deletes.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := db.Run(t, nil, []string{
		"SELECT name, field_id, repetition_type, type FROM parquet_schema('" + path + "') WHERE name <> 'position_delete' ORDER BY field_id DESC",
		"SELECT file_path || '#' || pos FROM read_parquet('" + path + "')",
	})
	flat := func(r duckdbtest.Result) string {
		if r.Err != "" {
			t.Fatalf("duckdb: %s", r.Err)
		}
		var rows []string
		for _, row := range r.Rows {
			var cells []string
			for _, c := range row {
				if c == nil {
					cells = append(cells, "NULL")
				} else {
					cells = append(cells, *c)
				}
			}
			rows = append(rows, strings.Join(cells, ","))
		}
		return strings.Join(rows, ";")
	}
	if got, want := flat(res[0]), "file_path,2147483546,REQUIRED,BYTE_ARRAY;pos,2147483545,REQUIRED,INT64"; got != want {
		t.Fatalf("DuckDB sees the schema %q, want %q", got, want)
	}
	if got, want := flat(res[1]), "s3://b/t/data/a.parquet#2;s3://b/t/data/a.parquet#9;s3://b/t/data/z.parquet#4"; got != want {
		t.Fatalf("DuckDB reads %q, want %q", got, want)
	}
}
