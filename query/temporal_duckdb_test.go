package query

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/types"
)

// TIME, TIMESTAMP_LTZ (TIMESTAMPTZ) and UUID compared with DuckDB: the
// same table (its key a UUID, a TIME and a TIMESTAMPTZ) in silt, stored in
// silt's data files, and in DuckDB with TimeZone 'UTC'; every query runs
// on both and through silt's row path, cell by cell.

const temporalDDL = `CREATE TABLE tt (u UUID, tm TIME, tz TIMESTAMPTZ, id BIGINT, v UUID, t2 TIME, z2 TIMESTAMPTZ, ts TIMESTAMP, d DATE, PRIMARY KEY (u, tm, tz))`

func temporalRows() string {
	base := time.Date(2024, 2, 27, 0, 0, 0, 0, time.UTC)
	var rows []string
	for i := 1; i <= 40; i++ {
		u := fmt.Sprintf("'%08x-%04x-4%03x-8%03x-%012x'", uint32(i*2654435761), i*7, i*13%4096, i*29%4096, uint64(i)*0x9e3779b97f)
		tm := time.Duration(i*7919)*time.Second + time.Duration(i*123457)*time.Microsecond
		tms := fmt.Sprintf("TIME '%02d:%02d:%02d.%06d'", int(tm.Hours())%24, int(tm.Minutes())%60, int(tm.Seconds())%60, tm.Microseconds()%1_000_000)
		tz := base.Add(time.Duration(i*i*3571) * time.Second)
		tzs := "TIMESTAMPTZ '" + tz.Format("2006-01-02 15:04:05.000000") + "+00'"
		v, t2, z2 := "UUID "+u, tms, "TIMESTAMPTZ '"+tz.Add(time.Duration(i%5-2)*time.Hour).Format("2006-01-02 15:04:05-07:00")+"'"
		if i%7 == 0 {
			v, t2, z2 = "NULL", "NULL", "NULL"
		}
		ts := "TIMESTAMP '" + tz.Add(time.Duration(i%3-1)*time.Minute).Format("2006-01-02 15:04:05") + "'"
		d := "DATE '" + tz.Format("2006-01-02") + "'"
		rows = append(rows, fmt.Sprintf("(%s, %s, %s, %d, %s, %s, %s, %s, %s)", u, tms, tzs, i, v, t2, z2, ts, d))
	}
	// One key differing only in its TIME, one only in its TIMESTAMPTZ.
	rows = append(rows, "('00000000-0000-0000-0000-000000000001', TIME '00:00:00', TIMESTAMPTZ '1970-01-01 00:00:00+00', 41, NULL, TIME '23:59:59.999999', NULL, TIMESTAMP '1970-01-01 00:00:00', DATE '1970-01-01')",
		"('00000000-0000-0000-0000-000000000001', TIME '00:00:00.000001', TIMESTAMPTZ '1970-01-01 00:00:00+00', 42, NULL, NULL, TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', TIMESTAMP '1969-12-31 23:59:59.999999', NULL)",
		"('00000000-0000-0000-0000-000000000001', TIME '00:00:00', TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', 43, NULL, NULL, NULL, NULL, NULL)")
	return "INSERT INTO tt VALUES " + strings.Join(rows, ", ")
}

var temporalQueries = []string{
	`SELECT id, u, tm, tz, v, t2, z2, ts, d FROM tt ORDER BY id`,
	`SELECT id FROM tt WHERE tm > TIME '12:00:00' ORDER BY id`,
	`SELECT id FROM tt WHERE t2 <= tm AND t2 <> TIME '23:59:59.999999' ORDER BY id`,
	`SELECT id FROM tt WHERE tz >= TIMESTAMPTZ '2024-03-20 00:00:00+00' AND tz < TIMESTAMP WITH TIME ZONE '2024-05-01 12:00:00+02' ORDER BY id`,
	`SELECT id, tz > ts, tz = ts, tz < ts, z2 >= tz, tz > d, d <= tz FROM tt ORDER BY id`,
	`SELECT id FROM tt WHERE u = v ORDER BY id`,
	`SELECT id FROM tt WHERE u < UUID '80000000-0000-0000-0000-000000000000' ORDER BY id`,
	`SELECT id FROM tt WHERE u IN (UUID '00000000-0000-0000-0000-000000000001', '9e3779b1-0007-400d-801d-0000009e3779') ORDER BY id`,
	`SELECT id FROM tt WHERE tz BETWEEN TIMESTAMP '2024-03-01 00:00:00' AND DATE '2024-06-01' ORDER BY id`,
	`SELECT id, CAST(tz AS TIMESTAMP), CAST(ts AS TIMESTAMPTZ), CAST(tz AS DATE), CAST(d AS TIMESTAMPTZ), CAST(ts AS TIME) FROM tt ORDER BY id`,
	`SELECT id, CAST(tm AS VARCHAR), CAST(u AS VARCHAR), CAST(tz AS VARCHAR), CAST(CAST(u AS VARCHAR) AS UUID), CAST(CAST(tm AS VARCHAR) AS TIME), CAST(CAST(tz AS VARCHAR) AS TIMESTAMPTZ) FROM tt ORDER BY id`,
	`SELECT id, CAST('12:34:56.5' AS TIME), CAST('2024-01-02 03:04:05+01:00' AS TIMESTAMPTZ), CAST('{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}' AS UUID), UUID 'a0eebc999c0b4ef8bb6d6bb9bd380a11' FROM tt WHERE id = 1`,
	`SELECT id, EXTRACT(HOUR FROM tm), EXTRACT(MINUTE FROM tm), EXTRACT(SECOND FROM tm), EXTRACT(MICROSECOND FROM tm), EXTRACT(EPOCH FROM tm), EXTRACT(YEAR FROM tz), EXTRACT(MONTH FROM tz), EXTRACT(HOUR FROM tz), EXTRACT(EPOCH FROM tz) FROM tt ORDER BY id`,
	`SELECT id, DATE_TRUNC('hour', tz), DATE_TRUNC('month', tz), DATE_TRUNC('day', z2), DATE_PART('dow', tz) FROM tt ORDER BY id`,
	`SELECT u, tm, tz, id FROM tt ORDER BY u, tm, tz`,
	`SELECT id, tm, t2 FROM tt ORDER BY t2 DESC NULLS LAST, id`,
	`SELECT id FROM tt ORDER BY z2 NULLS FIRST, id`,
	`SELECT MIN(tm), MAX(tm), MIN(tz), MAX(tz), MIN(u), MAX(u), COUNT(DISTINCT u), COUNT(DISTINCT tm), COUNT(v) FROM tt`,
	`SELECT u, COUNT(*), MAX(tz) FROM tt GROUP BY u ORDER BY u`,
	`SELECT DATE_TRUNC('month', tz) AS m, COUNT(*), MIN(tm) FROM tt GROUP BY m ORDER BY m`,
	`SELECT a.id, b.id FROM tt a JOIN tt b ON a.u = b.v AND a.tm = b.t2 ORDER BY a.id, b.id`,
	`SELECT DISTINCT tz FROM tt WHERE tz < TIMESTAMPTZ '2024-03-01 00:00:00+00' ORDER BY tz`,
	`SELECT id, COALESCE(t2, tm), COALESCE(z2, tz), COALESCE(v, u), CASE WHEN id % 2 = 0 THEN tz ELSE ts END FROM tt ORDER BY id`,
}

func TestTemporalConformanceDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	ins := temporalRows()
	// DuckDB spells STRING VARCHAR; silt accepts both.
	want := db.Run(t, []string{"SET TimeZone = 'UTC'", temporalDDL, ins}, temporalQueries)
	e, _ := siltEngine(t)
	mustExec(t, e, temporalDDL)
	mustExec(t, e, ins)
	rowE, _ := siltEngine(t)
	rowE.rowEngine = true
	mustExec(t, rowE, temporalDDL)
	mustExec(t, rowE, ins)
	checkPipelineRowDuckDB(t, e, rowE, temporalQueries, want)
}

// TestTemporalTypeErrors: what neither silt nor the SQL standard accepts
// fails with a clear message, the same on both paths.
func TestTemporalTypeErrors(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, temporalDDL)
	for q, want := range map[string]string{
		`SELECT TIME '24:00:00'`:               "bad TIME literal",
		`SELECT UUID 'not-a-uuid'`:             "bad UUID literal",
		`SELECT TIMESTAMPTZ 'yesterday'`:       "bad TIMESTAMP_LTZ literal",
		`SELECT CAST(u AS BIGINT) FROM tt`:     "CAST",
		`SELECT id FROM tt WHERE u = tm`:       "compare",
		`SELECT EXTRACT(YEAR FROM tm) FROM tt`: "a TIME has no year",
		`SELECT CAST('12:00' AS UUID)`:         "cannot CAST",
		`INSERT INTO tt (u, tm, tz) VALUES ('x', TIME '00:00:00', TIMESTAMPTZ '2024-01-01 00:00:00+00')`: "UUID",
	} {
		_, err := e.Exec(context.Background(), q)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", q, err, want)
		}
	}
	// An LTZ does not become a TIMESTAMP without a CAST.
	mustExec(t, e, `CREATE TABLE w (id INT PRIMARY KEY, ts TIMESTAMP)`)
	if _, err := e.Exec(context.Background(), `INSERT INTO w VALUES (1, TIMESTAMPTZ '2024-01-01 00:00:00+00')`); err == nil {
		t.Error("a TIMESTAMPTZ was stored into a TIMESTAMP column without a CAST")
	}
	mustExec(t, e, `INSERT INTO w VALUES (1, CAST(TIMESTAMPTZ '2024-01-01 00:00:00+05' AS TIMESTAMP))`)
	res := mustExec(t, e, `SELECT ts FROM w`)
	if got := types.FormatValue(res[0].Rows[0][0], types.TTimestamp); got != "2023-12-31 19:00:00" {
		t.Errorf("CAST(TIMESTAMPTZ AS TIMESTAMP) stored %s, want the UTC wall-clock time 2023-12-31 19:00:00", got)
	}
}

// TestCopyTemporalToDuckDB: DuckDB reads the TIME, TIMESTAMPTZ and UUID
// columns of the Parquet, CSV and JSON files COPY writes with their types
// and silt's values.
func TestCopyTemporalToDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	e := copyEngine(t)
	mustExec(t, e, `CREATE TABLE tz3 (u UUID PRIMARY KEY, tm TIME, tz TIMESTAMPTZ, ts TIMESTAMP);
		INSERT INTO tz3 VALUES
		  (UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', TIME '23:59:59.999999', TIMESTAMPTZ '2024-01-31 12:00:00.123456+02', TIMESTAMP '2024-01-31 12:00:00.5'),
		  ('00000000-0000-0000-0000-000000000000', TIME '00:00:00', TIMESTAMPTZ '1969-12-31 23:59:59.999999Z', TIMESTAMP '1970-01-01 00:00:00'),
		  ('ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, NULL, NULL)`)
	dir := t.TempDir()
	for _, f := range []string{"o.parquet", "o.csv", "o.json"} {
		mustExec(t, e, "COPY tz3 TO "+quoteString(filepath.Join(dir, f)))
	}
	cols := "u::VARCHAR, tm::VARCHAR, epoch_us(tz), epoch_us(ts)"
	spec := "columns = {'u': 'UUID', 'tm': 'TIME', 'tz': 'TIMESTAMPTZ', 'ts': 'TIMESTAMP'}"
	queries := []string{
		"SELECT " + cols + " FROM read_parquet('" + filepath.Join(dir, "o.parquet") + "') ORDER BY u",
		"SELECT " + cols + " FROM read_csv('" + filepath.Join(dir, "o.csv") + "', header = true, " + spec + ") ORDER BY u",
		"SELECT " + cols + " FROM read_json('" + filepath.Join(dir, "o.json") + "', format = 'newline_delimited', " + spec + ") ORDER BY u",
		"SELECT string_agg(column_name || ':' || column_type, ',') FROM (DESCRIBE SELECT * FROM read_parquet('" + filepath.Join(dir, "o.parquet") + "'))",
	}
	res := db.Run(t, []string{"SET TimeZone = 'UTC'"}, queries)
	want := "00000000-0000-0000-0000-000000000000|00:00:00|-1|0\n" +
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|23:59:59.999999|1706695200123456|1706702400500000\n" +
		"ffffffff-ffff-ffff-ffff-ffffffffffff|NULL|NULL|NULL\n"
	for i, name := range []string{"parquet", "csv", "json"} {
		if got := duckRowsText(res[i]); got != want {
			t.Errorf("DuckDB reading the %s file:\n%s\nwant\n%s", name, got, want)
		}
	}
	if got := duckRowsText(res[3]); got != "u:UUID,tm:TIME,tz:TIMESTAMP WITH TIME ZONE,ts:TIMESTAMP\n" {
		t.Errorf("Parquet column types as DuckDB reads them: %s", got)
	}
}

// TestTemporalDefaultsShowCreate: DEFAULTs of the new types print as
// typed literals that SHOW CREATE TABLE parses back to the same values.
func TestTemporalDefaultsShowCreate(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE d3 (id INT PRIMARY KEY, tm TIME DEFAULT TIME '12:34:56.789', tz TIMESTAMP WITH TIME ZONE DEFAULT TIMESTAMPTZ '2024-01-02 03:04:05+01:00', u UUID DEFAULT UUID 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')`)
	mustExec(t, e, `INSERT INTO d3 (id) VALUES (1)`)
	res := mustExec(t, e, `SHOW CREATE TABLE d3`)
	ddl := fmt.Sprint(res[0].Rows[0][0])
	for _, want := range []string{"TIME '12:34:56.789'", "TIMESTAMPTZ '2024-01-02 02:04:05+00'", "UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("SHOW CREATE TABLE lacks %s:\n%s", want, ddl)
		}
	}
	mustExec(t, e, strings.Replace(ddl, "d3", "d4", 1))
	mustExec(t, e, `INSERT INTO d4 (id) VALUES (1)`)
	a := resultText(mustExec(t, e, `SELECT tm, tz, u FROM d3`)[0], nil)
	b := resultText(mustExec(t, e, `SELECT tm, tz, u FROM d4`)[0], nil)
	if a != b {
		t.Errorf("defaults after the round trip:\n%s\nwant\n%s", b, a)
	}
}
