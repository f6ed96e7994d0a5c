package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestRebuildCLI runs silt rebuild as a user does: a new table with the
// source's content and progress on stderr, a no-op rerun, a resumed run
// after the source moved on, --as-of, JSON output, and clear one-line
// errors for bad arguments.
func TestRebuildCLI(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts)
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (1, 'ann', 10.50, NULL, NULL), (2, 'bob', 3, NULL, 'x'), (3, 'cy', 7, NULL, NULL)")
	mustSilt(t, env, "", "sql", "UPDATE shop.orders SET amount = 11 WHERE id = 1")
	mustSilt(t, env, "", "sql", "DELETE FROM shop.orders WHERE id = 2")
	query := func(table string) string {
		return mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, customer, amount, note FROM "+table+" ORDER BY id")
	}

	r := silt(t, env, "", "rebuild", "shop.orders", "--to", "copy.orders", "--option", "changelog-producer=lookup")
	if r.code != 0 {
		t.Fatalf("rebuild: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"created copy.orders as a rebuild of shop.orders", "rebuilding copy.orders from shop.orders [", "100%"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, want := range []string{"rebuilt copy.orders from shop.orders", "source snapshots  1..3 (3 replayed)", "target commits    3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if got, want := query("copy.orders"), query("shop.orders"); got != want {
		t.Fatalf("rebuilt content:\n%s\nsource:\n%s", got, want)
	}
	if out := mustSilt(t, env, "", "rebuild", "shop.orders", "--to", "copy.orders", "--option", "changelog-producer=lookup"); !strings.Contains(out, "is up to date") {
		t.Fatalf("rerun: %s", out)
	}
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (4, 'dee', 1, NULL, NULL)")
	out := mustSilt(t, env, "", "--format", "json", "rebuild", "shop.orders", "--to", "copy.orders", "--option", "changelog-producer=lookup")
	var j rebuildJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("json output %q: %v", out, err)
	}
	if j.FromSnapshot != 3 || j.ToSnapshot != 4 || j.Snapshots != 1 || j.Commits != 1 || j.Rows != 1 || j.Created {
		t.Fatalf("resumed run: %+v", j)
	}
	if got, want := query("copy.orders"), query("shop.orders"); got != want {
		t.Fatalf("resumed content:\n%s\nsource:\n%s", got, want)
	}

	// --as-of and --merge-engine.
	mustSilt(t, env, "", "rebuild", "shop.orders", "--to", "copy.v2", "--as-of", "2")
	if got, want := query("copy.v2"), query("shop.orders VERSION AS OF 2"); got != want {
		t.Fatalf("as of 2:\n%s\nsource at 2:\n%s", got, want)
	}
	// The same history under first-row: the update and the delete are
	// ignored.
	mustSilt(t, env, "", "rebuild", "shop.orders", "--to", "copy.first", "--merge-engine", "first-row")
	if got, want := query("copy.first"), "id,customer,amount,note\n1,ann,10.50,\n2,bob,3.00,x\n3,cy,7.00,\n4,dee,1.00,\n"; got != want {
		t.Fatalf("first-row rebuild:\n%s\nwant:\n%s", got, want)
	}

	mustSilt(t, env, "", "sql", "CREATE TABLE shop.plain (id BIGINT PRIMARY KEY)")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rebuild", "shop.orders"}, 2, "--to"},
		{[]string{"rebuild", "--to", "copy.x"}, 2, "source"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.x", "--option", "nope"}, 2, "key=value"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.x", "--option", "bukket=2"}, 1, "bukket"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.x", "--merge-engine", "newest"}, 1, "newest"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.x", "--as-of", "a b"}, 2, "a b"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.x", "--as-of", "99"}, 1, "99"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.x", "--as-of", "nosuchtag"}, 1, "nosuchtag"},
		{[]string{"rebuild", "shop.missing", "--to", "copy.x"}, 1, "missing"},
		{[]string{"rebuild", "shop.orders", "--to", "shop.orders"}, 1, "itself"},
		{[]string{"rebuild", "shop.orders", "--to", "shop.plain"}, 1, "rebuild.source"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.orders"}, 1, "changelog-producer"},
		{[]string{"rebuild", "shop.orders", "--to", "copy.../x"}, 2, "../x"},
	} {
		r := silt(t, env, "", tc.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != tc.code || len(lines) != 1 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("silt %s: exit %d (want %d), stderr %q should be one line naming %q", strings.Join(tc.args, " "), r.code, tc.code, r.stderr, tc.want)
		}
	}
	// Failed runs created nothing.
	if r := silt(t, env, "", "sql", "SELECT * FROM copy.x"); r.code == 0 {
		t.Errorf("a failed rebuild left table copy.x behind")
	}
}

// FuzzParseAsOf: --as-of never panics; what it accepts is a valid ref.
func FuzzParseAsOf(f *testing.F) {
	for _, s := range []string{"", "7", "-1", "v1", "2026-11-22T10:00:00Z", "2026-11-22 10:00:00", "a b", "../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > fuzzLoadMaxInput {
			return
		}
		r, err := parseAsOf(s)
		if err != nil {
			return
		}
		if r.Tag != "" && (r.SnapshotID != 0 || r.AsOfMillis != 0) || r.SnapshotID < 0 {
			t.Fatalf("%q: bad ref %+v", s, r)
		}
	})
}
