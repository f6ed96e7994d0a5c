package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSchemaEvolutionCLI: ALTER flows, time travel with the old columns,
// `silt schema check`, and bad ALTERs (one clear line, exit 1, nothing
// changed), all through the built binary.
func TestSchemaEvolutionCLI(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	csv := func(sql string) string { t.Helper(); return mustSilt(t, env, "", "--format", "csv", "sql", sql) }
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts)
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (1, 'ann', 10.50, DATE '2026-01-02', NULL), (2, 'bob', 3, '2026-01-03', 'x')")

	out := mustSilt(t, env, "", "sql", `ALTER TABLE shop.orders ADD COLUMN status STRING NOT NULL DEFAULT 'open' COMMENT 'order state' AFTER customer,
		ALTER COLUMN amount TYPE DECIMAL(12,2), RENAME COLUMN note TO memo`)
	if out != "ALTER TABLE (schema 1)\n" {
		t.Fatalf("ALTER output %q", out)
	}
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders (id, customer, amount) VALUES (3, 'cy', 1234567890.12)")
	if got, want := csv("SELECT * FROM shop.orders ORDER BY id"),
		"id,customer,status,amount,placed,memo\n1,ann,open,10.50,2026-01-02,\n2,bob,open,3.00,2026-01-03,x\n3,cy,open,1234567890.12,,\n"; got != want {
		t.Errorf("latest:\n%s\nwant\n%s", got, want)
	}
	if got, want := csv("SELECT * FROM shop.orders VERSION AS OF 1 ORDER BY id"),
		"id,customer,amount,placed,note\n1,ann,10.50,2026-01-02,\n2,bob,3.00,2026-01-03,x\n"; got != want {
		t.Errorf("VERSION AS OF 1:\n%s\nwant\n%s", got, want)
	}
	if got, want := csv("SELECT id, status, memo FROM shop.orders VERSION AS OF 1 WITH CURRENT SCHEMA ORDER BY id"),
		"id,status,memo\n1,open,\n2,open,x\n"; got != want {
		t.Errorf("WITH CURRENT SCHEMA:\n%s\nwant\n%s", got, want)
	}
	if got := csv("DESCRIBE shop.orders"); !strings.Contains(got, "status,STRING,false,false,false,order state,open\n") {
		t.Errorf("DESCRIBE:\n%s", got)
	}

	// The dry run: OK (exit 0) or the violation (exit 1); never a change.
	r := silt(t, env, "", "schema", "check", "shop.orders", "ADD COLUMN tip DECIMAL(10,2)")
	if r.code != 0 || r.stdout != "OK: would write schema 2 of shop.orders: ADD COLUMN tip DECIMAL(10,2)\n" {
		t.Errorf("schema check OK: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = silt(t, env, "", "schema", "check", "shop.orders", "ALTER TABLE shop.orders ADD COLUMN IF NOT EXISTS memo STRING")
	if r.code != 0 || r.stdout != "OK: no change (table shop.orders stays at schema 1)\n" {
		t.Errorf("schema check no-op: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = silt(t, env, "", "schema", "check", "shop.orders", "ALTER COLUMN memo SET NOT NULL")
	if want := `silt: alter table shop.orders: schema.compatibility=backward: rule "nullable data in a NOT NULL column" violated by column "memo": readers of schema 2 cannot read data written with schema 1: the column is nullable there, so it may hold NULLs` + "\n"; r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("schema check violation: exit %d\nstdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, want)
	}
	for _, args := range [][]string{{"schema"}, {"schema", "check", "shop.orders"}, {"schema", "drop", "shop.orders", "x"}} {
		if r := silt(t, env, "", args...); r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("silt %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := silt(t, env, "", "schema", "check", "shop.nope", "ADD COLUMN x INT"); r.code != 1 || !strings.Contains(r.stderr, "shop.nope does not exist") {
		t.Errorf("unknown table: exit %d, stderr %q", r.code, r.stderr)
	}

	// Bad ALTERs: one line naming the problem, exit 1, nothing changed.
	for _, c := range []struct{ sql, want string }{
		{"ALTER TABLE shop.orders ADD COLUMN n INT NOT NULL", `rule "NOT NULL column without a DEFAULT" violated by column "n"`},
		{"ALTER TABLE shop.orders ALTER COLUMN id TYPE DECIMAL(18,0)", `cannot change the type of primary key column "id"`},
		{"ALTER TABLE shop.orders DROP COLUMN id", `cannot drop primary key column "id"`},
		{"ALTER TABLE shop.orders ALTER COLUMN customer TYPE INT", `cannot change column "customer" from STRING to INT`},
		{"ALTER TABLE shop.orders SET ('bucket' = '3')", "option bucket cannot be changed after CREATE TABLE"},
		{"ALTER TABLE shop.orders SET ('schema.compatibility' = 'sometimes')", `unknown mode "sometimes"`},
		{"ALTER TABLE shop.orders ADD COLUMN x INT DEFAULT 'abc'", `'abc' is not a valid INT`},
		{"ALTER TABLE shop.orders ADD COLUMN `../x` INT", "not allowed"},
		{"ALTER TABLE shop.orders FROB", "expected ADD, RENAME, DROP, ALTER, SET or RESET"},
	} {
		r := silt(t, env, "", "sql", c.sql)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "panic") {
			t.Errorf("%s: exit %d, stderr %q, want one line with %q", c.sql, r.code, r.stderr, c.want)
		}
	}
	if got, want := csv("SELECT schema_id, change FROM shop.orders$schemas ORDER BY schema_id"),
		"schema_id,change\n0,CREATE TABLE\n1,\"ADD COLUMN status STRING NOT NULL DEFAULT 'open' COMMENT 'order state' AFTER customer, ALTER COLUMN amount TYPE DECIMAL(12,2), RENAME COLUMN note TO memo\"\n"; got != want {
		t.Errorf("$schemas after bad ALTERs and dry runs:\n%s\nwant\n%s", got, want)
	}

	// Changing the mode, then a change it allows.
	mustSilt(t, env, "", "sql", "ALTER TABLE shop.orders SET ('schema.compatibility' = 'forward'); ALTER TABLE shop.orders ALTER COLUMN memo SET NOT NULL, DROP COLUMN placed")
	if got, want := csv("SELECT schema_id, options FROM shop.orders$schemas WHERE schema_id >= 2 ORDER BY schema_id"),
		"schema_id,options\n2,\"bucket=2, schema.compatibility=forward\"\n3,\"bucket=2, schema.compatibility=forward\"\n"; got != want {
		t.Errorf("$schemas:\n%s\nwant\n%s", got, want)
	}
}
