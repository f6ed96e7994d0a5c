package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// gathered returns the value of the sample of name whose labels include
// every given pair (counter, gauge, or a histogram's sample count).
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// TestObserveAddedBytes: random APPEND, OVERWRITE, COMPACT (rewrites,
// level moves, tier moves) and REPLACE commits on a table whose manifests
// merge every few commits; observing the snapshots in order (with the
// parent's manifest list cached or not, as across refreshes) counts
// exactly the bytes of the files each commit wrote, by kind.
func TestObserveAddedBytes(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := context.Background()
	var ids int
	meta := manifest.Open(objstore.NewMem(), "wh/db.db/t", manifest.Options{
		MaxManifests: 2 + rng.IntN(4), NewID: func() string { ids++; return fmt.Sprintf("%08d", ids) }})

	type state map[string]manifest.DataFile
	lives := map[int64]state{0: {}}
	var wantFlushed, wantCompacted int64
	var snaps []*manifest.Snapshot
	next := 0
	newFile := func() manifest.DataFile {
		next++
		return manifest.DataFile{Path: fmt.Sprintf("data/bucket-0/f%04d.parquet", next), RowCount: 1, Size: 1 + rng.Int64N(1<<20),
			MinKey: []byte{1}, MaxKey: []byte{2}}
	}
	pick := func(live state, n int) []manifest.DataFile {
		var paths []string
		for p := range live {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		rng.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
		var out []manifest.DataFile
		for _, p := range paths[:min(n, len(paths))] {
			out = append(out, live[p])
		}
		return out
	}
	merged := 0
	for i := 0; i < 80; i++ {
		var last int64
		if len(snaps) > 0 {
			last = snaps[len(snaps)-1].ID
		}
		live := state{}
		for k, v := range lives[last] {
			live[k] = v
		}
		c := manifest.Commit{User: "u", Identifier: fmt.Sprint(i)}
		var added int64
		r := rng.IntN(20)
		switch {
		case r < 2 && len(snaps) > 1: // rollback to an earlier snapshot
			src := snaps[rng.IntN(len(snaps)-1)]
			c.Kind, c.Source = manifest.CommitReplace, src
			live = state{}
			for k, v := range lives[src.ID] {
				live[k] = v
			}
		case r < 10 && len(live) >= 2:
			c.Kind = manifest.CommitCompact
			victims := pick(live, 1+rng.IntN(len(live)-1))
			for _, f := range victims[:max(1, len(victims)/2)] {
				c.Deleted = append(c.Deleted, f)
				delete(live, f.Path)
			}
			for _, f := range victims[max(1, len(victims)/2):] {
				if rng.IntN(2) == 0 {
					c.Upgrades = append(c.Upgrades, manifest.Upgrade{Path: f.Path, FromLevel: f.Level, Level: f.Level + 1})
					f.Level++
				} else {
					to := "cold"
					if f.Tier == "cold" {
						to = ""
					}
					c.Retiers = append(c.Retiers, manifest.Retier{Path: f.Path, FromTier: f.Tier, Tier: to})
					f.Tier = to
				}
				live[f.Path] = f
			}
			for range rng.IntN(3) {
				f := newFile()
				f.Level = 1
				c.Added = append(c.Added, f)
				live[f.Path] = f
				added += f.Size
			}
			wantCompacted += added
		default:
			c.Kind = manifest.CommitAppend
			if r < 12 && len(live) > 0 {
				c.Kind = manifest.CommitOverwrite
				for _, f := range pick(live, 1+rng.IntN(len(live))) {
					c.Deleted = append(c.Deleted, f)
					delete(live, f.Path)
				}
			}
			for range 1 + rng.IntN(3) {
				f := newFile()
				c.Added = append(c.Added, f)
				live[f.Path] = f
				added += f.Size
			}
			c.SeqCount = 1
			wantFlushed += added
		}
		sn, err := meta.Commit(ctx, c)
		if err != nil {
			t.Fatalf("commit %d (%s): %v", i, c.Kind, err)
		}
		if list, err := meta.ReadManifestList(ctx, sn.ManifestList); err == nil && len(list) == 1 && len(snaps) > 0 {
			merged++
		}
		snaps = append(snaps, sn)
		lives[sn.ID] = live
	}
	if merged == 0 {
		t.Fatal("no commit merged the manifests: the test misses that path")
	}
	read := func(id int64) (*manifest.Snapshot, error) { return meta.Snapshot(ctx, id) }
	st := &tableState{CommitsBy: map[manifest.CommitKind]int64{}}
	// Observe in refreshes of random sizes, as readSnapshots does: a
	// parallel prefetch, then each snapshot in order. Sometimes the
	// parent's list is not cached (a window cut by maxObserve).
	for i := 0; i < len(snaps); {
		n := 1 + rng.IntN(8)
		window := snaps[i:min(i+n, len(snaps))]
		i += len(window)
		if rng.IntN(4) == 0 {
			st.lastList = listCache{}
		}
		pre := prefetch(ctx, meta, window, st.lastList)
		for _, sn := range window {
			if err := st.observe(ctx, pre, sn, read); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st.FlushedBytes != wantFlushed || st.CompactedBytes != wantCompacted {
		t.Fatalf("observed flushed %d, compacted %d bytes; the commits wrote %d and %d", st.FlushedBytes, st.CompactedBytes, wantFlushed, wantCompacted)
	}
	if want := float64(wantFlushed+wantCompacted) / float64(wantFlushed); math.Abs(st.writeAmplification()-want) > 1e-9 {
		t.Errorf("write amplification %v, want %v", st.writeAmplification(), want)
	}
	t.Logf("%d commits (%d with merged manifests): %d bytes flushed, %d written by compactions", len(snaps), merged, wantFlushed, wantCompacted)
}

// In the usual case (appends, no manifest merge) the parallel prefetch
// reads everything observing the snapshots needs.
func TestPrefetchCoversObserve(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewFault(objstore.NewMem())
	meta := manifest.Open(store, "wh/db.db/t", manifest.Options{})
	var snaps []*manifest.Snapshot
	var want int64
	for i := range 6 {
		f := manifest.DataFile{Path: fmt.Sprintf("data/bucket-0/f%d.parquet", i), RowCount: 1, Size: int64(100 + i), MinKey: []byte{1}, MaxKey: []byte{2}}
		sn, err := meta.Commit(ctx, manifest.Commit{User: "u", Identifier: fmt.Sprint(i), Kind: manifest.CommitAppend, Added: []manifest.DataFile{f}, SeqCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, sn)
		if i >= 1 {
			want += f.Size
		}
	}
	st := &tableState{CommitsBy: map[manifest.CommitKind]int64{}}
	if err := st.observe(ctx, meta, snaps[0], nil); err != nil { // the previous refresh
		t.Fatal(err)
	}
	st.FlushedBytes = 0
	pre := prefetch(ctx, meta, snaps[1:], st.lastList)
	before := store.Calls(objstore.OpGet)
	for _, sn := range snaps[1:] {
		if err := st.observe(ctx, pre, sn, func(int64) (*manifest.Snapshot, error) {
			t.Fatal("a parent snapshot was read")
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.Calls(objstore.OpGet) - before; n != 0 {
		t.Errorf("observing after the prefetch made %d reads, want 0", n)
	}
	if st.FlushedBytes != want {
		t.Errorf("flushed %d bytes, want %d", st.FlushedBytes, want)
	}
}

// TestWriteAmplificationBytesExported: silt serve's byte counters and ratio
// match the sizes of the files the table's APPEND snapshots and its
// compaction added, read independently from the snapshots' live files.
func TestWriteAmplificationBytesExported(t *testing.T) {
	cat := memWarehouse(t, 6) // write-only: 6 runs per bucket, trigger 5
	ts := startServer(t, testConfig(t, nil), cat)
	ctx := context.Background()
	tb, err := cat.LoadTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	meta := tb.Meta()
	var flushed, compacted int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		snaps, err := meta.Snapshots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		flushed, compacted = 0, 0
		var prev []manifest.DataFile
		hasCompact := false
		for _, sn := range snaps {
			files, err := meta.Files(ctx, sn)
			if err != nil {
				t.Fatal(err)
			}
			was := map[string]bool{}
			for _, f := range prev {
				was[f.Path] = true
			}
			var added int64
			for _, f := range files {
				if !was[f.Path] {
					added += f.Size
				}
			}
			switch sn.CommitKind {
			case manifest.CommitAppend:
				flushed += added
			case manifest.CommitCompact:
				compacted += added
				hasCompact = true
			}
			prev = files
		}
		gotF, _ := gathered(t, ts.srv.Registry(), "silt_table_flushed_bytes_total", "table", "shop.orders")
		gotC, _ := gathered(t, ts.srv.Registry(), "silt_table_compaction_output_bytes_total", "table", "shop.orders")
		if hasCompact && compacted > 0 && gotF == float64(flushed) && gotC == float64(compacted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exported flushed %v, compaction output %v bytes; the snapshots added %d and %d (compacted: %v)", gotF, gotC, flushed, compacted, hasCompact)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ratio, ok := gathered(t, ts.srv.Registry(), "silt_table_write_amplification_ratio", "table", "shop.orders")
	if want := float64(flushed+compacted) / float64(flushed); !ok || math.Abs(ratio-want) > 1e-9 {
		t.Errorf("silt_table_write_amplification_ratio = %v, want %v bytes written per byte flushed", ratio, want)
	}
	t.Logf("flushed %d bytes, compaction output %d bytes, write amplification %.3f", flushed, compacted, ratio)
}

// The sinks' commit latency and freshness are Prometheus histograms with
// their buckets; freshness counts each record its weight.
func TestSinkHistograms(t *testing.T) {
	h := newSinkHistograms()
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.commit, h.freshness)
	o := h.observer("events", "shop.orders")
	o.ObserveCommit(30 * time.Millisecond)
	o.ObserveCommit(2 * time.Second)
	o.ObserveFreshness(700*time.Millisecond, 5)
	o.ObserveFreshness(20*time.Second, 3)
	o.ObserveFreshness(time.Second, 0)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.Histogram{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s is a %s, want a histogram", mf.GetName(), mf.GetType())
			continue
		}
		byName[mf.GetName()] = mf.GetMetric()[0].GetHistogram()
	}
	cumulative := func(h *dto.Histogram, le float64) uint64 {
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == le {
				return b.GetCumulativeCount()
			}
		}
		t.Fatalf("no bucket le=%v", le)
		return 0
	}
	c := byName["silt_sink_commit_duration_seconds"]
	if c == nil || c.GetSampleCount() != 2 || math.Abs(c.GetSampleSum()-2.03) > 1e-9 || cumulative(c, 0.05) != 1 || cumulative(c, 2.5) != 2 {
		t.Errorf("commit latency histogram: %v", c)
	}
	f := byName["silt_sink_freshness_seconds"]
	if f == nil || f.GetSampleCount() != 8 || math.Abs(f.GetSampleSum()-(5*0.7+3*20)) > 1e-9 || cumulative(f, 1) != 5 || cumulative(f, 10) != 5 || cumulative(f, 30) != 8 {
		t.Errorf("freshness histogram: %v", f)
	}
}

// The lookup indexes' counters are exported as silt_lookup_index_*_total
// and follow what the indexes did: a rebuild, index lookups, a catch-up.
func TestLookupIndexCounters(t *testing.T) {
	ctx := context.Background()
	idx := table.NewLookupIndexes()
	defer idx.Close()
	env := table.Env{LocalDir: filepath.Join(t.TempDir(), "lookup"), Indexes: idx, StoreID: "test"}
	cat := catalog.New(objstore.NewMem(), "", env)
	if err := cat.CreateDatabase(ctx, "shop", false); err != nil {
		t.Fatal(err)
	}
	tb, err := cat.CreateTable(ctx, "shop", "orders", &types.Schema{
		Fields:      []types.Field{{Name: "id", Type: types.TBigInt}, {Name: "v", Type: types.TString}},
		PrimaryKeys: []string{"id"}, Options: map[string]string{"bucket": "2"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	write := func(ident string, ids ...int64) {
		w := tb.NewWriter("test")
		defer w.Close(ctx)
		for _, id := range ids {
			if err := w.Write(ctx, types.Insert, types.Row{id, ident}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, ident); err != nil {
			t.Fatal(err)
		}
	}
	write("a", 1, 2, 3, 4)
	for _, id := range []int64{1, 2, 3} {
		if _, ok, err := tb.Get(ctx, 0, id); err != nil || !ok {
			t.Fatalf("get %d: %v %v", id, ok, err)
		}
	}
	for _, id := range []int64{5, 6, 7} { // three catch-ups
		write(fmt.Sprint(id), id)
		if _, ok, err := tb.Get(ctx, 0, id); err != nil || !ok {
			t.Fatalf("get %d: %v %v", id, ok, err)
		}
	}
	write("8", 8)
	write("9", 9)
	if _, ok, err := tb.Get(ctx, 0, int64(9)); err != nil || !ok { // one catch-up over two snapshots
		t.Fatalf("get 9: %v %v", ok, err)
	}
	want := idx.Stats()
	// Distinct non-zero values, so that a counter exported from the wrong
	// field shows.
	seen := map[int64]bool{}
	for _, v := range []int64{want.IndexLookups, want.CatchUps, want.SnapshotsApplied, want.Rebuilds, want.RecordsApplied, want.FilesRead} {
		if v == 0 || seen[v] {
			t.Fatalf("the index did not do what the test needs (distinct non-zero counts): %+v", want)
		}
		seen[v] = true
	}
	srv, err := New(Options{Config: testConfig(t, nil), Catalog: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LookupIndexStats: func() (table.LookupIndexStats, bool) { return idx.Stats(), true }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   int64
	}{
		{"silt_lookup_index_lookups_total", []string{"answered_by", "index"}, want.IndexLookups},
		{"silt_lookup_index_lookups_total", []string{"answered_by", "files"}, want.FileLookups},
		{"silt_lookup_index_catch_ups_total", nil, want.CatchUps},
		{"silt_lookup_index_snapshots_applied_total", nil, want.SnapshotsApplied},
		{"silt_lookup_index_rebuilds_total", nil, want.Rebuilds},
		{"silt_lookup_index_records_applied_total", nil, want.RecordsApplied},
		{"silt_lookup_index_files_read_total", nil, want.FilesRead},
		{"silt_lookup_index_failures_total", nil, want.Failures},
	} {
		got, ok := gathered(t, srv.Registry(), c.name, c.labels...)
		if !ok || got != float64(c.want) {
			t.Errorf("%s%v = %v (present %v), want %d", c.name, c.labels, got, ok, c.want)
		}
	}
	// Without a lookup index nothing is exported.
	srv, err = New(Options{Config: testConfig(t, nil), Catalog: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LookupIndexStats: func() (table.LookupIndexStats, bool) { return table.LookupIndexStats{}, false }})
	if err != nil {
		t.Fatal(err)
	}
	mfs, _ := srv.Registry().Gather()
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "silt_lookup_index_") {
			t.Errorf("%s exported without a lookup index", mf.GetName())
		}
	}
}

// The bounded-staleness counters of the lookup indexes (lookup.max-staleness)
// are exported from the right fields.
func TestLookupBoundedMetrics(t *testing.T) {
	st := table.LookupIndexStats{BoundedLookups: 11, BoundedFallbacks: 3, BoundedAge: 1500 * time.Millisecond, Refreshes: 9, RefreshFailures: 2}
	cat := catalog.New(objstore.NewMem(), "", table.Env{})
	srv, err := New(Options{Config: testConfig(t, nil), Catalog: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LookupIndexStats: func() (table.LookupIndexStats, bool) { return st, true }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"silt_lookup_index_bounded_lookups_total", []string{"answered_by", "index"}, 11},
		{"silt_lookup_index_bounded_lookups_total", []string{"answered_by", "strict"}, 3},
		{"silt_lookup_index_bounded_staleness_seconds", nil, 1.5},
		{"silt_lookup_index_refreshes_total", []string{"result", "ok"}, 7},
		{"silt_lookup_index_refreshes_total", []string{"result", "failed"}, 2},
	} {
		got, ok := gathered(t, srv.Registry(), c.name, c.labels...)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
}
