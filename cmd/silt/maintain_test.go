package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMaintainCLI runs silt maintain and silt lifecycle show the way a
// user does, with a warehouse-wide cold tier from the environment.
func TestMaintainCLI(t *testing.T) {
	dir := t.TempDir()
	cold := filepath.Join(dir, "cold")
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh"), "SILT_COLD_URI=" + cold}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, v STRING) "+
		"WITH ('snapshot.num-retained.min' = '2', 'snapshot.time-retained' = '1s', 'tier.min-level' = '0')")
	for _, v := range []string{"(1, 'a')", "(2, 'b')", "(3, 'c')", "(1, 'd')"} {
		mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES "+v)
	}
	time.Sleep(1100 * time.Millisecond) // past snapshot.time-retained

	out := mustSilt(t, env, "", "lifecycle", "show", "shop.orders")
	for key, want := range map[string][]string{
		"snapshot.num-retained.min": {"2", "(set)"},
		"snapshot.time-retained":    {"1s", "(set)"},
		"snapshot.lease-ttl":        {"15m", "(default)"},
		"orphan.grace-period":       {"1d", "(default)"},
		"tier.cold.uri":             {cold, "(warehouse --cold-uri)"},
		"tier.min-level":            {"0", "(set)"},
		"State:":                    {"4 snapshots (1..4", "0 leases"},
		"- expire":                  {"snapshots 1..2 (2 of 4; keeping 3..4)"},
		"- move":                    {"4 data files", cold},
	} {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), key) {
				line = l
			}
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("lifecycle show: line %q lacks %q:\n%s", key, w, out)
			}
		}
	}
	// A dry run changes nothing.
	out = mustSilt(t, env, "", "maintain", "--dry-run", "shop.orders")
	if !strings.Contains(out, "expire snapshots 1..2") {
		t.Errorf("maintain --dry-run:\n%s", out)
	}
	if out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) FROM shop.orders$snapshots"); !strings.Contains(out, "\n4\n") {
		t.Fatalf("dry run changed the snapshots:\n%s", out)
	}

	out = mustSilt(t, env, "", "--format", "json", "maintain", "shop.orders")
	var rep maintainJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("maintain --format json: %v\n%s", err, out)
	}
	if rep.Table != "shop.orders" || rep.SnapshotsExpired != 2 || rep.FilesTiered != 4 {
		t.Errorf("maintain report: %+v", rep)
	}
	cols, _ := filepath.Glob(filepath.Join(cold, "shop.db", "orders", "data", "*", "*.parquet"))
	if len(cols) != 4 {
		t.Errorf("%d files in the cold tier, want 4", len(cols))
	}
	// Reads of cold files are transparent; old snapshots are gone.
	out = mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, v FROM shop.orders ORDER BY id")
	if out != "id,v\n1,d\n2,b\n3,c\n" {
		t.Errorf("read after tiering:\n%s", out)
	}
	r := silt(t, env, "", "sql", "SELECT * FROM shop.orders VERSION AS OF 1")
	if r.code == 0 || !strings.Contains(r.stderr, "1") {
		t.Errorf("expired snapshot 1 still readable: %d %s", r.code, r.stderr)
	}
	// Without the cold tier, reading a cold file is a clear error.
	r = silt(t, []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}, "", "sql", "SELECT * FROM shop.orders")
	if r.code != 1 || !strings.Contains(r.stderr, "no cold tier") {
		t.Errorf("read without a cold tier: %d %s", r.code, r.stderr)
	}

	out = mustSilt(t, env, "", "maintain")
	if !strings.Contains(out, "shop.orders: ") || !strings.Contains(out, "snapshots expired") {
		t.Errorf("maintain of all tables:\n%s", out)
	}
}

// TestMaintainCLIErrors: bad usage and bad options are one clear line and
// a non-zero exit code.
func TestMaintainCLIErrors(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "wh")
	env := []string{"SILT_WAREHOUSE=" + wh}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.t (id BIGINT PRIMARY KEY)")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"lifecycle"}, 2, "lifecycle show DB.TABLE"},
		{[]string{"lifecycle", "show"}, 2, "lifecycle show DB.TABLE"},
		{[]string{"lifecycle", "drop", "shop.t"}, 2, "lifecycle show DB.TABLE"},
		{[]string{"lifecycle", "show", "shop.nope"}, 1, "nope"},
		{[]string{"maintain", "shop.nope"}, 1, "nope"},
		{[]string{"maintain", "../x"}, 2, "database name"},
		{[]string{"--format", "csv", "maintain", "shop.t"}, 2, "--format"},
		{[]string{"sql", "ALTER TABLE shop.t SET ('snapshot.time-retained' = 'soon')"}, 1, "snapshot.time-retained"},
		{[]string{"sql", "ALTER TABLE shop.t SET ('snapshot.num-retained.mn' = '3')"}, 1, "snapshot.num-retained.mn"},
		{[]string{"--cold-uri", wh, "sql", "ALTER TABLE shop.t SET ('tier.min-level' = '0')"}, 0, ""},
		{[]string{"--cold-uri", wh, "maintain", "shop.t"}, 1, "is the warehouse itself"},
	} {
		r := silt(t, env, "", tc.args...)
		if r.code != tc.code || (tc.want != "" && !strings.Contains(r.stderr, tc.want)) {
			t.Errorf("silt %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); tc.code != 0 && n > 0 {
			t.Errorf("silt %s: %d lines of errors, want one:\n%s", strings.Join(tc.args, " "), n+1, r.stderr)
		}
	}
}
