// Package bench is silt's whole-system benchmark harness (`silt bench`).
// Every scenario measures silt and, in the same run, the physical limit
// (the object store itself, parquet-go encoding without storage) and the
// peer a user would pick instead (Pebble on local disk, DuckDB reading the
// same Parquet files), so that each figure is read as a ratio that holds on
// a noisy shared machine.
//
// Files:
//
//	bench.go    Config, Result, scenario registry, text and JSON output
//	stats.go    latency samples, percentiles, the counting object store
//	data.go     the benchmark schema, row generator and table helpers
//	peers.go    Pebble and parquet-go helpers for the baselines
//	store.go    scenario "store": raw PUT/GET and conditional-put ceiling
//	ingest.go   scenario "ingest": upserts vs parquet-go encode and Pebble
//	lookup.go   scenario "lookup": point lookups vs Pebble Get
//	scan.go     scenario "scan": aggregates vs DuckDB (duckdb.go drives node)
//	history.go  scenario "history": planning with short and long histories
//	commit.go   scenario "commit": concurrent committers
//	sink.go     scenario "sink": Kafka sink catch-up vs raw consume and decode-only
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/siltdb/silt/objstore"
)

// ErrUnknownScenario is returned for a scenario name Run does not know.
var ErrUnknownScenario = errors.New("unknown benchmark scenario")

// ErrNotAvailable marks a scenario that cannot run in this configuration.
var ErrNotAvailable = errors.New("benchmark not available")

// Config is one benchmark run's wiring. Zero fields get the defaults named
// in their comments.
type Config struct {
	// Store holds the benchmark tables (under Root). Required.
	Store objstore.Store
	// StoreKind labels Store in the output: "s3" or "local". The store
	// scenario runs raw object operations and says when they are not S3.
	StoreKind string
	// Root is the key prefix of everything the run writes (a unique
	// directory per run); it is deleted at the end unless Keep is set.
	// Default "silt-bench/<run id>/".
	Root string
	// Keep leaves the benchmark's objects in the store.
	Keep bool
	// Rows is the scenario's size (its meaning is in the scenario's help);
	// 0 selects the scenario's default.
	Rows int
	// CommitEvery is the ingest scenario's commit interval in rows; 0
	// selects Rows/20.
	CommitEvery int
	// TempDir holds local peers' data (Pebble, the Parquet files DuckDB
	// reads). Required.
	TempDir string
	// Node is the node binary that drives DuckDB; "" skips the DuckDB
	// peer (reported as absent). DuckDBDir is a directory whose
	// node_modules holds @duckdb/node-api; "" skips it too.
	Node, DuckDBDir string
	// Progress receives progress lines (stderr). Default: discarded.
	Progress io.Writer
	// Now is the clock used for every measurement. Default time.Now.
	Now func() time.Time
	// Seed seeds every random choice (keys, values, zipf). Default 1.
	Seed uint64
	// RunID names the run's objects. Default: derived from Now.
	RunID string
	// Sink is the Kafka sink the sink scenario measures (cmd/silt wires
	// the stream package's); nil: that scenario measures its peer only.
	Sink SinkEngine
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.StoreKind == "" {
		c.StoreKind = "local"
	}
	if c.RunID == "" {
		c.RunID = fmt.Sprintf("run%d", c.Now().UnixNano())
	}
	if c.Root == "" {
		c.Root = "silt-bench/" + c.RunID + "/"
	}
	if !strings.HasSuffix(c.Root, "/") {
		c.Root += "/"
	}
	return c
}

// Measurement is one row of a result: one system in one case.
type Measurement struct {
	// System is what was measured: "silt", "pebble", "parquet-go encode",
	// "minio-go", "duckdb", ….
	System string `json:"system"`
	// Case distinguishes measurements of one system ("uniform cold",
	// "2 columns, compacted", "PUT 1 MiB x8").
	Case string `json:"case"`
	// Values by metric name (see Result.Columns for units).
	Values map[string]float64 `json:"values"`
	// Note explains a measurement that is missing or qualified.
	Note string `json:"note,omitempty"`
}

// Target is one of silt's performance goals (listed in
// docs/benchmarks.md), evaluated on this run.
type Target struct {
	Name  string  `json:"name"`
	Goal  string  `json:"goal"`
	Value float64 `json:"value"`
	// Met is nil when the figure could not be measured (see Note).
	Met  *bool  `json:"met"`
	Note string `json:"note,omitempty"`
}

// Result is what one scenario measured.
type Result struct {
	Scenario string `json:"scenario"`
	Store    string `json:"store"`
	Rows     int    `json:"rows"`
	// Seconds is the scenario's wall time.
	Seconds float64 `json:"seconds"`
	// Columns are the metric names of Measurements, in display order,
	// each with its unit in the name (rows_per_s, p99_ms, …).
	Columns      []string      `json:"columns"`
	Measurements []Measurement `json:"measurements"`
	// Ratios are silt's figures relative to the limit or peer.
	Ratios  map[string]float64 `json:"ratios"`
	Targets []Target           `json:"targets"`
	Notes   []string           `json:"notes"`
}

func (r *Result) add(m Measurement) { r.Measurements = append(r.Measurements, m) }

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Result) ratio(name string, num, den float64) float64 {
	if r.Ratios == nil {
		r.Ratios = map[string]float64{}
	}
	v := 0.0
	if den > 0 && !math.IsNaN(num) {
		v = num / den
	}
	r.Ratios[name] = round3(v)
	return v
}

// target records a goal; atMost says whether lower is better.
func (r *Result) target(name, goal string, value, bound float64, atMost bool) {
	met := value >= bound
	if atMost {
		met = value <= bound
	}
	r.Targets = append(r.Targets, Target{Name: name, Goal: goal, Value: round3(value), Met: &met})
}

func (r *Result) targetUnmeasured(name, goal, why string) {
	r.Targets = append(r.Targets, Target{Name: name, Goal: goal, Note: why})
}

// Scenario describes one benchmark.
type Scenario struct {
	Name string
	// Help says what it measures and what --rows means.
	Help string
	// DefaultRows is its size when Config.Rows is 0.
	DefaultRows int
	run         func(ctx context.Context, b *runner, r *Result) error
}

// Scenarios lists the scenarios in the order the CLI shows them.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "store", DefaultRows: 400, run: runStore,
			Help: "raw object store: PUT/GET of 4 KiB, 1 MiB, 16 MiB with 1 and 8 clients, conditional-put commits/s (--rows: 4 KiB operations; larger sizes scale down)"},
		{Name: "ingest", DefaultRows: 500_000, run: runIngest,
			Help: "primary-key upserts with inline compaction vs parquet-go encode-only and Pebble with a synced WAL (--rows: rows upserted; --commit-every: rows per commit, default rows/20)"},
		{Name: "lookup", DefaultRows: 100_000, run: runLookup,
			Help: "point lookups, uniform and zipfian, from the object store vs Pebble Get (--rows: table rows; lookups scale with it)"},
		{Name: "scan", DefaultRows: 200_000, run: runScan,
			Help: "full-table aggregates over 2 and all columns, compacted vs 5 sorted runs per bucket, vs DuckDB on the same files (--rows: table rows)"},
		{Name: "history", DefaultRows: 2_000, run: runHistory,
			Help: "plan and run a query at the latest snapshot with 10 vs N snapshots of history (--rows: N, the long history)"},
		{Name: "commit", DefaultRows: 200, run: runCommit,
			Help: "1 and 4 concurrent writers committing small batches: commits/s, latency, retries (--rows: commits per configuration)"},
		{Name: "sink", DefaultRows: 100_000, run: runSink,
			Help: "Kafka sink catching up on Debezium JSON events (in-process Kafka) vs raw franz-go consume and decode-only (--rows: records)"},
	}
}

// Lookup returns the named scenario.
func Lookup(name string) (Scenario, error) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("%w %q", ErrUnknownScenario, name)
}

// Run runs one scenario.
func Run(ctx context.Context, name string, cfg Config) (*Result, error) {
	sc, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: bench %s: no store", ErrNotAvailable, name)
	}
	if cfg.TempDir == "" {
		return nil, fmt.Errorf("%w: bench %s: no temp dir", ErrNotAvailable, name)
	}
	cfg = cfg.withDefaults()
	rows := cfg.Rows
	if rows <= 0 {
		rows = sc.DefaultRows
	}
	b := &runner{cfg: cfg, rows: rows}
	res := &Result{Scenario: name, Store: cfg.StoreKind, Rows: rows, Ratios: map[string]float64{}}
	start := cfg.Now()
	err = sc.run(ctx, b, res)
	res.Seconds = round3(cfg.Now().Sub(start).Seconds())
	if !cfg.Keep {
		b.cleanup(context.WithoutCancel(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("bench %s: %w", name, err)
	}
	return res, nil
}

// runner is the state one scenario run shares with its helpers.
type runner struct {
	cfg  Config
	rows int
}

func (b *runner) progress(format string, args ...any) {
	fmt.Fprintf(b.cfg.Progress, "bench: "+format+"\n", args...)
}

// since returns the seconds elapsed since t on the injected clock.
func (b *runner) since(t time.Time) float64 { return b.cfg.Now().Sub(t).Seconds() }

// cleanup deletes everything the run wrote under Root (best effort).
func (b *runner) cleanup(ctx context.Context) {
	objs, err := b.cfg.Store.List(ctx, b.cfg.Root)
	if err != nil {
		return
	}
	for _, o := range objs {
		_ = b.cfg.Store.Delete(ctx, o.Key)
	}
}

// WriteJSON writes r as one JSON document.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as aligned tables for people.
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "silt bench %s — store %s, size %d, %.1f s\n\n", r.Scenario, r.Store, r.Rows, r.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "system\tcase\t")
	for _, c := range r.Columns {
		fmt.Fprintf(tw, "%s\t", c)
	}
	fmt.Fprintln(tw)
	for _, m := range r.Measurements {
		fmt.Fprintf(tw, "%s\t%s\t", m.System, m.Case)
		for _, c := range r.Columns {
			if v, ok := m.Values[c]; ok {
				fmt.Fprintf(tw, "%s\t", formatValue(v))
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		if m.Note != "" {
			fmt.Fprintf(tw, " %s", m.Note)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\nratios:")
		names := make([]string, 0, len(r.Ratios))
		for k := range r.Ratios {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "  %-48s %s\n", k, formatValue(r.Ratios[k]))
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets:")
		for _, t := range r.Targets {
			status := "n/a"
			if t.Met != nil {
				status = "MET"
				if !*t.Met {
					status = "not met"
				}
			}
			fmt.Fprintf(w, "  %-8s %-44s %-14s", status, t.Name, t.Goal)
			if t.Met != nil {
				fmt.Fprintf(w, " measured %s", formatValue(t.Value))
			}
			if t.Note != "" {
				fmt.Fprintf(w, " (%s)", t.Note)
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	return nil
}

// formatValue prints a figure with about three significant digits.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case v == math.Trunc(v) && a < 1e5:
		return fmt.Sprintf("%d", int64(v))
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func round3(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	// three significant digits, at least three decimals
	d := math.Pow(10, math.Max(3, 2-math.Floor(math.Log10(math.Abs(v)))))
	return math.Round(v*d) / d
}
