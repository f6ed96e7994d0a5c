package lsm

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// Reading nested columns (see nested.go): each leaf column chunk of the
// field is read through parquet-go's page reader into parquet.Values with
// their levels, then every row's value is assembled from the leaves,
// converted from the stored type to the read type by field id, and kept
// as a types.Value per row (colVals.vals).

// nestedRead is the stored shape of a nested read column.
type nestedRead struct {
	root   *nnode
	leaves []int          // file column index of each leaf of the field
	stored types.DataType // as stored, with the file's nested field ids
}

// appendLeaves appends the leaf columns under c, in column-chunk order.
func appendLeaves(dst []*parquet.Column, c *parquet.Column) []*parquet.Column {
	if c.Leaf() {
		return append(dst, c)
	}
	for _, k := range c.Columns() {
		dst = appendLeaves(dst, k)
	}
	return dst
}

// mapNested maps the read field fld to the file column c, which must be
// a nested column whose stored type is readable as fld's.
func mapNested(c *parquet.Column, fld types.Field) (readColumn, error) {
	nr := &nestedRead{}
	root, err := storedNNode(c, &nr.leaves)
	if err != nil {
		return readColumn{}, fmt.Errorf("column %q: %w", fld.Name, err)
	}
	nr.root, nr.stored = root, root.t
	if c.Leaf() || !fld.Type.IsNested() || !types.ReadableAs(nr.stored, fld.Type) {
		return readColumn{}, fmt.Errorf("%w: column %q is stored as %s and cannot be read as %s", types.ErrInvalid, fld.Name, nr.stored, fld.Type)
	}
	return readColumn{to: fld.Type, nested: nr}, nil
}

// decodeNested decodes the nested column nr of row group i (its verified
// bytes ra) into one value per row of the read type to, nil for NULL.
func (f *FileReader) decodeNested(ra sliceReaderAt, i int, nr *nestedRead, to types.DataType) ([]types.Value, error) {
	rows := int(f.groups[i].rows)
	cs := make([]leafCursor, len(nr.leaves))
	for l, col := range nr.leaves {
		vals, err := f.leafValues(ra, i, col)
		if err != nil {
			return nil, err
		}
		cs[l].vals = vals
	}
	corrupt := func(r int, err error) error {
		return fmt.Errorf("%w: row group %d column %s row %d: %v", types.ErrCorruption, i, f.leaves[nr.leaves[0]].Path()[0], r, err)
	}
	out := make([]types.Value, rows)
	for r := range out {
		for l := range cs {
			if v, err := cs[l].peek(); err != nil || v.RepetitionLevel() != 0 {
				return nil, corrupt(r, errLevels)
			}
		}
		v, err := nr.root.assemble(cs)
		if err != nil {
			return nil, corrupt(r, err)
		}
		out[r] = convertNested(v, nr.stored, to)
	}
	for l := range cs {
		if cs[l].pos != len(cs[l].vals) {
			return nil, corrupt(rows, errors.New("more values than rows"))
		}
	}
	return out, nil
}

// leafValues reads every value of column col of row group i, with its
// levels; byte arrays are copied out of the pages.
func (f *FileReader) leafValues(ra sliceReaderAt, i, col int) ([]parquet.Value, error) {
	fcc, ok := f.file.RowGroups()[i].ColumnChunks()[col].(*parquet.FileColumnChunk)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected column chunk type", types.ErrCorruption)
	}
	if err := f.checkChunk(ra, i, col, true); err != nil {
		return nil, err
	}
	corrupt := func(err error) error {
		return fmt.Errorf("%w: row group %d column %s: %v", types.ErrCorruption, i, fcc.Node().String(), err)
	}
	pages := fcc.PagesFrom(ra)
	defer pages.Close()
	var out []parquet.Value
	buf := make([]parquet.Value, 256)
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, corrupt(err)
		}
		vr := p.Values()
		for {
			n, err := vr.ReadValues(buf)
			for _, v := range buf[:n] {
				out = append(out, v.Clone())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				parquet.Release(p)
				return nil, corrupt(err)
			}
			if n == 0 {
				parquet.Release(p)
				return nil, corrupt(errors.New("page yields no values"))
			}
		}
		parquet.Release(p)
	}
}

// decodeNestedVals decodes nested read column rc of row group i into cv.
func (f *FileReader) decodeNestedVals(ra sliceReaderAt, i int, rc *readColumn, cv *colVals) error {
	vals, err := f.decodeNested(ra, i, rc.nested, rc.to)
	if err != nil {
		return err
	}
	*cv = colVals{vals: vals, rows: len(vals)}
	for r, v := range vals {
		if v == nil {
			if cv.null == nil {
				cv.null = make([]bool, len(vals))
			}
			cv.null[r] = true
		}
	}
	return nil
}

// nestedArrowColumn builds the Arrow array of a nested column's values.
func nestedArrowColumn(to types.DataType, vals []types.Value) (column, error) {
	at, err := types.ArrowType(to)
	if err != nil {
		return column{}, err
	}
	b := array.NewBuilder(memory.DefaultAllocator, at)
	defer b.Release()
	for _, v := range vals {
		if err := types.AppendValue(b, v); err != nil {
			return column{}, err
		}
	}
	return column{arr: b.NewArray()}, nil
}
