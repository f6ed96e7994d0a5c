package query

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/siltdb/silt/types"
)

// Streaming results: a plain SELECT (no aggregates, GROUP BY, DISTINCT or
// ORDER BY) needs no row but the current one, so ExecStream hands its rows
// to the writer as the scan produces them, in memory bounded by the scan's
// batch rather than by the table.

// ExecStream runs the statements of sql like Exec, but passes each result
// to each as soon as it exists instead of collecting them. A plain SELECT's
// result streams: its rows are read (by Result.All or WriteResult) while
// each runs, and an error met mid-stream is returned by whatever ranges
// over them, after the rows before it have been produced. each must finish
// with a result before the next statement runs.
func (e *Engine) ExecStream(ctx context.Context, sql string, each func(*Result) error) error {
	stmts, bad, err := parseScript(ctx, sql)
	if err != nil {
		pieces, complete := SplitStatements(sql)
		if n := len(pieces); n > 1 || (n == 1 && !complete) {
			err = fmt.Errorf("statement %d: %w", bad, err)
		}
		return err
	}
	for _, ps := range stmts {
		r, err := e.run(ctx, ps.stmt, true)
		if err == nil {
			err = each(r)
		}
		if err != nil {
			if len(stmts) > 1 {
				err = fmt.Errorf("statement %d: %w", ps.index, err)
			}
			return err
		}
	}
	return nil
}

// All yields the result's rows: Rows, or for a streaming result the rows
// as they are produced (once; an error ends the sequence).
func (r *Result) All() iter.Seq2[types.Row, error] {
	if r.stream != nil {
		return r.stream
	}
	return func(yield func(types.Row, error) bool) {
		for _, row := range r.Rows {
			if !yield(row, nil) {
				return
			}
		}
	}
}

// streamable reports whether p can produce its rows one at a time.
func (p *selectPlan) streamable() bool {
	return !p.agg && len(p.order) == 0 && !p.distinct && p.win == nil
}

// streamSelect opens the scan and returns a result whose rows are filtered,
// offset, limited and projected as they are read.
func (e *Engine) streamSelect(ctx context.Context, p *selectPlan) (*Result, error) {
	if vp := e.compileSelect(p); vp != nil {
		snap, in, err := e.openBatches(ctx, vp)
		if err != nil {
			return nil, err
		}
		batches := vp.plainBatches(ctx, in)
		return &Result{Columns: slices.Clone(p.cols), Message: "SELECT", SnapshotID: snap, stream: batchRows(batches), batches: batches}, nil
	}
	snap, rows, err := e.open(ctx, p)
	if err != nil {
		return nil, err
	}
	stream := func(yield func(types.Row, error) bool) {
		if p.limit == 0 {
			return
		}
		var n, skipped, emitted int64
		for row, err := range rows {
			if err != nil {
				yield(nil, err)
				return
			}
			if n++; n%int64(p.every) == 0 {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
			}
			ok, err := passes(p.where, row)
			if err != nil {
				yield(nil, err)
				return
			}
			if !ok {
				continue
			}
			// Outputs are evaluated for skipped rows too, so that an
			// OFFSET reports the same errors as the collecting path.
			out := make(types.Row, len(p.outputs))
			for i, o := range p.outputs {
				if out[i], err = o.Eval(row); err != nil {
					yield(nil, err)
					return
				}
			}
			if skipped < p.offset {
				skipped++
				continue
			}
			if !yield(out, nil) {
				return
			}
			if emitted++; p.limit >= 0 && emitted >= p.limit {
				return
			}
		}
	}
	return &Result{Columns: slices.Clone(p.cols), Message: "SELECT", SnapshotID: snap, stream: stream}, nil
}
