package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
)

// tinyRows is each scenario's size in tests: big enough to exercise every
// code path (commits, compaction, both tables, both distributions), small
// enough to keep the package's tests within seconds.
var tinyRows = map[string]int{
	"store":   8,
	"ingest":  2_000,
	"lookup":  2_000,
	"scan":    1_000,
	"history": 12,
	"commit":  8,
	"sink":    300,
}

// stepClock is a deterministic clock: every reading advances it by 1 ms,
// so durations are positive and rates finite without real timing.
func stepClock() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu = make(chan struct{}, 1)
	return func() time.Time {
		mu <- struct{}{}
		t = t.Add(time.Millisecond)
		now := t
		<-mu
		return now
	}
}

func tinyConfig(t *testing.T, store objstore.Store, kind string, rows int) Config {
	return Config{Store: store, StoreKind: kind, Rows: rows, TempDir: t.TempDir(), Now: stepClock(), RunID: "test"}
}

// checkJSON round-trips a result through JSON and checks the keys every
// consumer relies on.
func checkJSON(t *testing.T, res *Result, wantSystems ...string) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, buf.String())
	}
	for _, k := range []string{"scenario", "store", "rows", "seconds", "columns", "measurements", "ratios", "targets", "notes"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks key %q:\n%s", k, buf.String())
		}
	}
	cols := map[string]bool{}
	for _, c := range res.Columns {
		cols[c] = true
	}
	systems := map[string]bool{}
	for _, m := range res.Measurements {
		systems[m.System] = true
		for k, v := range m.Values {
			if !cols[k] {
				t.Errorf("%s/%s: value %q is not a column", m.System, m.Case, k)
			}
			if v < 0 {
				t.Errorf("%s/%s: %s = %v < 0", m.System, m.Case, k, v)
			}
		}
	}
	for _, s := range wantSystems {
		if !systems[s] {
			t.Errorf("no measurement of %q in %v", s, systems)
		}
	}
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "silt bench "+res.Scenario) {
		t.Errorf("text output lacks its title:\n%s", text.String())
	}
	return doc
}

func value(t *testing.T, res *Result, system, caseHas, col string) float64 {
	t.Helper()
	for _, m := range res.Measurements {
		if m.System == system && strings.Contains(m.Case, caseHas) {
			if v, ok := m.Values[col]; ok {
				return v
			}
		}
	}
	t.Fatalf("no %s of %s/%q", col, system, caseHas)
	return 0
}

func TestScenariosLocal(t *testing.T) {
	ctx := context.Background()
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			store, err := objstore.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(ctx, sc.Name, tinyConfig(t, store, "local", tinyRows[sc.Name]))
			if err != nil {
				t.Fatal(err)
			}
			switch sc.Name {
			case "store":
				checkJSON(t, res, "local dir (objstore.Local)")
				if !strings.Contains(strings.Join(res.Notes, " "), "not S3") {
					t.Errorf("a local store run must say it is not S3: %v", res.Notes)
				}
			case "ingest":
				checkJSON(t, res, "silt", "parquet-go encode", "pebble")
				if v := value(t, res, "silt", "local", "puts_per_M_rows"); v <= 0 {
					t.Errorf("puts_per_M_rows = %v", v)
				}
				if v := value(t, res, "silt", "local", "reads_per_M_rows"); v <= 0 {
					t.Errorf("reads_per_M_rows = %v", v)
				}
				if v := value(t, res, "silt", "local", "commits"); v != 20 {
					t.Errorf("commits = %v, want 20", v)
				}
			case "lookup":
				checkJSON(t, res, "silt", "pebble")
				if v := value(t, res, "silt", "uniform cold, latest", "gets_per_lookup"); v < 1 {
					t.Errorf("a cold lookup made %v GETs", v)
				}
				if v := value(t, res, "silt", "uniform hot (local index), latest, max-staleness 1s", "requests_per_lookup"); v >= 0.1 {
					t.Errorf("a hot lookup with max-staleness 1s made %v store requests", v)
				}
				if v := value(t, res, "silt", "GetMany cold + metadata cache, pinned", "gets_per_page"); v > 1 {
					t.Errorf("GetMany made %v GETs per page", v)
				}
			case "scan":
				doc := checkJSON(t, res, "silt", "duckdb")
				if !strings.Contains(string(mustJSON(t, doc["targets"])), "DuckDB peer skipped") {
					t.Errorf("without node the DuckDB target must say why: %v", doc["targets"])
				}
			case "history":
				checkJSON(t, res, "silt")
				if v := value(t, res, "silt", "12 snapshots", "snapshots"); v != 12 {
					t.Errorf("snapshots = %v", v)
				}
			case "commit":
				checkJSON(t, res, "silt")
				if v := value(t, res, "silt", "4 writer(s), compaction inline", "commits"); v != 8 {
					t.Errorf("commits = %v, want 8", v)
				}
				if v := value(t, res, "silt", "1 writer(s), compaction inline, Iceberg view", "commits"); v != 8 {
					t.Errorf("commits with the Iceberg view = %v, want 8", v)
				}
				if v := res.Ratios["commit p50 latency, with the Iceberg view / without (target <= 2)"]; v <= 0 {
					t.Errorf("no cost ratio of the Iceberg view: %v", res.Ratios)
				}
				for _, how := range []string{"writer's private index", "lookup index"} {
					if v := res.Ratios["commit p50 latency, changelog-producer = lookup ("+how+") / none"]; v <= 0 {
						t.Errorf("no cost ratio of the lookup changelog producer (%s): %v", how, res.Ratios)
					}
				}
				if v := value(t, res, "silt", "changelog-producer = lookup, local lookup index", "commits"); v != 5 {
					t.Errorf("commits with the lookup producer = %v, want 5", v)
				}
			case "sink":
				// Without an injected engine (bench may not import stream)
				// the peer is measured and silt says why it is absent;
				// cmd/silt's TestBenchSinkCLI runs the real sink.
				checkJSON(t, res, "franz-go consume", "silt sink")
				if v := value(t, res, "franz-go consume", "raw", "records_per_s"); v <= 0 {
					t.Errorf("raw consume rate %v", v)
				}
				if !strings.Contains(string(mustJSON(t, res.Measurements)), "no sink engine wired") {
					t.Errorf("without an engine the sink measurement must say why: %v", res.Measurements)
				}
			}
			// Everything the run wrote is removed.
			left, err := store.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("%d objects left behind, e.g. %s", len(left), left[0].Key)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStoreOnMinIO(t *testing.T) {
	store := s3test.NewStore(t)
	res, err := Run(context.Background(), "store", tinyConfig(t, store, "s3", tinyRows["store"]))
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, res, "minio-go (objstore.S3)")
	if v := value(t, res, "minio-go (objstore.S3)", "GET 16 MiB x8", "ops"); v != 8 {
		t.Errorf("16 MiB GETs with 8 clients: %v ops", v)
	}
	if v := value(t, res, "minio-go (objstore.S3)", "put-if-absent 1 KiB x1", "lost"); v < 1 {
		t.Errorf("the deliberate lost put-if-absent was not counted: %v", v)
	}
}

func TestUnknownScenario(t *testing.T) {
	_, err := Run(context.Background(), "nope", Config{Store: objstore.NewMem(), TempDir: t.TempDir()})
	if !errors.Is(err, ErrUnknownScenario) {
		t.Fatalf("err = %v, want ErrUnknownScenario", err)
	}
	_, err = Run(context.Background(), "ingest", Config{TempDir: t.TempDir()})
	if !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("no store: err = %v, want ErrNotAvailable", err)
	}
}

func TestQuantileAndFormat(t *testing.T) {
	l := &latencies{}
	for i := 1; i <= 100; i++ {
		l.add(time.Duration(i) * time.Millisecond)
	}
	if got := l.quantileMs(0.5); got != 50 {
		t.Errorf("p50 = %v, want 50", got)
	}
	if got := l.quantileMs(0.99); got != 99 {
		t.Errorf("p99 = %v, want 99", got)
	}
	for v, want := range map[float64]string{0: "0", 12: "12", 1234567: "1.23M", 45678.9: "45.7k", 0.01234: "0.012", 2.5: "2.50"} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestScanDuckDBPeer drives the DuckDB peer through node when both are
// installed (SILT_BENCH_DUCKDB_DIR names a directory whose node_modules
// holds @duckdb/node-api; scripts/test.sh installs it); otherwise it skips,
// or fails under CI=true.
func TestScanDuckDBPeer(t *testing.T) {
	dir := os.Getenv("SILT_BENCH_DUCKDB_DIR")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		msg := "SILT_BENCH_DUCKDB_DIR or node not available (scripts/test.sh installs DuckDB through npm): the outside-reader test cannot run"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	store, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(t, store, "local", tinyRows["scan"])
	cfg.Node, cfg.DuckDBDir = node, dir
	res, err := Run(context.Background(), "scan", cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, res, "silt", "duckdb")
	if v := value(t, res, "duckdb", "2 columns, compacted, 1 thread", "rows"); v != float64(tinyRows["scan"]) {
		t.Errorf("duckdb rows = %v", v)
	}
}
