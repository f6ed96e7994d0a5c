package main

import (
	"strings"
	"testing"
)

func TestScriptCreates(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"CREATE DATABASE shop", true},
		{"create table t (id bigint primary key)", true},
		{"-- schema\n/* a */ CREATE DATABASE d;", true},
		{"SELECT 1; CREATE TABLE t (a INT PRIMARY KEY)", true},
		{"SELECT 'CREATE'", false},
		{"SELECT 1; -- CREATE later", false},
		{"INSERT INTO t VALUES ('; CREATE')", false},
		{"", false},
		{"CREATED", false},
	} {
		if got := scriptCreates(tc.sql); got != tc.want {
			t.Errorf("scriptCreates(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}

// FuzzScriptCreates: never panics, and a script whose text has no
// "create" in any case never counts as creating.
func FuzzScriptCreates(f *testing.F) {
	for _, s := range []string{"CREATE DATABASE d", "/* x */ create table t", "SELECT 1; CREATE", "'", "/*", "--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if scriptCreates(sql) && !strings.Contains(strings.ToLower(sql), "create") {
			t.Fatalf("%q counts as creating", sql)
		}
	})
}

// FuzzMetaCommand: never panics; what it takes for a meta-command starts
// with '\' or '.', or is help, quit or exit.
func FuzzMetaCommand(f *testing.F) {
	for _, s := range []string{`\d t`, ".mode csv", "help;", "QUIT", "SELECT 1", ".5 + 1", "  \\x  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, ok := metaCommand(line)
		if !ok {
			return
		}
		switch {
		case strings.HasPrefix(cmd, `\`), strings.HasPrefix(cmd, "."), cmd == "help", cmd == "quit", cmd == "exit":
		default:
			t.Fatalf("metaCommand(%q) = %q", line, cmd)
		}
		if len(strings.Fields(cmd)) == 0 {
			t.Fatalf("metaCommand(%q) = %q has no name", line, cmd)
		}
	})
}
