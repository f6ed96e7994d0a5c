package table

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/types"
)

// WriteBatch buffers the changelog rows of a change batch: the table
// schema's columns in order, with the Arrow types types.ArrowSchema gives,
// then the int8 column types.RowKindColumn holding each row's RowKind.
// It is Write for every row, in order, with the same checks; on an error
// the rows before the bad one are buffered and the error names the row.
func (w *Writer) WriteBatch(ctx context.Context, rec arrow.Record) error {
	if err := w.checkBatchSchema(rec.Schema()); err != nil {
		return fmt.Errorf("table %s: %w", w.t.name, err)
	}
	n := len(w.t.schema.Fields)
	kinds := rec.Column(n)
	row := make(types.Row, n)
	for r := 0; r < int(rec.NumRows()); r++ {
		kv := types.ValueAt(kinds, r)
		if kv == nil {
			return fmt.Errorf("%w: table %s: batch row %d: NULL %s", types.ErrInvalid, w.t.name, r, types.RowKindColumn)
		}
		for c := 0; c < n; c++ {
			row[c] = types.ValueAt(rec.Column(c), r)
		}
		if err := w.Write(ctx, kv.(types.RowKind), row); err != nil {
			return fmt.Errorf("batch row %d: %w", r, err)
		}
	}
	return nil
}

// checkBatchSchema checks that s is the table's change-batch schema.
func (w *Writer) checkBatchSchema(s *arrow.Schema) error {
	want, err := types.ArrowSchema(w.t.schema, true)
	if err != nil {
		return err
	}
	if s.NumFields() != want.NumFields() {
		return fmt.Errorf("%w: batch has %d columns, want %d (the table's columns, then %s)", types.ErrInvalid, s.NumFields(), want.NumFields(), types.RowKindColumn)
	}
	for i, f := range want.Fields() {
		if g := s.Field(i); !arrow.TypeEqual(g.Type, f.Type) {
			return fmt.Errorf("%w: batch column %d (%q) is %s, want %s for %q", types.ErrInvalid, i, g.Name, g.Type, f.Type, f.Name)
		}
	}
	return nil
}
