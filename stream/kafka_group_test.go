package stream

import (
	"strings"
	"testing"
	"time"
)

// TestConfigUnknownKeys: an unknown key of a sinks config, at the top or in
// a sink, YAML or JSON, is one line naming the key, its line (YAML) and
// the known keys, worded like silt serve's.
func TestConfigUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"a.yaml", "warehouse: x\nsinkz: []\n", []string{`config a.yaml: line 2: unknown key "sinkz" (known: sinks, warehouse)`}},
		{"a.yaml", "sinks:\n  - table: a.b\n    group: g\n    topic: [t]\n", []string{`line 4: sinks[0]: unknown key "topic" (known: `, "brokers", "session-timeout", "static-membership", "topics", "tls-ca-file"}},
		{"a.json", `{"sinks":[{"table":"a.b","colour":"red"}]}`, []string{`config a.json: sinks[0]: unknown key "colour" (known: `, "topics"}},
		{"a.json", `{"listen":":9090","sinks":[]}`, []string{`unknown key "listen" (known: sinks, warehouse)`}},
		{"a.yaml", "sinks:\n  - table: a.b\n    sasl-password: hunter2\n", []string{`unknown key "sasl-password"`}},
	} {
		_, err := ParseConfig(tc.name, []byte(tc.text))
		if err == nil {
			t.Errorf("%s %q: no error", tc.name, tc.text)
			continue
		}
		msg := err.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %q: %q does not name %q", tc.name, tc.text, msg, w)
			}
		}
		if strings.Contains(msg, "\n") || strings.Contains(msg, "hunter2") {
			t.Errorf("%s: want one line without the value: %q", tc.name, msg)
		}
	}
	// A wrong type is one line too (yaml.v3 reports it on several).
	_, err := ParseConfig("a.yaml", []byte("sinks:\n  - table: [a]\n    group: {x: 1}\n"))
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("wrong types: %q", err)
	}
}

// TestKafkaGroupSettings: session-timeout and static-membership from the
// config, the environment winning, bounds checked, and the client options
// they become (heartbeat a tenth of the session, instance id the member).
func TestKafkaGroupSettings(t *testing.T) {
	c, err := ParseConfig("s.yaml", []byte("sinks:\n  - brokers: [h:1]\n    topics: [t]\n    table: a.b\n    format: json\n    group: g\n    member: m1\n    session-timeout: 3s\n    static-membership: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := c.Sinks[0].KafkaGroup
	if g.SessionTimeout != "3s" || !g.StaticMembership {
		t.Fatalf("parsed %+v", g)
	}
	env := map[string]string{"SILT_KAFKA_SESSION_TIMEOUT": "7s", "SILT_KAFKA_STATIC_MEMBERSHIP": "false"}
	g2, err := g.WithEnv(func(k string) string { return env[k] })
	if err != nil || g2.SessionTimeout != "7s" || g2.StaticMembership {
		t.Fatalf("with env: %+v %v", g2, err)
	}
	if d, _ := (KafkaGroup{}).sessionTimeout(); d != DefaultSessionTimeout {
		t.Fatalf("default session timeout %s", d)
	}
	for _, hb := range []struct{ session, want time.Duration }{
		{3 * time.Second, 300 * time.Millisecond}, {10 * time.Second, time.Second}, {time.Minute, 3 * time.Second}, {200 * time.Millisecond, 50 * time.Millisecond},
	} {
		if got := heartbeatInterval(hb.session); got != hb.want || got > hb.session/3 {
			t.Errorf("heartbeat for %s: %s, want %s", hb.session, got, hb.want)
		}
	}
	if opts, err := g.clientOpts("m1"); err != nil || len(opts) != 3 {
		t.Fatalf("static client options: %d %v", len(opts), err)
	}
	if opts, err := (KafkaGroup{}).clientOpts("m1"); err != nil || len(opts) != 2 {
		t.Fatalf("dynamic client options: %d %v", len(opts), err)
	}
	for _, bad := range []struct{ key, val string }{
		{"session-timeout", "soon"}, {"session-timeout", "10ms"}, {"session-timeout", "2h"},
	} {
		_, err := ParseConfig("s.yaml", []byte("sinks:\n  - brokers: [h:1]\n    topics: [t]\n    table: a.b\n    format: json\n    group: g\n    "+bad.key+": "+bad.val+"\n"))
		if err == nil || !strings.Contains(err.Error(), bad.key) {
			t.Errorf("%s %s: %v", bad.key, bad.val, err)
		}
	}
	for _, v := range []map[string]string{{"SILT_KAFKA_SESSION_TIMEOUT": "x"}, {"SILT_KAFKA_STATIC_MEMBERSHIP": "maybe"}} {
		if _, err := (KafkaGroup{}).WithEnv(func(k string) string { return v[k] }); err == nil {
			t.Errorf("env %v accepted", v)
		}
	}
}

// FuzzParseConfig: any config text parses or fails with one line; never
// panics. A config that parses validates.
func FuzzParseConfig(f *testing.F) {
	f.Add("s.yaml", "sinks:\n  - brokers: [h:1]\n    topics: [t]\n    table: a.b\n    format: json\n    group: g\n    session-timeout: 3s\n")
	f.Add("s.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"upsert-json","group":"g","static-membership":true}]}`)
	f.Add("s.yaml", "sinks:\n  - table: a.b\n    colour: red\n")
	f.Add("s.json", `{"sinks":[{"x":1}],"y":[]}`)
	f.Add("s.yaml", "sinks: &a [*a]\n")
	f.Fuzz(func(t *testing.T, name, text string) {
		c, err := ParseConfig(name, []byte(text))
		if err != nil {
			if strings.Contains(err.Error(), "\n") && strings.Contains(err.Error(), "unknown key") {
				t.Fatalf("multi-line unknown-key error: %q", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}
