package query

import (
	"context"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
)

var intervalTemporalQueries = []string{
	`SELECT id, tm + INTERVAL 2 HOUR, tm - INTERVAL 90 MINUTE, INTERVAL '1 day 3 hours' + tm, tm + INTERVAL 1 MONTH, tm - INTERVAL '25 hours 1 microsecond' FROM tt ORDER BY id`,
	`SELECT id, t2 + INTERVAL 1 MICROSECOND, t2 - INTERVAL '1 week 1 second', DATE_ADD(tm, INTERVAL 5 MINUTE) FROM tt ORDER BY id`,
	`SELECT TIME '23:30:00' + INTERVAL 2 HOUR, TIME '01:00:00' - INTERVAL 3 HOUR, TIME '00:00:00' - INTERVAL 1 MICROSECOND, TIME '12:00:00' + INTERVAL 1000 HOUR`,
	`SELECT id, tz + INTERVAL 1 MONTH, tz - INTERVAL '1 day 2 hours', INTERVAL 3 DAY + tz, tz + INTERVAL '1 year 2 months 3 days 4 hours 5 minutes 6 seconds 7 microseconds' FROM tt ORDER BY id`,
	`SELECT id, z2 - INTERVAL 1 MICROSECOND, z2 + INTERVAL '-1 month', DATE_ADD(tz, INTERVAL 2 QUARTER) FROM tt ORDER BY id`,
	`SELECT TIMESTAMPTZ '2024-01-31 10:00:00+00' + INTERVAL 1 MONTH, TIMESTAMPTZ '2024-03-01 00:30:00+00' - INTERVAL 1 HOUR, TIMESTAMPTZ '2024-03-31 23:00:00+02' + INTERVAL 1 MONTH`,
	`SELECT id FROM tt WHERE tz + INTERVAL 1 DAY > TIMESTAMPTZ '2024-03-10 00:00:00+00' AND tm - INTERVAL 1 HOUR < TIME '12:00:00' ORDER BY id`,
	`SELECT id, tm + INTERVAL 1 HOUR AS h FROM tt ORDER BY h, id`,
}

// TestIntervalTemporalDuckDB: TIME ± INTERVAL wraps within the day and
// TIMESTAMP_LTZ ± INTERVAL is calendar arithmetic in UTC, as DuckDB does
// them (with TimeZone 'UTC'), through the pipeline and the row path.
func TestIntervalTemporalDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	ins := temporalRows()
	want := db.Run(t, []string{"SET TimeZone = 'UTC'", temporalDDL, ins}, intervalTemporalQueries)
	e, _ := siltEngine(t)
	mustExec(t, e, temporalDDL)
	mustExec(t, e, ins)
	rowE, _ := siltEngine(t)
	rowE.rowEngine = true
	mustExec(t, rowE, temporalDDL)
	mustExec(t, rowE, ins)
	checkPipelineRowDuckDB(t, e, rowE, intervalTemporalQueries, want)
}

// TestIntervalTemporal: the types and values of TIME and TIMESTAMP_LTZ
// arithmetic without DuckDB, and its errors.
func TestIntervalTemporal(t *testing.T) {
	e, _ := newTestEngine(t)
	cases := []struct{ q, want string }{
		{`SELECT TIME '23:30:00' + INTERVAL 2 HOUR, TIME '01:00:00' - INTERVAL 3 HOUR, TIME '10:00:00' + INTERVAL '1 month 1 day'`,
			"TIME '23:30:00' + INTERVAL '2 hours' TIME, TIME '01:00:00' - INTERVAL '3 hours' TIME, TIME '10:00:00' + INTERVAL '1 month 1 day' TIME\n01:30:00|22:00:00|10:00:00\n"},
		{`SELECT TIMESTAMPTZ '2024-01-31 10:00:00+00' + INTERVAL 1 MONTH AS a, DATE_ADD(TIMESTAMPTZ '2024-03-01 00:30:00+00', INTERVAL '-1 hour') AS b`,
			"a TIMESTAMP_LTZ, b TIMESTAMP_LTZ\n2024-02-29 10:00:00+00|2024-02-29 23:30:00+00\n"},
		{`SELECT CAST(NULL AS TIME) + INTERVAL 1 HOUR AS n`, "n TIME\nNULL\n"},
	}
	for _, c := range cases {
		res, err := e.Exec(context.Background(), c.q)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			got = colsText(res[0]) + "\n" + rowsText(res[0])
		}
		if got != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.q, got, c.want)
		}
	}
	if _, err := e.Exec(context.Background(), `SELECT TIMESTAMPTZ '9999-12-31 00:00:00+00' + INTERVAL 1 DAY`); err == nil {
		t.Error("TIMESTAMP_LTZ past year 9999: no error")
	}
}
