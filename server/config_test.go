package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/types"
)

const sampleConfig = `# a full config
warehouse: s3://silt/wh
listen: "127.0.0.1:9191"
log-format: text
log-level: debug
shutdown-timeout: 12s
refresh-interval: 5s
compact-interval: 0s
compact-tables: [shop.orders, clicks]
maintain-interval: 2h
maintain-tables: "*"
s3-endpoint: minio:9000
s3-insecure: "true"
sinks:
  - name: orders
    brokers: [kafka:9092]
    topics: [shop.orders]
    table: shop.orders
    format: debezium-json
    group: silt-orders
`

func TestLoadPrecedence(t *testing.T) {
	env := map[string]string{"SILT_LOG_LEVEL": "warn", "SILT_REFRESH_INTERVAL": "7s", "SILT_S3_REGION": "eu-west-1"}
	c, err := Load(Sources{File: "silt.yaml", Data: []byte(sampleConfig), Env: func(k string) string { return env[k] },
		Flags: map[string]string{"refresh-interval": "9s"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Warehouse != "s3://silt/wh" || c.Listen != "127.0.0.1:9191" || c.LogFormat != "text" || c.ShutdownTimeout != 12*time.Second {
		t.Errorf("file values: %+v", c)
	}
	if c.LogLevel != "warn" {
		t.Errorf("env should beat the file: log level %q", c.LogLevel)
	}
	if c.RefreshInterval != 9*time.Second {
		t.Errorf("flag should beat env and file: refresh %s", c.RefreshInterval)
	}
	if c.CompactInterval != 0 || c.MaintainInterval != 2*time.Hour {
		t.Errorf("intervals: %s %s", c.CompactInterval, c.MaintainInterval)
	}
	if strings.Join(c.CompactTables, ",") != "shop.orders,default.clicks" || strings.Join(c.MaintainTables, ",") != "*" {
		t.Errorf("tables: %v %v", c.CompactTables, c.MaintainTables)
	}
	if c.S3["SILT_S3_ENDPOINT"] != "minio:9000" || c.S3["SILT_S3_INSECURE"] != "true" || c.S3["SILT_S3_REGION"] != "eu-west-1" {
		t.Errorf("s3: %v", c.S3)
	}
	if len(c.Sinks) != 1 || c.Sinks[0].Group != "silt-orders" {
		t.Errorf("sinks: %+v", c.Sinks)
	}
	// Defaults with nothing given.
	d, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Listen != ":9090" || d.LogFormat != "json" || d.ShutdownTimeout != 30*time.Second || d.CompactInterval != 30*time.Second ||
		d.MaintainInterval != time.Hour || d.CompactTables != nil || d.CacheSize != "1gb" {
		t.Errorf("defaults: %+v", d)
	}
}

// Every setting has the three forms, spelled alike.
func TestSettingForms(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		if seen[s.Key] || s.Key != strings.ToLower(s.Key) || strings.ContainsAny(s.Key, "_ ") {
			t.Errorf("bad or duplicate key %q", s.Key)
		}
		seen[s.Key] = true
		if want := "SILT_" + strings.ToUpper(strings.ReplaceAll(s.Key, "-", "_")); s.Env() != want {
			t.Errorf("%s: env %s", s.Key, s.Env())
		}
		// The env form is honoured.
		v := s.Default
		switch {
		case strings.HasSuffix(s.Key, "interval") || strings.HasSuffix(s.Key, "timeout"):
			v = "3s"
		case s.Key == "listen":
			v = ":1234"
		case s.List:
			v = "a.b"
		case s.Key == "log-format":
			v = "text"
		case s.Key == "log-level":
			v = "error"
		case s.Key == "s3-sse":
			v = "kms"
		case s.Key == "iceberg":
			v = "true"
		case strings.HasPrefix(s.Key, "s3-") && s.Key != "s3-endpoint" && s.Key != "s3-region":
			v = "true"
		case v == "" || s.Key == "cache-size":
			v = "7gb"
		}
		c, err := Load(Sources{Env: func(k string) string {
			if k == s.Env() {
				return v
			}
			return ""
		}})
		if err != nil {
			t.Errorf("%s=%s: %v", s.Env(), v, err)
			continue
		}
		if !strings.Contains(strings.ToLower(strings.Join(configStrings(c), "|")), strings.ToLower(v)) {
			t.Errorf("%s=%s not applied: %+v", s.Env(), v, c)
		}
	}
}

func configStrings(c *Config) []string {
	out := []string{c.Warehouse, c.CacheDir, c.CacheSize, c.ColdURI, c.Listen, c.LogFormat, c.LogLevel,
		c.ShutdownTimeout.String(), c.RefreshInterval.String(), c.CompactInterval.String(), c.MaintainInterval.String()}
	if c.Iceberg {
		out = append(out, "iceberg=true")
	}
	out = append(out, c.CompactTables...)
	out = append(out, c.MaintainTables...)
	for _, v := range c.S3 {
		out = append(out, v)
	}
	return out
}

func TestLoadErrorsNameLineAndKey(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"listen: :1\nbogus: 1\n", `line 2: unknown key "bogus"`},
		{"\n\nrefresh-interval: 0s\n", `line 3: key "refresh-interval": "0s" must be positive`},
		{"compact-interval: fast\n", `line 1: key "compact-interval": "fast" is not a duration`},
		{"sinks:\n  - table: a.b\n    group: g\n    colour: red\n", `line 4: sinks[0]: unknown key "colour"`},
		{"sinks:\n  - table: a.b\n    brokers: k:1\n", "sinks[0]"},
		{"sinks: {a: 1}\n", `line 1: key "sinks": want a list`},
		{"- a\n- b\n", "line 1: the file must be a mapping"},
		{"listen: :1\n---\nlisten: :2\n", "a second YAML document"},
		{"maintain-tables: ['*', a.b]\n", "maintain-tables"},
		{"s3-path-style: sometimes\n", `line 1: key "s3-path-style"`},
		{"cache-size: lots\n", `line 1: key "cache-size"`},
		{"iceberg: maybe\n", `line 1: key "iceberg"`},
	} {
		_, err := Load(Sources{File: "x.yaml", Data: []byte(tc.text)})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, types.ErrInvalid) {
			t.Errorf("%q: error %v, want one containing %q (and ErrInvalid)", tc.text, err, tc.want)
		}
	}
	if _, err := Load(Sources{Flags: map[string]string{"s3-endpoint": "x"}}); err == nil {
		t.Error("S3 settings must not be flags")
	}
}

// maxFuzzInput caps the inputs of this package's fuzz targets (see the
// fuzzing rule: every target caps its input, every decoder bounds its
// work by the sizes its input declares).
const maxFuzzInput = 64 << 10

// FuzzLoad: no config text panics; what loads is valid.
func FuzzLoad(f *testing.F) {
	f.Add(sampleConfig)
	f.Add("listen: :1\n")
	f.Add("sinks:\n  - table: a\n")
	f.Add("{\"listen\": \":1\", \"sinks\": []}")
	f.Add("a: &x [*x]\n")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > maxFuzzInput {
			return
		}
		c, err := Load(Sources{File: "f.yaml", Data: []byte(text)})
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		if c.Listen == "" || c.ShutdownTimeout <= 0 || c.RefreshInterval <= 0 {
			t.Fatalf("invalid config loaded: %+v", c)
		}
	})
}

// TestLoadSinkSecurity: a sink's sasl-* and tls-* keys load; a password
// key does not exist (the password comes from the environment or a file).
func TestLoadSinkSecurity(t *testing.T) {
	cfg := "sinks:\n  - table: a.b\n    brokers: [k:1]\n    topics: [t]\n    format: json\n    group: g\n    sasl-mechanism: SCRAM-SHA-512\n    sasl-username: u\n    sasl-password-file: /run/pw\n    tls: true\n    tls-ca-file: /run/ca.pem\n"
	c, err := Load(Sources{File: "silt.yaml", Data: []byte(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Sinks[0].KafkaSecurity; s.SASLMechanism != "SCRAM-SHA-512" || s.SASLUsername != "u" || s.SASLPasswordFile != "/run/pw" || !s.TLS || s.TLSCAFile != "/run/ca.pem" {
		t.Fatalf("security: %+v", s)
	}
	_, err = Load(Sources{File: "silt.yaml", Data: []byte(cfg + "    sasl-password: hunter2\n")})
	if err == nil || !strings.Contains(err.Error(), `unknown key "sasl-password"`) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("sasl-password key: %v", err)
	}
	_, err = Load(Sources{File: "silt.yaml", Data: []byte(strings.Replace(cfg, "SCRAM-SHA-512", "GSSAPI", 1))})
	if err == nil || !strings.Contains(err.Error(), "sasl-mechanism") {
		t.Fatalf("bad mechanism: %v", err)
	}
}
