package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/types"
)

// nestedLoadColumns is a table with ARRAY, MAP and ROW columns over the
// scalar types whose text forms are the most awkward.
var nestedLoadColumns = []struct{ name, typ string }{
	{"id", "INT"},
	{"a", "ARRAY<INT>"},
	{"m", "MAP<STRING, ROW<x DOUBLE, b BYTES>>"},
	{"r", "ROW<d DECIMAL(10,2), ts TIMESTAMP, tags ARRAY<STRING NOT NULL>, dm MAP<DATE, FLOAT>>"},
	{"mm", "MAP<BIGINT, ARRAY<ROW<s STRING, ok BOOLEAN>>>"},
	{"w", "ARRAY<DECIMAL(38,10)>"},
}

// nestedLoadRows are awkward nested values as JSON text (CAST reads it):
// NULLs at every level, empty containers, quotes, commas, newlines,
// non-finite floats, negative zero, extreme dates and timestamps.
var nestedLoadRows = [][]string{
	{"0", "", "", "", "", ""},
	{"1", "[]", "{}", `{"d":null,"ts":null,"tags":[],"dm":{}}`, "{}", "[]"},
	{"2", "[1,null,-2147483648]", `{"":{"x":0.1,"b":"AP8="},"k,\"q\"\n":null,"nul":{"x":null,"b":null}}`,
		`{"d":"-99999999.99","ts":"0001-01-01 00:00:00","tags":["a","","x,y","\"","\n"],"dm":{"1970-01-01":1.5,"9999-12-31":null}}`,
		`{"-9223372036854775808":[{"s":"é 日本","ok":true},null],"7":null}`, `["1234567890123456789012345678.0123456789",null,"-0.0000000001"]`},
	{"3", "[2147483647]", `{"inf":{"x":"+Inf","b":""},"ninf":{"x":"-Inf","b":"YQ=="},"nan":{"x":"NaN","b":null},"neg0":{"x":-0,"b":null}}`,
		`{"d":"0.01","ts":"9999-12-31 23:59:59.999999","tags":["NULL","\\N"],"dm":{"2026-02-28":"NaN","0001-01-01":-0}}`,
		`{"0":[],"1":[{"s":null,"ok":null}]}`, `[null]`},
}

func nestedLoadDDL(table string) string {
	cols := make([]string, len(nestedLoadColumns))
	for i, c := range nestedLoadColumns {
		cols[i] = c.name + " " + c.typ
	}
	return "CREATE TABLE " + table + " (" + strings.Join(cols, ", ") + ", PRIMARY KEY (id))"
}

// TestNestedOutputLoadRoundTrip: a table of ARRAY, MAP and ROW columns
// selected with --format csv and --format json and loaded back with silt
// load (csv, jsonl) gives the same table: its csv and json output are
// byte for byte the source's.
func TestNestedOutputLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	var script strings.Builder
	script.WriteString("CREATE DATABASE rt;\n")
	for _, tb := range []string{"rt.src", "rt.from_csv", "rt.from_json"} {
		script.WriteString(nestedLoadDDL(tb) + ";\n")
	}
	for _, row := range nestedLoadRows {
		lits := make([]string, len(row))
		for j, v := range row {
			switch {
			case j == 0:
				lits[j] = v
			case v == "":
				lits[j] = "NULL"
			default:
				lits[j] = "CAST('" + strings.ReplaceAll(v, "'", "''") + "' AS " + nestedLoadColumns[j].typ + ")"
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
		return mustSilt(t, env, "", "--format", format, "sql", "SELECT * FROM "+tb+" ORDER BY id")
	}
	for _, tc := range []struct{ format, ext, table string }{
		{"csv", ".csv", "rt.from_csv"},
		{"json", ".jsonl", "rt.from_json"},
	} {
		out := selectAll("rt.src", tc.format)
		file := filepath.Join(dir, "out"+tc.ext)
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		r := silt(t, env, "", "load", tc.table, file)
		if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("loaded %d rows", len(nestedLoadRows))) {
			t.Fatalf("load %s output: exit %d\n%s\n%s\ninput:\n%s", tc.format, r.code, r.stdout, r.stderr, out)
		}
		for _, f := range []string{"csv", "json"} {
			if got, want := selectAll(tc.table, f), selectAll("rt.src", f); got != want {
				t.Errorf("%s output of the table loaded from %s output differs from the source's:\n%s\nwant:\n%s", f, tc.format, got, want)
			}
		}
	}
	// A nested value that does not fit names its field.
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"id": 9, "r": {"d": 1, "tags": ["x", null]}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := silt(t, env, "", "load", "rt.from_json", bad)
	if r.code == 0 || !strings.Contains(r.stderr, `line 1: column "r": field r.tags[1]: `) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("loading a NULL into ARRAY<STRING NOT NULL>: exit %d, stderr %q, want one line naming line 1 and r.tags[1]", r.code, r.stderr)
	}
}

// TestLoadNestedRoundTripRandom: random tables of ARRAY, MAP and ROW
// columns (seeded) written as silt's csv and json output and read back
// by the loaders give the same values.
func TestLoadNestedRoundTripRandom(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 77))
	s := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TInt, NotNull: true}}, PrimaryKeys: []string{"id"}}
	cols := []query.Column{{Name: "id", Type: types.TInt}}
	for i := range 1 + rng.IntN(4) {
		typ := nestedgen.Type(rng, 3)
		for !typ.IsNested() {
			typ = nestedgen.Type(rng, 3)
		}
		f := types.Field{ID: len(s.Fields), Name: "c" + strconv.Itoa(i), Type: typ}
		s.Fields = append(s.Fields, f)
		cols = append(cols, query.Column{Name: f.Name, Type: typ})
	}
	t.Logf("columns %v", cols[1:])
	rows := make([]types.Row, 1+rng.IntN(50))
	for i := range rows {
		rows[i] = types.Row{int32(i)}
		for _, f := range s.Fields[1:] {
			var v types.Value
			if rng.IntN(5) > 0 {
				v = nestedgen.Value(rng, f.Type)
			}
			rows[i] = append(rows[i], v)
		}
	}
	res := &query.Result{Columns: cols, Rows: rows}
	for _, tc := range []struct {
		format string
		load   func(*bytes.Reader, func(types.Row) error) error
	}{
		{"csv", func(r *bytes.Reader, w func(types.Row) error) error { return loadCSV(r, s, maxLoadRecord, w) }},
		{"json", func(r *bytes.Reader, w func(types.Row) error) error { return loadJSONL(r, s, maxLoadRecord, w) }},
	} {
		var buf bytes.Buffer
		if err := query.WriteResult(&buf, res, tc.format); err != nil {
			t.Fatal(err)
		}
		var got []types.Row
		if err := tc.load(bytes.NewReader(buf.Bytes()), func(r types.Row) error {
			got = append(got, append(types.Row(nil), r...))
			return nil
		}); err != nil {
			t.Fatalf("%s: %v\ninput:\n%s", tc.format, err, buf.String())
		}
		if len(got) != len(rows) {
			t.Fatalf("%s: %d rows, want %d", tc.format, len(got), len(rows))
		}
		for i := range rows {
			for j, f := range s.Fields {
				if !types.Equal(got[i][j], rows[i][j]) || (got[i][j] == nil) != (rows[i][j] == nil) {
					t.Errorf("%s: row %d column %s: got %s, want %s", tc.format, i, f.Name, types.FormatJSON(got[i][j], f.Type), types.FormatJSON(rows[i][j], f.Type))
				}
			}
		}
	}
}
