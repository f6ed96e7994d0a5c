package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

const (
	historyMaxRows   = 10_000
	historyShort     = 10
	historyPlanReps  = 50
	historyQueryReps = 5
	historyFullSize  = 10_000
)

// runHistory measures planning and running a query at the latest snapshot
// of a table with a short and a long history.
func runHistory(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"snapshots", "plan_median_ms", "plan_requests", "plan_KB_read", "query_median_ms", "query_requests", "live_files", "build_commits_per_s"}
	long := max(b.rows, historyShort+1)
	historyRows := min(historyMaxRows, 10*long)
	cs := newCountingStore(b.cfg.Store)
	cat, err := b.openCatalog(ctx, cs)
	if err != nil {
		return err
	}
	if long < historyFullSize {
		r.note("the long history has %d snapshots, not the target's %d, to fit the 2-minute budget; run with --rows %d for the full size", long, historyFullSize, historyFullSize)
	}
	r.note("each table: one commit of %d rows, then commits that publish only a property (as a stream sink committing offsets without new rows) up to the snapshot count; planning = resolving the latest snapshot and listing its live files (table.NewScan), median of %d; the two tables are measured alternately; query = SELECT COUNT(*), SUM(amount) through the SQL engine, median of %d",
		historyRows, historyPlanReps, historyQueryReps)
	eng := query.NewEngine(query.NewSiltCatalog(cat, "bench-history-"+uuid.NewString()), query.EngineOptions{CurrentDB: benchDB, Now: b.cfg.Now})
	type histTable struct {
		snaps     int
		name      string
		t         *table.Table
		buildRate float64
		files     int
		planMs    []float64
		queryMs   []float64
		planReq   int64
		planBytes int64
		queryReq  int64
	}
	var hts []*histTable
	for _, snaps := range []int{historyShort, long} {
		ht := &histTable{snaps: snaps, name: fmt.Sprintf("history_%d", snaps)}
		if err := b.buildHistory(ctx, cat, ht.name, snaps, historyRows, &ht.t, &ht.buildRate); err != nil {
			return err
		}
		hts = append(hts, ht)
	}
	// Measure the tables alternately so that the machine's noise hits
	// both alike.
	b.progress("history: planning and querying both tables alternately")
	for i := 0; i < historyPlanReps; i++ {
		for _, ht := range hts {
			before := cs.counts()
			t0 := b.cfg.Now()
			s, err := ht.t.NewScan(ctx, table.ScanOptions{})
			if err != nil {
				return err
			}
			ht.planMs = append(ht.planMs, b.since(t0)*1e3)
			c := cs.counts().sub(before)
			ht.planReq += c.requests()
			ht.planBytes += c.BytesGot
			ht.files = s.Stats().FilesTotal
		}
	}
	for i := 0; i < historyQueryReps; i++ {
		for _, ht := range hts {
			before := cs.counts()
			t0 := b.cfg.Now()
			res, err := eng.ExecStatement(ctx, "SELECT COUNT(*), SUM(amount) FROM "+ht.name)
			if err != nil {
				return err
			}
			ht.queryMs = append(ht.queryMs, b.since(t0)*1e3)
			ht.queryReq += cs.counts().sub(before).requests()
			if got := fmt.Sprint(res.Rows[0][0]); got != fmt.Sprint(historyRows) {
				return fmt.Errorf("history %s: COUNT = %s, want %d", ht.name, got, historyRows)
			}
		}
	}
	plans := map[int]float64{}
	for _, ht := range hts {
		plans[ht.snaps] = median(ht.planMs)
		r.add(Measurement{System: "silt", Case: fmt.Sprintf("%d snapshots", ht.snaps), Values: map[string]float64{
			"snapshots": float64(ht.snaps), "plan_median_ms": round3(median(ht.planMs)),
			"plan_requests":   round3(float64(ht.planReq) / historyPlanReps),
			"plan_KB_read":    round3(float64(ht.planBytes) / 1e3 / historyPlanReps),
			"query_median_ms": round3(median(ht.queryMs)), "query_requests": round3(float64(ht.queryReq) / historyQueryReps),
			"live_files": float64(ht.files), "build_commits_per_s": round3(ht.buildRate),
		}})
	}
	ratio := r.ratio(fmt.Sprintf("plan time, %d / %d snapshots", long, historyShort), plans[long], plans[historyShort])
	goal := fmt.Sprintf("planning with %d snapshots vs %d", long, historyShort)
	r.target(goal, "≤ 1.2×", ratio, 1.2, true)
	return nil
}

// buildHistory creates table name with one commit of rows rows followed by
// property-only commits up to snaps snapshots.
func (b *runner) buildHistory(ctx context.Context, cat *catalog.Catalog, name string, snaps, rows int, out **table.Table, rate *float64) error {
	t, err := cat.CreateTable(ctx, benchDB, name, benchSchema(ingestBuckets, nil), false)
	if err != nil {
		return err
	}
	g := newRowGen(b.cfg.Seed, rows)
	w := t.NewWriter("bench-history")
	for i := 0; i < rows; i++ {
		row, _ := g.row(int64(i))
		if err := w.Write(ctx, types.UpdateAfter, row); err != nil {
			return err
		}
	}
	if _, err := w.Commit(ctx, "load"); err != nil {
		return err
	}
	b.progress("history: building %s (%d snapshots)", name, snaps)
	start := b.cfg.Now()
	last := start
	for i := 2; i <= snaps; i++ {
		if _, err := w.CommitWith(ctx, table.CommitRequest{Identifier: fmt.Sprint(i), AllowEmpty: true,
			Properties: map[string]string{"bench.offset": fmt.Sprint(i)}}); err != nil {
			return err
		}
		if now := b.cfg.Now(); now.Sub(last) >= time.Second {
			last = now
			b.progress("history: %s: %d/%d snapshots, %.0f commits/s", name, i, snaps, float64(i-1)/now.Sub(start).Seconds())
		}
	}
	*rate = float64(snaps-1) / b.since(start)
	if err := w.Close(ctx); err != nil {
		return err
	}
	snap, err := t.Latest(ctx)
	if err != nil {
		return err
	}
	if snap.ID != int64(snaps) {
		return fmt.Errorf("history %s: latest snapshot %d, want %d", name, snap.ID, snaps)
	}
	*out = t
	return nil
}
