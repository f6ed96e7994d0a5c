package query

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// copyEngine is siltEngine with COPY writing local files.
func copyEngine(t *testing.T) *Engine {
	t.Helper()
	cat := catalog.New(objstore.NewMem(), "", table.Env{Now: time.Now})
	e := NewEngine(NewSiltCatalog(cat, "test"), EngineOptions{Now: func() time.Time { return testNow },
		WriteFile: func(_ context.Context, path string, data []byte) error { return os.WriteFile(path, data, 0o644) }})
	mustExec(t, e, `CREATE DATABASE IF NOT EXISTS default;
		CREATE TABLE t (id INT PRIMARY KEY, big BIGINT, d DOUBLE, amount DECIMAL(10,2), small DECIMAL(5,1), name STRING, day DATE, at TIMESTAMP, ok BOOLEAN);
		INSERT INTO t VALUES
		  (1, -9223372036854775808, 1.5e0, -12345678.90, 1.5, 'plain', DATE '2024-02-29', TIMESTAMP '2024-01-31 12:00:00.123456', TRUE),
		  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		  (3, 42, -0.25e0, 0.01, -9999.9, 'a, "quoted"
		line', DATE '1970-01-01', TIMESTAMP '1999-12-31 23:59:59', FALSE),
		  (4, 7, 1e300, 99999999.99, 0.0, '', DATE '2100-12-31', TIMESTAMP '2024-06-01 00:00:00', TRUE)`)
	return e
}

// TestCopyToDuckDB: DuckDB reads the Parquet, CSV and JSON files COPY
// writes and gets the rows silt returns.
func TestCopyToDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	e := copyEngine(t)
	dir := t.TempDir()
	for _, f := range []string{"out.parquet", "out.csv", "out.json", "sub.parquet"} {
		p := filepath.Join(dir, f)
		sql := "COPY t TO " + quoteString(p)
		if f == "sub.parquet" {
			sql = "COPY (SELECT id, name AS n, amount * 2 AS twice FROM t WHERE id <> 2 ORDER BY id DESC) TO " + quoteString(p) + " (FORMAT parquet)"
		}
		if res := mustExec(t, e, sql)[0]; !strings.HasPrefix(res.Message, "COPY ") {
			t.Fatalf("%s: %+v", sql, res)
		}
	}
	cols := "id, big, d, amount, small, name, day, strftime(\"at\", '%Y-%m-%d %H:%M:%S.%f'), ok"
	var queries []string
	for _, src := range []string{
		"read_parquet('" + filepath.Join(dir, "out.parquet") + "')",
		"read_csv('" + filepath.Join(dir, "out.csv") + "', header = true, allow_quoted_nulls = false, columns = {'id': 'INT', 'big': 'BIGINT', 'd': 'DOUBLE', 'amount': 'DECIMAL(10,2)', 'small': 'DECIMAL(5,1)', 'name': 'VARCHAR', 'day': 'DATE', 'at': 'TIMESTAMP', 'ok': 'BOOLEAN'})",
		"read_json('" + filepath.Join(dir, "out.json") + "', format = 'newline_delimited', columns = {'id': 'INT', 'big': 'BIGINT', 'd': 'DOUBLE', 'amount': 'DECIMAL(10,2)', 'small': 'DECIMAL(5,1)', 'name': 'VARCHAR', 'day': 'DATE', 'at': 'TIMESTAMP', 'ok': 'BOOLEAN'})",
	} {
		queries = append(queries, "SELECT "+cols+" FROM "+src+" ORDER BY id")
	}
	queries = append(queries, "SELECT id, n, twice, typeof(twice) FROM read_parquet('"+filepath.Join(dir, "sub.parquet")+"')",
		"SELECT string_agg(column_name || ':' || column_type, ',') FROM (DESCRIBE SELECT * FROM read_parquet('"+filepath.Join(dir, "out.parquet")+"'))")
	res := db.Run(t, []string{"SET TimeZone = 'UTC'"}, queries)
	want := "1|-9223372036854775808|1.5|-12345678.90|1.5|plain|2024-02-29|2024-01-31 12:00:00.123456|true\n" +
		"2|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL\n" +
		"3|42|-0.25|0.01|-9999.9|a, \"quoted\"\n\t\tline|1970-01-01|1999-12-31 23:59:59.000000|false\n" +
		"4|7|1e+300|99999999.99|0.0||2100-12-31|2024-06-01 00:00:00.000000|true\n"
	for i, name := range []string{"parquet", "csv", "json"} {
		if got := duckRowsText(res[i]); got != want {
			t.Errorf("DuckDB reading the %s file:\n%s\nwant\n%s", name, got, want)
		}
	}
	if got := duckRowsText(res[3]); got != "4||199999999.98|DECIMAL(20,2)\n3|a, \"quoted\"\n\t\tline|0.02|DECIMAL(20,2)\n1|plain|-24691357.80|DECIMAL(20,2)\n" {
		t.Errorf("query COPY read back:\n%s", got)
	}
	if got := duckRowsText(res[4]); got != "id:INTEGER,big:BIGINT,d:DOUBLE,amount:DECIMAL(10,2),small:DECIMAL(5,1),name:VARCHAR,day:DATE,at:TIMESTAMP,ok:BOOLEAN\n" {
		t.Errorf("Parquet column types as DuckDB reads them: %s", got)
	}
}

func duckRowsText(r duckdbtest.Result) string {
	if r.Err != "" {
		return "error: " + r.Err
	}
	var b strings.Builder
	for _, row := range r.Rows {
		for j, v := range row {
			if j > 0 {
				b.WriteString("|")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				b.WriteString(*v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestCopyErrors(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, "CREATE DATABASE IF NOT EXISTS default; CREATE TABLE t (id INT PRIMARY KEY)")
	for sql, want := range map[string]string{
		"COPY t TO '/tmp/x.csv'":                     "cannot write files here",
		"COPY t TO 'x' (FORMAT xml)":                 "unknown COPY format",
		"COPY t FROM 'x.csv'":                        "cannot read files here",
		"COPY (INSERT INTO t VALUES (1)) TO 'x.csv'": "takes a query",
		"COPY t TO x":                                "expected a file name",
	} {
		if err := execErr(t, e, sql); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", sql, err, want)
		}
	}
	e = copyEngine(t)
	p := filepath.Join(t.TempDir(), "x.data")
	if res := mustExec(t, e, "COPY (SELECT id FROM t WHERE id > 2) TO "+quoteString(p))[0]; res.Message != "COPY 2" {
		t.Errorf("COPY: %+v", res)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "id\n3\n4\n" {
		t.Errorf("CSV by default: %q %v", b, err)
	}
}

// TestCopyNestedToDuckDB: COPY TO Parquet writes ARRAY, MAP and ROW
// columns (and the 128-bit, temporal and UUID types) as the standard
// Parquet LIST, MAP and group encodings: DuckDB reads the file back with
// the same types and values it holds for the same rows.
func TestCopyNestedToDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	e := copyEngine(t)
	const ddl = `CREATE TABLE w (id INT PRIMARY KEY, big DECIMAL(30,4), tm TIME, u UUID)`
	const rows = `INSERT INTO w VALUES (1, 12345678901234567890123456.7891, TIME '12:34:56.789', '0e37df36-f698-11e6-8dd4-cb9ced3df976'),
		(2, NULL, NULL, NULL), (3, -0.0001, TIME '00:00:00', '00000000-0000-0000-0000-000000000000')`
	mustExec(t, e, nestedConfDDL)
	mustExec(t, e, nestedConfRows)
	mustExec(t, e, ddl)
	mustExec(t, e, rows)
	dir := t.TempDir()
	nf, wf := filepath.Join(dir, "n.parquet"), filepath.Join(dir, "w.parquet")
	mustExec(t, e, "COPY n TO "+quoteString(nf))
	mustExec(t, e, "COPY (SELECT * FROM w ORDER BY id) TO "+quoteString(wf)+" (FORMAT parquet)")
	describe := func(src string) string {
		return "SELECT string_agg(column_name || ':' || column_type, ',') FROM (DESCRIBE SELECT * FROM " + src + ")"
	}
	res := db.Run(t, []string{nestedConfDDL, nestedConfRows, ddl, rows}, []string{
		"SELECT * FROM n ORDER BY id",
		"SELECT * FROM read_parquet('" + nf + "') ORDER BY id",
		describe("n"),
		describe("read_parquet('" + nf + "')"),
		"SELECT * FROM w ORDER BY id",
		"SELECT * FROM read_parquet('" + wf + "') ORDER BY id",
		describe("w"),
		describe("read_parquet('" + wf + "')"),
	})
	for i := 0; i < len(res); i += 2 {
		want, got := duckRowsText(res[i]), duckRowsText(res[i+1])
		if strings.HasPrefix(want, "error") || strings.Count(want, "\n") < 1 || got != want {
			t.Errorf("DuckDB reading silt's COPY file:\n%s\nwant (DuckDB's own table)\n%s", got, want)
		}
	}
}

// TestCopyNestedRoundTrip: COPY TO Parquet and back with COPY FROM keeps
// ARRAY, MAP and ROW values (NULLs and empty collections included), and a
// file DuckDB wrote loads too, its ROW fields matched by name.
func TestCopyNestedRoundTrip(t *testing.T) {
	e, _ := copyFromEngine(t)
	mustExec(t, e, nestedConfDDL)
	mustExec(t, e, nestedConfRows)
	dir := t.TempDir()
	p := quoteString(filepath.Join(dir, "n.parquet"))
	mustExec(t, e, "COPY n TO "+p)
	mustExec(t, e, `CREATE TABLE n2 (id INT PRIMARY KEY, a BIGINT[], m MAP(VARCHAR, BIGINT), r STRUCT(s VARCHAR, x BIGINT, extra INT), l INT[][])`)
	if res := mustExec(t, e, "COPY n2 FROM "+p)[0]; res.Message != "COPY 5" {
		t.Fatalf("COPY FROM: %+v", res)
	}
	want := query(t, e, "SELECT id, a, m, r.x, r.s, l FROM n ORDER BY id")
	if got := query(t, e, "SELECT id, a, m, r.x, r.s, l FROM n2 ORDER BY id"); got != want || !strings.Contains(want, "[[1], [2, 3]]") {
		t.Errorf("round trip:\n%s\nwant\n%s", got, want)
	}
	if got := query(t, e, "SELECT COUNT(*) FROM n2 WHERE r IS NOT NULL AND r.extra IS NULL"); got != "4\n" {
		t.Errorf("a ROW field the file lacks loads NULL: %q", got)
	}
	// The 128-bit, temporal and UUID types round-trip too.
	mustExec(t, e, `CREATE TABLE w (id INT PRIMARY KEY, big DECIMAL(30,4), tm TIME, u UUID, at TIMESTAMP_LTZ);
		INSERT INTO w VALUES (1, 12345678901234567890123456.7891, TIME '23:59:59.999999', '0e37df36-f698-11e6-8dd4-cb9ced3df976', TIMESTAMP_LTZ '1969-12-31 23:59:59.5'),
		(2, NULL, NULL, NULL, NULL), (3, -0.0001, TIME '00:00:00', '00000000-0000-0000-0000-000000000000', TIMESTAMP_LTZ '2024-02-29 12:00:00');
		CREATE TABLE w2 (id INT PRIMARY KEY, big DECIMAL(30,4), tm TIME, u UUID, at TIMESTAMP_LTZ)`)
	wp := quoteString(filepath.Join(dir, "w.parquet"))
	mustExec(t, e, "COPY w TO "+wp)
	mustExec(t, e, "COPY w2 FROM "+wp)
	if got, want := query(t, e, "SELECT * FROM w2 ORDER BY id"), query(t, e, "SELECT * FROM w ORDER BY id"); got != want || !strings.Contains(want, "7891") {
		t.Errorf("round trip:\n%s\nwant\n%s", got, want)
	}
	// A ROW field the table lacks, and a leaf that does not convert, are refused.
	mustExec(t, e, `CREATE TABLE n3 (id INT PRIMARY KEY, a INT[], m MAP(VARCHAR, BIGINT), r STRUCT(x INT), l INT[][]); CREATE TABLE n4 (id INT PRIMARY KEY, a BOOLEAN[], m MAP(VARCHAR, BIGINT), r STRUCT(x INT, s VARCHAR), l INT[][])`)
	for tbl, msg := range map[string]string{"n3": `field "s"`, "n4": "cannot load into"} {
		if _, err := e.Exec(context.Background(), "COPY "+tbl+" FROM "+p); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("COPY %s FROM: %v, want an error containing %q", tbl, err, msg)
		}
	}
}
