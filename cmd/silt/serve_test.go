package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/server"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// syncBuffer is a bytes.Buffer safe for a process writing and a test
// reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveProc is a running `silt serve`.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *syncBuffer
	base   string // http://host:port
	done   chan error
}

// startServe starts `silt serve` with args and waits until it logged its
// address and /readyz answers 200.
func startServe(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(siltBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	p := &serveProc{t: t, cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = io.Discard, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for p.base == "" {
		for _, rec := range p.logs() {
			if rec["msg"] == "listening" {
				p.base = "http://" + rec["addr"].(string)
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("silt serve exited early: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("silt serve never logged its address:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.waitFor("/readyz to answer 200", 30*time.Second, func() bool {
		code, _ := p.get("/readyz")
		return code == http.StatusOK
	})
	return p
}

// logs parses the JSON log lines written so far.
func (p *serveProc) logs() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

func (p *serveProc) get(path string) (int, string) {
	resp, err := http.Get(p.base + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (p *serveProc) waitFor(what string, within time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s\nserve log:\n%s", what, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape returns the /metrics text.
func (p *serveProc) scrape() string {
	p.t.Helper()
	code, body := p.get("/metrics")
	if code != http.StatusOK {
		p.t.Fatalf("/metrics: %d %s", code, body)
	}
	return body
}

// stop sends SIGTERM and returns how long the process took to exit.
func (p *serveProc) stop() time.Duration {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("silt serve exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		p.t.Fatalf("silt serve did not exit within 60s of SIGTERM\n%s", p.stderr.String())
	}
	return time.Since(start)
}

// metric sums the samples of name whose labels contain every given
// `key="value"` pair; ok is false when there is none.
func metric(text, name string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer name
		}
		i := strings.LastIndexByte(rest, ' ')
		lbls, val := rest[:i], rest[i+1:]
		match := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

func mustMetric(t *testing.T, text, name string, labels ...string) float64 {
	t.Helper()
	v, ok := metric(text, name, labels...)
	if !ok {
		t.Fatalf("metric %s%v missing from /metrics:\n%s", name, labels, grepLines(text, "silt_"))
	}
	return v
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeSinkSIGTERM runs `silt serve` with a sink (kfake) into a table
// on MinIO whose aggregation engine sums a counter per key, so a record
// applied twice (or lost) changes the sum. The first process is stopped
// with SIGTERM while records still arrive: it must exit in time, and
// everything it reported committed must be in the table. A restarted
// process resumes from the table's offsets: in the end the sum is exactly
// the number of records produced.
func TestServeSinkSIGTERM(t *testing.T) {
	store := s3test.NewStore(t)
	env := []string{
		"SILT_WAREHOUSE=s3://" + store.Config().Bucket + "/wh",
		"SILT_S3_ENDPOINT=" + os.Getenv("SILT_TEST_S3_ENDPOINT"),
		"SILT_S3_INSECURE=true",
	}
	mustSilt(t, env, "", "sql", "CREATE DATABASE app; CREATE TABLE app.counts (k BIGINT, n BIGINT, PRIMARY KEY (k)) "+
		"WITH ('bucket' = '2', 'merge-engine' = 'aggregation', 'fields.n.aggregate-function' = 'sum')")
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	prod, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const keys = 20
	produce := func(from, n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: "events", Value: []byte(fmt.Sprintf(`{"k": %d, "n": 1}`, (from+i)%keys))}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Error(err)
		}
	}
	const phase1, phase2 = 2000, 3000
	produce(0, phase1)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "silt.yaml")
	const shutdownTimeout = 10 * time.Second
	os.WriteFile(cfg, []byte(`# silt serve test config
listen: 127.0.0.1:0
log-format: json
shutdown-timeout: 10s
refresh-interval: 200ms
compact-interval: 300ms
maintain-interval: 1s
sinks:
  - name: events
    brokers: [`+broker+`]
    topics: [events]
    table: app.counts
    format: json
    group: silt-events
    member: serve-a
    commit-interval: 100ms
`), 0o644)

	cacheDir := filepath.Join(dir, "cache")
	p := startServe(t, env, "--config", cfg, "--cache-dir", cacheDir)
	var m1 string
	p.waitFor("phase 1 committed", 30*time.Second, func() bool {
		m1 = p.scrape()
		v, _ := metric(m1, "silt_sink_records_committed_total", `sink="events"`)
		id, _ := metric(m1, "silt_table_latest_snapshot_id", `table="app.counts"`)
		return v >= phase1 && id > 0
	})
	if v := mustMetric(t, m1, "silt_ready"); v != 1 {
		t.Errorf("silt_ready = %v", v)
	}
	if v := mustMetric(t, m1, "silt_sink_commits_total", `sink="events"`); v < 1 {
		t.Errorf("silt_sink_commits_total = %v", v)
	}
	mustMetric(t, m1, "silt_bucket_sorted_runs", `table="app.counts"`)
	mustMetric(t, m1, "silt_bucket_sorted_runs_until_stall", `table="app.counts"`)
	mustMetric(t, m1, "silt_table_bytes", `table="app.counts"`, `tier="hot"`)
	mustMetric(t, m1, "silt_sink_lag_records", `sink="events"`, `topic="events"`)
	// Commit latency and freshness are histograms fed by every commit.
	commits := mustMetric(t, m1, "silt_sink_commits_total", `sink="events"`)
	if n := mustMetric(t, m1, "silt_sink_commit_duration_seconds_count", `sink="events"`); n < commits || n > commits+1 {
		t.Errorf("silt_sink_commit_duration_seconds_count = %v, silt_sink_commits_total = %v", n, commits)
	}
	if inf := mustMetric(t, m1, "silt_sink_commit_duration_seconds_bucket", `sink="events"`, `le="+Inf"`); inf < commits {
		t.Errorf("commit latency +Inf bucket = %v < %v commits", inf, commits)
	}
	if n := mustMetric(t, m1, "silt_sink_freshness_seconds_count", `sink="events"`); n < phase1 {
		t.Errorf("silt_sink_freshness_seconds_count = %v, want >= %d (one per committed record)", n, phase1)
	}
	if v := mustMetric(t, m1, "silt_sink_freshness_seconds_sum", `sink="events"`); v <= 0 {
		t.Errorf("silt_sink_freshness_seconds_sum = %v", v)
	}
	mustMetric(t, m1, "silt_startup_duration_seconds")
	snaps1 := mustMetric(t, m1, "silt_table_latest_snapshot_id", `table="app.counts"`)
	// The refreshes and compactions read immutable objects through the disk cache.
	if v := mustMetric(t, m1, "silt_cache_misses_total"); v < 1 {
		t.Errorf("silt_cache_misses_total = %v", v)
	}
	mustMetric(t, m1, "silt_cache_budget_bytes")
	// --cache-dir enables the lookup index: its counters are exported.
	mustMetric(t, m1, "silt_lookup_index_lookups_total", `answered_by="index"`)
	mustMetric(t, m1, "silt_lookup_index_rebuilds_total")

	// Phase 2 arrives while the process is told to stop.
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < phase2; i += 100 {
			produce(phase1+i, 100)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	p.waitFor("phase 2 to start flowing", 30*time.Second, func() bool {
		v, _ := metric(p.scrape(), "silt_sink_records_consumed_total", `sink="events"`)
		return v > phase1
	})
	took := p.stop()
	if took > shutdownTimeout+2*time.Second {
		t.Errorf("exit took %s after SIGTERM, bound is %s", took, shutdownTimeout)
	}
	t.Logf("first process exited %s after SIGTERM", took.Round(time.Millisecond))
	var committed1 int64 = -1
	for _, rec := range p.logs() {
		if rec["msg"] == "sink stopped" {
			committed1 = int64(rec["records_committed"].(float64))
		}
		if rec["msg"] == "shutdown timeout: aborting in-flight work" {
			t.Errorf("the shutdown hit its timeout: %v", rec)
		}
	}
	if committed1 < phase1 {
		t.Fatalf("first process committed %d records (< %d)\n%s", committed1, phase1, p.stderr.String())
	}
	sum := func() string {
		return strings.TrimSpace(mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS k, SUM(n) AS n FROM app.counts"))
	}
	if got, want := sum(), fmt.Sprintf("k,n\n%d,%d", keys, committed1); got != want {
		t.Fatalf("after SIGTERM the table holds %q, want %q (everything the process reported committed, nothing else)", got, want)
	}
	<-produced
	const total = phase1 + phase2
	t.Logf("the first process committed %d of %d records", committed1, total)
	if committed1 >= total {
		t.Fatalf("the first process committed everything (%d): SIGTERM did not land mid-stream, the restart resumes nothing", committed1)
	}

	// The restarted process resumes from the table's offsets.
	p2 := startServe(t, env, "--config", cfg, "--cache-dir", cacheDir)
	var m2 string
	p2.waitFor("the rest committed", 30*time.Second, func() bool {
		m2 = p2.scrape()
		v, _ := metric(m2, "silt_sink_records_committed_total", `sink="events"`)
		return v >= float64(total)-float64(committed1)
	})
	if got, want := sum(), fmt.Sprintf("k,n\n%d,%d", keys, total); got != want {
		t.Fatalf("after the restart the table holds %q, want %q: records lost or applied twice", got, want)
	}
	if v := mustMetric(t, m2, "silt_sink_records_committed_total", `sink="events"`); v != float64(total)-float64(committed1) {
		t.Errorf("restarted process committed %v records, want exactly %d (resume without duplicates)", v, total-int(committed1))
	}
	if v := mustMetric(t, m2, "silt_sink_duplicates_skipped_total", `sink="events"`); v != 0 {
		t.Errorf("duplicates skipped: %v", v)
	}
	p2.waitFor("the table state to catch up", 10*time.Second, func() bool {
		m2 = p2.scrape()
		v, _ := metric(m2, "silt_table_latest_snapshot_id", `table="app.counts"`)
		_, compacted := metric(m2, "silt_compaction_runs_total", `table="app.counts"`, `result="ok"`)
		return v > snaps1 && compacted
	})
	if v := mustMetric(t, m2, "silt_startup_duration_seconds"); v <= 0 || v > 30 {
		t.Errorf("silt_startup_duration_seconds = %v", v)
	}
	// The writer merges a batch's records per key before it writes them:
	// the table ingests at most one row per key and commit.
	if v := mustMetric(t, m2, "silt_table_ingested_records_total", `table="app.counts"`); v < keys {
		t.Errorf("silt_table_ingested_records_total = %v, want >= %d", v, keys)
	}
	// Write amplification in bytes: flushed bytes are counted, and the
	// ratio is at least 1 (every flushed byte was written once).
	if v := mustMetric(t, m2, "silt_table_flushed_bytes_total", `table="app.counts"`); v <= 0 {
		t.Errorf("silt_table_flushed_bytes_total = %v", v)
	}
	mustMetric(t, m2, "silt_table_compaction_output_bytes_total", `table="app.counts"`)
	if v := mustMetric(t, m2, "silt_table_write_amplification_ratio", `table="app.counts"`); v < 1 {
		t.Errorf("silt_table_write_amplification_ratio = %v, want >= 1", v)
	}
	if v := mustMetric(t, m2, "silt_table_snapshots", `table="app.counts"`); v < 2 {
		t.Errorf("silt_table_snapshots = %v", v)
	}
	if v := mustMetric(t, m2, "silt_maintenance_runs_total", `table="app.counts"`, `result="ok"`); v < 1 {
		t.Errorf("maintenance runs: %v", v)
	}
	mustMetric(t, m2, "silt_compaction_runs_total", `table="app.counts"`, `result="ok"`)
	// The restarted process reuses the cache the first one filled.
	if v := mustMetric(t, m2, "silt_cache_hits_total"); v < 1 {
		t.Errorf("silt_cache_hits_total after the restart = %v", v)
	}
	if code, body := p2.get("/api/tables"); code != 200 || !strings.Contains(body, `"app.counts"`) {
		t.Errorf("/api/tables: %d %s", code, body)
	}
	if took := p2.stop(); took > shutdownTimeout+2*time.Second {
		t.Errorf("second exit took %s", took)
	}
	// Readiness is off while it stops: the last log lines say so.
	var msgs []string
	for _, rec := range p2.logs() {
		msgs = append(msgs, rec["msg"].(string))
	}
	if !strings.Contains(strings.Join(msgs, "|"), "shutting down|") || msgs[len(msgs)-1] != "stopped" {
		t.Errorf("log messages: %v", msgs)
	}
}

// TestServeConfigErrors: bad config files, flags and environment values
// name the line and key (or the flag or variable), in one line, exit 2.
func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	for _, tc := range []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"--config", write("a.yaml", "listen: :9090\nlisten-addr: x\n")}, nil, []string{"line 2", `unknown key "listen-addr"`}},
		{[]string{"--config", write("b.yaml", "listen: :9090\n\nshutdown-timeout: soon\n")}, nil, []string{"line 3", `"shutdown-timeout"`, "soon"}},
		{[]string{"--config", write("c.yaml", "sinks:\n  - table: a.b\n    brokers: [k:9092]\n    topic: [t]\n")}, nil, []string{"line 4", `unknown key "topic"`}},
		{[]string{"--config", write("d.yaml", "sinks:\n  - table: a.b\n    brokers: [k:9092]\n    topics: [t]\n    format: avro\n    group: g\n")}, nil, []string{"line 2", "sinks[0]", "avro"}},
		{[]string{"--config", write("e.yaml", "log-format: xml\n")}, nil, []string{"line 1", "log-format", "xml"}},
		{[]string{"--config", write("f.yaml", "compact-tables: [a.b, 'x y']\n")}, nil, []string{"line 1", "compact-tables"}},
		{[]string{"--config", write("g.yaml", "listen: [1, 2]\n")}, nil, []string{"line 1", `"listen"`, "single value"}},
		{[]string{"--config", write("h.yaml", "listen: :1\nlisten: :2\n")}, nil, []string{"line 2", "twice"}},
		{[]string{"--config", write("i.yaml", "listen: :1\n  bad indent: [\n")}, nil, []string{"line"}},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, nil, []string{"missing.yaml"}},
		{[]string{"--shutdown-timeout", "-1s"}, nil, []string{"flag --shutdown-timeout", "-1s"}},
		{nil, []string{"SILT_LOG_LEVEL=loud"}, []string{"environment SILT_LOG_LEVEL", "loud"}},
		{nil, []string{"SILT_S3_INSECURE=maybe"}, []string{"SILT_S3_INSECURE", "maybe"}},
		{[]string{"--listen", "nope"}, nil, []string{"flag --listen", "nope"}},
		{[]string{"extra"}, nil, []string{"no arguments"}},
	} {
		r := silt(t, append(append([]string{}, env...), tc.env...), "", append([]string{"serve"}, tc.args...)...)
		ok := r.code == 2 && strings.Count(strings.TrimSpace(r.stderr), "\n") == 0 && !strings.Contains(r.stderr, "panic")
		for _, w := range tc.want {
			ok = ok && strings.Contains(r.stderr, w)
		}
		if !ok {
			t.Errorf("silt serve %v %v: exit %d, stderr %q; want exit 2 and one line naming %q", tc.args, tc.env, r.code, r.stderr, tc.want)
		}
	}
}

// TestServeFlagsHaveAllForms: every flag of `silt serve` is a setting with
// a config key and an environment variable (server.Settings), and every
// setting that may be a flag is one. The global --format (query output)
// does not apply to serve: its help says so and serve rejects it, given
// before or after the command.
func TestServeFlagsHaveAllForms(t *testing.T) {
	r := silt(t, nil, "", "serve", "-h")
	if r.code != 0 {
		t.Fatalf("serve -h: exit %d: %s", r.code, r.stderr)
	}
	help := r.stderr + r.stdout
	flags := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(help, -1) {
		flags[m[1]] = true
	}
	if i := strings.Index(help, "-format"); i < 0 || !strings.Contains(help[i:], "not accepted by serve") {
		t.Errorf("serve -h must say --format is not accepted:\n%s", help)
	}
	for _, args := range [][]string{{"serve", "--format", "csv"}, {"--format", "json", "serve"}, {"serve", "--format=table"}} {
		r := silt(t, []string{"SILT_WAREHOUSE=" + t.TempDir()}, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "serve does not take --format") || !strings.Contains(r.stderr, "--log-format") {
			t.Errorf("silt %v: exit %d, stderr %q; want exit 2 naming --format and --log-format", args, r.code, r.stderr)
		}
	}
	for f := range flags {
		switch f {
		case "config": // the file itself: SILT_CONFIG
			continue
		case "format": // the global output format: rejected (above)
			continue
		}
		s, ok := server.SettingByKey(f)
		if !ok || s.EnvOnly {
			t.Errorf("flag --%s has no config key and environment form", f)
		}
	}
	for _, s := range server.Settings() {
		if !s.EnvOnly && !flags[s.Key] {
			t.Errorf("setting %s has no flag --%s", s.Key, s.Key)
		}
		if s.EnvOnly && flags[s.Key] {
			t.Errorf("S3 setting %s must not be a flag", s.Key)
		}
	}
}
