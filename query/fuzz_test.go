package query

import (
	"context"
	"io"
	"testing"
)

var fuzzSeeds = []string{
	"SELECT TIME '12:00:00.5', TIMESTAMPTZ '2024-01-01 00:00:00+02', TIMESTAMP WITH LOCAL TIME ZONE '2024-01-01', UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', CAST(ts AS TIMESTAMP_LTZ) FROM orders",
	"CREATE TABLE x (t TIME, z TIMESTAMP WITH TIME ZONE DEFAULT TIMESTAMPTZ '2024-01-01 00:00:00', u UUID PRIMARY KEY, w TIMESTAMP WITHOUT TIME ZONE)",
	"SELECT 1+1",
	"select -9223372036854775808, 2147483647 + 1, 1.5e308 * 10, 7 / 0",
	"SELECT * FROM orders WHERE id = 1 AND customer LIKE 'a%' ORDER BY amount DESC NULLS LAST LIMIT 2 OFFSET 1",
	"SELECT customer, COUNT(*), SUM(amount), AVG(qty), MIN(d), MAX(ts) FROM orders GROUP BY customer HAVING COUNT(*) > 1 ORDER BY 2",
	"SELECT DISTINCT d FROM orders WHERE d BETWEEN '2024-01-01' AND '2024-12-31' ORDER BY 1",
	"SELECT CASE WHEN qty > 2 THEN 'x' ELSE NULL END, COALESCE(score, 0), CAST(amount AS STRING) FROM orders",
	"SELECT * FROM orders VERSION AS OF 1; SELECT * FROM orders TIMESTAMP AS OF '2026-01-01 00:01:00'",
	"SELECT * FROM orders$snapshots ORDER BY snapshot_id DESC",
	"INSERT INTO orders (id, customer) VALUES (9, 'z'), (10, NULL); UPDATE orders SET qty = qty + 1 WHERE id = 9; DELETE FROM orders WHERE id IN (9, 10)",
	"INSERT INTO orders SELECT * FROM orders WHERE id = 1",
	"CREATE TABLE t (a INT PRIMARY KEY, b DECIMAL(5,2) NOT NULL COMMENT 'c') WITH ('bucket' = '2'); DESCRIBE t; DROP TABLE t",
	"CREATE DATABASE d; USE d; SHOW TABLES; SHOW DATABASES; DROP DATABASE d CASCADE",
	"SELECT X'00ff', DATE '2024-02-29', TIMESTAMP '2024-01-01 00:00:00+01:00', 'it''s' || `id` FROM orders",
	"select 1 -- comment\n; /* block */ select 'a;b'",
	"SELECT id % 0 FROM orders",
	"SELECT UPPER(customer), LENGTH(data), ABS(score), CURRENT_DATE FROM orders",
	"ALTER TABLE orders ADD COLUMN IF NOT EXISTS note STRING NOT NULL DEFAULT 'n/a' COMMENT 'c' AFTER id, ALTER COLUMN qty TYPE BIGINT",
	"ALTER TABLE default.orders RENAME COLUMN customer TO buyer, DROP COLUMN IF EXISTS data, ALTER COLUMN score DROP NOT NULL",
	"ALTER TABLE orders ALTER COLUMN amount SET DATA TYPE DECIMAL(12,2), ALTER COLUMN d SET NOT NULL, ALTER COLUMN ts COMMENT 'when'",
	"ALTER TABLE orders SET ('schema.compatibility' = 'full_transitive', target-file-size = 64mb); ALTER TABLE orders RESET ('target-file-size')",
	"ALTER TABLE orders ADD x DATE DEFAULT DATE '2024-01-01' FIRST, ADD y BYTES DEFAULT X'00', ADD z DOUBLE DEFAULT -1e3",
	"SELECT * FROM orders VERSION AS OF 1 WITH CURRENT SCHEMA; SELECT * FROM orders$schemas WHERE schema_id = 0",
	"ALTER TABLE orders CREATE TAG IF NOT EXISTS v1 AS OF VERSION 1; ALTER TABLE orders DROP TAG IF EXISTS 'V-1.x'; SELECT * FROM orders VERSION AS OF 'v1'",
	"ALTER TABLE orders ROLLBACK TO VERSION 'v1'; ALTER TABLE orders ROLLBACK TO TIMESTAMP '2026-01-01 00:00:00'; ALTER TABLE orders DROP tag",
	"ALTER TABLE orders CREATE BRANCH dev AS OF TAG v1; INSERT INTO orders$branch_dev (id) VALUES (1); ALTER TABLE orders FAST FORWARD TO BRANCH dev; ALTER TABLE orders DROP BRANCH dev",
	"SELECT * FROM orders FOR BRANCH 'Dev' VERSION AS OF 2; UPDATE orders FOR BRANCH dev SET qty = 1; SELECT * FROM `orders$branch_dev$snapshots`",
	"CALL sys.create_tag('default.orders', 'v2', 1); CALL rollback_to('orders', 'v2'); CALL sys.fast_forward('orders', 'b')",
	"SELECT rowkind, COUNT(*) FROM table_changes('orders', 0, NULL) c WHERE c.snapshot_id > 0 GROUP BY rowkind ORDER BY 1",
	"SELECT * FROM orders$tags; SELECT * FROM orders$branches; SELECT * FROM orders$manifests VERSION AS OF 'x'; SELECT key FROM orders$options; SELECT * FROM orders$audit_log",
	"SELECT a.id, b.qty FROM orders a JOIN orders VERSION AS OF 1 b ON a.id = b.id AND a.qty < b.qty LEFT OUTER JOIN orders$snapshots s ON s.snapshot_id = a.id",
	"SELECT * FROM orders a FULL JOIN orders b USING (id, customer) RIGHT JOIN orders c ON c.qty = a.qty CROSS JOIN orders d, orders e WHERE a.id > 1",
	"SELECT x.n, y.* FROM (SELECT id AS n FROM orders) AS x (n) INNER JOIN (VALUES (1, 'a'), (2, NULL)) y ON x.n = y.col0",
	"SELECT id FROM orders WHERE customer IN (SELECT customer FROM orders WHERE qty > 1) AND NOT EXISTS (SELECT 1) AND id = (SELECT MAX(id) FROM orders)",
	"SELECT (SELECT 1 UNION SELECT 2 ORDER BY 1 LIMIT 1) + 1, ((SELECT 1) + 1), 2 IN ((SELECT 1), 2), 3 NOT IN ((SELECT 1) UNION (SELECT 3))",
	"SELECT 1 UNION ALL SELECT 2 INTERSECT SELECT 2 EXCEPT ALL (SELECT 3 ORDER BY 1) ORDER BY 1 DESC LIMIT 5 OFFSET 1",
	"(SELECT id FROM orders LIMIT 2) UNION (SELECT qty FROM orders) ORDER BY id; VALUES (1, 'x'), (2, 'y'); (VALUES (1)) LIMIT 1",
	"WITH a AS (SELECT id FROM orders), b (x, y) AS (SELECT id, qty FROM orders JOIN a USING (id)) SELECT * FROM b WHERE x IN (SELECT id FROM a) UNION SELECT 1, 2",
	"INSERT INTO orders (id) SELECT 100 UNION ALL SELECT 101; INSERT INTO orders (id) WITH w AS (SELECT 102) SELECT * FROM w",
	"SELECT * FROM (WITH q AS (SELECT 1 AS v) SELECT v FROM q) z JOIN orders ON z.v = orders.id WHERE EXISTS (SELECT * FROM orders WHERE id IN (SELECT v FROM (VALUES (1)) t (v)))",
	"SELECT EXTRACT(YEAR FROM d), DATE_PART('epoch', ts), DATE_TRUNC('week', ts), DATE_DIFF('month', d, ts), STRFTIME(ts, '%Y-%m-%d %-H'), TO_CHAR(d, 'YYYY Mon DD') FROM orders",
	"SELECT d + INTERVAL 1 DAY, ts - INTERVAL '2 hours 3 minutes', INTERVAL (3) MONTH + d, DATE_ADD(d, INTERVAL '1 year'), d - 1, d - d FROM orders",
	"SELECT SUBSTRING(customer FROM 2 FOR 3), SUBSTR(customer, -2), TRIM(LEADING 'a' FROM customer), TRIM(BOTH FROM customer), TRIM(customer, 'x'), POSITION('a' IN customer) FROM orders",
	"SELECT REPLACE(customer, 'a', 'b'), CONCAT(id, customer, NULL), LEFT(customer, 2), RIGHT(customer, -1), STRPOS(customer, 'l'), STARTS_WITH(customer, 'a'), SPLIT_PART(customer, 'i', -1), REGEXP_MATCHES(customer, '^a.*e$', 'i'), LPAD(customer, 8, '*'), RPAD(customer, 3, 'xy') FROM orders",
	"SELECT ROUND(amount, 1), ROUND(score), FLOOR(amount), CEIL(score), POWER(qty, 2), SQRT(qty), MOD(id, 3), NULLIF(qty, 2), IFNULL(qty, 0), GREATEST(qty, id), LEAST(d, ts) FROM orders",
	"SELECT customer, COUNT(DISTINCT qty), COUNT(*) FILTER (WHERE qty > 1), STRING_AGG(customer, ', ' ORDER BY id DESC NULLS LAST), APPROX_COUNT_DISTINCT(d) AS n FROM orders GROUP BY customer HAVING n > 0 ORDER BY n",
	"SELECT id, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY id), RANK() OVER (ORDER BY qty DESC), DENSE_RANK() OVER (ORDER BY d), LAG(qty, 2, 0) OVER (ORDER BY id), LEAD(id) OVER (ORDER BY id) FROM orders ORDER BY 2",
	"SELECT FIRST_VALUE(id) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING), LAST_VALUE(id) OVER (ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), SUM(qty) FILTER (WHERE id > 1) OVER (ROWS 3 PRECEDING), AVG(score) OVER () FROM orders",
	"SELECT customer, SUM(SUM(qty)) OVER (ORDER BY customer), RANK() OVER (ORDER BY COUNT(*)) FROM orders GROUP BY customer",
	"SHOW CREATE TABLE orders; SHOW CREATE TABLE default.`orders$branch_b`; SHOW PARTITIONS orders; SHOW PARTITIONS FROM default.orders",
	"TRUNCATE TABLE orders; TRUNCATE orders; SELECT COUNT(*) FROM orders; SELECT COUNT(*) FROM orders VERSION AS OF 1",
	"CREATE TABLE IF NOT EXISTS c2 PARTITIONED BY (d) COMMENT 'x' WITH ('primary-key' = 'id,d', 'bucket' = '2') AS SELECT id, d, qty * 2 AS q FROM orders WHERE id > 1; SELECT * FROM c2",
	"CREATE TABLE c3 WITH ('primary-key' = 'id') AS (SELECT id FROM orders UNION SELECT 7); CREATE TABLE c4 AS VALUES (1)",
	"COPY (SELECT id, customer FROM orders WHERE id > 1 ORDER BY id) TO 'out.parquet' (FORMAT parquet); COPY orders TO 'o.csv'; COPY default.orders TO 'o' (FORMAT 'json')",
	"INSERT OVERWRITE orders SELECT * FROM orders WHERE id > 2; INSERT OVERWRITE TABLE default.orders (id, customer) VALUES (1, 'a'); INSERT OVERWRITE orders PARTITION (d = DATE '2024-01-01', `qty` = 1 + 1) SELECT id FROM orders",
	"COPY orders FROM 'in.csv'; COPY default.orders FROM 'in.tsv' (FORMAT csv, HEADER false, DELIMITER '\t'); COPY orders FROM 'o.parquet' (format 'PARQUET'); COPY orders FROM 'x' (HEADER, SEP ';', DELIM ',')",
	"EXPLAIN SELECT customer, SUM(qty) FROM orders WHERE id = 1 AND qty > 2 GROUP BY customer HAVING COUNT(*) > 0 ORDER BY 2 DESC NULLS FIRST LIMIT 3 OFFSET 1",
	"EXPLAIN ANALYZE SELECT DISTINCT d FROM orders FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'; EXPLAIN (SELECT 1); EXPLAIN ANALYZE SELECT 1",
	"SELECT * FROM UNNEST([1, 2], MAP {'a': 1}, [{'x': 1, 'y': 'b'}], NULL) WITH ORDINALITY AS u (a, b, c); SELECT * FROM unnest(ARRAY['x']) u",
	"SELECT o.id, u.x, v.* FROM orders o LEFT JOIN LATERAL UNNEST([o.id, o.qty]) AS u (x) ON u.x > 1 CROSS JOIN UNNEST(ARRAY[o.customer]) v, UNNEST([u.x]) WITH ORDINALITY w JOIN orders p ON p.id = w.unnest",
	"SELECT id, unnest([id, qty]) + 1 AS y, unnest(['a']) FROM orders WHERE id > 0 ORDER BY unnest([id, qty]) DESC LIMIT 3; SELECT DISTINCT unnest([[1], []]); SELECT unnest(id) FROM orders",
	"SELECT gen_random_uuid(), uuid(), TIME '23:00:00' + INTERVAL 2 HOUR, INTERVAL '1 day' + TIME '01:02:03', TIMESTAMPTZ '2024-01-31 00:00:00+00' - INTERVAL 1 MONTH, DATE_ADD(CAST(ts AS TIME), INTERVAL 1 SECOND) FROM orders",
}

// maxFuzzInput caps the statements the fuzz targets try: parsing and
// binding are linear, so longer inputs find nothing new but slow every
// iteration (and FuzzExec runs what parses).
const maxFuzzInput = 4 << 10

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > maxFuzzInput {
			return
		}
		stmts, _, err := parseScript(context.Background(), sql)
		if err != nil {
			return
		}
		SplitStatements(sql)
		// The printed form is canonical: it parses back to itself.
		for _, s := range stmts {
			printed := s.stmt.String()
			again, _, err := parseScript(context.Background(), printed)
			if err != nil || len(again) != 1 || again[0].stmt.String() != printed {
				t.Fatalf("%q printed as %q, which does not round-trip: %v", sql, printed, err)
			}
		}
	})
}

func FuzzExec(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > maxFuzzInput {
			return
		}
		e, _ := ordersEngine(t)
		results, _ := e.Exec(context.Background(), sql)
		for _, r := range results {
			for _, format := range Formats() {
				if err := WriteResult(io.Discard, r, format); err != nil {
					t.Fatalf("%q: WriteResult %s: %v", sql, format, err)
				}
			}
		}
		_, _ = e.ExecStatement(context.Background(), sql)
	})
}

// FuzzCheckAlter: the dry run of "silt schema check" never panics, never
// writes, and whatever it accepts is a valid schema.
func FuzzCheckAlter(f *testing.F) {
	for _, s := range []string{"ADD COLUMN note STRING", "ALTER TABLE t ALTER COLUMN qty TYPE BIGINT", "DROP COLUMN name, RENAME COLUMN qty TO n",
		"SET ('schema.compatibility' = 'none'), ALTER COLUMN name SET NOT NULL", "ADD c INT NOT NULL DEFAULT 0 FIRST", "RESET ('bucket')", "ADD x INT;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > maxFuzzInput {
			return
		}
		e, cat := siltEngine(t)
		ctx := context.Background()
		mustExec(t, e, "CREATE TABLE t (id BIGINT PRIMARY KEY, name STRING, qty INT)")
		s, err := e.CheckAlter(ctx, "t", sql)
		if err == nil {
			if verr := s.Validate(); verr != nil {
				t.Fatalf("%q accepted an invalid schema: %v", sql, verr)
			}
		}
		if all, _ := cat.Schemas(ctx, "default", "t"); len(all) != 1 {
			t.Fatalf("%q: the dry run wrote a schema", sql)
		}
	})
}
