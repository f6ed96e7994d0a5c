package main

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	iceio "github.com/apache/iceberg-go/io"
	icetable "github.com/apache/iceberg-go/table"
)

// icebergCount opens the Iceberg view's metadata at loc with iceberg-go
// and returns the rows of its current snapshot's column col, sorted.
func icebergColumn(t *testing.T, loc, col string) []string {
	t.Helper()
	ctx := context.Background()
	it, err := icetable.NewFromLocation(ctx, icetable.Identifier{"x"}, loc,
		func(context.Context) (iceio.IO, error) { return iceio.LocalFS{}, nil }, nil)
	if err != nil {
		t.Fatalf("iceberg-go cannot open %s: %v", loc, err)
	}
	tbl, err := it.Scan(icetable.WithSelectedFields(col)).ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var out []string
	tr := array.NewTableReader(tbl, 100)
	defer tr.Release()
	for tr.Next() {
		c := tr.RecordBatch().Column(0)
		for i := 0; i < c.Len(); i++ {
			out = append(out, c.ValueStr(i))
		}
	}
	slices.Sort(out)
	return out
}

// csvColumn returns the first column of a CSV result without its header.
func csvColumn(t *testing.T, out string) []string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var col []string
	for _, r := range recs[1:] {
		col = append(col, r[0])
	}
	slices.Sort(col)
	return col
}

// TestIcebergViewCLI: with metadata.iceberg.enabled every SQL commit
// publishes the view; $iceberg names its metadata; iceberg-go reads
// what SELECT returns (deletes included); compact --full updates the
// view of an aggregation table; --iceberg is the warehouse default and
// the option turns it off per table.
func TestIcebergViewCLI(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "wh")
	env := []string{"SILT_WAREHOUSE=" + wh}
	mustSilt(t, env, "", "sql", `CREATE DATABASE d;
CREATE TABLE d.t (id BIGINT, name STRING, PRIMARY KEY (id)) WITH ('bucket' = '2', 'metadata.iceberg.enabled' = 'true');
INSERT INTO d.t VALUES (1, 'a'), (2, 'b'), (3, 'c');
UPDATE d.t SET name = 'bb' WHERE id = 2;
DELETE FROM d.t WHERE id = 3`)
	meta := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT metadata_location, delete_files FROM d.t$iceberg WHERE refs = 'main'")
	locs := csvColumn(t, meta)
	if len(locs) != 1 || !strings.HasPrefix(locs[0], "file://") {
		t.Fatalf("$iceberg: %q", meta)
	}
	want := csvColumn(t, mustSilt(t, env, "", "--format", "csv", "sql", "SELECT name FROM d.t"))
	if got := icebergColumn(t, locs[0], "name"); !slices.Equal(got, want) {
		t.Fatalf("iceberg view rows %v, silt %v", got, want)
	}

	// An aggregation table: the view follows compact --full.
	mustSilt(t, env, "", "sql", `CREATE TABLE d.agg (k BIGINT, n BIGINT, PRIMARY KEY (k)) WITH ('merge-engine' = 'aggregation', 'fields.n.aggregate-function' = 'sum');
INSERT INTO d.agg VALUES (1, 1), (2, 2); INSERT INTO d.agg VALUES (1, 10)`)
	mustSilt(t, []string{"SILT_WAREHOUSE=" + wh, "SILT_ICEBERG=true"}, "", "compact", "--full", "d.agg")
	locs = csvColumn(t, mustSilt(t, env, "", "--format", "csv", "sql", "SELECT metadata_location FROM d.agg$iceberg WHERE refs = 'main'"))
	if len(locs) != 1 {
		t.Fatalf("d.agg$iceberg after compact --full with --iceberg: %v", locs)
	}
	if got := icebergColumn(t, locs[0], "n"); !slices.Equal(got, []string{"11", "2"}) {
		t.Fatalf("aggregation view: %v, want [11 2]", got)
	}

	// The option overrides the warehouse default.
	mustSilt(t, []string{"SILT_WAREHOUSE=" + wh, "SILT_ICEBERG=true"}, "", "sql",
		`CREATE TABLE d.off (k BIGINT, PRIMARY KEY (k)) WITH ('metadata.iceberg.enabled' = 'false'); INSERT INTO d.off VALUES (1)`)
	if out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) FROM d.off$iceberg"); !strings.Contains(out, "\n0\n") {
		t.Fatalf("d.off$iceberg: %q, want no rows", out)
	}
}
