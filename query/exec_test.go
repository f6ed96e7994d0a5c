package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/types"
)

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newTestEngine(t testing.TB) (*Engine, *fakeCatalog) {
	t.Helper()
	cat := newFakeCatalog()
	return NewEngine(cat, EngineOptions{Now: func() time.Time { return testNow }}), cat
}

func mustExec(t testing.TB, e *Engine, sql string) []*Result {
	t.Helper()
	res, err := e.Exec(context.Background(), sql)
	if err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
	return res
}

// rowsText renders rows one per line, values separated by '|'.
func rowsText(r *Result) string {
	var b strings.Builder
	for _, row := range r.Rows {
		for j, v := range row {
			if j > 0 {
				b.WriteString("|")
			}
			b.WriteString(types.FormatValue(v, r.Columns[j].Type))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func colsText(r *Result) string {
	var parts []string
	for _, c := range r.Columns {
		parts = append(parts, c.Name+" "+c.Type.String())
	}
	return strings.Join(parts, ", ")
}

const ordersDDL = `
CREATE TABLE orders (
  id BIGINT PRIMARY KEY,
  customer STRING,
  amount DECIMAL(10,2),
  qty INT,
  d DATE,
  ts TIMESTAMP,
  score DOUBLE,
  flag BOOLEAN,
  data BYTES
);
INSERT INTO orders VALUES
  (1, 'alice', 10.50, 2, '2024-01-01', '2024-01-01 10:00:00', 1.5, true, X'01'),
  (2, 'bob', 20, NULL, '2024-01-02', '2024-01-02 11:00:00', NULL, false, NULL),
  (3, 'alice', NULL, 5, DATE '2024-01-02', NULL, 2.5, NULL, X'0203'),
  (4, NULL, 7.25, 1, NULL, TIMESTAMP '2024-01-03 00:00:00', -1, true, NULL),
  (5, 'carol', 100.00, 3, '2024-02-01', '2024-02-01 12:30:00', 0, false, X'');
`

func ordersEngine(t testing.TB) (*Engine, *fakeCatalog) {
	e, cat := newTestEngine(t)
	mustExec(t, e, ordersDDL)
	return e, cat
}

func TestSelect(t *testing.T) {
	e, _ := ordersEngine(t)
	tests := []struct{ sql, want string }{
		{"SELECT 1+1", "2\n"},
		{"SELECT 1 WHERE FALSE", ""},
		{"SELECT 'a' || 'b', 7 / 2, 7 % 3, -7 / 2, 7.0 / 2, 1.5 * 2.25, 1e1 + 1", "ab|3|1|-3|3.5000000|3.375|11\n"},
		{"SELECT id, customer FROM orders WHERE id = 3", "3|alice\n"},
		{"SELECT * FROM orders WHERE id = 1",
			"1|alice|10.50|2|2024-01-01|2024-01-01 10:00:00|1.5|true|0x01\n"},
		{"SELECT id FROM orders WHERE customer = 'alice' ORDER BY id DESC", "3\n1\n"},
		{"SELECT id FROM orders WHERE d = '2024-01-02' ORDER BY id", "2\n3\n"},
		{"SELECT id FROM orders WHERE ts > '2024-01-02' ORDER BY 1", "2\n4\n5\n"},
		{"SELECT id FROM orders WHERE d < ts ORDER BY id", "1\n2\n5\n"},
		{"SELECT id FROM orders WHERE amount > 10 AND amount <= 20.00 ORDER BY id", "1\n2\n"},
		{"SELECT id FROM orders WHERE amount = 7.250", "4\n"},
		{"SELECT id FROM orders WHERE score = 1.5 OR qty = 5 ORDER BY id", "1\n3\n"},
		// Three-valued logic: NULL comparisons are unknown.
		{"SELECT id FROM orders WHERE qty <> 2 ORDER BY id", "3\n4\n5\n"},
		{"SELECT id FROM orders WHERE NOT (qty <> 2) ORDER BY id", "1\n"},
		{"SELECT id FROM orders WHERE flag OR qty > 4 ORDER BY id", "1\n3\n4\n"},
		{"SELECT id, flag AND qty > 1, flag OR qty > 4 FROM orders ORDER BY id",
			"1|true|true\n2|false|NULL\n3|NULL|true\n4|false|true\n5|false|false\n"},
		{"SELECT id FROM orders WHERE customer IS NULL", "4\n"},
		{"SELECT id FROM orders WHERE customer IS NOT NULL AND amount IS NULL", "3\n"},
		{"SELECT id FROM orders WHERE id IN (1, 3, 9) ORDER BY id", "1\n3\n"},
		{"SELECT id FROM orders WHERE id NOT IN (1, 3) ORDER BY id", "2\n4\n5\n"},
		{"SELECT id FROM orders WHERE id NOT IN (1, NULL)", ""},
		{"SELECT id, qty IN (1, NULL) FROM orders WHERE id IN (2, 4) ORDER BY id", "2|NULL\n4|true\n"},
		{"SELECT id FROM orders WHERE customer IN ('bob', 'carol') ORDER BY id", "2\n5\n"},
		{"SELECT id FROM orders WHERE id BETWEEN 2 AND 4 ORDER BY id", "2\n3\n4\n"},
		{"SELECT id FROM orders WHERE d NOT BETWEEN '2024-01-02' AND '2024-01-31' ORDER BY id", "1\n5\n"},
		{"SELECT id FROM orders WHERE customer LIKE 'a%' ORDER BY id", "1\n3\n"},
		{"SELECT id FROM orders WHERE customer LIKE '_o_' ORDER BY id", "2\n"},
		{"SELECT id FROM orders WHERE customer NOT LIKE '%o%' ORDER BY id", "1\n3\n"},
		{"SELECT 'a%b' LIKE 'a\\%b', 'axb' LIKE 'a\\%b', 'abc' LIKE '%%c', '' LIKE '%', 'ab' LIKE 'a'", "true|false|true|true|false\n"},
		{"SELECT COALESCE(customer, 'nobody'), COALESCE(qty, 0) + 1 FROM orders ORDER BY id",
			"alice|3\nbob|1\nalice|6\nnobody|2\ncarol|4\n"},
		{"SELECT CAST(amount AS INT), CAST(id AS STRING) || '!', CAST('12.345' AS DECIMAL(5,2)), CAST(score AS BIGINT) FROM orders WHERE id = 1",
			"10|1!|12.35|1\n"},
		{"SELECT CAST(ts AS DATE), CAST(d AS TIMESTAMP), CAST('2024-05-06 07:08:09' AS DATE) FROM orders WHERE id = 1",
			"2024-01-01|2024-01-01 00:00:00|2024-05-06\n"},
		{"SELECT CASE WHEN qty > 2 THEN 'many' WHEN qty IS NULL THEN 'unknown' ELSE 'few' END FROM orders ORDER BY id",
			"few\nunknown\nmany\nfew\nmany\n"},
		{"SELECT CASE customer WHEN 'alice' THEN 1 WHEN 'bob' THEN 2.5 END FROM orders ORDER BY id",
			"1.0\n2.5\n1.0\nNULL\nNULL\n"},
		{"SELECT UPPER(customer), LENGTH(customer), LENGTH(data), ABS(score) FROM orders WHERE id IN (1, 4) ORDER BY id",
			"ALICE|5|1|1.5\nNULL|NULL|NULL|1\n"},
		{"SELECT CURRENT_DATE, CURRENT_TIMESTAMP", "2026-03-04|2026-03-04 05:06:07\n"},
		{"SELECT o.id FROM orders AS o WHERE o.customer = 'bob'", "2\n"},
		{"SELECT orders.id FROM default.orders WHERE orders.id = 2", "2\n"},
		// ORDER BY, LIMIT, OFFSET.
		{"SELECT id, amount FROM orders ORDER BY amount", "3|NULL\n4|7.25\n1|10.50\n2|20.00\n5|100.00\n"},
		{"SELECT id, amount FROM orders ORDER BY amount DESC", "5|100.00\n2|20.00\n1|10.50\n4|7.25\n3|NULL\n"},
		{"SELECT id FROM orders ORDER BY amount DESC NULLS FIRST LIMIT 2", "3\n5\n"},
		{"SELECT id FROM orders ORDER BY amount NULLS LAST LIMIT 1", "4\n"},
		{"SELECT customer AS c, id FROM orders ORDER BY c, id DESC", "NULL|4\nalice|3\nalice|1\nbob|2\ncarol|5\n"},
		{"SELECT id FROM orders ORDER BY qty * -1 LIMIT 2 OFFSET 1", "3\n5\n"},
		{"SELECT id FROM orders LIMIT 2", "1\n2\n"},
		{"SELECT id FROM orders LIMIT 2 OFFSET 4", "5\n"},
		{"SELECT id FROM orders LIMIT 0", ""},
		{"SELECT id FROM orders OFFSET 3", "4\n5\n"},
		{"SELECT id FROM orders LIMIT 9223372036854775807 OFFSET 3", "4\n5\n"},
		{"SELECT id FROM orders ORDER BY id LIMIT 9223372036854775807 OFFSET 9223372036854775807", ""},
		{"SELECT DISTINCT customer FROM orders ORDER BY customer", "NULL\nalice\nbob\ncarol\n"},
		// NULL propagation and three-valued logic on literals.
		{"SELECT CAST(NULL AS INT) + 1, NULL + 1, NULL || 'a', NULL = NULL, NULL AND FALSE, NULL OR TRUE, NOT NULL",
			"NULL|NULL|NULL|NULL|false|true|NULL\n"},
		{"SELECT COUNT(NULL), SUM(NULL), COALESCE(NULL, NULL), CASE WHEN NULL THEN 1 END, 'abc' LIKE NULL", "0|NULL|NULL|NULL|NULL\n"},
		{"SELECT id FROM orders WHERE NULL", ""},
		// Exact decimal arithmetic.
		{"SELECT 0.5 / 3, 10 / 4.0, 1 / 3.000, SUM(amount) / COUNT(*) FROM orders", "0.1666667|2.5000000|0.333333333|27.55000000\n"},
		{"SELECT 1 % -1, -9223372036854775808 % -1, -7 % 3, 7.5 % 2", "0|0|-1|1.5\n"},
		{"SELECT 1 IN (1.0, 2), 1 = 1.0, 'a' IN ('a', NULL), 1.5 IN (1, 2), CAST(0.1 AS FLOAT) = 0.1", "true|true|true|false|true\n"},
		{"SELECT DISTINCT d FROM orders WHERE d IS NOT NULL ORDER BY 1 DESC", "2024-02-01\n2024-01-02\n2024-01-01\n"},
	}
	for _, tt := range tests {
		res, err := e.ExecStatement(context.Background(), tt.sql)
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		if got := rowsText(res); got != tt.want {
			t.Errorf("%s:\n got\n%s want\n%s", tt.sql, got, tt.want)
		}
	}
}

func TestAggregates(t *testing.T) {
	e, _ := ordersEngine(t)
	tests := []struct{ sql, cols, want string }{
		{"SELECT COUNT(*), COUNT(qty), COUNT(DISTINCT customer), SUM(qty), SUM(amount), MIN(d), MAX(customer), AVG(qty), AVG(amount) FROM orders",
			"COUNT(*) BIGINT, COUNT(qty) BIGINT, COUNT(DISTINCT customer) BIGINT, SUM(qty) BIGINT, SUM(amount) DECIMAL(38,2), MIN(d) DATE, MAX(customer) STRING, AVG(qty) DOUBLE, AVG(amount) DECIMAL(38,6)",
			"5|4|3|11|137.75|2024-01-01|carol|2.75|34.437500\n"},
		{"SELECT COUNT(*), SUM(qty), MAX(id), AVG(score) FROM orders WHERE id > 100", "COUNT(*) BIGINT, SUM(qty) BIGINT, MAX(id) BIGINT, AVG(score) DOUBLE", "0|NULL|NULL|NULL\n"},
		{"SELECT customer, COUNT(*) AS n, SUM(amount) FROM orders GROUP BY customer ORDER BY n DESC, customer",
			"customer STRING, n BIGINT, SUM(amount) DECIMAL(38,2)", "alice|2|10.50\nNULL|1|7.25\nbob|1|20.00\ncarol|1|100.00\n"},
		{"SELECT customer, COUNT(*) FROM orders WHERE id > 100 GROUP BY customer", "customer STRING, COUNT(*) BIGINT", ""},
		{"SELECT d, SUM(qty) FROM orders GROUP BY 1 HAVING COUNT(*) > 1", "d DATE, SUM(qty) BIGINT", "2024-01-02|5\n"},
		{"SELECT UPPER(customer) AS u, MAX(id) FROM orders GROUP BY u ORDER BY MAX(id) DESC", "u STRING, MAX(id) BIGINT", "CAROL|5\nNULL|4\nALICE|3\nBOB|2\n"},
		{"SELECT qty % 2, COUNT(*) FROM orders WHERE qty IS NOT NULL GROUP BY qty % 2 ORDER BY 1", "qty % 2 INT, COUNT(*) BIGINT", "0|1\n1|3\n"},
		{"SELECT SUM(qty) * 2 + COUNT(*) FROM orders", "(SUM(qty) * 2) + COUNT(*) BIGINT", "27\n"},
		{"SELECT MIN(score), MAX(score), SUM(score) FROM orders", "MIN(score) DOUBLE, MAX(score) DOUBLE, SUM(score) DOUBLE", "-1|2.5|3\n"},
		{"SELECT COUNT(*) FROM orders HAVING COUNT(*) > 10", "COUNT(*) BIGINT", ""},
		{"SELECT flag, COUNT(*) FROM orders GROUP BY flag ORDER BY flag NULLS LAST", "flag BOOLEAN, COUNT(*) BIGINT", "false|2\ntrue|2\nNULL|1\n"},
		{"SELECT COUNT(DISTINCT qty % 2), SUM(DISTINCT qty), AVG(DISTINCT qty) FROM orders",
			"COUNT(DISTINCT qty % 2) BIGINT, SUM(DISTINCT qty) BIGINT, AVG(DISTINCT qty) DOUBLE", "2|11|2.75\n"},
	}
	for _, tt := range tests {
		res, err := e.ExecStatement(context.Background(), tt.sql)
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		if got := colsText(res); got != tt.cols {
			t.Errorf("%s: columns\n got  %s\n want %s", tt.sql, got, tt.cols)
		}
		if got := rowsText(res); got != tt.want {
			t.Errorf("%s:\n got\n%s want\n%s", tt.sql, got, tt.want)
		}
	}
}

func TestExecErrors(t *testing.T) {
	e, cat := ordersEngine(t)
	mustExec(t, e, "CREATE TABLE kv (k STRING, v BIGINT NOT NULL, PRIMARY KEY (k))")
	tests := []struct {
		sql, want string
		kind      error
	}{
		{"SELECT x FROM orders", `invalid: unknown column "x" in table default.orders`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE nope = 1", `invalid: unknown column "nope" in table default.orders`, types.ErrInvalid},
		{"SELECT u.id FROM orders", `invalid: unknown table or alias "u" in u.id`, types.ErrInvalid},
		{"SELECT x", `invalid: unknown column "x" (the query has no FROM clause)`, types.ErrInvalid},
		{"SELECT * FROM nope", `not found: unknown table default.nope`, types.ErrNotFound},
		{"SELECT * FROM nodb.orders", `not found: unknown table nodb.orders (did you mean "default.orders"?)`, types.ErrNotFound},
		{"SELECT * FROM orders$nope", `not found: unknown system table default.orders$nope (system tables: $snapshots, $schemas, $files, $manifests, $options, $tags, $branches, $audit_log, $iceberg)`, types.ErrNotFound},
		{"SELECT * FROM orders WHERE id = 'abc'", `invalid: type mismatch: cannot compare id (BIGINT) with 'abc': not a valid BIGINT`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE d = '2024-13-45'", `invalid: type mismatch: cannot compare d (DATE) with '2024-13-45': not a valid DATE`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE customer = 1", `invalid: type mismatch: cannot compare customer (STRING) with 1 (INT)`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE d = flag", `invalid: type mismatch: cannot compare d (DATE) with flag (BOOLEAN)`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE id IN (1, 'x')", `invalid: type mismatch: cannot compare id (BIGINT) with 'x': not a valid BIGINT`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE qty", `invalid: WHERE needs a BOOLEAN condition, got INT`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE qty AND flag", `invalid: AND needs a BOOLEAN operand, got INT in qty`, types.ErrInvalid},
		{"SELECT customer + 1 FROM orders", `invalid: operator + needs numeric operands, got STRING and INT in customer + 1`, types.ErrInvalid},
		{"SELECT -customer FROM orders", `invalid: operator - needs a numeric operand, got STRING in -customer`, types.ErrInvalid},
		{"SELECT id FROM orders WHERE qty LIKE 'a'", `invalid: LIKE needs STRING operands, got INT for qty`, types.ErrInvalid},
		{"SELECT 1 / 0", `invalid: division by zero in 1 / 0`, types.ErrInvalid},
		{"SELECT id FROM orders WHERE id / (qty - 2) > 0", `invalid: division by zero in id / (qty - 2)`, types.ErrInvalid},
		{"SELECT 1.5 % 0", `invalid: division by zero in 1.5 % 0`, types.ErrInvalid},
		{"SELECT 2147483647 + 1", `invalid: INT overflow in 2147483647 + 1`, types.ErrInvalid},
		{"SELECT 9223372036854775807 * 2", `invalid: BIGINT overflow in 9223372036854775807 * 2`, types.ErrInvalid},
		{"SELECT -(-9223372036854775808)", `invalid: BIGINT overflow in -(-9223372036854775808)`, types.ErrInvalid},
		{"SELECT 9999999999999999999999999999999999999.9 + 1", `invalid: DECIMAL overflow: 9999999999999999999999999999999999999.9 + 1 needs 39 digits and does not fit DECIMAL(38,1) (at most 38 digits; cast an operand to a smaller scale)`, types.ErrInvalid},
		{"SELECT 1e308 * 10", `invalid: DOUBLE overflow in 1e308 * 10`, types.ErrInvalid},
		{"SELECT CAST('abc' AS INT)", `invalid: cannot CAST 'abc' AS INT`, types.ErrInvalid},
		{"SELECT CAST(1e300 AS FLOAT)", `invalid: cannot CAST 1e+300 AS FLOAT: out of range`, types.ErrInvalid},
		{"SELECT CAST(CAST('NaN' AS DOUBLE) AS INT)", `invalid: cannot CAST NaN AS INT: not a number`, types.ErrInvalid},
		{"SELECT CAST(amount AS DECIMAL(3,1)) FROM orders", `invalid: cannot CAST 100.00 AS DECIMAL(3,1): out of range`, types.ErrInvalid},
		{"SELECT SUM(9223372036854775807) FROM orders", `invalid: BIGINT overflow in SUM(9223372036854775807)`, types.ErrInvalid},
		{"SELECT ABS(-2147483648)", `invalid: INT overflow in ABS(-2147483648)`, types.ErrInvalid},
		{"SELECT -2147483648 / -1", `invalid: INT overflow in -2147483648 / -1`, types.ErrInvalid},
		{"SELECT 123456789012345678 / 0.000000000000000001", `invalid: DECIMAL overflow: 123456789012345678 / 0.000000000000000001 needs 60 digits and does not fit DECIMAL(38,24) (at most 38 digits; cast an operand to a smaller scale)`, types.ErrInvalid},
		{"SELECT MAX(d) * 2 FROM orders", `invalid: operator * needs numeric operands, got DATE and INT in MAX(d) * 2`, types.ErrInvalid},
		{"SELECT 5 BETWEEN 1 AND 'x'", `invalid: type mismatch: cannot compare 5 (INT) with 'x': not a valid INT`, types.ErrInvalid},
		{"SELECT CAST(3000000000 AS INT)", `invalid: cannot CAST 3000000000 AS INT: out of range`, types.ErrInvalid},
		{"SELECT CAST(d AS BOOLEAN) FROM orders", `invalid: cannot CAST DATE AS BOOLEAN in CAST(d AS BOOLEAN)`, types.ErrInvalid},
		{"SELECT COALESCE(customer, 1) FROM orders", `invalid: COALESCE has incompatible types STRING (customer) and INT (1)`, types.ErrInvalid},
		{"SELECT nope(1)", `invalid: unknown function NOPE`, types.ErrInvalid},
		{"SELECT UPPER(1)", `invalid: UPPER needs a STRING argument, got INT in UPPER(1)`, types.ErrInvalid},
		{"SELECT SUM(customer) FROM orders", `invalid: SUM needs a numeric argument, got STRING in SUM(customer)`, types.ErrInvalid},
		{"SELECT SUM(*) FROM orders", `invalid: SUM(*) is not valid; only COUNT(*) takes *`, types.ErrInvalid},
		{"SELECT * FROM orders WHERE COUNT(*) > 1", `invalid: aggregate function COUNT is not allowed in WHERE`, types.ErrInvalid},
		{"SELECT SUM(MAX(qty)) FROM orders", `invalid: aggregate function MAX is not allowed in an aggregate argument (aggregates cannot be nested)`, types.ErrInvalid},
		{"SELECT customer, COUNT(*) FROM orders", `invalid: column "customer" must appear in GROUP BY or be used in an aggregate function`, types.ErrInvalid},
		{"SELECT qty, COUNT(*) FROM orders GROUP BY customer", `invalid: column "qty" must appear in GROUP BY or be used in an aggregate function`, types.ErrInvalid},
		{"SELECT COUNT(*) FROM orders GROUP BY 3", `invalid: GROUP BY position 3 is not in the select list (1..1)`, types.ErrInvalid},
		{"SELECT id FROM orders ORDER BY 2", `invalid: ORDER BY position 2 is not in the select list (1..1)`, types.ErrInvalid},
		{"SELECT DISTINCT customer FROM orders ORDER BY id", `invalid: with SELECT DISTINCT, ORDER BY expressions must appear in the select list: id`, types.ErrInvalid},
		{"SELECT *", `invalid: SELECT * needs a FROM clause`, types.ErrInvalid},
		{"SELECT * FROM orders VERSION AS OF 99", `not found: unknown snapshot 99 of table default.orders`, types.ErrNotFound},
		{"SELECT * FROM orders VERSION AS OF 0", `not found: unknown snapshot 0 of table default.orders`, types.ErrNotFound},
		{"SELECT * FROM orders VERSION AS OF 'v1'", `invalid: VERSION AS OF 'v1': table default.orders does not keep tags`, types.ErrInvalid},
		{"SELECT * FROM orders TIMESTAMP AS OF '2020-01-01 00:00:00'", `not found: no snapshot of table default.orders at or before 2020-01-01 00:00:00.000 UTC`, types.ErrNotFound},
		{"SELECT * FROM orders TIMESTAMP AS OF 'yesterday'", `invalid: TIMESTAMP AS OF: bad TIMESTAMP literal "yesterday" (want YYYY-MM-DD HH:MM:SS[.ffffff][Z|±hh:mm])`, types.ErrInvalid},
		{"SELECT * FROM orders TIMESTAMP AS OF id", `invalid: unknown column "id" (TIMESTAMP AS OF takes a constant)`, types.ErrInvalid},
		{"SELECT * FROM orders$snapshots VERSION AS OF 1", `invalid: time travel is not supported on system table default.orders$snapshots`, types.ErrInvalid},
		// Writes.
		{"INSERT INTO nope VALUES (1)", `not found: unknown table default.nope`, types.ErrNotFound},
		{"INSERT INTO orders (id, nope) VALUES (1, 2)", `invalid: unknown column "nope" in table default.orders`, types.ErrInvalid},
		{"INSERT INTO orders (id, id) VALUES (1, 2)", `invalid: column "id" is listed twice`, types.ErrInvalid},
		{"INSERT INTO orders (id, qty) VALUES (10, 1), (11)", `invalid: INSERT has 2 target columns but row 2 has 1 values`, types.ErrInvalid},
		{"INSERT INTO orders (id) VALUES ('abc')", `invalid: column "id": 'abc' is not a valid BIGINT`, types.ErrInvalid},
		{"INSERT INTO orders (id, qty) VALUES (10, 1), (11, 1.5)", `invalid: row 2: column "qty": cannot use 1.5 (DECIMAL(2,1)) as INT without losing digits`, types.ErrInvalid},
		{"INSERT INTO orders (id, qty) VALUES (10, 3000000000)", `invalid: column "qty": cannot use 3000000000 (BIGINT) as INT: out of range`, types.ErrInvalid},
		{"INSERT INTO orders (id, amount) VALUES (10, 1.234)", `invalid: column "amount": cannot use 1.234 (DECIMAL(4,3)) as DECIMAL(10,2) without losing digits`, types.ErrInvalid},
		{"INSERT INTO orders (id, d) VALUES (10, 'tomorrow')", `invalid: column "d": 'tomorrow' is not a valid DATE`, types.ErrInvalid},
		{"INSERT INTO orders (id, customer) VALUES (10, 5)", `invalid: column "customer": cannot use 5 (INT) as STRING`, types.ErrInvalid},
		{"INSERT INTO orders (customer) VALUES ('x')", `invalid: missing value for primary key column "id"`, types.ErrInvalid},
		{"INSERT INTO orders (id) VALUES (NULL)", `invalid: missing value for primary key column "id"`, types.ErrInvalid},
		{"INSERT INTO kv (k) VALUES ('a')", `invalid: column "v" is NOT NULL`, types.ErrInvalid},
		{"INSERT INTO orders (id) VALUES (id)", `invalid: unknown column "id" (VALUES cannot refer to columns)`, types.ErrInvalid},
		{"INSERT INTO orders (id) VALUES (1 / 0)", `invalid: division by zero in 1 / 0`, types.ErrInvalid},
		{"INSERT INTO orders SELECT id FROM orders", `invalid: INSERT has 9 target columns but the SELECT returns 1`, types.ErrInvalid},
		{"INSERT INTO kv SELECT customer, d FROM orders", `invalid: column "v" is BIGINT but the SELECT returns DATE (d); use CAST`, types.ErrInvalid},
		{"INSERT INTO orders$snapshots VALUES (1)", `invalid: system table default.orders$snapshots is read-only`, types.ErrInvalid},
		{"UPDATE orders SET id = 7 WHERE id = 1", `invalid: cannot UPDATE primary key column "id" of table default.orders (DELETE and INSERT the row instead)`, types.ErrInvalid},
		{"UPDATE orders SET nope = 7", `invalid: unknown column "nope" in table default.orders`, types.ErrInvalid},
		{"UPDATE orders SET qty = 1, qty = 2", `invalid: column "qty" is SET twice`, types.ErrInvalid},
		{"UPDATE orders SET qty = 'many'", `invalid: column "qty": 'many' is not a valid INT`, types.ErrInvalid},
		{"UPDATE orders SET qty = customer", `invalid: column "qty" is INT but customer is STRING; use CAST`, types.ErrInvalid},
		{"UPDATE orders SET qty = qty * 1000000000", `invalid: INT overflow in qty * 1000000000`, types.ErrInvalid},
		{"UPDATE orders SET qty = id WHERE id = 2", ``, nil},
		{"UPDATE kv SET v = NULL", ``, nil}, // no rows: nothing to check
		{"DELETE FROM orders WHERE nope", `invalid: unknown column "nope" in table default.orders`, types.ErrInvalid},
		{"DELETE FROM orders WHERE id / 0 = 1", `invalid: division by zero in id / 0`, types.ErrInvalid},
		// DDL.
		{"CREATE TABLE t (a INT)", `invalid: a PRIMARY KEY is required`, types.ErrInvalid},
		{"CREATE TABLE t (a INT PRIMARY KEY, A STRING)", `invalid: duplicate column "A"`, types.ErrInvalid},
		{"CREATE TABLE t (a INT PRIMARY KEY, b INT PRIMARY KEY)", `invalid: PRIMARY KEY is declared on columns "a" and "b"; use PRIMARY KEY (a, b) for a composite key`, types.ErrInvalid},
		{"CREATE TABLE t (a INT PRIMARY KEY, PRIMARY KEY (a))", `invalid: PRIMARY KEY is declared twice (on column "a" and as PRIMARY KEY (…))`, types.ErrInvalid},
		{"CREATE TABLE t (a INT, PRIMARY KEY (b))", `invalid: PRIMARY KEY column "b" is not a column of the table`, types.ErrInvalid},
		{"CREATE TABLE t (a INT, b INT, PRIMARY KEY (a)) PARTITIONED BY (b)", `invalid: partition column "b" must be part of the primary key`, types.ErrInvalid},
		{"CREATE TABLE t (a INT, PRIMARY KEY (a)) PARTITIONED BY (c)", `invalid: PARTITIONED BY column "c" is not a column of the table`, types.ErrInvalid},
		{"CREATE TABLE t (a DOUBLE PRIMARY KEY)", `invalid: primary key column "a" cannot be DOUBLE`, types.ErrInvalid},
		{"CREATE TABLE t (a INT PRIMARY KEY) WITH ('bucket' = 'many')", `invalid: option 'bucket' must be a positive integer, got "many"`, types.ErrInvalid},
		{"CREATE TABLE t (a INT PRIMARY KEY) WITH ('k' = '1', 'k' = '2')", `invalid: option "k" given twice`, types.ErrInvalid},
		{"CREATE TABLE `t$x` (a INT PRIMARY KEY)", `invalid: table name "t$x": '$' is reserved for system tables`, types.ErrInvalid},
		{"CREATE TABLE nodb.t (a INT PRIMARY KEY)", `not found: database nodb`, types.ErrNotFound},
		{"CREATE TABLE orders (a INT PRIMARY KEY)", `conflict: table default.orders already exists`, types.ErrConflict},
		{"DROP TABLE nope", `not found: unknown table default.nope`, types.ErrNotFound},
		{"DROP TABLE orders$snapshots", `invalid: cannot drop system table default.orders$snapshots`, types.ErrInvalid},
		{"USE nope", `not found: unknown database nope`, types.ErrNotFound},
		{"SHOW TABLES FROM nope", `not found: unknown database nope`, types.ErrNotFound},
		{"DESCRIBE nope", `not found: unknown table default.nope`, types.ErrNotFound},
		{"CREATE DATABASE `a/b`", `invalid: database name "a/b": character '/' not allowed (letters, digits, '_' only)`, types.ErrInvalid},
	}
	before := len(cat.table("default", "orders").snaps)
	for _, tt := range tests {
		_, err := e.ExecStatement(context.Background(), tt.sql)
		switch {
		case tt.kind == nil && err != nil:
			t.Errorf("%s: unexpected error %v", tt.sql, err)
		case tt.kind == nil:
		case err == nil:
			t.Errorf("%s: no error, want %s", tt.sql, tt.want)
		case err.Error() != tt.want:
			t.Errorf("%s:\n got  %s\n want %s", tt.sql, err, tt.want)
		case !errors.Is(err, tt.kind):
			t.Errorf("%s: error %v is not %v", tt.sql, err, tt.kind)
		}
	}
	// Only the two successful UPDATEs may have committed (the kv one is empty).
	if got := len(cat.table("default", "orders").snaps); got != before+1 {
		t.Errorf("failed statements committed: %d snapshots, want %d", got, before+1)
	}
}
