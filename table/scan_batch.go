package table

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// BatchRows is the most rows one batch of Scan.Batches holds.
const BatchRows = 64 << 10

// Batches yields the merged live rows of the scan as Arrow record batches
// of the scan's schema (types.ArrowSchema(s.Schema(), false)): every
// field, in order; columns outside ScanOptions.Columns are all NULL. Rows
// come in the order Rows yields them. A batch is valid only until the
// loop body returns (call Retain to keep it). Iteration stops at the first
// error.
//
// A full scan decodes row groups straight into Arrow arrays and merges
// each bucket's sorted runs by selection and take (lsm.MergeBatches);
// buckets are read in parallel (up to GOMAXPROCS, at most
// maxParallelBuckets, at least two so the next bucket's I/O overlaps the
// current one) and handed over in order.
// A point lookup goes through Rows.
func (s *Scan) Batches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	if s.point != nil {
		return s.pointBatches(ctx)
	}
	return s.columnBatches(ctx)
}

// pointBatches is Batches of a point lookup: rowBatches with the columns
// outside the projection NULL (Rows may carry those the merge engine or
// the TTL read).
func (s *Scan) pointBatches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		schema, err := types.ArrowSchema(s.Schema(), false)
		if err != nil {
			yield(nil, err)
			return
		}
		post := s.batchPost(schema, false)
		for rec, err := range s.rowBatches(ctx) {
			if err == nil {
				rec, err = post(rec)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			ok := yield(rec, nil)
			rec.Release()
			if !ok {
				return
			}
		}
	}
}

// rowBatches is Batches built from Rows: the row-at-a-time reference the
// columnar path is tested against.
func (s *Scan) rowBatches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		schema, err := types.ArrowSchema(s.Schema(), false)
		if err != nil {
			yield(nil, err)
			return
		}
		rows := make([]types.Row, 0, 1024)
		emit := func() bool {
			rec, err := types.BuildRecord(nil, schema, rows)
			rows = rows[:0]
			if err != nil {
				yield(nil, err)
				return false
			}
			defer rec.Release()
			return yield(rec, nil)
		}
		for row, err := range s.Rows(ctx) {
			if err != nil {
				yield(nil, err)
				return
			}
			rows = append(rows, row)
			if len(rows) == BatchRows && !emit() {
				return
			}
		}
		if len(rows) > 0 {
			emit()
		}
	}
}

// batchResult is one batch (or the error) a bucket's producer hands over.
type batchResult struct {
	rec arrow.Record
	err error
}

// maxParallelBuckets caps the buckets a scan reads at once: each holds up
// to two decoded row groups per sorted run and bucketQueue batches, so
// memory grows with it, and a few buckets already keep the cores busy.
const maxParallelBuckets = 8

// bucketQueue is how many finished batches one bucket's producer may hold
// before the consumer takes them.
const bucketQueue = 2

// columnBatches is Batches of a full scan.
func (s *Scan) columnBatches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		schema, err := types.ArrowSchema(s.Schema(), false)
		if err != nil {
			yield(nil, err)
			return
		}
		groups := s.groupFiles()
		if len(groups) == 0 {
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		outs := make([]chan batchResult, len(groups))
		for i := range outs {
			outs[i] = make(chan batchResult, bucketQueue)
		}
		workers := max(2, min(runtime.GOMAXPROCS(0), maxParallelBuckets))
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		dispatched := make(chan struct{})
		go func() { // start the buckets in order, workers at a time
			defer close(dispatched)
			for i, files := range groups {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					defer close(outs[i])
					s.produceBucket(ctx, files, schema, outs[i])
				}()
			}
		}()
		defer func() {
			cancel()
			<-dispatched
			wg.Wait()
			for _, ch := range outs { // release what was produced and not taken
				for len(ch) > 0 {
					if r := <-ch; r.rec != nil {
						r.rec.Release()
					}
				}
			}
		}()
		for i := range outs {
			for r := range outs[i] {
				if r.err != nil {
					yield(nil, r.err)
					return
				}
				s.keepAlive(ctx) // renew the lease of a long read (lease.go)
				ok := yield(r.rec, nil)
				r.rec.Release()
				if !ok {
					return
				}
			}
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
		}
	}
}

// produceBucket opens and merges one bucket's files and sends its batches,
// post-processed, to out.
func (s *Scan) produceBucket(ctx context.Context, files []manifest.DataFile, schema *arrow.Schema, out chan<- batchResult) {
	post := s.batchPost(schema, true)
	send := func(r batchResult) bool {
		select {
		case out <- r:
			return true
		case <-ctx.Done():
			if r.rec != nil {
				r.rec.Release()
			}
			return false
		}
	}
	frs, err := s.t.openFiles(ctx, files)
	if err != nil {
		send(batchResult{err: err})
		return
	}
	opts := lsm.BatchOptions{Read: s.read, Schema: schema, MaxRows: BatchRows}
	for rec, err := range lsm.MergeBatches(ctx, frs, s.t.merger, opts) {
		if err != nil {
			send(batchResult{err: fmt.Errorf("table %s: %w", s.t.name, err)})
			return
		}
		rec, err = post(rec)
		if err != nil {
			send(batchResult{err: fmt.Errorf("table %s: %w", s.t.name, err)})
			return
		}
		if rec == nil {
			continue
		}
		if !send(batchResult{rec: rec}) {
			return
		}
	}
}

// batchPost returns what happens to a merged batch before it is handed
// over: with ttl, rows hidden by the record TTL are dropped; columns
// outside the projection (read only for the merge engine or the TTL)
// become NULL. It
// returns a batch the caller owns (or nil when no row is left); rec itself
// is borrowed. The function keeps a cache of NULL arrays: one goroutine
// uses it.
func (s *Scan) batchPost(schema *arrow.Schema, ttl bool) func(arrow.Record) (arrow.Record, error) {
	var expired func(arrow.Record) []bool
	if ttl {
		expired = s.t.expiredBatch()
	}
	var keepCol []bool
	if s.columns != nil {
		keepCol = make([]bool, schema.NumFields())
		for _, c := range s.columns {
			if c >= 0 && c < len(keepCol) {
				keepCol[c] = true
			}
		}
	}
	type nullKey struct {
		col, n int
	}
	nulls := map[nullKey]arrow.Array{}
	nullArray := func(c, n int) arrow.Array {
		k := nullKey{c, n}
		if a, ok := nulls[k]; ok {
			return a
		}
		if len(nulls) > 64 {
			clear(nulls)
		}
		a := array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(c).Type, n)
		nulls[k] = a
		return a
	}
	return func(rec arrow.Record) (arrow.Record, error) {
		rec.Retain()
		if expired != nil {
			if drop := expired(rec); drop != nil {
				f, err := filterRecord(rec, drop)
				rec.Release()
				if err != nil {
					return nil, err
				}
				if f == nil {
					return nil, nil
				}
				rec = f
			}
		}
		if keepCol == nil {
			return rec, nil
		}
		n := int(rec.NumRows())
		cols := make([]arrow.Array, len(keepCol))
		replaced := false
		for c := range cols {
			if keepCol[c] || rec.Column(c).NullN() == n {
				cols[c] = rec.Column(c)
				continue
			}
			cols[c] = nullArray(c, n)
			replaced = true
		}
		if !replaced {
			return rec, nil
		}
		out := array.NewRecordBatch(schema, cols, int64(n))
		rec.Release()
		return out, nil
	}
}

// filterRecord returns the rows of rec not marked in drop (nil when none
// is left), as slices of contiguous kept rows concatenated.
func filterRecord(rec arrow.Record, drop []bool) (arrow.Record, error) {
	type span struct{ from, to int }
	var spans []span
	kept := 0
	for r, d := range drop {
		if d {
			continue
		}
		kept++
		if n := len(spans); n > 0 && spans[n-1].to == r {
			spans[n-1].to++
		} else {
			spans = append(spans, span{r, r + 1})
		}
	}
	if kept == 0 {
		return nil, nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c := range cols {
		parts := make([]arrow.Array, len(spans))
		for i, sp := range spans {
			parts[i] = array.NewSlice(rec.Column(c), int64(sp.from), int64(sp.to))
		}
		var err error
		cols[c], err = array.Concatenate(parts, memory.DefaultAllocator)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(kept)), nil
}

// PickRule: without sequence.field the last record wins (lsm.Picker), so
// the batch merge never boxes rows for deduplicate.
func (e *deduplicate) PickRule() lsm.PickRule {
	if e.seqField < 0 {
		return lsm.PickLast
	}
	return lsm.PickNone
}

// PickRule: without sequence.field the first +I/+U wins (lsm.Picker).
func (e *firstRow) PickRule() lsm.PickRule {
	if e.seqField < 0 {
		return lsm.PickFirstAdd
	}
	return lsm.PickNone
}
