package bench

import (
	"context"
	"fmt"
	mrand "math/rand"

	"github.com/cockroachdb/pebble/v2"
	"github.com/siltdb/silt/table"
)

// runLookup measures point lookups: what the codebase supports today is
// "cold" (every lookup reads metadata and the data file from the store);
// hot (local index) and warm (disk cache) come with issue 6.
func runLookup(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"lookups", "lookups_per_s", "p50_ms", "p99_ms", "gets_per_lookup", "stats_per_lookup", "requests_per_lookup", "KB_read_per_lookup"}
	n := b.rows
	lookups := max(n/200, 20)
	cs := newCountingStore(b.cfg.Store)
	cat, err := b.openCatalog(ctx, cs)
	if err != nil {
		return err
	}
	t, err := cat.CreateTable(ctx, benchDB, "lookup", benchSchema(ingestBuckets, nil), false)
	if err != nil {
		return err
	}
	g := newRowGen(b.cfg.Seed, n)
	keys := g.permutation(n)
	b.progress("lookup: loading %d rows", n)
	if err := b.loadKeys(ctx, t, g, keys, max(n/5, 1), "bench-lookup"); err != nil {
		return err
	}
	b.progress("lookup: full compaction")
	if _, err := t.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		return err
	}
	snap, err := t.Latest(ctx)
	if err != nil {
		return err
	}
	_, files, err := t.DataFiles(ctx, snap.ID, 0)
	if err != nil {
		return err
	}
	var bytes int64
	for _, f := range files {
		bytes += f.Size
	}
	r.note("%d rows (keys 0..%d) loaded in 5 commits and fully compacted: %d data files, %.1f MB; %d lookups per distribution; zipfian s=1.1 over a fixed random permutation of the keys",
		n, n-1, len(files), float64(bytes)/1e6, lookups)

	dists := map[string][]int64{"uniform": make([]int64, lookups), "zipfian": make([]int64, lookups)}
	zipf := mrand.NewZipf(mrand.New(mrand.NewSource(int64(b.cfg.Seed))), 1.1, 1, uint64(n-1))
	perm := g.permutation(n)
	for i := 0; i < lookups; i++ {
		dists["uniform"][i] = g.randomKey()
		dists["zipfian"][i] = perm[zipf.Uint64()]
	}
	var coldGets float64
	for _, dist := range []string{"uniform", "zipfian"} {
		for _, mode := range []struct {
			name string
			snap int64
		}{{"cold, latest snapshot", 0}, {"cold, pinned snapshot", snap.ID}} {
			b.progress("lookup: %d %s lookups, %s", lookups, dist, mode.name)
			lat := &latencies{}
			before := cs.counts()
			start := b.cfg.Now()
			for _, k := range dists[dist] {
				t0 := b.cfg.Now()
				row, ok, err := t.Get(ctx, mode.snap, k)
				if err != nil {
					return err
				}
				if !ok || row[0].(int64) != k {
					return fmt.Errorf("lookup of key %d: found=%v row=%v", k, ok, row)
				}
				lat.add(b.cfg.Now().Sub(t0))
			}
			secs := b.since(start)
			c := cs.counts().sub(before)
			m := Measurement{System: "silt", Case: dist + " " + mode.name, Values: map[string]float64{
				"lookups": float64(lookups), "lookups_per_s": round3(float64(lookups) / secs),
				"p50_ms": round3(lat.quantileMs(0.5)), "p99_ms": round3(lat.quantileMs(0.99)),
				"gets_per_lookup":     round3(float64(c.Gets) / float64(lookups)),
				"stats_per_lookup":    round3(float64(c.Stats) / float64(lookups)),
				"requests_per_lookup": round3(float64(c.requests()) / float64(lookups)),
				"KB_read_per_lookup":  round3(float64(c.BytesGot) / 1e3 / float64(lookups)),
			}}
			r.add(m)
			if dist == "uniform" && mode.snap == 0 {
				coldGets = m.Values["gets_per_lookup"]
				r.Ratios["silt_cold_uniform_lookups_per_s"] = m.Values["lookups_per_s"]
			}
		}
		for _, tier := range []string{"hot (local index)", "warm (disk cache)"} {
			r.add(Measurement{System: "silt", Case: dist + " " + tier, Values: map[string]float64{},
				Note: "not available yet: no local lookup index or disk cache (issue 6)"})
		}
	}

	b.progress("lookup: Pebble baseline")
	peb, err := b.lookupPebble(g, keys, dists)
	if err != nil {
		return err
	}
	for _, m := range peb {
		r.add(m)
	}
	r.ratio("silt_cold_uniform / pebble_uniform lookups_per_s", r.Ratios["silt_cold_uniform_lookups_per_s"], peb[0].Values["lookups_per_s"])
	delete(r.Ratios, "silt_cold_uniform_lookups_per_s")
	r.target("cold lookups: S3 GETs per lookup", "≤ 2", coldGets, 2, true)
	r.targetUnmeasured("hot lookups p99", "≤ 3 ms", "no local lookup index yet (issue 6)")
	r.targetUnmeasured("hot lookups/s vs Pebble", "≥ 0.50", "no local lookup index yet (issue 6)")
	r.note("gets = GET and ranged GET requests, stats = HEAD requests; a file up to 8 MiB is fetched whole by one GET (table.smallFileLimit); nothing is cached between lookups")
	return nil
}

// pebbleLookupReps repeats Pebble's key sequence: its lookups take
// microseconds, so one pass is too short to time.
const pebbleLookupReps = 20

// lookupPebble loads the same rows into a local Pebble and times Get on the
// same key sequences.
func (b *runner) lookupPebble(g *rowGen, keys []int64, dists map[string][]int64) ([]Measurement, error) {
	dir, err := b.tempDir("pebble-lookup")
	if err != nil {
		return nil, err
	}
	db, err := openPebble(dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	wb := db.NewBatch()
	for i, k := range keys {
		row, _ := g.row(k)
		if err := wb.Set(pebbleKey(k), pebbleValue(row), nil); err != nil {
			return nil, fmt.Errorf("pebble: %w", err)
		}
		if (i+1)%10_000 == 0 || i == len(keys)-1 {
			if err := wb.Commit(pebble.NoSync); err != nil {
				return nil, fmt.Errorf("pebble: %w", err)
			}
			wb.Close()
			wb = db.NewBatch()
		}
	}
	wb.Close()
	if err := db.Flush(); err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}
	var out []Measurement
	for _, dist := range []string{"uniform", "zipfian"} {
		lat := &latencies{}
		start := b.cfg.Now()
		for range pebbleLookupReps {
			for _, k := range dists[dist] {
				t0 := b.cfg.Now()
				v, closer, err := db.Get(pebbleKey(k))
				if err != nil {
					return nil, fmt.Errorf("pebble get %d: %w", k, err)
				}
				_ = v
				closer.Close()
				lat.add(b.cfg.Now().Sub(t0))
			}
		}
		secs := b.since(start)
		n := len(dists[dist]) * pebbleLookupReps
		out = append(out, Measurement{System: "pebble", Case: dist + ", local disk (page cache warm)", Values: map[string]float64{
			"lookups": float64(n), "lookups_per_s": round3(float64(n) / secs),
			"p50_ms": round3(lat.quantileMs(0.5)), "p99_ms": round3(lat.quantileMs(0.99)),
		}})
	}
	return out, nil
}
