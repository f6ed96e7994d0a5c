package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/uuid"
	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// scanReps is how often each query runs; the median is reported. A
// query takes tens of milliseconds, so on a shared machine a median of 3
// moved by 2x between runs of one binary; 7 costs a second more.
const scanReps = 7

// scanQueries are the aggregates; %s is the table.
var scanQueries = []struct{ name, sql string }{
	{"2 columns", "SELECT COUNT(qty), SUM(amount) FROM %s"},
	{"all columns", "SELECT COUNT(*), SUM(id), MAX(name), MAX(city), SUM(amount), SUM(qty), SUM(score), MAX(updated) FROM %s"},
}

// runScan measures full-table aggregates on a compacted table and on one
// with 5 sorted runs per bucket, against DuckDB reading the compacted
// table's Parquet files.
func runScan(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"rows", "rows_per_s", "median_ms", "files"}
	n := b.rows
	cs := newCountingStore(b.cfg.Store)
	cat, err := b.openCatalog(ctx, cs)
	if err != nil {
		return err
	}
	g := newRowGen(b.cfg.Seed, n)
	// The same input for both tables: 5 commits, each a fifth of the keys
	// (a random partition, so every run spans the key range) plus updates
	// of 5% of the keys, so runs overlap as upserts make them.
	perm := g.permutation(n)
	var commits [][]int64
	for c := 0; c < 5; c++ {
		keys := slices.Clone(perm[c*n/5 : (c+1)*n/5])
		for i := 0; i < n/20; i++ {
			keys = append(keys, g.randomKey())
		}
		commits = append(commits, keys)
	}
	tables := map[string]*table.Table{}
	for _, tc := range []struct {
		name string
		opts map[string]string
	}{{"scan_compacted", nil}, {"scan_runs", map[string]string{table.OptWriteOnly: "true"}}} {
		t, err := cat.CreateTable(ctx, benchDB, tc.name, benchSchema(ingestBuckets, tc.opts), false)
		if err != nil {
			return err
		}
		b.progress("scan: loading %s (%d rows in 5 commits)", tc.name, n)
		vg := newRowGen(b.cfg.Seed+1, n)
		w := t.NewWriter("bench-scan")
		for c, keys := range commits {
			for _, k := range keys {
				row, _ := vg.row(k)
				if err := w.Write(ctx, types.UpdateAfter, row); err != nil {
					return err
				}
			}
			if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
				return err
			}
		}
		if err := w.Close(ctx); err != nil {
			return err
		}
		if tc.opts == nil {
			b.progress("scan: full compaction of %s", tc.name)
			if _, err := t.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
				return err
			}
		}
		tables[tc.name] = t
	}
	runs, err := tables["scan_runs"].BucketStats(ctx)
	if err != nil {
		return err
	}
	maxRuns := 0
	for _, s := range runs {
		maxRuns = max(maxRuns, s.SortedRuns)
	}
	r.note("%d live rows (%d upserts in 5 commits), %d buckets; scan_runs has %d sorted runs per bucket (write-only, never compacted); each query runs %d times, the median is shown; silt runs the SQL engine (query.Engine), which evaluates on one goroutine while the scan fetches, decodes and merges in background goroutines (prefetch one row group per file, two buckets ahead)",
		n, n+5*(n/20), ingestBuckets, maxRuns, scanReps)

	eng := query.NewEngine(query.NewSiltCatalog(cat, "bench-scan-"+uuid.NewString()), query.EngineOptions{CurrentDB: benchDB, Now: b.cfg.Now})
	siltMs := map[string]float64{}
	var count string
	for _, tn := range []string{"scan_compacted", "scan_runs"} {
		_, files, err := tables[tn].DataFiles(ctx, 0, 0)
		if err != nil {
			return err
		}
		for _, q := range scanQueries {
			b.progress("scan: silt %s, %s", tn, q.name)
			var ms []float64
			for i := 0; i < scanReps; i++ {
				start := b.cfg.Now()
				res, err := eng.ExecStatement(ctx, fmt.Sprintf(q.sql, tn))
				if err != nil {
					return err
				}
				ms = append(ms, b.since(start)*1e3)
				if q.name == "2 columns" {
					got := fmt.Sprint(res.Rows[0][0])
					if got != fmt.Sprint(n) {
						return fmt.Errorf("scan %s: COUNT = %s, want %d", tn, got, n)
					}
					count = got
				}
			}
			med := median(ms)
			siltMs[tn+"/"+q.name] = med
			r.add(Measurement{System: "silt", Case: q.name + ", " + caseName(tn), Values: map[string]float64{
				"rows": float64(n), "rows_per_s": round3(float64(n) / med * 1e3), "median_ms": round3(med), "files": float64(len(files)),
			}})
		}
	}
	for _, q := range scanQueries {
		r.ratio("5 runs / compacted scan time, "+q.name, siltMs["scan_runs/"+q.name], siltMs["scan_compacted/"+q.name])
	}
	mor := siltMs["scan_runs/2 columns"] / max(siltMs["scan_compacted/2 columns"], 1e-9)
	r.target("merge-on-read 5 runs vs compacted (2 columns)", "≤ 2.5×", mor, 2.5, true)
	r.ratio("2 columns / all columns scan time, compacted", siltMs["scan_compacted/2 columns"], siltMs["scan_compacted/all columns"])

	ok, why := b.duckdbAvailable()
	if !ok {
		r.add(Measurement{System: "duckdb", Case: "compacted", Values: map[string]float64{}, Note: why})
		r.targetUnmeasured("2-column scan, compacted, vs DuckDB", "≥ 0.25", why)
		r.note("%s", why)
		return nil
	}
	paths, err := b.localFiles(ctx, tables["scan_compacted"])
	if err != nil {
		return err
	}
	var dq []duckdbQuery
	for _, q := range scanQueries {
		dq = append(dq, duckdbQuery{Name: q.name, SQL: fmt.Sprintf(q.sql, "t")})
	}
	var share float64
	for _, threads := range []int{1, 2} {
		b.progress("scan: DuckDB on the compacted table's %d files, %d thread(s)", len(paths), threads)
		out, err := b.runDuckDB(ctx, paths, dq, scanReps, threads)
		if err != nil {
			r.add(Measurement{System: "duckdb", Case: "compacted", Values: map[string]float64{}, Note: err.Error()})
			r.targetUnmeasured("2-column scan, compacted, vs DuckDB", "≥ 0.25", err.Error())
			return nil
		}
		for _, q := range scanQueries {
			tm := out[q.name]
			med := median(tm.Ms)
			if q.name == "2 columns" && (len(tm.Rows) != 1 || tm.Rows[0][0] != count) {
				return fmt.Errorf("duckdb %s: rows %v, want COUNT %s", q.name, tm.Rows, count)
			}
			r.add(Measurement{System: "duckdb", Case: fmt.Sprintf("%s, compacted, %d thread(s)", q.name, threads), Values: map[string]float64{
				"rows": float64(n), "rows_per_s": round3(float64(n) / med * 1e3), "median_ms": round3(med), "files": float64(len(paths)),
			}})
			v := r.ratio(fmt.Sprintf("silt / duckdb(%d thread) rows/s, %s, compacted", threads, q.name), 1/siltMs["scan_compacted/"+q.name], 1/med)
			if q.name == "2 columns" && threads == 2 {
				share = v
			}
		}
	}
	r.target("2-column scan, compacted, vs DuckDB (default threads)", "≥ 0.25", share, 0.25, false)
	r.note("DuckDB (@duckdb/node-api via %s) reads the compacted table's Parquet files copied to local disk; silt reads them from the %s store. DuckDB is not run on scan_runs: without silt's merge it would count duplicate keys", b.cfg.Node, b.cfg.StoreKind)
	return nil
}

func caseName(tn string) string {
	if tn == "scan_runs" {
		return "5 runs/bucket"
	}
	return "compacted"
}

// localFiles copies a table's live data files to local disk for peers.
func (b *runner) localFiles(ctx context.Context, t *table.Table) ([]string, error) {
	_, files, err := t.DataFiles(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	dir, err := b.tempDir("parquet")
	if err != nil {
		return nil, err
	}
	var paths []string
	for i, f := range files {
		data, _, err := t.Store().Get(ctx, t.Root()+f.Path)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprintf("part-%03d.parquet", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
