package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
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
	for _, want := range []string{"verified: the latest snapshot holds exactly", "Snapshot history", "VERSION AS OF 1", "(6 rows)",
		"started an in-process Kafka (kfake) on 127.0.0.1:", "7002 records consumed, 7002 committed",
		"dead-letter topic demo.accounts.dlq: 2 records (unparseable 1, wrong-type 1)", "exported the table to demo.accounts.changes"} {
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

// TestSinkAndExport runs `silt sink` as a process against an in-process
// Kafka (kfake on loopback): flags, then a config file, a SIGTERM that
// commits and exits 0, a bad record dead-lettered, then `silt export`.
func TestSinkAndExport(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "orders", "orders-dlq", "orders-out"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts+"; "+strings.Replace(createAccounts, "shop.orders", "shop.mirror", 1))

	prod, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var recs []*kgo.Record
	for i := 1; i <= 100; i++ {
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf(`{"customer":"c%d","amount":"%d.50"}`, i%7, i))})
	}
	recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte("101"), Value: []byte(`{"customer":"x","amount":"lots"}`)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	runSink := func(table string, args ...string) string {
		t.Helper()
		cmd := exec.Command(siltBin, append([]string{"sink"}, args...)...)
		cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n, SUM(amount) AS s FROM "+table)
			if got == "n,s\n100,5100.00\n" {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("%s never got the 100 rows (last: %q)\nstderr:\n%s", table, got, errb.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("sink exit: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
		}
		return out.String()
	}
	out := runSink("shop.orders", "--brokers", broker, "--topic", "orders", "--table", "shop.orders", "--format", "upsert-json",
		"--group", "g", "--commit-interval", "100ms", "--dlq-topic", "orders-dlq", "--stats-interval", "0")
	if !strings.Contains(out, "dead-letter records 1 (wrong-type 1)") || !strings.Contains(out, "committed 101") {
		t.Fatalf("sink output:\n%s", out)
	}

	cfg := filepath.Join(dir, "sinks.yaml")
	os.WriteFile(cfg, []byte("sinks:\n  - name: mirror\n    brokers: ["+broker+"]\n    topics: [orders]\n    table: shop.mirror\n    format: upsert-json\n    group: mirror\n    commit-interval: 100ms\n    dlq-topic: orders-dlq\n"), 0o644)
	out = runSink("shop.mirror", "--config", cfg, "--stats-interval", "0")
	if !strings.Contains(out, "sink mirror:") {
		t.Fatalf("config sink output:\n%s", out)
	}

	out = mustSilt(t, env, "", "export", "shop.orders", "--brokers", broker, "--topic", "orders-out", "--format", "debezium-json")
	if !strings.Contains(out, "100 changes (100 inserts, 0 updates, 0 deletes)") {
		t.Fatalf("export output:\n%s", out)
	}
	out = mustSilt(t, env, "", "export", "shop.orders", "--brokers", broker, "--topic", "orders-out", "--format", "debezium-json")
	if !strings.Contains(out, "0 snapshots, 0 changes") {
		t.Fatalf("a second export should resume and publish nothing:\n%s", out)
	}

	// Usage mistakes and bad config files: one clear line, no panic.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sinks:\n  - table: shop.orders\n    format: avro\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sink", "--brokers", broker}, "--topic, --table, --format, --group"},
		{[]string{"sink", "--config", bad}, "avro"},
		{[]string{"sink", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"sink", "--brokers", broker, "--topic", "orders", "--table", "shop.nope", "--format", "json", "--group", "g"}, "nope"},
		{[]string{"export", "shop.orders", "--brokers", broker, "--topic", "x", "--format", "avro"}, "avro"},
		{[]string{"export", "shop.orders", "--brokers", broker, "--topic", "x/y", "--format", "upsert-json"}, "x/y"},
	} {
		r := silt(t, env, "", tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 || strings.Contains(r.stderr, "panic") {
			t.Errorf("silt %v: exit %d, stderr %q; want one line naming %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestSinkSchemaEvolution runs `silt sink --schema-evolution add-columns`
// over a Debezium topic whose schema gains a column: the column is added
// and filled; add-columns with a format that has no types is a usage error.
func TestSinkSchemaEvolution(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "users"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE app; CREATE TABLE app.users (id BIGINT, name STRING, PRIMARY KEY (id))")

	event := func(id int, withAge bool) *kgo.Record {
		fields := `{"field":"id","type":"int64"},{"field":"name","type":"string","optional":true}`
		after := fmt.Sprintf(`{"id":%d,"name":"u%d"}`, id, id)
		if withAge {
			fields += `,{"field":"age","type":"int32","optional":true}`
			after = fmt.Sprintf(`{"id":%d,"name":"u%d","age":%d}`, id, id, 20+id)
		}
		v := fmt.Sprintf(`{"schema":{"type":"struct","fields":[{"type":"struct","field":"before","optional":true,"fields":[%s]},{"type":"struct","field":"after","optional":true,"fields":[%s]},{"field":"op","type":"string"}]},"payload":{"op":"c","before":null,"after":%s}}`, fields, fields, after)
		return &kgo.Record{Topic: "users", Value: []byte(v)}
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx, event(1, false), event(2, false), event(3, true)).FirstErr(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(siltBin, "sink", "--brokers", broker, "--topic", "users", "--table", "app.users", "--format", "debezium-json",
		"--group", "g", "--commit-interval", "100ms", "--schema-evolution", "add-columns", "--stats-interval", "0")
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	awaitTableThenStop(t, cmd, &errb, env, "SELECT * FROM app.users ORDER BY id", "id,name,age\n1,u1,\n2,u2,\n3,u3,23\n")
	if !strings.Contains(out.String(), "columns added 1") {
		t.Fatalf("sink output:\n%s", out.String())
	}
	r := silt(t, env, "", "sink", "--brokers", broker, "--topic", "users", "--table", "app.users", "--format", "json", "--group", "g", "--schema-evolution", "add-columns")
	if r.code == 0 || !strings.Contains(r.stderr, "debezium-json") {
		t.Fatalf("add-columns with json: exit %d, stderr %q", r.code, r.stderr)
	}
}

// awaitTableThenStop polls query (as CSV) until it prints want, then stops
// the running sink cmd with SIGTERM and requires a clean exit. If want never
// shows within 30 s the sink is killed and the test fails with its stderr.
func awaitTableThenStop(t *testing.T, cmd *exec.Cmd, stderr fmt.Stringer, env []string, query, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := silt(t, env, "", "--format", "csv", "sql", query)
		if r.stdout == want {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("%s never printed %q (last: %q %q)\nsink stderr:\n%s", query, want, r.stdout, r.stderr, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sink exit: %v\nstderr:\n%s", err, stderr)
	}
}
