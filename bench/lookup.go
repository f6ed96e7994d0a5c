package bench

import (
	"context"
	"fmt"
	mrand "math/rand"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/siltdb/silt/cache"
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// runLookup measures point lookups (table.Get) of one fully compacted
// table in three configurations, each at the latest snapshot (Get(0): the
// snapshot is resolved in the store every time) and pinned to a snapshot
// id:
//
//	cold  object store only: manifests and the data file are read per lookup;
//	cold + metadata cache
//	      the same with the in-memory cache of decoded immutable metadata
//	      (table.Env.Meta, on by default in cmd/silt): a freshness check
//	      and the row group per lookup once the first lookups filled it;
//	warm  the same through the disk cache (cache), warmed by one
//	      untimed pass over the keys: only the mutable snapshot pointers
//	      reach the store;
//	hot   the local lookup index (table.Env.LocalDir): one Pebble read per
//	      lookup once the index is current.
//
// Pebble's Get on the same keys is the baseline: with default options, and
// with the lookup index's options (the fair baseline of hot).
func runLookup(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"lookups", "lookups_per_s", "p50_ms", "p99_ms", "gets_per_lookup", "stats_per_lookup", "requests_per_lookup", "KB_read_per_lookup", "row_groups", "gets_per_row_group", "pages", "gets_per_page"}
	n := b.rows
	lookups := max(n/200, 20)
	cs := newCountingStore(b.cfg.Store)
	cat, err := b.openCatalog(ctx, cs)
	if err != nil {
		return err
	}
	// The table is configured for reads by key, as a user would configure
	// a lookup table: small pages and row groups, so that a cold lookup
	// reads tens of kilobytes in one ranged GET (lookupTableOptions).
	t, err := cat.CreateTable(ctx, benchDB, "lookup", benchSchema(ingestBuckets, lookupTableOptions), false)
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
	// cold: the same table without the metadata cache a catalog has by
	// default, as are warm and hot below, so that each case measures only
	// its own layer.
	coldCat := catalog.New(objstore.NewRetry(cs, objstore.RetryOptions{}), b.cfg.Root, table.Env{Now: b.cfg.Now, Meta: table.NewMetaCache(0)})
	if t, err = coldCat.LoadTable(ctx, benchDB, "lookup"); err != nil {
		return err
	}
	var bytes int64
	for _, f := range files {
		bytes += f.Size
	}
	r.note("%d rows (keys 0..%d) loaded in 5 commits and fully compacted, table options parquet.page-size=16kb and parquet.row-group-rows=1024 (configured for reads by key: row groups of about 40 KB, each read by one GET): %d data files, %.1f MB; %d lookups per distribution and case (hot pinned and hot max-staleness: the sequence repeated %d times); zipfian s=1.1 over a fixed random permutation of the keys",
		n, n-1, len(files), float64(bytes)/1e6, lookups, pebbleLookupReps)

	dists := map[string][]int64{"uniform": make([]int64, lookups), "zipfian": make([]int64, lookups)}
	zipf := mrand.NewZipf(mrand.New(mrand.NewSource(int64(b.cfg.Seed))), 1.1, 1, uint64(n-1))
	perm := g.permutation(n)
	for i := 0; i < lookups; i++ {
		dists["uniform"][i] = g.randomKey()
		dists["zipfian"][i] = perm[zipf.Uint64()]
	}

	// warm: the same warehouse through a disk cache, index disabled.
	cacheDir, err := b.tempDir("lookup-cache")
	if err != nil {
		return err
	}
	dc, err := cache.Open(ctx, cacheDir, 1<<30, cache.Options{Now: b.cfg.Now})
	if err != nil {
		return err
	}
	defer dc.Close()
	warmCat := catalog.New(objstore.NewRetry(dc.Wrap(cs, "hot"), objstore.RetryOptions{}), b.cfg.Root, table.Env{Now: b.cfg.Now, Meta: table.NewMetaCache(0)})
	warm, err := warmCat.LoadTable(ctx, benchDB, "lookup")
	if err != nil {
		return err
	}

	// cold + metadata cache: the object store only, with table.MetaCache.
	metaCache := table.NewMetaCache(64 << 20)
	metaCat := catalog.New(objstore.NewRetry(cs, objstore.RetryOptions{}), b.cfg.Root,
		table.Env{Now: b.cfg.Now, Meta: metaCache, StoreID: "bench-meta:" + b.cfg.Root})
	metaT, err := metaCat.LoadTable(ctx, benchDB, "lookup")
	if err != nil {
		return err
	}

	// hot: the local lookup index, built by the first lookup.
	indexDir, err := b.tempDir("lookup-index")
	if err != nil {
		return err
	}
	indexes := table.NewLookupIndexes()
	defer indexes.Close()
	hotCat := catalog.New(objstore.NewRetry(cs, objstore.RetryOptions{}), b.cfg.Root,
		table.Env{Now: b.cfg.Now, LocalDir: indexDir, Indexes: indexes, StoreID: "bench:" + b.cfg.Root, Meta: table.NewMetaCache(0)})
	hot, err := hotCat.LoadTable(ctx, benchDB, "lookup")
	if err != nil {
		return err
	}
	b.progress("lookup: building the lookup index")
	before := cs.counts()
	start := b.cfg.Now()
	if _, _, err := hot.Get(ctx, 0, keys[0]); err != nil {
		return err
	}
	buildSecs := b.since(start)
	build := cs.counts().sub(before)
	st := hot.LookupIndexStats()
	r.note("hot: the first lookup built the index in %.2f s (%d records from %d files, %d requests, %.1f MB read)",
		buildSecs, st.RecordsApplied, st.FilesRead, build.requests(), float64(build.BytesGot)/1e6)

	b.progress("lookup: loading the Pebble baselines")
	pebDef, err := b.loadPebble(g, keys, "pebble-lookup", &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer pebDef.Close()
	// The index's own Pebble configuration: the fair baseline of hot,
	// timed in passes alternating with hot pinned so both see the same
	// machine noise.
	idxOpts := &pebble.Options{Logger: quietLogger{}, CacheSize: 64 << 20}
	for i := range idxOpts.Levels {
		idxOpts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	pebIdx, err := b.loadPebble(g, keys, "pebble-lookup-idx", idxOpts)
	if err != nil {
		return err
	}
	defer pebIdx.Close()

	type mode struct {
		name  string
		t     *table.Table
		snap  int64
		reps  int
		warm  bool // one untimed pass first
		index bool
		// alternate: time a Pebble pass after each repetition (the fair
		// baseline of hot pinned).
		alternate bool
	}
	modes := []mode{
		{"cold, latest snapshot", t, 0, 1, false, false, false},
		{"cold, pinned snapshot", t, snap.ID, 1, false, false, false},
		{"cold + metadata cache, latest snapshot", metaT, 0, 1, false, false, false},
		{"cold + metadata cache, pinned snapshot", metaT, snap.ID, 1, false, false, false},
		{"warm (disk cache), latest snapshot", warm, 0, 1, true, false, false},
		{"warm (disk cache), pinned snapshot", warm, snap.ID, 1, true, false, false},
		{"hot (local index), latest snapshot", hot, 0, 1, false, true, false},
		{"hot (local index), pinned snapshot", hot, snap.ID, pebbleLookupReps, false, true, true},
		{"hot (local index), latest, max-staleness 1s", hot.WithMaxStaleness(time.Second), 0, pebbleLookupReps, false, true, false},
	}
	got := map[string]Measurement{}
	for _, dist := range []string{"uniform", "zipfian"} {
		for _, md := range modes {
			if md.warm {
				for _, k := range dists[dist] {
					if _, _, err := md.t.Get(ctx, md.snap, k); err != nil {
						return err
					}
				}
			}
			b.progress("lookup: %d %s lookups, %s", lookups*md.reps, dist, md.name)
			st := md.t.LookupIndexStats()
			lat, pebLat := &latencies{}, &latencies{}
			before := cs.counts()
			var secs, pebSecs float64
			for range md.reps {
				start := b.cfg.Now()
				for _, k := range dists[dist] {
					t0 := b.cfg.Now()
					row, ok, err := md.t.Get(ctx, md.snap, k)
					if err != nil {
						return err
					}
					if !ok || row[0].(int64) != k {
						return fmt.Errorf("lookup of key %d (%s): found=%v row=%v", k, md.name, ok, row)
					}
					lat.add(b.cfg.Now().Sub(t0))
				}
				secs += b.since(start)
				if md.alternate {
					d, err := b.timePebble(pebIdx, dists[dist], pebLat)
					if err != nil {
						return err
					}
					pebSecs += d
				}
			}
			c := cs.counts().sub(before)
			cnt := float64(lookups * md.reps)
			m := Measurement{System: "silt", Case: dist + " " + md.name, Values: map[string]float64{
				"lookups": cnt, "lookups_per_s": round3(cnt / secs),
				"p50_ms": round3(lat.quantileMs(0.5)), "p99_ms": round3(lat.quantileMs(0.99)),
				"gets_per_lookup":     round3(float64(c.Gets) / cnt),
				"stats_per_lookup":    round3(float64(c.Stats) / cnt),
				"requests_per_lookup": round3(float64(c.requests()) / cnt),
				"KB_read_per_lookup":  round3(float64(c.BytesGot) / 1e3 / cnt),
			}}
			if md.index {
				d := md.t.LookupIndexStats()
				if served := d.IndexLookups - st.IndexLookups; served != int64(cnt) {
					m.Note = fmt.Sprintf("only %d of %.0f lookups served by the index", served, cnt)
				}
			}
			r.add(m)
			got[dist+" "+md.name] = m
			if md.alternate {
				pm := Measurement{System: "pebble", Case: dist + ", lookup index options (64 MiB block cache, bloom filters), passes alternating with hot pinned", Values: map[string]float64{
					"lookups": cnt, "lookups_per_s": round3(cnt / pebSecs),
					"p50_ms": round3(pebLat.quantileMs(0.5)), "p99_ms": round3(pebLat.quantileMs(0.99)),
				}}
				r.add(pm)
				got[dist+" pebble index options"] = pm
			}
		}
	}
	ms := metaCache.Stats()
	r.note("cold + metadata cache: not warmed beforehand (the first uniform lookups fill it, the zipfian ones find it full); hits %d, misses %d, %d entries, %.1f MB at the end", ms.Hits, ms.Misses, ms.Entries, float64(ms.Bytes)/1e6)
	ws := dc.Stats().Tiers["hot"]
	r.note("warm: disk cache hits %d, misses %d over the run (warm-up passes included)", ws.Hits, ws.Misses)

	many := []manyCase{
		{"cold, pinned snapshot", t, snap.ID, false},
		{"cold + metadata cache, latest snapshot", metaT, 0, false},
		{"cold + metadata cache, pinned snapshot", metaT, snap.ID, false},
		{"hot (local index), pinned snapshot", hot, snap.ID, true},
	}
	for _, mc := range many {
		if err := b.lookupMany(ctx, r, cs, g, mc, got); err != nil {
			return err
		}
	}
	mv := func(c, k string) float64 { return got["GetMany "+c].Values[k] }
	r.ratio("silt_getmany_cold_meta_pinned / single_gets lookups_per_s", mv("cold + metadata cache, pinned snapshot", "lookups_per_s"), got["single Gets "+"cold + metadata cache, pinned snapshot"].Values["lookups_per_s"])
	r.ratio("silt_getmany_hot_pinned / single_gets lookups_per_s", mv("hot (local index), pinned snapshot", "lookups_per_s"), got["single Gets "+"hot (local index), pinned snapshot"].Values["lookups_per_s"])
	r.target("GetMany of 1000 keys: GETs per distinct page touched (pinned snapshot, metadata cache)", "≤ 1", mv("cold + metadata cache, pinned snapshot", "gets_per_page"), 1, true)
	r.note("GetMany: one table.GetMany of %d uniform random keys (repeats allowed) against the same %d keys as single Gets, right after (hot: after an untimed pass each, alternating, %d times); row_groups = row groups GetMany searched, pages = distinct pages it read from them (data and dictionary pages; table.GetManyStats), gets_per_row_group and gets_per_page = all its GETs ÷ row_groups or pages (a file up to 8 MiB is one whole GET when its footer is not cached)", getManyKeys, getManyKeys, pebbleLookupReps)

	b.progress("lookup: Pebble with default options")
	var peb []Measurement
	for _, dist := range []string{"uniform", "zipfian"} {
		lat := &latencies{}
		var secs float64
		for range pebbleLookupReps {
			d, err := b.timePebble(pebDef, dists[dist], lat)
			if err != nil {
				return err
			}
			secs += d
		}
		cnt := float64(len(dists[dist]) * pebbleLookupReps)
		peb = append(peb, Measurement{System: "pebble", Case: dist + ", default options", Values: map[string]float64{
			"lookups": cnt, "lookups_per_s": round3(cnt / secs),
			"p50_ms": round3(lat.quantileMs(0.5)), "p99_ms": round3(lat.quantileMs(0.99)),
		}})
		r.add(peb[len(peb)-1])
	}
	pebU := peb[0].Values["lookups_per_s"]
	pebIdxU := got["uniform pebble index options"].Values["lookups_per_s"]
	v := func(c, k string) float64 { return got[c].Values[k] }
	r.ratio("silt_cold_uniform / pebble_uniform lookups_per_s", v("uniform cold, latest snapshot", "lookups_per_s"), pebU)
	r.ratio("silt_warm_uniform_pinned / pebble_uniform lookups_per_s", v("uniform warm (disk cache), pinned snapshot", "lookups_per_s"), pebU)
	r.ratio("silt_hot_uniform_latest / pebble_index_options_uniform lookups_per_s", v("uniform hot (local index), latest snapshot", "lookups_per_s"), pebIdxU)
	r.ratio("silt_hot_uniform_latest_max_staleness_1s / pebble_index_options_uniform lookups_per_s", v("uniform hot (local index), latest, max-staleness 1s", "lookups_per_s"), pebIdxU)
	hotRatio := r.ratio("silt_hot_uniform_pinned / pebble_index_options_uniform lookups_per_s", v("uniform hot (local index), pinned snapshot", "lookups_per_s"), pebIdxU)
	r.target("cold lookups: S3 GETs per lookup (latest snapshot, metadata cache)", "≤ 2", v("uniform cold + metadata cache, latest snapshot", "gets_per_lookup"), 2, true)
	r.target("cold lookups: S3 GETs per lookup (pinned snapshot, metadata cache)", "≤ 2", v("uniform cold + metadata cache, pinned snapshot", "gets_per_lookup"), 2, true)
	r.target("cold lookups: S3 GETs per lookup (latest snapshot, no metadata cache)", "≤ 2", v("uniform cold, latest snapshot", "gets_per_lookup"), 2, true)
	r.target("cold lookups: S3 GETs per lookup (pinned snapshot, no metadata cache)", "≤ 2", v("uniform cold, pinned snapshot", "gets_per_lookup"), 2, true)
	r.target("cold lookups: KB read per lookup (pinned snapshot, metadata cache)", "≤ 64", v("uniform cold + metadata cache, pinned snapshot", "KB_read_per_lookup"), 64, true)
	r.target("cold lookups: KB read per lookup (latest snapshot, metadata cache)", "≤ 64", v("uniform cold + metadata cache, latest snapshot", "KB_read_per_lookup"), 64, true)
	r.target("hot lookups p99 (pinned snapshot)", "≤ 3 ms", v("uniform hot (local index), pinned snapshot", "p99_ms"), 3, true)
	r.target("hot lookups p99 (latest snapshot)", "≤ 3 ms", v("uniform hot (local index), latest snapshot", "p99_ms"), 3, true)
	r.target("hot lookups/s ÷ Pebble (pinned snapshot)", "≥ 0.50", hotRatio, 0.5, false)
	r.note("gets = GET and ranged GET requests, stats = HEAD requests, requests = all (a pinned read of an older snapshot also PUTs and DELETEs a lease); a file up to 8 MiB is fetched whole by one GET (table.smallFileLimit); cold: nothing is cached between lookups; cold + metadata cache: snapshots (re-checked with a HEAD), manifests and data-file footers with bloom filters stay in memory, and a file whose footer is cached is read by ranged GETs of the pages the key needs: the _key pages whose column-index bounds admit it, then the pages of the other columns holding its rows, ranges less than 16 KiB apart merged and fetched concurrently, or, for a row group of at most 64 KB, the row group by one GET, its checksum verified, and only the pages the key needs decoded (lsm.FileReader.LookupKeys)")
	r.note("hot, latest, max-staleness 1s: Get answers from the index while its snapshot was confirmed as the latest within 1s (table.Table.WithMaxStaleness, table option lookup.max-staleness); a background refresher confirms it every 1/3 s (two HEADs), so requests_per_lookup counts only those")
	r.note("hot, latest: each Get first asks the store whether a newer snapshot exists (HEAD of the next snapshot id and of the indexed one, manifest.Table.LatestFrom), then reads the index; hot, pinned: the index is current at that snapshot and answers without any request")
	return nil
}

// getManyKeys is the key count of the GetMany cases.
const getManyKeys = 1000

// manyCase is a GetMany case of the lookup benchmark.
type manyCase struct {
	name string
	t    *table.Table
	snap int64
	// hot: the lookup index answers. Its reads take microseconds and
	// depend on Pebble's block cache, so both sides are timed on a warm
	// cache (after an untimed pass), in pebbleLookupReps alternating
	// passes; the first passes over fresh keys are reported in a note.
	hot bool
}

// lookupMany times a GetMany of getManyKeys random keys and the same keys
// as single Gets, and records both (as "GetMany <case>" and "single Gets
// <case>" in got).
func (b *runner) lookupMany(ctx context.Context, r *Result, cs *countingStore, g *rowGen, mc manyCase, got map[string]Measurement) error {
	b.progress("lookup: GetMany of %d keys, %s", getManyKeys, mc.name)
	randomKeys := func() ([]int64, [][]types.Value) {
		want := make([]int64, getManyKeys)
		keys := make([][]types.Value, getManyKeys)
		for i := range want {
			want[i] = g.randomKey()
			keys[i] = []types.Value{want[i]}
		}
		return want, keys
	}
	want, keys := randomKeys()
	check := func(want []int64, i int, row types.Row, ok bool) error {
		if !ok || row[0].(int64) != want[i] {
			return fmt.Errorf("lookup of key %d (%s): found=%v row=%v", want[i], mc.name, ok, row)
		}
		return nil
	}
	var st table.GetManyStats
	many := func(want []int64, keys [][]types.Value) (float64, error) {
		start := b.cfg.Now()
		rows, found, s, err := mc.t.GetManyStats(ctx, mc.snap, keys)
		if err != nil {
			return 0, err
		}
		secs := b.since(start)
		for i := range rows {
			if err := check(want, i, rows[i], found[i]); err != nil {
				return 0, err
			}
		}
		st = s
		return secs, nil
	}
	lat := &latencies{}
	single := func(want []int64, keys [][]types.Value) (float64, error) {
		start := b.cfg.Now()
		for i, k := range keys {
			t0 := b.cfg.Now()
			row, ok, err := mc.t.Get(ctx, mc.snap, k...)
			if err != nil {
				return 0, err
			}
			if err := check(want, i, row, ok); err != nil {
				return 0, err
			}
			lat.add(b.cfg.Now().Sub(t0))
		}
		return b.since(start), nil
	}
	reps := 1
	if mc.hot {
		reps = pebbleLookupReps
		// First passes over fresh keys: each pays Pebble block-cache
		// misses for the index blocks it is the first to read.
		coldMany, err := many(want, keys)
		if err != nil {
			return err
		}
		w2, k2 := randomKeys()
		coldSingle, err := single(w2, k2)
		if err != nil {
			return err
		}
		lat = &latencies{}
		r.note("GetMany %s: first passes over keys no lookup had read yet (index blocks not in Pebble's block cache): GetMany %.0f keys/s, single Gets %.0f keys/s; the rows below are timed after them, on a warm cache, in %d alternating passes each", mc.name, getManyKeys/coldMany, getManyKeys/coldSingle, reps)
	}
	var manySecs, singleSecs float64
	var manyCounts, singleCounts opCounts
	for range reps {
		before := cs.counts()
		secs, err := many(want, keys)
		if err != nil {
			return err
		}
		manySecs += secs
		manyCounts = sumCounts(manyCounts, cs.counts().sub(before))
		before = cs.counts()
		if secs, err = single(want, keys); err != nil {
			return err
		}
		singleSecs += secs
		singleCounts = sumCounts(singleCounts, cs.counts().sub(before))
	}
	cnt := float64(getManyKeys * reps)
	vals := func(secs float64, c opCounts) map[string]float64 {
		return map[string]float64{
			"lookups": cnt, "lookups_per_s": round3(cnt / secs),
			"gets_per_lookup":     round3(float64(c.Gets) / cnt),
			"stats_per_lookup":    round3(float64(c.Stats) / cnt),
			"requests_per_lookup": round3(float64(c.requests()) / cnt),
			"KB_read_per_lookup":  round3(float64(c.BytesGot) / 1e3 / cnt),
		}
	}
	m := Measurement{System: "silt", Case: "GetMany " + mc.name, Values: vals(manySecs, manyCounts)}
	m.Values["row_groups"] = float64(st.RowGroups)
	if st.RowGroups > 0 {
		m.Values["gets_per_row_group"] = round3(float64(manyCounts.Gets) / float64(st.RowGroups))
	}
	m.Values["pages"] = float64(st.Pages)
	if st.Pages > 0 {
		m.Values["gets_per_page"] = round3(float64(manyCounts.Gets) / float64(st.Pages))
	}
	m.Note = fmt.Sprintf("%d distinct keys, %d answered by the lookup index, %d files opened", st.Distinct, st.FromIndex, st.FilesOpened)
	r.add(m)
	got[m.Case] = m

	s := Measurement{System: "silt", Case: "single Gets " + mc.name, Values: vals(singleSecs, singleCounts)}
	s.Values["p50_ms"], s.Values["p99_ms"] = round3(lat.quantileMs(0.5)), round3(lat.quantileMs(0.99))
	r.add(s)
	got[s.Case] = s
	return nil
}

// sumCounts adds two counter snapshots.
func sumCounts(a, b opCounts) opCounts { return a.sub(opCounts{}.sub(b)) }

// pebbleLookupReps repeats Pebble's (and the hot pinned case's) key
// sequence: their lookups take microseconds, so one pass is too short to
// time.
const pebbleLookupReps = 20

// loadPebble loads the same rows into a local Pebble (flushed to disk).
// lookupTableOptions are the lookup scenario's table options: 16 KiB data
// pages and 1,024-row row groups (the defaults, 256 KiB and 65,536, favour
// scans). Its rows are about 38 bytes compressed, so a row group is about
// 40 KB, within the 64 KB a lookup reads in one GET; 2,048-row groups
// (78 KB) took one GET for the _key page and about 1.7 for the others.
var lookupTableOptions = map[string]string{table.OptPageSize: "16kb", table.OptRowGroupRows: "1024"}

func (b *runner) loadPebble(g *rowGen, keys []int64, dirName string, opts *pebble.Options) (*pebble.DB, error) {
	dir, err := b.tempDir(dirName)
	if err != nil {
		return nil, err
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}
	wb := db.NewBatch()
	for i, k := range keys {
		row, _ := g.row(k)
		if err := wb.Set(pebbleKey(k), pebbleValue(row), nil); err != nil {
			db.Close()
			return nil, fmt.Errorf("pebble: %w", err)
		}
		if (i+1)%10_000 == 0 || i == len(keys)-1 {
			if err := wb.Commit(pebble.NoSync); err != nil {
				db.Close()
				return nil, fmt.Errorf("pebble: %w", err)
			}
			wb.Close()
			wb = db.NewBatch()
		}
	}
	wb.Close()
	if err := db.Flush(); err != nil {
		db.Close()
		return nil, fmt.Errorf("pebble: %w", err)
	}
	return db, nil
}

// timePebble times one pass of Get over keys and returns its seconds.
func (b *runner) timePebble(db *pebble.DB, keys []int64, lat *latencies) (float64, error) {
	start := b.cfg.Now()
	for _, k := range keys {
		t0 := b.cfg.Now()
		v, closer, err := db.Get(pebbleKey(k))
		if err != nil {
			return 0, fmt.Errorf("pebble get %d: %w", k, err)
		}
		_ = v
		closer.Close()
		lat.add(b.cfg.Now().Sub(t0))
	}
	return b.since(start), nil
}
