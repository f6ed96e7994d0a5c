package main

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
)

// The mistakes of a first hour with silt, each answered by one line that
// names what was wrong and how to fix it.

// siltIn runs silt in dir (its working directory) with a clean home.
func siltIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(siltBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// usageError checks a command-line mistake: exit 2 and one line holding
// every want.
func usageError(t *testing.T, what string, r result, want ...string) {
	t.Helper()
	msg := strings.TrimRight(r.stderr, "\n")
	if r.code != 2 || strings.Contains(msg, "\n") || r.stdout != "" {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr", what, r.code, r.stdout, r.stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: stderr %q lacks %q", what, msg, w)
		}
	}
}

// TestMistypedWarehouse: reading a warehouse that is not there names it
// and how to create one, and creates nothing; creating commands create it.
func TestMistypedWarehouse(t *testing.T) {
	dir := t.TempDir()
	mustSilt(t, nil, "", "init", filepath.Join(dir, "wh"))
	typo := filepath.Join(dir, "whh")
	env := []string{"SILT_WAREHOUSE=" + typo}
	for _, args := range [][]string{
		{"sql", "SELECT * FROM shop.orders"},
		{"sql", "SHOW DATABASES"},
		{"load", "shop.orders", filepath.Join(dir, "x.csv")},
		{"changes", "shop.orders"},
		{"compact", "shop.orders"},
		{"maintain"},
		{"lifecycle", "show", "shop.orders"},
	} {
		r := silt(t, env, "", args...)
		oneLineError(t, strings.Join(args, " "), r, "no warehouse at SILT_WAREHOUSE="+typo, "no such directory", "silt init "+typo)
	}
	r := silt(t, nil, "", "--warehouse", typo, "sql", "SELECT 1")
	oneLineError(t, "--warehouse", r, "no warehouse at --warehouse="+typo)
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Fatalf("reading a missing warehouse created %s (%v)", typo, err)
	}
	// An existing directory that holds no warehouse is not one either, and
	// reading it writes nothing into it.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	r = silt(t, []string{"SILT_WAREHOUSE=" + empty}, "", "sql", "SHOW TABLES")
	oneLineError(t, "empty directory", r, "no warehouse at SILT_WAREHOUSE="+empty, "holds no database", "silt init "+empty)
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Fatalf("reading an empty directory wrote %v into it", ents)
	}
	// A script with a CREATE statement creates the warehouse; init says
	// what it did and is safe to repeat.
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop")
	if out := mustSilt(t, env, "", "sql", "SHOW DATABASES"); !strings.Contains(out, "shop") {
		t.Fatalf("SHOW DATABASES after CREATE DATABASE: %s", out)
	}
	if out := mustSilt(t, env, "", "init"); !strings.Contains(out, "already exists (databases: shop)") {
		t.Fatalf("init of an existing warehouse: %q", out)
	}
	fresh := filepath.Join(dir, "fresh")
	if out := mustSilt(t, nil, "", "init", fresh); !strings.Contains(out, "created warehouse "+fresh) {
		t.Fatalf("init: %q", out)
	}
	mustSilt(t, []string{"SILT_WAREHOUSE=" + fresh}, "", "sql", "CREATE TABLE t (id BIGINT PRIMARY KEY); SELECT * FROM t")
}

// TestMalformedS3URI: "s3:/bucket" and its kin are named as mistyped
// URIs, and no directory of that name appears.
func TestMalformedS3URI(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ uri, want string }{
		{"s3:/bucket/wh", "did you mean s3://bucket/wh?"},
		{"S3://bucket", "did you mean s3://bucket?"},
		{"s3a://bucket", "did you mean s3://bucket?"},
		{"gs://bucket", `unsupported scheme "gs"`},
	} {
		for _, args := range [][]string{{"sql", "SELECT 1"}, {"sql", "CREATE DATABASE d"}, {"init"}, {"demo"}} {
			r := siltIn(t, dir, nil, append([]string{"--warehouse", tc.uri}, args...)...)
			oneLineError(t, tc.uri+" "+args[0], r, `warehouse "`+tc.uri+`"`, tc.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("malformed URIs created %v", ents)
	}
}

// TestUnknownCommandAndUsage: unknown commands and flags name the one
// meant; a usage mistake is one line with where to look, never the flag
// list; help for one command is that command's help.
func TestUnknownCommandAndUsage(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	usageError(t, "sqll", silt(t, env, "", "sqll"), `unknown command "sqll" (did you mean "sql"?)`, "silt help")
	usageError(t, "lod", silt(t, env, "", "lod", "t", "f.csv"), `(did you mean "load"?)`)
	usageError(t, "help lod", silt(t, env, "", "help", "lod"), `(did you mean "load"?)`)
	usageError(t, "sql --warehose", silt(t, env, "", "sql", "--warehose", "x"), "unknown flag --warehose (did you mean --warehouse?)", "silt sql --help")
	usageError(t, "--formt", silt(t, env, "", "--formt", "csv", "sql"), "unknown flag --formt (did you mean --format?)")
	usageError(t, "load one arg", silt(t, env, "", "load", "shop.orders"), "load takes TABLE and FILE", "silt load --help")
	usageError(t, "compact -n", silt(t, env, "", "compact", "-full=maybe", "t"), "full", "silt compact --help")

	for _, args := range [][]string{{"help", "load"}, {"load", "--help"}, {"load", "-h"}} {
		r := silt(t, env, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: silt load") || !strings.Contains(r.stdout, "bulk-load") ||
			!strings.Contains(r.stdout, "-input-format") || strings.Contains(r.stdout, "Commands:") {
			t.Errorf("silt %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

// TestUnknownTableAndColumn: an unknown table or column names the one
// meant, also when the database prefix was forgotten.
func TestUnknownTableAndColumn(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "wh")
	env := []string{"SILT_WAREHOUSE=" + wh}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts)
	for _, tc := range []struct{ sql, want string }{
		{"SELECT * FROM shop.ordrs", `unknown table shop.ordrs (did you mean "shop.orders"?)`},
		{"SELECT * FROM orders", `unknown table default.orders (did you mean "shop.orders"?)`},
		{"SELECT custmer FROM shop.orders", `unknown column "custmer" in table shop.orders (did you mean "customer"?)`},
		{"UPDATE shop.orders SET amout = 1", `(did you mean "amount"?)`},
	} {
		oneLineError(t, tc.sql, silt(t, env, "", "sql", tc.sql), tc.want)
	}
	// load and the other commands that name a table say the same.
	// and name the warehouse, where the right name may be missing from a
	// wrong warehouse.
	oneLineError(t, "load", silt(t, env, "", "load", "shop.ordrs", filepath.Join(t.TempDir(), "x.csv")), "shop.ordrs", "(in warehouse "+wh+")")
	oneLineError(t, "select", silt(t, env, "", "sql", "SELECT * FROM shop.ordrs"), "(in warehouse "+wh+")")
}

// TestS3SettingErrors: S3 mistakes with a known cause name the setting to
// change: HTTPS spoken to a plain-HTTP endpoint, HTTP to an HTTPS one, and
// a bucket that does not exist.
func TestS3SettingErrors(t *testing.T) {
	ep := s3test.Endpoint(t)
	bucket := s3test.NewStore(t).Config().Bucket
	base := func(more ...string) []string {
		return append([]string{"SILT_WAREHOUSE=s3://" + bucket + "/wh"}, more...)
	}
	r := silt(t, base("SILT_S3_ENDPOINT=https://"+ep), "", "sql", "SELECT 1")
	oneLineError(t, "https to http", r, "SILT_S3_ENDPOINT", "plain HTTP", "http://"+ep)
	r = silt(t, base("SILT_S3_ENDPOINT="+ep), "", "sql", "SELECT 1")
	oneLineError(t, "secure default to http", r, "plain HTTP", "SILT_S3_INSECURE=true")

	tls := httptest.NewUnstartedServer(http.NotFoundHandler())
	tls.Config.ErrorLog = log.New(io.Discard, "", 0) // the plain-HTTP requests' handshake errors
	tls.StartTLS()
	defer tls.Close()
	tlsHost := strings.TrimPrefix(tls.URL, "https://")
	r = silt(t, base("SILT_S3_ENDPOINT=http://"+tlsHost), "", "sql", "SELECT 1")
	oneLineError(t, "http to https", r, "SILT_S3_ENDPOINT", "HTTPS", "https://"+tlsHost)
	r = silt(t, base("SILT_S3_ENDPOINT="+tlsHost, "SILT_S3_INSECURE=true"), "", "sql", "SELECT 1")
	oneLineError(t, "insecure to https", r, "HTTPS", "SILT_S3_INSECURE")

	ok := base("SILT_S3_ENDPOINT="+ep, "SILT_S3_INSECURE=true")
	ok[0] = "SILT_WAREHOUSE=s3://" + bucket + "-typo/wh"
	r = silt(t, ok, "", "sql", "SELECT 1")
	oneLineError(t, "missing bucket", r, "bucket "+bucket+"-typo does not exist", "check the bucket name")
	ok[0] = "SILT_WAREHOUSE=s3://" + bucket + "/whh"
	r = silt(t, ok, "", "sql", "SHOW DATABASES")
	oneLineError(t, "empty prefix", r, "no warehouse at SILT_WAREHOUSE=s3://"+bucket+"/whh", "holds no database", "silt init s3://"+bucket+"/whh")
}
