package query

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// copyFromEngine is copyEngine that also reads files for COPY … FROM, with
// its catalog.
func copyFromEngine(t testing.TB) (*Engine, *catalog.Catalog) {
	t.Helper()
	cat := catalog.New(objstore.NewMem(), "", table.Env{Now: time.Now})
	e := NewEngine(NewSiltCatalog(cat, "test"), EngineOptions{Now: func() time.Time { return testNow },
		WriteFile: func(_ context.Context, path string, data []byte) error { return os.WriteFile(path, data, 0o644) },
		OpenFile:  func(_ context.Context, path string) (io.ReadCloser, error) { return os.Open(path) }})
	mustExec(t, e, `CREATE DATABASE IF NOT EXISTS default;
		CREATE TABLE t (id INT PRIMARY KEY, big BIGINT, d DOUBLE, amount DECIMAL(10,2), small DECIMAL(5,1), name STRING, day DATE, at TIMESTAMP, ok BOOLEAN, raw BYTES);
		INSERT INTO t VALUES
		  (1, -9223372036854775808, 1.5e0, -12345678.90, 1.5, 'plain', DATE '2024-02-29', TIMESTAMP '2024-01-31 12:00:00.123456', TRUE, X'00ff'),
		  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		  (3, 42, -0.25e0, 0.01, -9999.9, 'a, "quoted"
		line', DATE '1970-01-01', TIMESTAMP '1969-12-31 23:59:59.5', FALSE, X''),
		  (4, 7, 1e300, 99999999.99, 0.0, '', DATE '2100-12-31', TIMESTAMP '2024-06-01 00:00:00', TRUE, X'0a')`)
	return e, cat
}

// TestCopyFromRoundTrip: what COPY … TO writes, COPY … FROM loads into a
// new table as the same rows, in every format.
func TestCopyFromRoundTrip(t *testing.T) {
	e, _ := copyFromEngine(t)
	dir := t.TempDir()
	want := query(t, e, "SELECT * FROM t ORDER BY id")
	for i, name := range []string{"out.csv", "out.json", "out.parquet", "out.data"} {
		p := quoteString(filepath.Join(dir, name))
		opts := ""
		if name == "out.data" {
			opts = " (FORMAT json)"
		}
		mustExec(t, e, "COPY t TO "+p+opts)
		tn := "r" + string(rune('0'+i))
		mustExec(t, e, "CREATE TABLE "+tn+" (id INT PRIMARY KEY, big BIGINT, d DOUBLE, amount DECIMAL(10,2), small DECIMAL(5,1), name STRING, day DATE, at TIMESTAMP, ok BOOLEAN, raw BYTES)")
		res := mustExec(t, e, "COPY "+tn+" FROM "+p+opts)[0]
		if res.Message != "COPY 4" || res.SnapshotID != 1 {
			t.Errorf("%s: %+v", name, res)
		}
		if got := query(t, e, "SELECT * FROM "+tn+" ORDER BY id"); got != want {
			t.Errorf("%s round trip:\n%s\nwant\n%s", name, got, want)
		}
	}
	// Loading upserts by primary key, like INSERT.
	mustExec(t, e, "UPDATE r0 SET name = 'changed' WHERE id = 1; INSERT INTO r0 (id) VALUES (9)")
	mustExec(t, e, "COPY r0 FROM "+quoteString(filepath.Join(dir, "out.csv")))
	if got := query(t, e, "SELECT id, name FROM r0 WHERE id IN (1, 9) ORDER BY id"); got != "1|plain\n9|NULL\n" {
		t.Errorf("COPY FROM over existing rows: %q", got)
	}
}

// TestCopyFromOptions: HEADER false, DELIMITER, a header naming a subset
// of the columns, and the printed form of the options.
func TestCopyFromOptions(t *testing.T) {
	e, _ := copyFromEngine(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(p, []byte("5|x|2024-01-01\n6||\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e, "CREATE TABLE s (id INT PRIMARY KEY, name STRING, day DATE)")
	if res := mustExec(t, e, "COPY s FROM "+quoteString(p)+" (FORMAT 'CSV', HEADER false, DELIM '|')")[0]; res.Message != "COPY 2" {
		t.Errorf("headerless: %+v", res)
	}
	if got := query(t, e, "SELECT * FROM s ORDER BY id"); got != "5|x|2024-01-01\n6|NULL|NULL\n" {
		t.Errorf("headerless load: %q", got)
	}
	q := filepath.Join(dir, "sub.csv")
	if err := os.WriteFile(q, []byte("name;id\ny;7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e, "COPY s FROM "+quoteString(q)+" (HEADER, DELIMITER ';')")
	if got := query(t, e, "SELECT * FROM s WHERE id = 7"); got != "7|y|NULL\n" {
		t.Errorf("header with a subset of the columns: %q", got)
	}
	stmts, _, err := parseScript(context.Background(), "copy s from 'a.csv' (header 0, sep '\t', format csv)")
	if err != nil {
		t.Fatal(err)
	}
	if got := stmts[0].stmt.String(); got != "COPY default.s FROM 'a.csv' (FORMAT csv, HEADER FALSE, DELIMITER '\t')" && got != "COPY s FROM 'a.csv' (FORMAT csv, HEADER FALSE, DELIMITER '\t')" {
		t.Errorf("printed as %q", got)
	}
}

// TestCopyFromBadInput: the first bad row fails the statement with its
// line or row number, and nothing is committed, even when the good rows
// before it were already flushed to files.
func TestCopyFromBadInput(t *testing.T) {
	e, cat := copyFromEngine(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return quoteString(p)
	}
	mustExec(t, e, "CREATE TABLE s (id INT PRIMARY KEY, name STRING NOT NULL, day DATE) WITH ('write-buffer-size' = '1kb')")
	var big strings.Builder
	big.WriteString("id,name,day\n")
	for i := range 2000 {
		big.WriteString(strconv.Itoa(i) + ",name-" + strconv.Itoa(i) + ",2024-01-01\n")
	}
	big.WriteString("2000,n,2024-13-01\n")
	mustExec(t, e, "COPY t TO "+quoteString(filepath.Join(dir, "t.parquet")))
	for sql, want := range map[string]string{
		"COPY s FROM " + write("a.csv", "id,name,day\n1,a,2024-01-01\n2,b,not a date\n"):    `a.csv: line 3, column "day": bad DATE literal "not a date"`,
		"COPY s FROM " + write("b.csv", "id,name,day\n1,a,2024-01-01\n2,,2024-01-01\n"):     `b.csv: line 3: column "name" is NOT NULL (nothing was committed)`,
		"COPY s FROM " + write("c.csv", "id,name,day\n1,a\n"):                               "line 2: 2 fields, header has 3",
		"COPY s FROM " + write("d.csv", "id,nom\n1,a\n"):                                    `header column "nom" is not a column of the table`,
		"COPY s FROM " + write("e.json", "{\"id\": 1, \"name\": \"a\"}\n{\"id\": \"x\"}\n"): "line 2: column \"id\"",
		"COPY s FROM " + write("f.json", "{\"name\": \"a\"}\n"):                             "line 1: missing value for primary key column \"id\"",
		"COPY s FROM " + write("big.csv", big.String()):                                     "line 2002",
		"COPY s FROM " + write("g.parquet", "not parquet"):                                  "not a readable Parquet file",
		"COPY s FROM " + quoteString(filepath.Join(dir, "t.parquet")):                       `Parquet column "big" is not a column of the table`,
		"COPY s FROM " + quoteString(filepath.Join(dir, "missing.csv")):                     "no such file",
		"COPY s FROM 'x.json' (DELIMITER ',')":                                              "apply to CSV only",
		"COPY s FROM 'x.csv' (FORMAT xml)":                                                  "unknown COPY format",
		"COPY s FROM 'x.csv' (HEADER, HEADER)":                                              "given twice",
		"COPY s FROM 'x.csv' (QUOTE '\"')":                                                  "unknown COPY … FROM option QUOTE",
		"COPY s FROM 'x.csv' (DELIMITER '||')":                                              "DELIMITER takes one character",
		"COPY (SELECT 1) FROM 'x.csv'":                                                      "loads a file into a table",
		"COPY s$snapshots FROM 'x.csv'":                                                     "read-only",
	} {
		err := execErr(t, e, sql)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", sql, err, want)
		} else if !strings.Contains(sql, "missing") && !strings.Contains(sql, "'x.") && !strings.Contains(sql, "SELECT") && !strings.Contains(sql, "$") && !strings.Contains(err.Error(), "nothing was committed") {
			t.Errorf("%s: %v does not say that nothing was committed", sql, err)
		}
	}
	if got := query(t, e, "SELECT COUNT(*) FROM s"); got != "0\n" {
		t.Errorf("a failed COPY committed %s rows", got)
	}
	tbl, err := cat.LoadTable(context.Background(), "default", "s")
	if err != nil {
		t.Fatal(err)
	}
	if snaps, _ := tbl.Meta().Snapshots(context.Background()); len(snaps) != 0 {
		t.Errorf("a failed COPY committed %d snapshots", len(snaps))
	}
	// Flushed files of the failed load were deleted again.
	var left []string
	objs, err := cat.Store().List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		if strings.Contains(obj.Key, "/s/") && strings.HasSuffix(obj.Key, ".parquet") {
			left = append(left, obj.Key)
		}
	}
	if len(left) > 0 {
		t.Errorf("the failed COPY left %d data files, e.g. %s", len(left), left[0])
	}

	e2, _ := siltEngine(t)
	mustExec(t, e2, "CREATE TABLE s (id INT PRIMARY KEY)")
	if err := execErr(t, e2, "COPY s FROM 'x.csv'"); !strings.Contains(err.Error(), "cannot read files here") {
		t.Errorf("COPY FROM without OpenFile: %v", err)
	}
}

// TestCopyFromDuckDB: files DuckDB's COPY … TO writes (CSV with a header,
// newline-delimited JSON, Parquet) load into silt as the rows DuckDB
// holds.
func TestCopyFromDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	dir := t.TempDir()
	setup := []string{
		"SET TimeZone = 'UTC'",
		"CREATE TABLE src (id INTEGER PRIMARY KEY, small SMALLINT, big BIGINT, d DOUBLE, f FLOAT, amount DECIMAL(10,2), wide DECIMAL(18,3), name VARCHAR, day DATE, ts TIMESTAMP, ok BOOLEAN)",
		`INSERT INTO src VALUES
			(1, -3, -9223372036854775808, 1.5, 0.25, -12345678.90, 123456789012345.678, 'plain', DATE '2024-02-29', TIMESTAMP '2024-01-31 12:00:00.123456', true),
			(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
			(3, 7, 42, -0.25, -1.5, 0.01, -0.001, 'a, "quoted"' || chr(10) || 'line', DATE '1970-01-01', TIMESTAMP '1969-12-31 23:59:59.5', false),
			(4, 0, 7, 12345.5, 3.5, 99999999.99, 0, '', DATE '2100-12-31', TIMESTAMP '2024-06-01 00:00:00', true)`,
		"COPY src TO '" + filepath.Join(dir, "d.csv") + "' (FORMAT csv, HEADER)",
		"COPY src TO '" + filepath.Join(dir, "d.json") + "' (FORMAT json)",
		"COPY src TO '" + filepath.Join(dir, "d.parquet") + "' (FORMAT parquet)",
		"COPY src TO '" + filepath.Join(dir, "d.tsv") + "' (FORMAT csv, HEADER false, DELIMITER '\t')",
	}
	want := db.Run(t, setup, []string{"SELECT id, small, big, d, f, amount, wide, name, day, strftime(ts, '%Y-%m-%d %H:%M:%S.%f'), ok FROM src ORDER BY id"})
	if want[0].Err != "" {
		t.Fatalf("DuckDB: %s", want[0].Err)
	}
	exp := duckRows(want[0])
	e, _ := copyFromEngine(t)
	for i, src := range []string{"d.csv", "d.json", "d.parquet", "d.tsv"} {
		tn := "c" + string(rune('0'+i))
		mustExec(t, e, "CREATE TABLE "+tn+" (id INT PRIMARY KEY, small INT, big BIGINT, d DOUBLE, f FLOAT, amount DECIMAL(10,2), wide DECIMAL(18,3), name STRING, day DATE, ts TIMESTAMP, ok BOOLEAN)")
		opts := ""
		if src == "d.tsv" {
			opts = " (FORMAT csv, HEADER false, DELIMITER '\t')"
		}
		if _, err := e.Exec(context.Background(), "COPY "+tn+" FROM "+quoteString(filepath.Join(dir, src))+opts); err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		res := mustExec(t, e, "SELECT id, small, big, d, f, amount, wide, name, day, STRFTIME(ts, '%Y-%m-%d %H:%M:%S.%f'), ok FROM "+tn+" ORDER BY id")[0]
		if got := siltRows(res); !slices.Equal(got, exp) {
			t.Errorf("%s:\n silt   %q\n DuckDB %q", src, got, exp)
		}
	}
}

// TestCopyFromDuckDBNested: Parquet files DuckDB writes with LIST, MAP and
// STRUCT columns, DECIMAL(30,4), TIME and UUID load with COPY FROM and
// answer as DuckDB answers over its own table.
func TestCopyFromDuckDBNested(t *testing.T) {
	db := duckdbtest.Open(t)
	dir := t.TempDir()
	nf, wf := filepath.Join(dir, "n.parquet"), filepath.Join(dir, "w.parquet")
	const wDDL = `CREATE TABLE w (id INT PRIMARY KEY, big DECIMAL(30,4), tm TIME, u UUID)`
	const wRows = `INSERT INTO w VALUES (1, 12345678901234567890123456.7891, TIME '12:34:56.789', '0e37df36-f698-11e6-8dd4-cb9ced3df976'),
		(2, NULL, NULL, NULL), (3, -0.0001, TIME '00:00:00', '00000000-0000-0000-0000-000000000000')`
	queries := []string{
		`SELECT id, a[1], a[2], a[-1], m['k'], m['j'], r.x, r['s'], l[1][1], l[2][2], len(a), cardinality(m), len(l) FROM n ORDER BY id`,
		`SELECT id, big, tm, u FROM w ORDER BY id`,
	}
	want := db.Run(t, []string{nestedConfDDL, nestedConfRows, wDDL, wRows,
		"COPY n TO '" + nf + "' (FORMAT parquet)", "COPY w TO '" + wf + "' (FORMAT parquet)"}, queries)
	e, _ := copyFromEngine(t)
	mustExec(t, e, nestedConfDDL)
	mustExec(t, e, wDDL)
	mustExec(t, e, "COPY n FROM "+quoteString(nf))
	mustExec(t, e, "COPY w FROM "+quoteString(wf))
	for i, q := range queries {
		if want[i].Err != "" {
			t.Fatalf("DuckDB %s: %s", q, want[i].Err)
		}
		got, exp := siltRows(mustExec(t, e, q)[0]), duckRows(want[i])
		if len(exp) < 3 || !slices.Equal(got, exp) {
			t.Errorf("%s:\n silt   %q\n DuckDB %q", q, got, exp)
		}
	}
}
