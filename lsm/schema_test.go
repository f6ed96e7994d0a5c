package lsm

import (
	"bytes"
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/internal/duckdbtest"
)

var rewriteGolden = flag.Bool("rewrite-golden", false, "rewrite lsm/testdata/format-v*.parquet golden files (only the current version)")

// goldenRecords are the records of the golden data files: fixed, not
// drawn from a helper that may change.
func goldenRecords() []Record {
	return randRecords(rand.New(rand.NewPCG(20, 26)), allTypesSchema(), 40)
}

// TestGoldenFormatFiles reads the golden data file of every format version
// this build reads and compares it with the records it was written from
// (testdata/format-vN.txt), so that a newer writer never loses the ability
// to read older files.
func TestGoldenFormatFiles(t *testing.T) {
	ctx := context.Background()
	s := allTypesSchema()
	if *rewriteGolden {
		files, err := WriteFiles(goldenRecords(), s, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var txt strings.Builder
		for _, r := range goldenRecords() {
			txt.WriteString(debugRecord(r) + "\n")
		}
		name := filepath.Join("testdata", "format-v"+strconv.Itoa(FormatVersion))
		if err := os.WriteFile(name+".parquet", files[0].Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name+".txt", []byte(txt.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for v := 1; v <= FormatVersion; v++ {
		name := filepath.Join("testdata", "format-v"+strconv.Itoa(v))
		data, err := os.ReadFile(name + ".parquet")
		if err != nil {
			t.Fatalf("format version %d has no golden file (run with -rewrite-golden): %v", v, err)
		}
		want, err := os.ReadFile(name + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
		if err != nil {
			t.Fatalf("format version %d: %v", v, err)
		}
		var got strings.Builder
		for r, err := range fr.All(ctx) {
			if err != nil {
				t.Fatalf("format version %d: %v", v, err)
			}
			got.WriteString(debugRecord(r) + "\n")
		}
		if got.String() != string(want) {
			t.Fatalf("format version %d reads differently:\n%s\nwant:\n%s", v, got.String(), want)
		}
	}
}

// TestFieldIDZeroInParquet: the column of silt field id 0 carries the
// Parquet field_id ParquetFieldID0 (readers that resolve columns by field
// id, as Iceberg engines do, find it), every other column its own id, and
// silt reads the column back through silt.field.ids.
func TestFieldIDZeroInParquet(t *testing.T) {
	s := allTypesSchema()
	files, err := WriteFiles(goldenRecords(), s, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	cols := pf.Root().Fields()
	for i, f := range s.Fields {
		want := f.ID
		if f.ID == 0 {
			want = ParquetFieldID0
		}
		if got := cols[numHidden+i].ID(); got != want {
			t.Fatalf("column %s: Parquet field_id %d, want %d", f.Name, got, want)
		}
	}
	for i := range numHidden {
		if got := cols[i].ID(); got != ParquetFieldIDHidden+i {
			t.Fatalf("hidden column %s: Parquet field_id %d, want %d", cols[i].Name(), got, ParquetFieldIDHidden+i)
		}
	}
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	recs := goldenRecords()
	for r, err := range fr.All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if !recordsEqual(r, recs[i]) {
			t.Fatalf("record %d: %s, want %s", i, debugRecord(r), debugRecord(recs[i]))
		}
		i++
	}
	if i != len(recs) {
		t.Fatalf("read %d records, want %d", i, len(recs))
	}
}

// TestFieldIDZeroDuckDB reads the golden files with DuckDB resolving
// columns by Parquet field id, as Iceberg engines do, under names the
// files do not use: in a format-version-2 file every column, the first one
// (silt field id 0) included, is found by its id. A version-1 file stores
// no field id for the first column nor the hidden ones, so DuckDB (which
// resolves by field id only when a file's first column has one) finds
// nothing by id there; Java Iceberg readers resolve by id as soon as any
// column has one and so read its first column as NULL, the reason for
// version 2 (`silt compact --full` rewrites such files).
func TestFieldIDZeroDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	dir := t.TempDir()
	q := func(v int) string {
		data, err := os.ReadFile(filepath.Join("testdata", "format-v"+strconv.Itoa(v)+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "v"+strconv.Itoa(v)+".parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return "SELECT count(*), count(c_region), count(c_id), min(c_region), max(c_qty) FROM read_parquet('" + p + "', schema = MAP {" +
			strconv.Itoa(ParquetFieldID0) + ": {name: 'c_region', type: 'VARCHAR', default_value: NULL}, " +
			"1: {name: 'c_id', type: 'BIGINT', default_value: NULL}, " +
			"11: {name: 'c_qty', type: 'INTEGER', default_value: NULL}})"
	}
	res := db.Run(t, nil, []string{q(1), q(FormatVersion)})
	recs := goldenRecords()
	minRegion := recs[0].Row[0].(string) // records are sorted by key, region first
	maxQty := int32(math.MinInt32)
	for _, r := range recs {
		maxQty = max(maxQty, r.Row[11].(int32))
	}
	n := strconv.Itoa(len(recs))
	for i, want := range [][]string{{n, "0", "0", "<nil>", "<nil>"}, {n, n, n, minRegion, strconv.Itoa(int(maxQty))}} {
		if res[i].Err != "" {
			t.Fatalf("query %d: %s", i, res[i].Err)
		}
		var got []string
		for _, v := range res[i].Rows[0] {
			if v == nil {
				got = append(got, "<nil>")
			} else {
				got = append(got, *v)
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("format version %d: got %v, want %v", []int{1, FormatVersion}[i], got, want)
		}
	}
}
