package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/siltdb/silt/bench"
	"github.com/siltdb/silt/stream"
)

const benchHelp = `SCENARIO|all [--rows N] [--json] [--keep] [--seed S] [--commit-every N] [--duckdb-dir DIR] [--cpuprofile FILE]

Scenarios:
`

// cmdBench runs whole-system benchmarks (bench) against the
// warehouse's store: a local directory (a temporary one when no warehouse
// is given) or s3://bucket/prefix.
func (a *app) cmdBench(ctx context.Context, args []string) error {
	var (
		rows      int
		asJSON    bool
		keep      bool
		seed      uint64
		duckdbDir string
		cpuprof   string
		every     int
	)
	help := benchHelp
	for _, s := range bench.Scenarios() {
		help += fmt.Sprintf("  %-8s %s (default %d)\n", s.Name, s.Help, s.DefaultRows)
	}
	pos, err := a.parseFlags("bench", args, func(fs *flag.FlagSet) {
		fs.IntVar(&rows, "rows", 0, "scenario size (see the scenario list; 0: its default)")
		fs.BoolVar(&asJSON, "json", false, "print the result as JSON (also --format json)")
		fs.BoolVar(&keep, "keep", false, "keep the benchmark's tables in the warehouse")
		fs.Uint64Var(&seed, "seed", 1, "seed of every random choice")
		fs.StringVar(&duckdbDir, "duckdb-dir", filepath.Join(os.TempDir(), "silt-bench-duckdb"),
			"directory holding (or receiving, via npm) node_modules/@duckdb/node-api for the scan scenario's DuckDB peer")
		fs.IntVar(&every, "commit-every", 0, "ingest: rows per commit (0: rows/20)")
		fs.StringVar(&cpuprof, "cpuprofile", "", "write a CPU profile of the run (go tool pprof) to FILE")
	}, help)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(a.stderr, "Usage: silt bench %s", help)
		return fmt.Errorf("%w: bench takes one scenario", errUsage)
	}
	asJSON = asJSON || a.g.format == "json"
	names := []string{pos[0]}
	if pos[0] == "all" {
		names = nil
		for _, s := range bench.Scenarios() {
			names = append(names, s.Name)
		}
	} else if _, err := bench.Lookup(pos[0]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if rows < 0 || every < 0 {
		return fmt.Errorf("%w: --rows and --commit-every must be positive", errUsage)
	}

	tmp, err := os.MkdirTemp("", "silt-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	uri, kind := a.g.warehouse, "local"
	if uri == "" {
		uri = filepath.Join(tmp, "warehouse")
		fmt.Fprintf(a.stderr, "bench: no --warehouse: using a temporary local directory\n")
	}
	if strings.HasPrefix(uri, "s3://") {
		kind = "s3"
	}
	store, _, err := a.openStore(ctx, "warehouse", uri)
	if err != nil {
		return err
	}
	cfg := bench.Config{Store: store, StoreKind: kind, Keep: keep, Rows: rows, CommitEvery: every, TempDir: tmp, Progress: a.stderr,
		Now: time.Now, Seed: seed, Sink: stream.BenchSink{}}
	if node, err := exec.LookPath("node"); err == nil {
		cfg.Node = node
		for _, n := range names {
			if n == "scan" {
				cfg.DuckDBDir = a.ensureDuckDB(ctx, duckdbDir)
			}
		}
	}
	if cpuprof != "" {
		f, err := os.Create(cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, n := range names {
		res, err := bench.Run(ctx, n, cfg)
		if err != nil {
			return err
		}
		if asJSON {
			err = res.WriteJSON(a.stdout)
		} else {
			err = res.WriteText(a.stdout)
			fmt.Fprintln(a.stdout)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ensureDuckDB returns dir if it holds @duckdb/node-api, installing it with
// npm when npm is present; "" when the peer is unavailable (the scenario
// then says so).
func (a *app) ensureDuckDB(ctx context.Context, dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err == nil {
		return dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		fmt.Fprintln(a.stderr, "bench: npm not found: the DuckDB peer is skipped")
		return ""
	}
	fmt.Fprintf(a.stderr, "bench: installing @duckdb/node-api into %s (npm)\n", dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(a.stderr, "bench: %v: the DuckDB peer is skipped\n", err)
		return ""
	}
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--silent", "@duckdb/node-api")
	cmd.Stdout, cmd.Stderr = a.stderr, a.stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(a.stderr, "bench: npm install @duckdb/node-api failed (%v): the DuckDB peer is skipped\n", err)
		return ""
	}
	return dir
}
