package table

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// The read path of a scan: column projection, parallel file fetches and
// prefetch of the next bucket.
//
// A scan's buckets are read one after another. While one bucket is merged
// and consumed, the next bucket's files are fetched (in parallel, up to
// maxParallelFetches GETs) and opened, and the first row group of each is
// decoded in the background (lsm.NewFileMerge). Row groups after the first
// are decoded one ahead of the merge by the lsm cursors, which for files
// larger than smallFileLimit also issues their ranged GETs ahead.

// maxParallelFetches caps the concurrent file fetches of one bucket.
const maxParallelFetches = 8

// readOptions is the lsm projection for a scan that needs the columns cols
// (positions in t's schema; nil: all). The merge engine and record TTL see
// the projected rows, so the columns they read are added; merge engines
// that combine columns across records (partial-update, aggregation) read
// every column.
func (t *Table) readOptions(cols []int) lsm.ReadOptions {
	if cols == nil {
		return lsm.ReadOptions{}
	}
	switch e := t.merger.(type) {
	case *deduplicate:
		cols = appendField(cols, e.seqField)
	case *firstRow:
		cols = appendField(cols, e.seqField)
	default:
		return lsm.ReadOptions{}
	}
	if c := t.opts.Compaction; c.TimeField != "" && c.ExpireTime > 0 {
		cols = appendField(cols, t.schema.FieldIndex(c.TimeField))
	}
	return lsm.ReadOptions{Columns: cols}
}

func appendField(cols []int, i int) []int {
	if i < 0 || slices.Contains(cols, i) {
		return cols
	}
	return append(slices.Clip(cols), i)
}

// pendingGroup is one bucket being fetched, opened and started.
type pendingGroup struct {
	done   chan struct{}
	cancel context.CancelFunc
	merge  *lsm.FileMerge
	err    error
}

// startGroup fetches and opens files in the background and starts their
// merge.
func (t *Table) startGroup(ctx context.Context, files []manifest.DataFile, keepDeletes bool, read lsm.ReadOptions) *pendingGroup {
	ctx, cancel := context.WithCancel(ctx)
	p := &pendingGroup{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		frs, err := t.openFiles(ctx, files)
		if err != nil {
			p.err = err
			return
		}
		p.merge, p.err = lsm.NewFileMerge(ctx, frs, read, t.merger, keepDeletes)
	}()
	return p
}

// wait returns the started merge.
func (p *pendingGroup) wait() (*lsm.FileMerge, error) {
	<-p.done
	return p.merge, p.err
}

// close abandons the group (or releases it after use).
func (p *pendingGroup) close() {
	if p == nil {
		return
	}
	p.cancel()
	<-p.done
	if p.merge != nil {
		p.merge.Close()
	}
}

// openFiles opens files concurrently; the first error wins.
func (t *Table) openFiles(ctx context.Context, files []manifest.DataFile) ([]*lsm.FileReader, error) {
	frs := make([]*lsm.FileReader, len(files))
	errs := make([]error, len(files))
	if len(files) == 1 {
		frs[0], errs[0] = t.openFile(ctx, files[0])
		return frs, errs[0]
	}
	sem := make(chan struct{}, maxParallelFetches)
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			frs[i], errs[i] = t.openFile(ctx, f)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return frs, nil
}

// prefetchGroups is how many buckets ahead of the one being consumed are
// fetched, opened and started.
const prefetchGroups = 2

// readGroups merges the file groups one after another, preparing the
// next prefetchGroups groups while the current one is consumed.
func (t *Table) readGroups(ctx context.Context, groups [][]manifest.DataFile, keepDeletes bool, read lsm.ReadOptions) iter.Seq2[lsm.Record, error] {
	return func(yield func(lsm.Record, error) bool) {
		var ahead []*pendingGroup
		defer func() {
			for _, p := range ahead {
				p.close()
			}
		}()
		started := 0
		for k := range groups {
			for started < len(groups) && started <= k+prefetchGroups {
				ahead = append(ahead, t.startGroup(ctx, groups[started], keepDeletes, read))
				started++
			}
			cur := ahead[0]
			ahead = ahead[1:]
			m, err := cur.wait()
			if err != nil {
				cur.close()
				yield(lsm.Record{}, err)
				return
			}
			stopped := false
			for rec, err := range m.All() {
				if err != nil {
					cur.close()
					yield(lsm.Record{}, fmt.Errorf("table %s: %w", t.name, err))
					return
				}
				if !yield(rec, nil) {
					stopped = true
					break
				}
			}
			cur.close()
			if stopped {
				return
			}
		}
	}
}

// scanBatch is how many rows the producer of a scan hands over at once.
const scanBatch = 512

// pipelined runs rows in a goroutine that hands batches of rows to the
// caller's goroutine, so that decoding and merging (the producer) overlap
// with whatever consumes the rows (a query's evaluation). Stopping early
// cancels the producer and waits for it.
func pipelined(ctx context.Context, rows func(ctx context.Context) iter.Seq2[types.Row, error]) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		type batch struct {
			rows []types.Row
			err  error
		}
		ch := make(chan batch, 4)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(ch)
			buf := make([]types.Row, 0, scanBatch)
			send := func(b batch) bool {
				select {
				case ch <- b:
					return true
				case <-ctx.Done():
					return false
				}
			}
			for row, err := range rows(ctx) {
				if err != nil {
					send(batch{rows: buf, err: err})
					return
				}
				buf = append(buf, row)
				if len(buf) == scanBatch {
					if !send(batch{rows: buf}) {
						return
					}
					buf = make([]types.Row, 0, scanBatch)
				}
			}
			if len(buf) > 0 {
				send(batch{rows: buf})
			}
		}()
		defer func() {
			cancel()
			for range ch { // unblock and drain the producer
			}
			<-done
		}()
		for b := range ch {
			for _, row := range b.rows {
				if !yield(row, nil) {
					return
				}
			}
			if b.err != nil {
				yield(nil, b.err)
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// groupFiles lists the files of each planned group.
func (s *Scan) groupFiles() [][]manifest.DataFile {
	out := make([][]manifest.DataFile, len(s.groups))
	for i, g := range s.groups {
		out[i] = g.files
	}
	return out
}

// fullRows is Rows of a full scan: the buckets merged in a producer
// goroutine (pipelined), rows hidden by the record TTL (expired) dropped.
func (s *Scan) fullRows(ctx context.Context, expired func(types.Row) bool) iter.Seq2[types.Row, error] {
	return pipelined(ctx, func(ctx context.Context) iter.Seq2[types.Row, error] {
		return func(yield func(types.Row, error) bool) {
			for rec, err := range s.t.readGroups(ctx, s.groupFiles(), false, s.read) {
				if err != nil {
					yield(nil, err)
					return
				}
				if (expired == nil || !expired(rec.Row)) && !yield(rec.Row, nil) {
					return
				}
			}
		}
	})
}
