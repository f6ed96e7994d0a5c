package query

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// writeParquet writes r as one Parquet file: one optional column per
// result column, in order, with the logical types other engines (DuckDB,
// Spark) read back as the same SQL types.
func writeParquet(w io.Writer, r *Result) error {
	cols := make([]*lsm.ParquetColumn, len(r.Columns))
	nodes := make([]parquet.Node, len(r.Columns))
	for i, c := range r.Columns {
		pc, err := lsm.NewParquetColumn(c.Type)
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		cols[i], nodes[i] = pc, pc.Node()
	}
	names := jsonKeys(r.Columns) // unique names: Parquet needs them
	for i := range names {
		names[i] = unquoteKey(names[i])
	}
	pw := parquet.NewWriter(w, lsm.OrderedSchema("silt", names, nodes), parquet.Compression(&parquet.Zstd))
	var row parquet.Row
	for vals, err := range r.All() {
		if err != nil {
			return err
		}
		row = row[:0]
		col := 0
		for j, c := range r.Columns {
			var v types.Value
			if j < len(vals) {
				v = vals[j]
			}
			if row, err = cols[j].Append(row, v, col); err != nil {
				return fmt.Errorf("column %q: %w", c.Name, err)
			}
			col += cols[j].Leaves()
		}
		if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
			return err
		}
	}
	return pw.Close()
}

// unquoteKey turns a JSON object key ("a") back into the name.
func unquoteKey(k string) string {
	var s string
	if _, err := fmt.Sscanf(k, "%q", &s); err != nil {
		return k
	}
	return s
}
