package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// commitBatchRows is the size of one small commit.
const commitBatchRows = 10

// runCommit measures concurrent committers on one table.
func runCommit(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"writers", "commits", "commits_per_s", "p50_ms", "p99_ms", "retries", "retries_per_commit", "compactions", "compaction_conflicts"}
	total := max(b.rows, 4)
	cs := newCountingStore(b.cfg.Store)
	cat, err := b.openCatalog(ctx, cs)
	if err != nil {
		return err
	}
	// The same catalog with the Iceberg view published after every commit.
	pub := &icebergview.Publisher{Base: "file:///silt-bench/", Now: b.cfg.Now, Async: true}
	icecat := catalog.New(objstore.NewRetry(cs, objstore.RetryOptions{}), b.cfg.Root, table.Env{Now: b.cfg.Now, AfterChange: pub.Hook()})
	var ceiling, plainP50, plainRate float64
	type variant struct {
		writers int
		inline  bool
		iceberg bool
	}
	for _, v := range []variant{{1, true, false}, {1, true, true}, {4, true, false}, {1, false, false}, {4, false, false}} {
		writers := v.writers
		name := fmt.Sprintf("commit_%d", writers)
		var opts map[string]string
		mode := "compaction inline"
		useCat := cat
		if !v.inline {
			name += "_nocompact"
			mode = "compaction off"
			opts = map[string]string{table.OptWriteOnly: "true", table.OptStopTrigger: "10000"}
		}
		if v.iceberg {
			name += "_iceberg"
			mode += ", Iceberg view"
			opts = map[string]string{table.OptIcebergEnabled: "true"}
			useCat = icecat
		}
		t, err := useCat.CreateTable(ctx, benchDB, name, benchSchema(ingestBuckets, opts), false)
		if err != nil {
			return err
		}
		per := total / writers
		b.progress("commit: %d writer(s), %s, %d commits of %d rows each", writers, mode, per, commitBatchRows)
		lat := &latencies{}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			first error
			stats []table.WriterStats
		)
		before := cs.counts()
		start := b.cfg.Now()
		for wi := 0; wi < writers; wi++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := newRowGen(b.cfg.Seed+uint64(wi), 100_000)
				w := t.NewWriter(fmt.Sprintf("bench-commit-%d", wi))
				err := func() error {
					for c := 0; c < per; c++ {
						for i := 0; i < commitBatchRows; i++ {
							row, _ := g.row(g.randomKey())
							if err := w.Write(ctx, types.UpdateAfter, row); err != nil {
								return err
							}
						}
						t0 := b.cfg.Now()
						if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
							return err
						}
						lat.add(b.cfg.Now().Sub(t0))
					}
					return w.Close(ctx)
				}()
				mu.Lock()
				defer mu.Unlock()
				stats = append(stats, w.Stats())
				if err != nil && first == nil {
					first = err
				}
			}()
		}
		wg.Wait()
		if first != nil {
			return first
		}
		secs := b.since(start)
		var lag float64
		if v.iceberg {
			// The view's lag behind the last commit.
			t0 := b.cfg.Now()
			if err := pub.Wait(ctx); err != nil {
				return err
			}
			lag = float64(b.cfg.Now().Sub(t0).Microseconds()) / 1000
		}
		c := cs.counts().sub(before)
		var compactions, conflicts int64
		for _, s := range stats {
			compactions += s.Compactions
			conflicts += s.CompactionConflicts
		}
		n := per * writers
		rate := float64(n) / secs
		if writers == 1 && !v.iceberg {
			ceiling = rate
		}
		if v.iceberg {
			if st := pub.Stats(); st.Failed > 0 {
				return fmt.Errorf("bench commit: %d Iceberg publications failed", st.Failed)
			}
			r.ratio("commit p50 latency, with the Iceberg view / without (target <= 2)", lat.quantileMs(0.5), plainP50)
			r.ratio("commits/s, without the Iceberg view / with", plainRate, rate)
			st := pub.Stats()
			r.note("Iceberg view: published in the background (as silt's CLI and serve do), one publication at a time per table, coalescing the commits made meanwhile: %d publications for %d commits and %d compactions, %d attempts redone after losing the pointer race; after the last commit the view caught up in %.1f ms", st.Published, n, compactions, st.Retries, lag)
		} else if writers == 1 && v.inline {
			plainP50, plainRate = lat.quantileMs(0.5), rate
		}
		r.add(Measurement{System: "silt", Case: fmt.Sprintf("%d writer(s), %s", writers, mode), Values: map[string]float64{
			"writers": float64(writers), "commits": float64(n), "commits_per_s": round3(rate),
			"p50_ms": round3(lat.quantileMs(0.5)), "p99_ms": round3(lat.quantileMs(0.99)),
			"retries": float64(c.SnapshotLost), "retries_per_commit": round3(float64(c.SnapshotLost) / float64(n)),
			"compactions": float64(compactions), "compaction_conflicts": float64(conflicts),
		}})
		if writers > 1 && !v.iceberg {
			r.ratio(fmt.Sprintf("commits/s, %d writers / 1 writer, %s", writers, mode), rate, ceiling)
		}
	}
	if err := b.commitChangelog(ctx, r, cs, cat); err != nil {
		return err
	}
	r.note("each writer is a table.Writer with its own commit user on one shared table, committing %d-row batches; with compaction inline each writer compacts after its commits (the COMPACT commits also count as retries when they lose a race, but not as commits); retries = snapshot put-if-absent calls that lost to another committer; latency = Commit call (flush + metadata + snapshot put); compare commits_per_s with the store scenario's put-if-absent rate; `compaction off` is write-only with the stop trigger at 10000, so runs pile up (%d per bucket at the end); `Iceberg view` publishes Iceberg metadata (manifests, position deletes from HiddenRows, metadata file, pointer switch) after every commit, compaction commits included", commitBatchRows, total)
	return nil
}
