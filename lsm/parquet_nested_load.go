package lsm

import (
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/siltdb/silt/types"
)

// ParquetNestedColumn assembles the values of a nested (LIST, MAP or
// group) column of a Parquet file that is not a data file (COPY … FROM a
// file DuckDB, Spark or silt's COPY TO wrote), with the same shredding
// rules data files are read with.
type ParquetNestedColumn struct {
	root   *nnode
	leaves []int
}

// NewParquetNestedColumn lays out the top-level group column c; an
// encoding silt does not read (a legacy two-level list, a repeated field
// outside a LIST or MAP) is an error naming the column.
func NewParquetNestedColumn(c *parquet.Column) (*ParquetNestedColumn, error) {
	p := &ParquetNestedColumn{}
	root, err := storedNNode(c, &p.leaves)
	if err != nil {
		return nil, err
	}
	p.root = root
	return p, nil
}

// Type is the column's type as stored, with the file's field ids (0 where
// it has none).
func (p *ParquetNestedColumn) Type() types.DataType { return p.root.t }

// Leaves are the file's leaf column indexes of the column, in order.
func (p *ParquetNestedColumn) Leaves() []int { return p.leaves }

var errNestedRow = errors.New("values left over after the row's value")

// Value assembles one row's value (nil for NULL) from the row's values of
// each leaf, leafVals[l] for leaf l in order, as a parquet.Row holds them.
func (p *ParquetNestedColumn) Value(leafVals [][]parquet.Value) (types.Value, error) {
	if len(leafVals) != len(p.leaves) {
		return nil, fmt.Errorf("%w: %d leaf columns, want %d", types.ErrInvalid, len(leafVals), len(p.leaves))
	}
	cs := make([]leafCursor, len(leafVals))
	for l, vals := range leafVals {
		if len(vals) == 0 || vals[0].RepetitionLevel() != 0 {
			return nil, fmt.Errorf("%w: %w", types.ErrInvalid, errLevels)
		}
		cs[l].vals = vals
	}
	v, err := p.root.assemble(cs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", types.ErrInvalid, err)
	}
	for l := range cs {
		if cs[l].pos != len(cs[l].vals) {
			return nil, fmt.Errorf("%w: %w", types.ErrInvalid, errNestedRow)
		}
	}
	return v, nil
}
