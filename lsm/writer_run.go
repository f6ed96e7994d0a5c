package lsm

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/types"
)

// WriteRun encodes a flushed write buffer (see WriteBuffer.FlushRun) as
// WriteFiles does; a columnar run's change-batch rows go from their
// arrays to the column writers without records.
func WriteRun(r *Run, schema *types.Schema, opts WriterOptions) ([]EncodedFile, error) {
	if r.rows == nil {
		return WriteFiles(r.Records, schema, opts)
	}
	opts.EnsureDefaults()
	if schema == nil {
		return nil, fmt.Errorf("%w: nil schema", types.ErrInvalid)
	}
	if len(r.rows) == 0 {
		return nil, nil
	}
	// As in WritePieces: key columns are required, other NOT NULL columns
	// unless a row has NULL there (-U/-D rows carry only the key).
	optional := make([]bool, len(schema.Fields))
	for i, f := range schema.Fields {
		optional[i] = !f.NotNull
	}
	for _, rr := range r.rows {
		for i := range optional {
			if optional[i] {
				continue
			}
			if rr.rec >= 0 {
				optional[i] = r.recs[rr.rec].Row[i] == nil
			} else {
				optional[i] = r.batches[rr.batch][i].IsNull(int(rr.row))
			}
		}
	}
	for _, k := range schema.KeyIndexes() {
		if k < 0 {
			return nil, fmt.Errorf("%w: schema has an unknown primary key column", types.ErrInvalid)
		}
		optional[k] = false
	}
	for _, cols := range r.batches {
		if len(cols) != len(schema.Fields) {
			return nil, fmt.Errorf("%w: batch has %d columns, schema has %d", types.ErrInvalid, len(cols), len(schema.Fields))
		}
		for c, f := range schema.Fields {
			want, err := types.ArrowType(f.Type)
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", f.Name, err)
			}
			if !arrow.TypeEqual(cols[c].DataType(), want) {
				return nil, fmt.Errorf("%w: batch column %q is %s, want %s", types.ErrInvalid, f.Name, cols[c].DataType(), want)
			}
		}
	}
	ps, err := parquetSchema(schema, optional)
	if err != nil {
		return nil, err
	}
	fw := &fileWriter{schema: schema, ps: ps, optional: optional, opts: opts}
	var out []EncodedFile
	started := false
	for i := range r.rows {
		rr := &r.rows[i]
		if !started {
			fw.start()
			started = true
		}
		if rr.rec >= 0 {
			rec := r.recs[rr.rec]
			if len(rec.Row) != len(schema.Fields) {
				return nil, fmt.Errorf("%w: record %d has %d values, schema has %d columns", types.ErrInvalid, i, len(rec.Row), len(schema.Fields))
			}
			rec.Kind, rec.Reset = rr.kind, false
			r.recs[rr.rec] = rec
			err = fw.appendRecord(&r.recs[rr.rec])
		} else {
			err = fw.appendBatchRow(r.batches[rr.batch], int(rr.row), rr.key, rr.seq, rr.kind)
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		// One row per key: a file may end after any row.
		if err := fw.added(rr.key, rr.seq, rr.kind); err != nil {
			return nil, err
		}
		if fw.size() >= opts.TargetFileSize {
			f, err := fw.finish()
			if err != nil {
				return nil, err
			}
			out, started = append(out, f), false
		}
	}
	if started && fw.file.RowCount > 0 {
		f, err := fw.finish()
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	fw.release()
	return out, nil
}
