package lsm

import (
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/siltdb/silt/types"
)

// ParquetColumn writes the values of one column type into Parquet files
// other than data files (COPY … TO, exports), with the same Parquet types
// data files use, nested ones included, so that DuckDB and Spark read the
// same SQL types back. The column is optional (NULL allowed).
type ParquetColumn struct {
	t      types.DataType
	node   parquet.Node
	root   *nnode // nested types only
	leaves int
}

// NewParquetColumn returns the writer of an optional column of type t, or
// an error naming a type Parquet cannot hold.
func NewParquetColumn(t types.DataType) (*ParquetColumn, error) {
	n, err := parquetNode(t)
	if err != nil {
		return nil, err
	}
	c := &ParquetColumn{t: t, node: parquet.Optional(n), leaves: 1}
	if t.IsNested() {
		c.leaves = 0
		c.root = buildNNode(t, true, 0, 0, &c.leaves)
	}
	return c, nil
}

// Node is the column's Parquet node.
func (c *ParquetColumn) Node() parquet.Node { return c.node }

// Leaves is the number of Parquet leaf columns the column spans (1 unless
// nested).
func (c *ParquetColumn) Leaves() int { return c.leaves }

// Append appends value v (nil for NULL) to row as the column's leaf values,
// whose first leaf is file column col; the row's later columns come after
// col+Leaves()-1. A value that is not of the column's type is an error.
func (c *ParquetColumn) Append(row parquet.Row, v types.Value, col int) (parquet.Row, error) {
	if v == nil {
		if c.root == nil {
			return append(row, parquet.Value{}.Level(0, 0, col)), nil
		}
		for l := range c.leaves {
			row = c.root.shred(row, nil, l, 0, 0, col+l)
		}
		return row, nil
	}
	if !valueFits(v, c.t) {
		return row, fmt.Errorf("%w: value of Go type %T is not a %s", types.ErrInvalid, v, c.t)
	}
	if c.root != nil {
		for l := range c.leaves {
			row = c.root.shred(row, v, l, 0, 0, col+l)
		}
		return row, nil
	}
	return append(row, recordValue(v, c.t).Level(0, 1, col)), nil
}
