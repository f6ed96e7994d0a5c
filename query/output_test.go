package query

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// outputScript produces the results the golden files show: typed rows with
// NULLs, awkward strings, an empty result and message-only results.
const outputScript = `
SELECT id, customer, amount, qty, d, ts, score, flag, data, customer || '"' AS quoted FROM orders ORDER BY id;
SELECT 'a,b' AS "comma", 'line
break' AS nl, 'tab	x' AS tab, 'ünï' AS uni, NULL AS nothing, '' AS empty, CAST(1 AS FLOAT) / 3 AS third, 1 AS dup, 2 AS dup;
SELECT id FROM orders WHERE id < 0;
INSERT INTO orders (id) VALUES (6);
CREATE DATABASE other;
`

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestOutputGolden(t *testing.T) {
	e, _ := ordersEngine(t)
	results := mustExec(t, e, outputScript)
	for _, format := range []string{"table", "csv", "json"} {
		var buf bytes.Buffer
		for _, r := range results {
			if err := WriteResult(&buf, r, format); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			buf.WriteString("----\n")
		}
		golden(t, "output."+format, buf.Bytes())
	}
}

func TestOutputUnknownFormat(t *testing.T) {
	err := WriteResult(&bytes.Buffer{}, &Result{Message: "x"}, "xml")
	if err == nil || err.Error() != `invalid: unknown output format "xml" (valid: table, csv, json, arrow)` {
		t.Errorf("err = %v", err)
	}
}

func TestOutputArrowRoundTrip(t *testing.T) {
	e, _ := ordersEngine(t)
	res := mustExec(t, e, "SELECT id, customer, amount, qty, d, ts, score, flag, data, CAST(score AS FLOAT) AS f, NULL AS n FROM orders ORDER BY id")[0]
	var buf bytes.Buffer
	if err := WriteResult(&buf, res, "arrow"); err != nil {
		t.Fatal(err)
	}
	rd, err := ipc.NewReader(&buf, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	var typeNames []string
	for _, f := range rd.Schema().Fields() {
		typeNames = append(typeNames, f.Name+":"+f.Type.String())
	}
	wantSchema := "id:int64 customer:utf8 amount:decimal(10, 2) qty:int32 d:date32 ts:timestamp[us] score:float64 flag:bool data:binary f:float32 n:utf8"
	if got := strings.Join(typeNames, " "); got != wantSchema {
		t.Errorf("schema\n got  %s\n want %s", got, wantSchema)
	}
	if !rd.Next() {
		t.Fatalf("no record batch: %v", rd.Err())
	}
	rec := rd.Record()
	if rec.NumRows() != int64(len(res.Rows)) {
		t.Fatalf("%d rows, want %d", rec.NumRows(), len(res.Rows))
	}
	// Convert every cell back to a silt value and compare with the result.
	for j, c := range res.Columns {
		col := rec.Column(j)
		for i, row := range res.Rows {
			got := fromArrow(col, i)
			want := row[j]
			if (got == nil) != (want == nil) || (want != nil && types.Compare(got, want) != 0) {
				t.Errorf("row %d column %s: arrow %v (%T), want %v (%T)", i, c.Name, got, got, want, want)
			}
		}
	}
	if rd.Next() {
		t.Errorf("more than one record batch")
	}
	// Message-only results write nothing.
	buf.Reset()
	if err := WriteResult(&buf, &Result{Message: "CREATE TABLE"}, "arrow"); err != nil || buf.Len() != 0 {
		t.Errorf("message-only arrow: %d bytes, %v", buf.Len(), err)
	}
}

func fromArrow(col arrow.Array, i int) types.Value {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return bytes.Clone(a.Value(i))
	case *array.Decimal128:
		return types.Decimal(a.Value(i).LowBits())
	case *array.Date32:
		return types.Date(a.Value(i))
	case *array.Timestamp:
		return types.Timestamp(a.Value(i))
	}
	return "unsupported"
}
