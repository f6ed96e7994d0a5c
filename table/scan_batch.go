package table

import (
	"context"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"

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
func (s *Scan) Batches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	return s.rowBatches(ctx)
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
