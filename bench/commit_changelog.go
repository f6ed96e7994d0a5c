package bench

import (
	"context"
	"fmt"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// changelogCommitRows is the size of one commit of the changelog case.
const changelogCommitRows = 200

// changelogTableRows is how many keys the changelog case's tables hold
// before its commits (at the default --rows), which upsert existing keys
// (each a -U/+U pair).
const changelogTableRows = 50_000

// commitChangelog measures the lookup changelog producer: the same
// 200-row upsert commits into three copies of one loaded table, without a
// producer, with changelog-producer = lookup in a process without a
// lookup index (the writer reads the first commit's before-images from the
// data files, then builds and uses a private index), and with it and the
// process's lookup index (a process with a cache directory). The commits of the three alternate, so all see the same
// machine noise.
func (b *runner) commitChangelog(ctx context.Context, r *Result, cs *countingStore, cat *catalog.Catalog) error {
	commits := max(b.rows/4, 5)
	rows := min(changelogTableRows, b.rows*250)
	indexDir, err := b.tempDir("commit-changelog-index")
	if err != nil {
		return err
	}
	indexes := table.NewLookupIndexes()
	defer indexes.Close()
	hotCat := catalog.New(objstore.NewRetry(cs, objstore.RetryOptions{}), b.cfg.Root,
		table.Env{Now: b.cfg.Now, LocalDir: indexDir, Indexes: indexes, StoreID: "bench:" + b.cfg.Root})
	type variant struct {
		name     string
		producer string
		cat      *catalog.Catalog
		t        *table.Table
		w        *table.Writer
		g        *rowGen
		lat      latencies
		secs     float64
	}
	vs := []*variant{
		{name: "no changelog producer", producer: table.ProducerNone, cat: cat},
		{name: "changelog-producer = lookup, no lookup index in the process (the writer's private index)", producer: table.ProducerLookup, cat: cat},
		{name: "changelog-producer = lookup, local lookup index", producer: table.ProducerLookup, cat: hotCat},
	}
	// A failed commit returns early: its writers are closed all the same
	// (the private index's directory is deleted).
	defer func() {
		for _, v := range vs {
			if v.w != nil {
				_ = v.w.Close(ctx)
			}
		}
	}()
	for i, v := range vs {
		name := fmt.Sprintf("commit_changelog_%d", i)
		t, err := v.cat.CreateTable(ctx, benchDB, name, benchSchema(ingestBuckets, map[string]string{table.OptChangelogProducer: v.producer}), false)
		if err != nil {
			return err
		}
		b.progress("commit: %s: loading %d rows", v.name, rows)
		g := newRowGen(b.cfg.Seed+7, rows)
		if err := b.loadKeys(ctx, t, g, g.permutation(rows), max(rows/5, 1), "bench-load"); err != nil {
			return err
		}
		if _, err := t.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
			return err
		}
		if _, _, err := t.Get(ctx, 0, int64(0)); err != nil { // builds the index
			return err
		}
		v.t, v.g = t, newRowGen(b.cfg.Seed+8, rows)
		v.w = t.NewWriter("bench-commit-changelog")
	}
	b.progress("commit: %d commits of %d upserts each into each of %d tables, alternating", commits, changelogCommitRows, len(vs))
	for c := 0; c < commits; c++ {
		for _, v := range vs {
			start := b.cfg.Now()
			for i := 0; i < changelogCommitRows; i++ {
				row, _ := v.g.row(v.g.randomKey())
				if err := v.w.Write(ctx, types.UpdateAfter, row); err != nil {
					return err
				}
			}
			t0 := b.cfg.Now()
			if _, err := v.w.Commit(ctx, fmt.Sprint(c)); err != nil {
				return err
			}
			v.lat.add(b.cfg.Now().Sub(t0))
			v.secs += b.since(start)
		}
	}
	for _, v := range vs {
		w := v.w
		v.w = nil
		if err := w.Close(ctx); err != nil {
			return err
		}
		st := v.t.LookupIndexStats()
		m := Measurement{System: "silt", Case: fmt.Sprintf("1 writer, %d-row upserts into %d rows, %s", changelogCommitRows, rows, v.name), Values: map[string]float64{
			"writers": 1, "commits": float64(commits), "commits_per_s": round3(float64(commits) / v.secs),
			"p50_ms": round3(v.lat.quantileMs(0.5)), "p99_ms": round3(v.lat.quantileMs(0.99)),
		}}
		if v.producer == table.ProducerLookup && v.cat == hotCat {
			m.Note = fmt.Sprintf("lookup index: %d keys answered, %d read from files, %d catch-ups", st.IndexLookups, st.FileLookups, st.CatchUps)
		}
		r.add(m)
	}
	plain := vs[0]
	for _, v := range vs[1:] {
		how := "writer's private index"
		if v.cat == hotCat {
			how = "lookup index"
		}
		p50 := r.ratio(fmt.Sprintf("commit p50 latency, changelog-producer = lookup (%s) / none", how), v.lat.quantileMs(0.5), plain.lat.quantileMs(0.5))
		rate := r.ratio(fmt.Sprintf("commits/s, none / changelog-producer = lookup (%s)", how), float64(commits)/plain.secs, float64(commits)/v.secs)
		r.target(fmt.Sprintf("changelog producer lookup commit ÷ plain commit, p50 latency (%s)", how), "≤ 2", p50, 2, true)
		r.target(fmt.Sprintf("changelog producer lookup commit ÷ plain commit, 1 / commits/s (%s)", how), "≤ 2", rate, 2, true)
	}
	r.note("changelog producer: three tables of %d rows (loaded, fully compacted) get the same %d commits of %d upserts of existing random keys (each key's changelog is a -U/+U pair), one commit to each in turn; latency = Commit call; commits/s counts the writes too; `writer's private index`: the process has no lookup index, so the writer reads its first commit's before-images from the parent snapshot's files (table.GetMany's path) and from its second commit on from a private lookup index it builds in a temporary directory and catches up to each commit's parent; `lookup index`: from the process's lookup index (table.Env.LocalDir), caught up to each commit's parent", rows, commits, changelogCommitRows)
	return nil
}
