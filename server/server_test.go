package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/stream"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// memWarehouse is a catalog in memory with one table holding commits
// snapshots.
func memWarehouse(t *testing.T, commits int) *catalog.Catalog {
	t.Helper()
	ctx := context.Background()
	cat := catalog.New(objstore.NewMem(), "", table.Env{})
	if err := cat.CreateDatabase(ctx, "shop", false); err != nil {
		t.Fatal(err)
	}
	tb, err := cat.CreateTable(ctx, "shop", "orders", &types.Schema{
		Fields:      []types.Field{{Name: "id", Type: types.TBigInt}, {Name: "v", Type: types.TString}},
		PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "2", "write-only": "true"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < commits; i++ {
		w := tb.NewWriter("test")
		for k := 0; k < 10; k++ {
			if err := w.Write(ctx, types.Insert, types.Row{int64(i*10 + k), "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, "c"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
		w.Close(ctx)
	}
	return cat
}

// stuckSink never finishes a commit on Drain: it stops only when its
// context ends (a commit blocked on a stalled store).
type stuckSink struct {
	m       *stream.Metrics
	drained chan struct{}
	once    sync.Once
}

func (s *stuckSink) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
func (s *stuckSink) Drain()                   { s.once.Do(func() { close(s.drained) }) }
func (s *stuckSink) Metrics() *stream.Metrics { return s.m }

type testServer struct {
	srv  *Server
	base string
	logs *lockedBuffer
	stop context.CancelFunc
	done chan error
}

func startServer(t *testing.T, cfg *Config, cat *catalog.Catalog, sinks ...Sink) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	srv, err := New(Options{Config: cfg, Catalog: cat, Sinks: sinks, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Listener: ln, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{srv: srv, base: "http://" + ln.Addr().String(), logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ts.done })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := get(ts.base + PathReady); code == 200 {
			return ts
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func testConfig(t *testing.T, extra map[string]string) *Config {
	t.Helper()
	flags := map[string]string{"refresh-interval": "50ms", "compact-interval": "50ms", "compact-tables": "*", "shutdown-timeout": "500ms"}
	for k, v := range extra {
		flags[k] = v
	}
	cfg, err := Load(Sources{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The exported metrics follow Prometheus conventions (promlint: units in
// names, counters end in _total, help on every metric), and the ones
// about the table, its buckets and this process's compactions move.
func TestMetricsLintAndMove(t *testing.T) {
	cat := memWarehouse(t, 6) // write-only: 6 runs per bucket, trigger 5
	ts := startServer(t, testConfig(t, nil), cat)
	var text string
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(text, `silt_compaction_buckets_total{status="committed",table="shop.orders"}`) ||
		!strings.Contains(text, `silt_table_commits_total{kind="COMPACT",table="shop.orders"}`) {
		if time.Now().After(deadline) {
			t.Fatalf("no committed compaction in the metrics:\n%s\nlogs:\n%s", text, ts.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
		_, text = get(ts.base + PathMetrics)
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "silt_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	for _, want := range []string{
		`silt_table_snapshots{table="shop.orders"}`, `silt_bucket_sorted_runs{bucket="0",partition="",table="shop.orders"}`,
		`silt_compaction_written_bytes_total{table="shop.orders"}`, `silt_table_commits_total{kind="COMPACT",table="shop.orders"}`,
		`silt_table_files{table="shop.orders",tier="hot"}`, `silt_ready 1`, `silt_build_info{version="test"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, body := get(ts.base + PathTable + "?name=shop.orders"); code != 200 || !strings.Contains(body, `"kind": "COMPACT"`) {
		t.Errorf("%s: %d %s", PathTable, code, body)
	}
	if code, _ := get(ts.base + PathTable + "?name=shop.nope"); code != 404 {
		t.Errorf("unknown table: %d", code)
	}
	if code, body := get(ts.base + "/"); code != 200 || !strings.Contains(body, "console.js") {
		t.Errorf("console: %d", code)
	}
	if resp, err := http.Post(ts.base+PathMetrics, "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST must be refused (read-only): %v %v", resp, err)
	}
}

// Every metric definition: counters end in _total, gauges do not, and
// every name is unique.
func TestMetricDefs(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range metricDefs() {
		if seen[d.Name] {
			t.Errorf("duplicate %s", d.Name)
		}
		seen[d.Name] = true
		if (d.Type == prometheus.CounterValue) != strings.HasSuffix(d.Name, "_total") {
			t.Errorf("%s: counters and only counters end in _total", d.Name)
		}
		if !strings.HasPrefix(d.Name, "silt_") || d.Help == "" {
			t.Errorf("%s: want a silt_ name and help", d.Name)
		}
	}
}

// A sink that cannot finish its commit does not hold the process past the
// shutdown timeout: readiness turns off at once, Drain is called, and the
// stuck work is aborted at the deadline.
func TestShutdownBound(t *testing.T) {
	cat := memWarehouse(t, 1)
	sk := &stuckSink{m: stream.NewMetrics(), drained: make(chan struct{})}
	ts := startServer(t, testConfig(t, map[string]string{"shutdown-timeout": "300ms"}), cat,
		Sink{Name: "stuck", Table: "shop.orders", Topics: []string{"t"}, Runner: sk})
	start := time.Now()
	ts.stop()
	select {
	case <-sk.drained:
	case <-time.After(2 * time.Second):
		t.Fatal("Drain was not called")
	}
	select {
	case err := <-ts.done:
		ts.done <- err // for the cleanup
		if took := time.Since(start); took < 300*time.Millisecond || took > 2*time.Second {
			t.Errorf("Run returned after %s; want just after the 300ms timeout", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of the signal")
	}
	if !strings.Contains(ts.logs.String(), "shutdown timeout: aborting in-flight work") {
		t.Errorf("no timeout log:\n%s", ts.logs.String())
	}
}

// /readyz answers 503 with a reason until the server is ready.
func TestReadyzBeforeRun(t *testing.T) {
	srv, err := New(Options{Config: testConfig(t, nil), Catalog: memWarehouse(t, 0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", PathReady, nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "starting") {
		t.Errorf("readyz before Run: %d %q", rec.Code, rec.Body.String())
	}
}

// A store that fails while the state is re-read: the last good state stays
// exported (and served to the console), the failures are counted, and the
// state recovers when the store does.
func TestRefreshFailureKeepsLastState(t *testing.T) {
	fault := objstore.NewFault(objstore.NewMem())
	ctx := context.Background()
	cat := catalog.New(fault, "", table.Env{})
	if err := cat.CreateDatabase(ctx, "shop", false); err != nil {
		t.Fatal(err)
	}
	tb, err := cat.CreateTable(ctx, "shop", "orders", &types.Schema{
		Fields: []types.Field{{Name: "id", Type: types.TBigInt}}, PrimaryKeys: []string{"id"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("test")
	if err := w.Write(ctx, types.Insert, types.Row{int64(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	w.Close(ctx)
	ts := startServer(t, testConfig(t, map[string]string{"compact-interval": "0s", "maintain-interval": "0s"}), cat)
	_, before := get(ts.base + PathMetrics)
	if !strings.Contains(before, `silt_table_latest_snapshot_id{table="shop.orders"} 1`) {
		t.Fatalf("no state before the fault:\n%s", before)
	}
	fault.Add(objstore.Rule{Op: objstore.OpList, KeyContains: "snapshot/", Err: objstore.ErrInjected})
	var text string
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(text, `silt_refresh_errors_total{table="shop.orders"} 2`) {
		if time.Now().After(deadline) {
			t.Fatalf("refresh errors not counted:\n%s", text)
		}
		time.Sleep(20 * time.Millisecond)
		_, text = get(ts.base + PathMetrics)
	}
	if !strings.Contains(text, `silt_table_latest_snapshot_id{table="shop.orders"} 1`) {
		t.Errorf("the last good state is gone during the fault:\n%s", text)
	}
	if _, body := get(ts.base + PathTable + "?name=shop.orders"); !strings.Contains(body, "injected fault") || !strings.Contains(body, `"latestSnapshot": 1`) {
		t.Errorf("the console should show the last state and the error: %s", body)
	}
	fault.Clear()
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, body := get(ts.base + PathTable + "?name=shop.orders")
		if !strings.Contains(body, "injected fault") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state never recovered: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
