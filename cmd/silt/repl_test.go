package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestREPLPipedLastStatement: piped input whose last statement has no ';'
// still runs it; one cut off inside a string says so.
func TestREPLPipedLastStatement(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts+"; INSERT INTO shop.orders VALUES (7, 'ann', 1, NULL, NULL)")
	r := silt(t, env, "SELECT customer FROM shop.orders;\nSELECT id * 6 AS answer\n  FROM shop.orders\n", "--format", "csv", "sql")
	if r.code != 0 || r.stdout != "customer\nann\nanswer\n42\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = silt(t, env, "SELECT 'open\n", "sql")
	if r.code != 0 || !strings.Contains(r.stderr, "ends inside a quoted string") {
		t.Fatalf("cut-off statement: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestREPLMetaCommands: the meta-commands, fed as piped lines.
func TestREPLMetaCommands(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts+"; INSERT INTO shop.orders VALUES (7, 'ann', 1, NULL, NULL)")
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`\?`, []string{`\d TABLE`, `\timing`, `\x`, `\pset format`, "Ctrl-C"}},
		{"help", []string{`\q, quit or Ctrl-D`}},
		{`\d`, []string{" shop ", " orders", "(1 row)"}},
		{`\dt`, []string{" orders"}},
		{`\d shop.orders`, []string{"customer", "DECIMAL(10,2)"}},
		{`\l`, []string{"shop"}},
		{"\\x\nSELECT id, customer FROM shop.orders;", []string{"Expanded display is on.", "-[ RECORD 1 ]", "id       | 7", "customer | ann"}},
		{".mode csv\nSELECT id FROM shop.orders;", []string{"Output format is csv.", "id\n7\n"}},
		{"\\pset format json\nSELECT id FROM shop.orders;", []string{`{"id":7}`}},
		{"\\timing\nSELECT 1;", []string{"Timing is on.", "Time: "}},
		{"\\q\nSELECT 'not run';", nil},
	} {
		r := silt(t, env, tc.in+"\n", "sql")
		if r.code != 0 || strings.Contains(r.stdout, "not run") {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", tc.in, r.code, r.stdout, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%q: stdout lacks %q:\n%s", tc.in, w, r.stdout)
			}
		}
	}
	r := silt(t, env, "\\dd\n\\pset border 2\n", "sql")
	for _, w := range []string{`unknown command \dd (did you mean "\d"?)`, `\pset sets only the output format`} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}
