package query

import (
	"context"
	"io"
	"testing"
)

var fuzzSeeds = []string{
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
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		stmts, _, err := parseScript(sql)
		if err != nil {
			return
		}
		SplitStatements(sql)
		// The printed form is canonical: it parses back to itself.
		for _, s := range stmts {
			printed := s.stmt.String()
			again, _, err := parseScript(printed)
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
