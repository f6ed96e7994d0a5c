package query

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// TestFunctionEdges: extreme arguments give a value or one clear error,
// never a panic (SPLIT_PART, SUBSTRING and ROUND once indexed out of range
// with the smallest BIGINT).
func TestFunctionEdges(t *testing.T) {
	e, _ := newTestEngine(t)
	tests := []struct{ sql, want string }{
		{"SELECT SPLIT_PART('a,b', ',', -9223372036854775808)", "\n"},
		{"SELECT SPLIT_PART('a,b', ',', -2), SPLIT_PART('a,b', ',', -3)", "a|\n"},
		{"SELECT SUBSTRING('hello', 0, -9223372036854775808), SUBSTRING('hello', -9223372036854775808, 9223372036854775807), SUBSTRING('hello', 9223372036854775807)", "|hello|\n"},
		{"SELECT SUBSTRING('hello', 2, -9223372036854775808), SUBSTRING('héllo', 2, 2)", "h|él\n"},
		{"SELECT ROUND(15, -9223372036854775808), ROUND(1.55, -9223372036854775808), ROUND(1.55, 9223372036854775807), ROUND(CAST(2.5 AS DOUBLE), -9223372036854775808)", "0|0|1.55|0\n"},
		{"SELECT LEFT('abc', -9223372036854775808), RIGHT('abc', 9223372036854775807), LPAD('a', -9223372036854775808, 'x')", "|abc|\n"},
		{"SELECT DATE '2024-01-31' + INTERVAL 1 MONTH, DATE '2024-03-31' - INTERVAL '1 month', TIMESTAMP '2024-02-29 10:00:00' + INTERVAL 1 YEAR", "2024-02-29 00:00:00|2024-02-29 00:00:00|2025-02-28 10:00:00\n"},
		{"SELECT TO_CHAR(TIMESTAMP '2024-03-05 14:07:09.123456', 'YYYY-MM-DD HH24:MI:SS.US HH12 AM Dy Mon Q DDD \"quoted YYYY\"')", "2024-03-05 14:07:09.123456 02 PM Tue Mar 1 065 quoted YYYY\n"},
		{"SELECT TO_CHAR(DATE '2024-12-30', 'Day|Month|IW|YY|MS|D')", "Monday   |December |01|24|000|2\n"},
		{"SELECT APPROX_COUNT_DISTINCT(1), APPROX_COUNT_DISTINCT(NULL)", "1|0\n"},
		{"SELECT LAG(1, 9223372036854775807) OVER (), LEAD(1, 9223372036854775807, 7) OVER ()", "NULL|7\n"},
		{"SELECT CONCAT(NULL), CONCAT(1, NULL, 'a', DATE '2024-01-02'), NULLIF(1, 1), NULLIF(NULL, 1), GREATEST(1, NULL), LEAST(NULL, NULL, 2, 1)", "|1a2024-01-02|NULL|NULL|1|1\n"},
	}
	for _, tc := range tests {
		res, err := e.Exec(context.Background(), tc.sql)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if got := rowsText(res[len(res)-1]); got != tc.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.sql, got, tc.want)
		}
	}
}

// TestFunctionErrors: bad arguments are one line naming the function and
// what was wrong.
func TestFunctionErrors(t *testing.T) {
	e, _ := ordersEngine(t)
	tests := []struct{ sql, want string }{
		{"SELECT SUBSTRING(1, 2)", "SUBSTRING: argument 1 must be a STRING, got INT (1)"},
		{"SELECT LPAD('a', 'b', 'c')", "LPAD: argument 2 must be an integer, got STRING ('b')"},
		{"SELECT RPAD('a', 3, '')", "RPAD: the fill string is empty"},
		{"SELECT LPAD('a', 100000000, 'x')", "LPAD: length 100000000 is too large"},
		{"SELECT REGEXP_MATCHES('a', '(')", "REGEXP_MATCHES: invalid regular expression"},
		{"SELECT REGEXP_MATCHES('a', 'a', 'q')", `REGEXP_MATCHES: unknown option 'q'`},
		{"SELECT REGEXP_MATCHES(customer, customer || '(') FROM orders", "REGEXP_MATCHES: invalid regular expression"},
		{"SELECT SQRT(-4)", "SQRT of a negative number"},
		{"SELECT DATE_PART('fortnight', d) FROM orders", `DATE_PART: unknown date part "fortnight"`},
		{"SELECT DATE_TRUNC(customer, d) FROM orders", "DATE_TRUNC: argument 1 must be a constant string"},
		{"SELECT EXTRACT(YEAR FROM customer) FROM orders", "DATE_PART: argument 2 must be a DATE or TIMESTAMP, got STRING (customer)"},
		{"SELECT STRFTIME(d, '%Q') FROM orders", "STRFTIME: unknown format specifier %Q"},
		{"SELECT INTERVAL 1 DAY", "INTERVAL '1 day' can only be added to or subtracted from a DATE, TIME, TIMESTAMP or TIMESTAMP_LTZ"},
		{"SELECT INTERVAL 1 FORTNIGHT", "expected a unit"},
		{"SELECT INTERVAL '1 fortnight'", `unknown unit "fortnight"`},
		{"SELECT qty + INTERVAL 1 DAY FROM orders", "an INTERVAL can only be added to a DATE, TIME, TIMESTAMP or TIMESTAMP_LTZ, got INT"},
		{"SELECT INTERVAL 1 DAY - d FROM orders", "cannot subtract a DATE or TIMESTAMP from an INTERVAL"},
		{"SELECT DATE '9999-12-31' + INTERVAL 1 DAY", "TIMESTAMP out of range"},
		{"SELECT DATE '9999-12-31' + 1", "DATE out of range"},
		{"SELECT ts - ts FROM orders", "use DATE_DIFF"},
		{"SELECT DATE_ADD(d, 1) FROM orders", "DATE_ADD needs an INTERVAL literal"},
		{"SELECT ROUND(amount, qty) FROM orders", "ROUND of a DECIMAL needs a constant number of digits"},
		{"SELECT NULLIF(1)", "NULLIF takes 2 argument(s), got 1"},
		{"SELECT GREATEST(1, 'a')", "GREATEST has incompatible types"},
		{"SELECT UPPER('a') FILTER (WHERE TRUE)", "UPPER is not an aggregate function"},
		{"SELECT STRING_AGG(customer, customer) FROM orders", "STRING_AGG: argument 2 must be a constant string"},
		{"SELECT SUM(qty ORDER BY id) FROM orders", "ORDER BY inside SUM is not supported"},
		{"SELECT COUNT(*) FILTER (WHERE qty) FROM orders", "FILTER needs a BOOLEAN condition"},
		{"SELECT ROW_NUMBER() FROM orders", "window function ROW_NUMBER needs an OVER clause"},
		{"SELECT id FROM orders WHERE ROW_NUMBER() OVER () > 1", "window function ROW_NUMBER is not allowed in WHERE"},
		{"SELECT customer FROM orders GROUP BY customer HAVING RANK() OVER () > 1", "window function RANK is not allowed in HAVING"},
		{"SELECT SUM(ROW_NUMBER() OVER ()) OVER () FROM orders", "window function ROW_NUMBER is not allowed in a window function's arguments"},
		{"SELECT UPPER(id) OVER () FROM orders", "UPPER is not a window function"},
		{"SELECT LAG(id, qty) OVER () FROM orders", "LAG: the offset must be a non-negative integer constant"},
		{"SELECT LAG(id, -1) OVER () FROM orders", "LAG: the offset must be a non-negative integer constant"},
		{"SELECT SUM(qty) OVER (ORDER BY id RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM orders", "RANGE frames with an offset (1 PRECEDING) are not supported"},
		{"SELECT SUM(qty) OVER (ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) FROM orders", "a window frame cannot start after its end"},
		{"SELECT SUM(qty) OVER (ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM orders", "cannot start at UNBOUNDED FOLLOWING"},
		{"SELECT SUM(qty) OVER w FROM orders", "named windows are not supported"},
		{"SELECT COUNT(*) AS c FROM orders GROUP BY customer HAVING c2 > 1", `unknown column "c2"`},
		{"SELECT c + 1 AS c FROM orders GROUP BY customer HAVING c > 1", `alias "c" refers to itself`},
		{"SELECT ROW_NUMBER() OVER () FROM orders WHERE 10 / (id - 3) > 0", "division by zero"},
		{"SELECT SUM(qty) OVER (ORDER BY 10 / (id - 3)) FROM orders", "division by zero"},
	}
	for _, tc := range tests {
		_, err := e.Exec(context.Background(), tc.sql)
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.sql, tc.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s:\ngot  %v\nwant one line containing %q", tc.sql, err, tc.want)
		}
		var se *SyntaxError
		if !errors.Is(err, types.ErrInvalid) && !errors.As(err, &se) {
			t.Errorf("%s: %v is neither ErrInvalid nor a syntax error", tc.sql, err)
		}
	}
}

// TestWindowStreamAndLimit: a window query read through ExecStream gives
// the collected result (window functions need every row first), and
// LIMIT applies after the window stage.
func TestWindowStreamAndLimit(t *testing.T) {
	e, _ := ordersEngine(t)
	const q = "SELECT id, ROW_NUMBER() OVER (ORDER BY id DESC), COUNT(*) OVER () FROM orders LIMIT 2"
	want := "1|5|5\n2|4|5\n"
	if got := rowsText(mustExec(t, e, q)[0]); got != want {
		t.Fatalf("Exec: %q, want %q", got, want)
	}
	var got string
	err := e.ExecStream(context.Background(), q, func(r *Result) error {
		var rows []types.Row
		for row, err := range r.All() {
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		got = rowsText(&Result{Columns: r.Columns, Rows: rows})
		return nil
	})
	if err != nil || got != want {
		t.Fatalf("ExecStream: %q, %v; want %q", got, err, want)
	}
}
