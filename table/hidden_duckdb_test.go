package table

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestHiddenRowsDuckDB: DuckDB, an outside reader, reads a table's data
// files with their row numbers and anti-joins the position delete file
// written from HiddenRows: it must see the scan's rows (count, and the sum
// and count of a value column).
func TestHiddenRowsDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	ctx := context.Background()
	for _, engine := range []string{"deduplicate", "first-row"} {
		dir := t.TempDir()
		store, err := objstore.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		s := modelSchema(engine, 3, rng.IntN(2) == 0)
		tb, err := Open("db.t", store, "t/", s, Env{})
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 4; c++ {
			w := tb.NewWriter("w")
			for i := 0; i < 150; i++ {
				kind := []types.RowKind{types.Insert, types.UpdateAfter, types.Delete, types.UpdateBefore}[rng.IntN(4)]
				mustWrite(t, w, kind, randRow(rng, 40))
			}
			if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
				t.Fatal(err)
			}
		}
		snap, err := tb.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hidden, err := tb.HiddenRows(ctx, snap)
		if err != nil {
			t.Fatal(err)
		}
		location := func(p string) string { return filepath.Join(dir, tb.Root(), p) }
		var buf bytes.Buffer
		if _, err := WritePositionDeletes(&buf, PositionDeletes(hidden, location)); err != nil {
			t.Fatal(err)
		}
		deletes := filepath.Join(dir, "deletes.parquet")
		if err := os.WriteFile(deletes, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files, err := tb.Meta().Files(ctx, snap)
		if err != nil {
			t.Fatal(err)
		}
		var list []string
		for _, f := range files {
			list = append(list, "'"+location(f.Path)+"'")
		}
		q := fmt.Sprintf(`SELECT count(*), coalesce(sum(amount), 0), count(note) FROM read_parquet([%s], filename=true, file_row_number=true) d
			ANTI JOIN read_parquet('%s') x ON d.filename = x.file_path AND d.file_row_number = x.pos`, strings.Join(list, ","), deletes)
		res := db.Run(t, nil, []string{q})
		if res[0].Err != "" {
			t.Fatalf("duckdb: %s", res[0].Err)
		}
		var rows, notes, sum int64
		for _, r := range readAll(t, ctx, tb, snap.ID) {
			rows++
			if r[2] != nil {
				sum += r[2].(int64)
			}
			if r[3] != nil {
				notes++
			}
		}
		got := fmt.Sprint(*res[0].Rows[0][0], " ", *res[0].Rows[0][1], " ", *res[0].Rows[0][2])
		if want := fmt.Sprint(rows, " ", sum, " ", notes); got != want {
			t.Fatalf("%s: DuckDB reads (rows, sum, notes) %s, the scan %s", engine, got, want)
		}
		t.Logf("%s: %d files, %d rows visible to DuckDB as to the scan", engine, len(files), rows)
	}
}
