package lsm

import (
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// leafCol is a table column of a data file: the field it belongs to and,
// for a leaf of a nested field, the field's shape and the leaf's index in
// it.
type leafCol struct {
	field int
	root  *nnode // nil for a flat field
	leaf  int
}

// initLeaves maps the file columns to fields when the schema has a
// nested field (which spans several file columns); otherwise file column
// numHidden+i is field i and leaves stays nil.
func (fw *fileWriter) initLeaves() {
	fw.leaves = nil
	nested := false
	for _, f := range fw.schema.Fields {
		nested = nested || f.Type.IsNested()
	}
	if !nested {
		return
	}
	for i, f := range fw.schema.Fields {
		if !f.Type.IsNested() {
			fw.leaves = append(fw.leaves, leafCol{field: i})
			continue
		}
		n := 0
		root := buildNNode(f.Type, fw.optional[i], 0, 0, &n)
		for l := range n {
			fw.leaves = append(fw.leaves, leafCol{field: i, root: root, leaf: l})
		}
	}
}

// fillNested appends the values of leaf lc (file column c) of rows: each
// row's value of the nested field shredded into repetition and definition
// levels (the slow path: a row of a batch is boxed first).
func (fw *fileWriter) fillNested(vals []parquet.Value, rows []pendingRow, lc *leafCol, c int) []parquet.Value {
	for i := range rows {
		p := &rows[i]
		var v types.Value
		if p.cols != nil {
			if a := p.cols[lc.field]; !a.IsNull(p.row) {
				v = types.ValueAt(a, p.row)
			}
		} else {
			v = p.rec.Row[lc.field]
		}
		vals = lc.root.shred(vals, v, lc.leaf, 0, 0, c)
	}
	return vals
}
