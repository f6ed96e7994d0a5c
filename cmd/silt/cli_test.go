package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/objstore/s3test"
)

// These tests build the silt binary once and run it the way a user does:
// a process with arguments, environment, stdin, stdout, stderr and an exit
// code.

var siltBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "silt-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	siltBin = filepath.Join(dir, "silt")
	out, err := exec.Command("go", "build", "-o", siltBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building silt: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func silt(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), siltBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func mustSilt(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	r := silt(t, env, stdin, args...)
	if r.code != 0 {
		t.Fatalf("silt %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func TestDemo(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "wh")
	out := mustSilt(t, nil, "", "demo", "--warehouse", wh)
	for _, want := range []string{"verified: the latest snapshot holds exactly", "Snapshot history", "VERSION AS OF 1", "(6 rows)"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// The demo's warehouse is usable afterwards.
	out = mustSilt(t, nil, "", "--warehouse", wh, "--format", "csv", "sql", "SELECT COUNT(*) FROM demo.accounts VERSION AS OF 1")
	if !strings.Contains(out, "3000") {
		t.Errorf("snapshot 1 should have 3000 rows, got:\n%s", out)
	}
}

const createAccounts = `CREATE TABLE shop.orders (
  id BIGINT, customer STRING NOT NULL, amount DECIMAL(10,2), placed DATE, note STRING,
  PRIMARY KEY (id)) WITH ('bucket' = '2')`

func TestSQLEndToEnd(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts)
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (1, 'ann', 10.50, DATE '2026-01-02', NULL), (2, 'bob', 3, '2026-01-03', 'x')")
	mustSilt(t, env, "", "sql", "UPDATE shop.orders SET amount = 11 WHERE id = 1")
	mustSilt(t, env, "", "sql", "DELETE FROM shop.orders WHERE customer = 'bob'")

	out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, customer, amount FROM shop.orders ORDER BY id")
	if want := "id,customer,amount\n1,ann,11.00\n"; out != want {
		t.Fatalf("latest:\n%s\nwant:\n%s", out, want)
	}
	out = mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, amount FROM shop.orders VERSION AS OF 1 ORDER BY id")
	if want := "id,amount\n1,10.50\n2,3.00\n"; out != want {
		t.Fatalf("version 1:\n%s\nwant:\n%s", out, want)
	}
	out = mustSilt(t, env, "", "--format", "json", "sql", "SELECT snapshot_id, commit_kind FROM shop.orders$snapshots ORDER BY snapshot_id")
	if n := strings.Count(out, "\n"); n != 3 {
		t.Fatalf("$snapshots: %d lines, want 3:\n%s", n, out)
	}
	out = mustSilt(t, env, "", "sql", "SHOW TABLES FROM shop")
	if !strings.Contains(out, "orders") {
		t.Fatalf("SHOW TABLES: %s", out)
	}
	out = mustSilt(t, env, "", "sql", "DESCRIBE shop.orders")
	if !strings.Contains(out, "DECIMAL(10,2)") {
		t.Fatalf("DESCRIBE: %s", out)
	}
}

// TestSQLErrors: every bad statement gives one clear line, a non-zero exit
// code, and commits nothing.
func TestSQLErrors(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts+"; INSERT INTO shop.orders VALUES (1, 'ann', 1, NULL, NULL)")
	for _, tc := range []struct{ sql, want string }{
		{"SELECT nope FROM shop.orders", "nope"},
		{"INSERT INTO shop.orders VALUES ('x', 'ann', 1, NULL, NULL)", "id"},
		{"INSERT INTO shop.orders VALUES (2, 'ann', 'abc', NULL, NULL)", "amount"},
		{"INSERT INTO shop.orders (customer) VALUES ('ann')", "id"},
		{"INSERT INTO shop.orders VALUES (3, NULL, 1, NULL, NULL)", "customer"},
		{"SELECT * FROM shop.missing", "missing"},
		{"SELECT * FROM shop.orders VERSION AS OF 99", "99"},
		{"SELEC * FROM shop.orders", "SELEC"},
		{"CREATE TABLE shop.bad (a INT) WITH ('bukket' = '2')", "primary key"},
		{"CREATE TABLE shop.bad (a INT PRIMARY KEY) WITH ('bukket' = '2')", "bukket"},
		{"CREATE TABLE `../x`.t (a INT PRIMARY KEY)", "not allowed"},
	} {
		r := silt(t, env, "", "sql", tc.sql)
		if r.code == 0 {
			t.Errorf("%s: exit 0, want an error", tc.sql)
			continue
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if len(lines) != 1 || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(tc.want)) {
			t.Errorf("%s: stderr %q should be one line naming %q", tc.sql, r.stderr, tc.want)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%s: panicked:\n%s", tc.sql, r.stderr)
		}
	}
	out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) FROM shop.orders; SELECT COUNT(*) FROM shop.orders$snapshots")
	if out != "count(*)\n1\ncount(*)\n1\n" && out != "COUNT(*)\n1\nCOUNT(*)\n1\n" {
		t.Fatalf("failed statements changed the table:\n%s", out)
	}
}

func TestSQLFileAndREPL(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	script := filepath.Join(dir, "init.sql")
	if err := os.WriteFile(script, []byte("-- schema\nCREATE DATABASE shop;\n"+createAccounts+";\nINSERT INTO shop.orders VALUES (7, 'c;d', 1, NULL, NULL);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSilt(t, env, "", "sql", "-f", script)
	// The REPL reads statements spread over several lines; an error does
	// not end the session; \q quits.
	out := mustSilt(t, env, "USE shop;\nSELECT customer\n  FROM orders\n  WHERE id = 7;\nSELECT bad FROM orders;\nSELECT COUNT(*) AS n FROM orders;\n\\q\nSELECT 1;\n", "sql")
	if !strings.Contains(out, "c;d") || !strings.Contains(out, "(1 row") {
		t.Fatalf("REPL output:\n%s", out)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts)
	var csv strings.Builder
	csv.WriteString("id,customer,amount,placed\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&csv, "%d,cust-%d,%d.25,2026-02-%02d\n", i, i%97, i, i%28+1)
	}
	csvPath := filepath.Join(dir, "orders.csv")
	os.WriteFile(csvPath, []byte(csv.String()), 0o644)
	r := silt(t, env, "", "load", "shop.orders", csvPath, "--format", "csv")
	if r.code != 0 || !strings.Contains(r.stdout, "loaded 5000 rows") || !strings.Contains(r.stderr, "100%") {
		t.Fatalf("load csv: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id": 9001, "customer": "ok"}`+"\n"+`{"id": 9002, "customer": "x", "amount": "lots"}`+"\n"), 0o644)
	r = silt(t, env, "", "load", "shop.orders", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "line 2") || !strings.Contains(r.stderr, "amount") {
		t.Fatalf("bad jsonl: exit %d, stderr %q", r.code, r.stderr)
	}
	out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n, SUM(amount) AS s FROM shop.orders")
	if want := "n,s\n5000,12498750.00\n"; out != want {
		t.Fatalf("after loads:\n%s\nwant:\n%s", out, want)
	}
}

// TestS3Warehouse runs the quickstart against the test MinIO.
func TestS3Warehouse(t *testing.T) {
	store := s3test.NewStore(t)
	bucket := store.Config().Bucket
	env := []string{
		"SILT_WAREHOUSE=s3://" + bucket + "/warehouse",
		"SILT_S3_ENDPOINT=" + os.Getenv("SILT_TEST_S3_ENDPOINT"),
		"SILT_S3_INSECURE=true",
	}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts)
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (1, 'ann', 2.5, NULL, NULL), (2, 'bob', 1, NULL, NULL)")
	mustSilt(t, env, "", "sql", "DELETE FROM shop.orders WHERE id = 2")
	out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, amount FROM shop.orders; SELECT COUNT(*) AS n FROM shop.orders VERSION AS OF 1")
	if want := "id,amount\n1,2.50\nn\n2\n"; out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	// Credentials never appear in output.
	r := silt(t, env, "", "sql", "SELECT * FROM shop.nope")
	if secret := os.Getenv("AWS_SECRET_ACCESS_KEY"); secret != "" && strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatal("secret key printed")
	}
}
