package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSinkConfigUnknownKey: `silt sink --config FILE` rejects an unknown
// key the way `silt serve --config` does: exit 2 and one line naming the
// file, the line, the key and the known keys. Bad group settings are
// usage errors too, and the help calls --format the Kafka record format.
func TestSinkConfigUnknownKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	good := "sinks:\n  - brokers: [127.0.0.1:1]\n    topics: [t]\n    table: a.b\n    format: json\n    group: g\n"
	for _, tc := range []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"sink", "--config", write("top.yaml", "warehouse: x\nlisten: :9090\n"+good)}, nil,
			[]string{"top.yaml", "line 2", `unknown key "listen"`, "known: sinks, warehouse"}},
		{[]string{"sink", "--config", write("sink.yaml", good+"    topic: [u]\n")}, nil,
			[]string{"sink.yaml", "line 7", `sinks[0]: unknown key "topic"`, "known: ", "topics", "session-timeout", "static-membership"}},
		{[]string{"sink", "--config", write("s.json", `{"sinks":[{"table":"a.b","colour":"red"}]}`)}, nil,
			[]string{"s.json", `unknown key "colour"`, "known: "}},
		{[]string{"sink", "--config", write("bad-session.yaml", good+"    session-timeout: soon\n")}, nil,
			[]string{"session-timeout", "soon"}},
		{[]string{"sink", "--config", write("ok.yaml", good)}, []string{"SILT_KAFKA_SESSION_TIMEOUT=forever"},
			[]string{"SILT_KAFKA_SESSION_TIMEOUT", "forever"}},
		{[]string{"sink", "--config", filepath.Join(dir, "missing.yaml")}, nil, []string{"missing.yaml"}},
	} {
		r := silt(t, append(append([]string{}, env...), tc.env...), "", tc.args...)
		msg := strings.TrimSpace(r.stderr)
		if r.code != 2 || strings.Contains(msg, "\n") || strings.Contains(msg, "panic") {
			t.Errorf("silt %v: exit %d, stderr %q; want exit 2 and one line", tc.args[1:], r.code, r.stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("silt %v: stderr %q does not name %q", tc.args[1:], msg, w)
			}
		}
	}
	// The same unknown key in silt serve's sinks: list reads the same.
	r := silt(t, env, "", "serve", "--config", write("serve.yaml", good+"    topic: [u]\n"))
	if r.code != 2 || !strings.Contains(r.stderr, `sinks[0]: unknown key "topic" (known: `) || !strings.Contains(r.stderr, "static-membership") {
		t.Errorf("serve: exit %d, stderr %q", r.code, r.stderr)
	}

	help := silt(t, env, "", "sink", "-h")
	if !strings.Contains(help.stderr+help.stdout, "--format is the Kafka record format") {
		t.Errorf("sink -h does not call --format the Kafka record format:\n%s%s", help.stdout, help.stderr)
	}
	if out := mustSilt(t, env, "", "help"); !strings.Contains(out, "for sink and\n                       export, the Kafka record format") {
		t.Errorf("silt help does not say what --format means for sink and export:\n%s", out)
	}
}
