package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSinkTimestampUnitFlag: --timestamp-unit is the sink flag of the
// config key timestamp-unit; a unit other than ms, us or ns is a usage
// error (exit 2, one line) naming the option, before any connection.
func TestSinkTimestampUnitFlag(t *testing.T) {
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh")}
	r := silt(t, env, "", "sink", "--brokers", "127.0.0.1:1", "--topic", "t", "--table", "a.b", "--format", "json", "--group", "g", "--timestamp-unit", "s")
	msg := strings.TrimSpace(r.stderr)
	if r.code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, `timestamp-unit "s"`) || !strings.Contains(msg, "ms, us or ns") {
		t.Errorf("exit %d, stderr %q; want exit 2 and one line naming timestamp-unit \"s\"", r.code, r.stderr)
	}
	help := silt(t, env, "", "sink", "-h")
	if !strings.Contains(help.stderr+help.stdout, "-timestamp-unit") {
		t.Errorf("sink -h does not list --timestamp-unit:\n%s%s", help.stdout, help.stderr)
	}
}
