package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
)

// startSilt starts silt in the background; wait returns its exit code.
func startSilt(t *testing.T, env []string, args ...string) (stderr *syncBuffer, cmd *exec.Cmd, wait func() int) {
	t.Helper()
	cmd = exec.Command(siltBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir())
	stderr = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &syncBuffer{}, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		done <- code
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return stderr, cmd, func() int { return <-done }
}

// waitFor polls buf until it contains want or the deadline passes.
func waitFor(t *testing.T, buf *syncBuffer, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s; stderr:\n%s", want, within, buf)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// s3Env is the environment of a CLI run against a fresh bucket of the
// test MinIO, reached at endpoint.
func s3Env(t *testing.T, endpoint string) []string {
	bucket := s3test.NewStore(t).Config().Bucket
	return []string{"SILT_WAREHOUSE=s3://" + bucket + "/wh", "SILT_S3_ENDPOINT=" + endpoint, "SILT_S3_INSECURE=true", "AWS_EC2_METADATA_DISABLED=true"}
}

// TestCLIFrozenS3SaysWaiting: with the S3 endpoint frozen (bytes stop
// flowing, as when MinIO is SIGSTOPped), a SELECT says that it waits on
// S3, and fails with a timeout error within the configured bound instead
// of hanging; Ctrl-C ends such a wait at once.
func TestCLIFrozenS3SaysWaiting(t *testing.T) {
	proxy := s3test.NewFreezeProxy(t, s3test.Endpoint(t))
	env := s3Env(t, proxy.Addr)
	mustSilt(t, env, "", "sql", "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING); INSERT INTO t VALUES (1, 'a')")

	const timeout, attempts = 3 * time.Second, 3
	proxy.Freeze()
	frozenEnv := append(env, fmt.Sprintf("SILT_S3_REQUEST_TIMEOUT=%s", timeout), fmt.Sprintf("SILT_S3_MAX_ATTEMPTS=%d", attempts))
	start := time.Now()
	r := silt(t, frozenEnv, "", "sql", "SELECT * FROM t")
	took := time.Since(start)
	bound := attempts * (timeout + 2*time.Second) // attempts x (budget + the longest backoff)
	if r.code == 0 || !strings.Contains(r.stderr, "waiting on S3 for ") || !strings.Contains(r.stderr, "timed out") {
		t.Fatalf("SELECT on a frozen S3: exit %d after %s\nstderr:\n%s\nwant a failure that said it was waiting and timed out", r.code, took, r.stderr)
	}
	if took > 3*bound {
		t.Fatalf("SELECT on a frozen S3 took %s; the bound is %s", took, bound)
	}
	t.Logf("failed after %s (bound %s):\n%s", took.Round(time.Millisecond), bound, r.stderr)

	// Ctrl-C during a long wait.
	stderr, cmd, wait := startSilt(t, append(env, "SILT_S3_REQUEST_TIMEOUT=10m"), "sql", "SELECT * FROM t")
	waitFor(t, stderr, "waiting on S3 for ", time.Minute)
	start = time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := wait(); code == 0 || time.Since(start) > 10*time.Second {
		t.Fatalf("after SIGINT: exit %d after %s\nstderr:\n%s", code, time.Since(start), stderr)
	}
	proxy.Resume()
	if out := mustSilt(t, env, "", "sql", "SELECT v FROM t"); !strings.Contains(out, "a") {
		t.Fatalf("after resume: %s", out)
	}
}

// TestCLICredentialsProfile: with no credentials in the environment, the
// CLI reads them from the profile AWS_PROFILE names in the file
// AWS_SHARED_CREDENTIALS_FILE names, and reaches an endpoint given as
// AWS_ENDPOINT_URL_S3=http://host:port; a wrong profile is a clear error
// naming it.
func TestCLICredentialsProfile(t *testing.T) {
	ep := s3test.Endpoint(t)
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	file := filepath.Join(t.TempDir(), "credentials")
	body := fmt.Sprintf("[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[silt-test]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	bucket := s3test.NewStore(t).Config().Bucket
	env := []string{"SILT_WAREHOUSE=s3://" + bucket + "/wh", "SILT_S3_ENDPOINT=", "AWS_ENDPOINT_URL_S3=http://" + ep,
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_SHARED_CREDENTIALS_FILE=" + file}
	out := mustSilt(t, append(env, "AWS_PROFILE=silt-test"), "", "sql", "CREATE TABLE t (id BIGINT PRIMARY KEY); INSERT INTO t VALUES (7); SELECT * FROM t")
	if !strings.Contains(out, "7") {
		t.Fatalf("SELECT: %s", out)
	}
	r := silt(t, append(env, "AWS_PROFILE=silt-tset"), "", "sql", "SELECT * FROM t")
	if r.code == 0 || !strings.Contains(r.stderr, `"silt-tset"`) || strings.Contains(r.stderr, secret) {
		t.Fatalf("wrong profile: exit %d, stderr %s; want an error naming the profile", r.code, r.stderr)
	}
}

// TestCLIURICredentialsRejected: a warehouse or cold tier URI holding
// credentials is rejected without echoing them; a cold tier without a
// bucket or with a relative directory is rejected with a clear error.
func TestCLIURICredentialsRejected(t *testing.T) {
	const secret = "hunter2-secret"
	for _, uri := range []string{"s3://AKIAX:" + secret + "@bucket/wh", "s3://bucket/wh?secret=" + secret, "s3://bucket/wh?X-Amz-Signature=" + secret} {
		r := silt(t, []string{"AWS_EC2_METADATA_DISABLED=true"}, "", "--warehouse", uri, "sql", "SELECT 1")
		if r.code == 0 || strings.Contains(r.stderr, secret) || !strings.Contains(r.stderr, "credentials") {
			t.Errorf("--warehouse %s: exit %d, stderr %q; want a rejection without the secret", uri, r.code, r.stderr)
		}
	}
	wh := filepath.Join(t.TempDir(), "wh")
	mustSilt(t, nil, "", "--warehouse", wh, "sql", "CREATE TABLE t (id BIGINT PRIMARY KEY)")
	for uri, want := range map[string]string{
		"s3://AKIAX:" + secret + "@bucket/cold": "credentials",
		"s3://bucket/cold?token=" + secret:      "credentials",
		"s3://":                                 "no bucket",
		"../../x":                               "relative",
	} {
		r := silt(t, nil, "", "--warehouse", wh, "sql", fmt.Sprintf("ALTER TABLE t SET ('tier.cold.uri' = '%s')", uri))
		if r.code == 0 || strings.Contains(r.stderr, secret) || !strings.Contains(r.stderr, want) {
			t.Errorf("tier.cold.uri %s: exit %d, stderr %q; want a rejection saying %q, without the secret", uri, r.code, r.stderr, want)
		}
	}
	if out := mustSilt(t, nil, "", "--warehouse", wh, "sql", "SELECT * FROM t$options"); strings.Contains(out, secret) || strings.Contains(out, "../../x") || strings.Contains(out, "s3://bucket/cold") {
		t.Fatalf("a rejected cold tier was stored: %s", out)
	}
}

// TestCLILoadStallSaysWhy: a load into a table whose bucket is at
// num-sorted-run.stop-trigger (write-only: nobody compacts it inline)
// says while it waits what it waits for and what to do.
func TestCLILoadStallSaysWhy(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "wh")
	mustSilt(t, nil, "", "--warehouse", wh, "sql", `CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH ('bucket' = '1',
		'write-only' = 'true', 'num-sorted-run.compaction-trigger' = '2', 'num-sorted-run.stop-trigger' = '2');
		INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b')`)
	csv := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csv, []byte("id,v\n3,c\n4,d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, cmd, wait := startSilt(t, nil, "--warehouse", wh, "load", "t", csv)
	waitFor(t, stderr, "write stalled", time.Minute)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = wait()
	msg := stderr.String()
	for _, want := range []string{"default.t bucket-0 has 2 sorted runs", "num-sorted-run.stop-trigger=2", "silt compact default.t"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stall notice lacks %q:\n%s", want, msg)
		}
	}
}

// TestCLIS3FreezeMidCommand: S3 freezes in the middle of a command — at
// a load's first data file upload, at a full compaction's first data
// file read — and the command says it is waiting, then fails with a
// timeout within the bound instead of hanging.
func TestCLIS3FreezeMidCommand(t *testing.T) {
	proxy := s3test.NewFreezeProxy(t, s3test.Endpoint(t))
	env := s3Env(t, proxy.Addr)
	bucket := strings.TrimPrefix(strings.Split(env[0], "/wh")[0], "SILT_WAREHOUSE=s3://")
	mustSilt(t, env, "", "sql", "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING); INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b')")
	csv := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csv, []byte("id,v\n3,c\n4,d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const timeout, attempts = 3 * time.Second, 3
	frozenEnv := append(env, fmt.Sprintf("SILT_S3_REQUEST_TIMEOUT=%s", timeout), fmt.Sprintf("SILT_S3_MAX_ATTEMPTS=%d", attempts))
	bound := attempts * (timeout + 2*time.Second)
	data := "/" + bucket + "/wh/default.db/t/data/"
	for _, tc := range []struct {
		name, trigger string
		args          []string
	}{
		{"load", "PUT " + data, []string{"load", "t", csv}},
		{"compact --full", "GET " + data, []string{"compact", "t", "--full"}},
	} {
		proxy.FreezeOn(tc.trigger)
		start := time.Now()
		r := silt(t, frozenEnv, "", tc.args...)
		took := time.Since(start)
		proxy.Resume()
		if r.code == 0 || !strings.Contains(r.stderr, "waiting on S3 for ") || !strings.Contains(r.stderr, "timed out") {
			t.Fatalf("%s with S3 frozen at %q: exit %d after %s\nstderr:\n%s\nwant a failure that said it was waiting and timed out", tc.name, tc.trigger, r.code, took, r.stderr)
		}
		if took > 3*bound {
			t.Fatalf("%s took %s; the bound is %s", tc.name, took, bound)
		}
		t.Logf("%s: failed after %s (bound %s):\n%s", tc.name, took.Round(time.Millisecond), bound, r.stderr)
	}
}
