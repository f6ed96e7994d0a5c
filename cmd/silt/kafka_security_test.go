package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestKafkaWrongPasswordCLI runs `silt sink` and `silt export` against a
// SASL broker with a wrong SILT_KAFKA_SASL_PASSWORD: each fails within a
// bounded time with a line naming the broker and the mechanism, and the
// password appears nowhere in stdout or stderr.
func TestKafkaWrongPasswordCLI(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "users", "out"),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "silt", "right-pw-0a8d"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	const wrong = "wrong-pw-73c2b9e1"
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(t.TempDir(), "wh"),
		"SILT_KAFKA_SASL_MECHANISM=SCRAM-SHA-256", "SILT_KAFKA_SASL_USERNAME=silt", "SILT_KAFKA_SASL_PASSWORD=" + wrong}
	mustSilt(t, env, "", "sql", "CREATE DATABASE app; CREATE TABLE app.users (id BIGINT, name STRING, PRIMARY KEY (id)); INSERT INTO app.users VALUES (1, 'a')")
	for _, args := range [][]string{
		{"sink", "--brokers", broker, "--topic", "users", "--table", "app.users", "--format", "json", "--group", "g", "--stats-interval", "0"},
		{"--format", "upsert-json", "export", "app.users", "--brokers", broker, "--topic", "out"},
	} {
		start := time.Now()
		r := silt(t, env, "", args...)
		took := time.Since(start)
		all := r.stdout + r.stderr
		t.Logf("silt %s: exit %d after %v\nstdout: %s\nstderr: %s", args[0], r.code, took, r.stdout, r.stderr)
		if r.code == 0 || took > 30*time.Second {
			t.Fatalf("silt %v: exit %d after %v, want a failure within 30s", args, r.code, took)
		}
		if !strings.Contains(r.stderr, broker) || !strings.Contains(r.stderr, "SCRAM-SHA-256") || !strings.Contains(r.stderr, "failed") {
			t.Fatalf("silt %v: stderr should name the broker and the mechanism: %q", args, r.stderr)
		}
		if strings.Contains(all, wrong) {
			t.Fatalf("silt %v printed the password:\n%s", args, all)
		}
	}
	// The password is never a flag.
	r := silt(t, env, "", "sink", "--sasl-password", "x")
	if r.code == 0 || !strings.Contains(r.stderr, "sasl-password") {
		t.Fatalf("--sasl-password: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestKafkaSASLCLI: with the right SILT_KAFKA_* settings, `silt export`
// publishes through a SASL broker and `silt sink` (password from a file
// key of its config) consumes those records back into a table.
func TestKafkaSASLCLI(t *testing.T) {
	const pass = "right-pw-4e1f0c"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "silt", pass))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh"), "SILT_KAFKA_SASL_MECHANISM=PLAIN", "SILT_KAFKA_SASL_USERNAME=silt", "SILT_KAFKA_SASL_PASSWORD=" + pass}
	mustSilt(t, env, "", "sql", "CREATE DATABASE app; CREATE TABLE app.users (id BIGINT, name STRING, PRIMARY KEY (id)); CREATE TABLE app.copy (id BIGINT, name STRING, PRIMARY KEY (id)); INSERT INTO app.users VALUES (1, 'a'), (2, 'b')")
	out := mustSilt(t, env, "", "--format", "upsert-json", "export", "app.users", "--brokers", broker, "--topic", "out")
	if !strings.Contains(out, "2 changes") || strings.Contains(out, pass) {
		t.Fatalf("export: %s", out)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sinks.yaml")
	if err := os.WriteFile(cfg, []byte("sinks:\n  - brokers: ["+broker+"]\n    topics: [out]\n    table: app.copy\n    format: upsert-json\n    group: g\n    commit-interval: 100ms\n    sasl-mechanism: PLAIN\n    sasl-username: silt\n    sasl-password-file: "+pwFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(siltBin, "sink", "--config", cfg, "--stats-interval", "0")
	cmd.Env = append(append(os.Environ(), env[0]), "HOME="+t.TempDir())
	var sout, serr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sout, &serr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	awaitTableThenStop(t, cmd, &serr, env[:1], "SELECT * FROM app.copy ORDER BY id", "id,name\n1,a\n2,b\n")
	if strings.Contains(sout.String()+serr.String(), pass) {
		t.Fatalf("the sink printed the password:\n%s%s", sout.String(), serr.String())
	}
}
