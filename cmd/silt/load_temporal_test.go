package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/siltdb/silt/types"
)

// TestLoadTemporalRoundTrip: TIME, TIMESTAMPTZ and UUID columns (a
// composite key of all three) written by SQL, output as csv and json and
// loaded back with silt load give the same values (read through the
// arrow output) and the same text.
func TestLoadTemporalRoundTrip(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	want := []types.Row{
		{types.UUID{}, types.TimeOfDay(0), types.TimestampLTZ(0), nil, nil, nil},
		{types.UUID{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}, types.TimeOfDay(types.MicrosPerDay - 1),
			types.TimestampLTZ(-1), types.TimeOfDay(45296789012), types.TimestampLTZ(1706695200123456), types.UUID{1}},
		{types.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, types.TimeOfDay(1),
			types.TimestampLTZ(253402300799999999), types.TimeOfDay(12 * 3600e6), types.TimestampLTZ(-62167219200000000), types.UUID{15: 1}},
	}
	colTypes := []types.DataType{types.TUUID, types.TTime, types.TTimestampLTZ, types.TTime, types.TTimestampLTZ, types.TUUID}
	ddl := func(tb string) string {
		return "CREATE TABLE " + tb + " (k_u UUID, k_t TIME, k_z TIMESTAMPTZ, t TIME, z TIMESTAMP WITH TIME ZONE, u UUID, PRIMARY KEY (k_u, k_t, k_z))"
	}
	var script strings.Builder
	script.WriteString("CREATE DATABASE rt;\n" + ddl("rt.src") + ";\n" + ddl("rt.from_csv") + ";\n" + ddl("rt.from_json") + ";\n")
	for _, row := range want {
		lits := make([]string, len(row))
		for j, v := range row {
			lits[j] = "NULL"
			if v != nil {
				lits[j] = fmt.Sprintf("CAST('%s' AS %s)", types.FormatValue(v, colTypes[j]), colTypes[j])
			}
		}
		script.WriteString("INSERT INTO rt.src VALUES (" + strings.Join(lits, ", ") + ");\n")
	}
	scriptPath := filepath.Join(dir, "init.sql")
	if err := os.WriteFile(scriptPath, []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSilt(t, env, "", "sql", "-f", scriptPath)
	selectAll := func(tb, format string) string {
		return mustSilt(t, env, "", "--format", format, "sql", "SELECT * FROM "+tb+" ORDER BY k_u")
	}
	check := func(what, arrowOut string) {
		t.Helper()
		rd, err := ipc.NewReader(bytes.NewReader([]byte(arrowOut)))
		if err != nil {
			t.Fatalf("%s: arrow output: %v", what, err)
		}
		defer rd.Release()
		var got []types.Row
		for rd.Next() {
			got = append(got, types.RecordRows(rd.RecordBatch())...)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
		}
		for i := range want {
			for j := range want[i] {
				if g, w := got[i][j], want[i][j]; (g == nil) != (w == nil) || g != nil && (!types.Equal(g, w) || fmt.Sprintf("%T", g) != fmt.Sprintf("%T", w)) {
					t.Errorf("%s: row %d column %d: got %#v, want %#v", what, i, j, g, w)
				}
			}
		}
	}
	check("the source", selectAll("rt.src", "arrow"))
	for _, tc := range []struct{ format, ext, table string }{{"csv", ".csv", "rt.from_csv"}, {"json", ".jsonl", "rt.from_json"}} {
		out := selectAll("rt.src", tc.format)
		file := filepath.Join(dir, "out"+tc.ext)
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := silt(t, env, "", "load", tc.table, file); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("loaded %d rows", len(want))) {
			t.Fatalf("load %s output: exit %d\n%s\n%s", tc.format, r.code, r.stdout, r.stderr)
		}
		check(tc.format+" output loaded back", selectAll(tc.table, "arrow"))
		if again := selectAll(tc.table, tc.format); again != out {
			t.Errorf("%s output of the loaded table differs from the source's:\n%s\nwant:\n%s", tc.format, again, out)
		}
	}
}
