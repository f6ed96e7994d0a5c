package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// duckdbScript runs queries over Parquet files with @duckdb/node-api and
// prints {"name": {"ms": [...], "rows": [[...]]}} as JSON. It is CommonJS
// so that NODE_PATH finds the package outside the script's directory.
const duckdbScript = `
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const spec = JSON.parse(process.argv[2]);
  const inst = await DuckDBInstance.create(':memory:', { threads: String(spec.threads) });
  const conn = await inst.connect();
  const list = spec.files.map(f => "'" + f.replace(/'/g, "''") + "'").join(', ');
  await conn.run('CREATE VIEW t AS SELECT * FROM read_parquet([' + list + '])');
  const out = {};
  for (const q of spec.queries) {
    const ms = [];
    let rows = null;
    for (let i = 0; i < spec.reps; i++) {
      const t0 = performance.now();
      const reader = await conn.runAndReadAll(q.sql);
      rows = reader.getRows();
      ms.push(performance.now() - t0);
    }
    out[q.name] = { ms, rows: rows.map(r => r.map(v => String(v))) };
  }
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
`

// duckdbQuery is one query for the DuckDB peer; the view is named t.
type duckdbQuery struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

type duckdbTiming struct {
	Ms   []float64  `json:"ms"`
	Rows [][]string `json:"rows"`
}

// duckdbAvailable says whether the DuckDB peer can run, and if not why.
func (b *runner) duckdbAvailable() (bool, string) {
	if b.cfg.Node == "" {
		return false, "node not found: DuckDB peer skipped"
	}
	if b.cfg.DuckDBDir == "" {
		return false, "no @duckdb/node-api installation: DuckDB peer skipped"
	}
	if _, err := os.Stat(filepath.Join(b.cfg.DuckDBDir, "node_modules", "@duckdb", "node-api")); err != nil {
		return false, fmt.Sprintf("@duckdb/node-api not installed in %s: DuckDB peer skipped", b.cfg.DuckDBDir)
	}
	return true, ""
}

// runDuckDB runs queries reps times each over local Parquet files.
func (b *runner) runDuckDB(ctx context.Context, files []string, queries []duckdbQuery, reps, threads int) (map[string]duckdbTiming, error) {
	dir, err := b.tempDir("duckdb-script")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "scan.cjs")
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		return nil, err
	}
	spec, err := json.Marshal(map[string]any{"files": files, "queries": queries, "reps": reps, "threads": threads})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, b.cfg.Node, script, string(spec))
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(b.cfg.DuckDBDir, "node_modules"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("duckdb via node: %w: %s", err, firstLine(stderr.String()))
	}
	var out map[string]duckdbTiming
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("duckdb via node: bad output: %w", err)
	}
	return out, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
