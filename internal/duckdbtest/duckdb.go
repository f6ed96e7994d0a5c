// Package duckdbtest runs SQL on DuckDB, through Node.js and the npm
// package @duckdb/node-api, for tests that compare silt with DuckDB on the
// same data. scripts/test.sh installs the package and exports
// SILT_BENCH_DUCKDB_DIR (a directory whose node_modules holds it). Without
// it the tests skip, or fail under CI=true, where DuckDB must be present.
//
// It imports the standard library only, so any package's tests may use it.
//
//	db := duckdbtest.Open(t)
//	res := db.Run(t, []string{"CREATE TABLE t AS SELECT * FROM read_csv('x.csv')"},
//		[]string{"SELECT count(*) FROM t"})
//	// res[0].Rows == [][]*string{{ptr("3")}}, res[0].Err == ""
package duckdbtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DirEnv names the environment variable holding the DuckDB install.
const DirEnv = "SILT_BENCH_DUCKDB_DIR"

// script runs the setup statements, then each query, and prints a JSON
// array with one {"columns", "rows", "err"} per query. Values are printed
// with String(v); NULL is null. It is CommonJS so that NODE_PATH finds
// the package outside the script's directory.
const script = `
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const spec = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
  const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await inst.connect();
  for (const s of spec.setup) await conn.run(s);
  const out = [];
  for (const q of spec.queries) {
    try {
      const reader = await conn.runAndReadAll(q);
      const rows = reader.getRows().map(r => r.map(v => v === null ? null : String(v)));
      out.push({ columns: reader.columnNames(), rows, err: '' });
    } catch (e) {
      out.push({ columns: [], rows: [], err: String(e && e.message || e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
`

// DB is a way to run DuckDB; each Run starts a fresh in-memory database.
type DB struct {
	node, dir string
}

// Result is one query's answer: column names, rows with every value as
// DuckDB's String() of it (nil for NULL), or the error DuckDB raised.
type Result struct {
	Columns []string    `json:"columns"`
	Rows    [][]*string `json:"rows"`
	Err     string      `json:"err"`
}

// Open finds node and the DuckDB install, skipping the test when either
// is missing (failing it under CI=true).
func Open(t testing.TB) *DB {
	t.Helper()
	dir := os.Getenv(DirEnv)
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		msg := DirEnv + " or node not available (scripts/test.sh installs DuckDB through npm): the DuckDB comparison cannot run"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Fatalf("%s=%s has no node_modules/@duckdb/node-api: run scripts/test.sh to install it", DirEnv, dir)
	}
	return &DB{node: node, dir: dir}
}

// Run executes setup (each must succeed), then queries, in one fresh
// in-memory DuckDB, and returns one Result per query. A query's own error
// is in its Result; anything else fails the test.
func (d *DB) Run(t testing.TB, setup, queries []string) []Result {
	t.Helper()
	res, err := d.run(setup, queries)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (d *DB) run(setup, queries []string) ([]Result, error) {
	dir, err := os.MkdirTemp("", "silt-duckdb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	js := filepath.Join(dir, "run.cjs")
	if err := os.WriteFile(js, []byte(script), 0o644); err != nil {
		return nil, err
	}
	if setup == nil {
		setup = []string{}
	}
	spec, err := json.Marshal(map[string]any{"setup": setup, "queries": queries})
	if err != nil {
		return nil, err
	}
	specPath := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specPath, spec, 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.node, js, specPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(d.dir, "node_modules"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("duckdb via node: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out []Result
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("duckdb via node: bad output: %w", err)
	}
	if len(out) != len(queries) {
		return nil, fmt.Errorf("duckdb via node: %d results for %d queries", len(out), len(queries))
	}
	return out, nil
}
