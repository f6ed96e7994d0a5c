package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/siltdb/silt/types"
)

// roundTripColumns is a table with a column of every type silt has.
var roundTripColumns = []struct {
	name string
	typ  types.DataType
}{
	{"id", types.TInt},
	{"c_bool", types.TBoolean},
	{"c_int", types.TInt},
	{"c_bigint", types.TBigInt},
	{"c_float", types.TFloat},
	{"c_double", types.TDouble},
	{"c_dec", types.TDecimal(18, 4)},
	{"c_dec0", types.TDecimal(18, 0)},
	{"c_string", types.TString},
	{"c_bytes", types.TBytes},
	{"c_date", types.TDate},
	{"c_ts", types.TTimestamp},
	{"c_dec38", types.TDecimal(38, 10)},
}

func roundTripDDL(table string) string {
	cols := make([]string, len(roundTripColumns))
	for i, c := range roundTripColumns {
		cols[i] = c.name + " " + c.typ.String()
	}
	return "CREATE TABLE " + table + " (" + strings.Join(cols, ", ") + ", PRIMARY KEY (id))"
}

func mustTS(s string) types.Timestamp {
	ts, err := types.ParseTimestamp(s)
	if err != nil {
		panic(err)
	}
	return ts
}

func mustDate(s string) types.Date {
	d, err := types.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// roundTripRows are awkward values of every type, in id order; column 0 is
// the id.
func roundTripRows() []types.Row {
	d38 := func(s string) types.Value {
		d, err := types.ParseDecimal128(s, types.TDecimal(38, 10))
		if err != nil {
			panic(err)
		}
		return d
	}
	wide := []types.Value{nil, d38("1234567890123456789012345678.0123456789"), d38("-9999999999999999999999999999.9999999999"),
		d38("9999999999999999999999999999.9999999999"), d38("0"), d38("-0.0000000001"), nil, d38("1"), nil, d38("-42.5"), nil}
	rows := roundTripRowsNarrow()
	for i := range rows {
		rows[i] = append(rows[i], wide[i])
	}
	return rows
}

// roundTripRowsNarrow are the rows without the DECIMAL(38,10) column.
func roundTripRowsNarrow() []types.Row {
	return []types.Row{
		{int32(0), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{int32(1), true, int32(42), int64(-7), float32(1.5), 0.1, types.Decimal(123456), types.Decimal(-5), "hello", []byte("hi"), mustDate("2026-01-02"), mustTS("2026-01-02 03:04:05.123456")},
		{int32(2), false, int32(math.MinInt32), int64(math.MinInt64), float32(-math.MaxFloat32), -math.MaxFloat64, types.Decimal(-999999999999999999), types.Decimal(-999999999999999999),
			"", []byte{}, mustDate("0000-01-01"), mustTS("0000-01-01 00:00:00")},
		{int32(3), true, int32(math.MaxInt32), int64(math.MaxInt64), float32(math.NaN()), math.Inf(1), types.Decimal(-1), types.Decimal(999999999999999999),
			"quote \" comma , newline \n crlf \r\n tab \t end", []byte{0, 0xff, 0x80, '\n', ',', '"'}, mustDate("9999-12-31"), mustTS("9999-12-31 23:59:59.999999")},
		{int32(4), false, int32(-1), int64(0), float32(math.Inf(-1)), 5e-324, types.Decimal(0), types.Decimal(0),
			"unicode ü 日本 🎉 and U+FFFD \uFFFD", []byte("0x12"), mustDate("1969-12-31"), mustTS("1969-12-31 23:59:59.000001")},
		{int32(5), nil, int32(0), nil, float32(1e-45), math.Copysign(0, -1), nil, types.Decimal(1), " leading and trailing spaces ", []byte("AP8="), nil, mustTS("1970-01-01 00:00:00")},
		{int32(6), true, nil, int64(1), float32(math.Copysign(0, -1)), math.NaN(), types.Decimal(1), nil, `""`, nil, mustDate("1970-01-01"), nil},
		{int32(7), nil, nil, nil, float32(math.MaxFloat32), math.Inf(-1), nil, nil, "NULL", []byte(" "), nil, nil},
		{int32(8), nil, nil, nil, float32(0.1), 1e300, nil, nil, " ", nil, nil, nil},
		{int32(9), nil, nil, nil, nil, nil, nil, nil, "\\N,\"\r", nil, nil, nil},
		{int32(10), nil, nil, nil, nil, nil, nil, nil, "0x00", nil, nil, nil},
	}
}

// sqlLiteral renders v as a SQL literal of type t.
func sqlLiteral(v types.Value, t types.DataType) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		return strconv.FormatBool(x)
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case []byte:
		return "X'" + hex.EncodeToString(x) + "'"
	}
	return "CAST('" + types.FormatValue(v, t) + "' AS " + t.String() + ")"
}

// sameValue compares two values exactly: floats by bits (any NaN equals
// any NaN), []byte by content, other values by types.Equal.
func sameValue(a, b types.Value) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && (math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y))
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || (x != x && y != y))
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return types.Equal(a, b) && (a == nil) == (b == nil)
}

// readArrowRows decodes an Arrow IPC stream of the round-trip columns.
func readArrowRows(t *testing.T, data []byte) []types.Row {
	t.Helper()
	rd, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("arrow output: %v", err)
	}
	defer rd.Release()
	var rows []types.Row
	for rd.Next() {
		rec := rd.RecordBatch()
		if int(rec.NumCols()) != len(roundTripColumns) {
			t.Fatalf("arrow output has %d columns, want %d", rec.NumCols(), len(roundTripColumns))
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make(types.Row, rec.NumCols())
			for j := 0; j < int(rec.NumCols()); j++ {
				col := rec.Column(j)
				if col.IsNull(i) {
					continue
				}
				switch c := col.(type) {
				case *array.Boolean:
					row[j] = c.Value(i)
				case *array.Int32:
					row[j] = c.Value(i)
				case *array.Int64:
					row[j] = c.Value(i)
				case *array.Float32:
					row[j] = c.Value(i)
				case *array.Float64:
					row[j] = c.Value(i)
				case *array.Decimal128:
					row[j] = types.ValueAt(c, i) // Decimal128 above 18 digits
				case *array.String:
					row[j] = c.Value(i)
				case *array.Binary:
					row[j] = bytes.Clone(c.Value(i))
				case *array.Date32:
					row[j] = types.Date(c.Value(i))
				case *array.Timestamp:
					if u := c.DataType().(*arrow.TimestampType).Unit; u != arrow.Microsecond {
						t.Fatalf("timestamp unit %v", u)
					}
					row[j] = types.Timestamp(c.Value(i))
				default:
					t.Fatalf("column %d: unexpected Arrow array %T", j, col)
				}
			}
			rows = append(rows, row)
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("arrow output: %v", err)
	}
	return rows
}

func checkRows(t *testing.T, what string, got, want []types.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range want {
		for j, c := range roundTripColumns {
			if !sameValue(got[i][j], want[i][j]) {
				t.Errorf("%s: row %d column %s: got %#v, want %#v", what, i, c.name, got[i][j], want[i][j])
			}
		}
	}
}

// TestOutputLoadRoundTrip: for every column type and awkward values,
// silt's csv and json output loaded back with silt load (csv, jsonl) give
// identical rows, and its arrow output read with Arrow's IPC reader holds
// identical values.
func TestOutputLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	want := roundTripRows()
	var script strings.Builder
	script.WriteString("CREATE DATABASE rt;\n")
	for _, tb := range []string{"rt.src", "rt.from_csv", "rt.from_json"} {
		script.WriteString(roundTripDDL(tb) + ";\n")
	}
	for _, row := range want {
		lits := make([]string, len(row))
		for j, v := range row {
			lits[j] = sqlLiteral(v, roundTripColumns[j].typ)
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
	checkRows(t, "arrow output of the source", readArrowRows(t, []byte(selectAll("rt.src", "arrow"))), want)

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
		if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("loaded %d rows", len(want))) {
			t.Fatalf("load %s output: exit %d\n%s\n%s", tc.format, r.code, r.stdout, r.stderr)
		}
		checkRows(t, tc.format+" output loaded back", readArrowRows(t, []byte(selectAll(tc.table, "arrow"))), want)
		if again := selectAll(tc.table, tc.format); again != out {
			t.Errorf("%s output of the loaded table differs from the source's:\n%s\nwant:\n%s", tc.format, again, out)
		}
	}
}
