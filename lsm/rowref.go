package lsm

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/siltdb/silt/types"
)

// Records standing for a row of a decoded batch. A compaction's merge
// pulls records, but most keys have one record, which comes out of the
// merge unchanged: boxing its values into a types.Row only to encode them
// again costs most of a compaction's CPU. A RowRef record carries the
// row's hidden values in its fields and, as its only value, a *RowRef
// naming the row; WritePieces encodes it from the batch's arrays, as
// WriteRun encodes a change batch. Whoever must read its values (a merge
// engine merging several records of a key) boxes it with Box first.

// RowRef is row R of batch B.
type RowRef struct {
	B *Batch
	R int
}

// RefRecord returns row r as a RowRef record (Merged, SeqBase added).
func (b *Batch) RefRecord(r int) Record {
	if b.refRows == nil { // one allocation per batch, not two per row
		b.refs = make([]RowRef, b.rows)
		b.refRows = make(types.Row, b.rows)
		for i := range b.refs {
			b.refs[i] = RowRef{b, i}
			b.refRows[i] = &b.refs[i]
		}
	}
	k := b.kind[r]
	return Record{Key: b.Key(r), Seq: b.seq[r], Kind: types.RowKind(k & 3), Reset: k&kindResetBit != 0,
		Merged: true, Row: b.refRows[r : r+1 : r+1]}
}

// Record returns row r with its values boxed. Columns the batch did not
// decode are NULL.
func (b *Batch) Record(r int) Record {
	rec := b.RefRecord(r)
	rec.Row = b.boxRow(r)
	return rec
}

func (b *Batch) boxRow(r int) types.Row {
	row := make(types.Row, len(b.cols))
	for c := range b.cols {
		if a := b.cols[c].arr; a != nil {
			row[c] = types.ValueAt(a, r)
		}
	}
	return row
}

// RefOf returns the row a RowRef record stands for, or nil.
func RefOf(r *Record) *RowRef {
	if len(r.Row) != 1 {
		return nil
	}
	ref, _ := r.Row[0].(*RowRef)
	return ref
}

// Box returns r with its values boxed when it is a RowRef record, else r.
func Box(r Record) Record {
	if ref := RefOf(&r); ref != nil {
		r.Row = ref.B.boxRow(ref.R)
	}
	return r
}

// Value returns value c of r's row, reading a RowRef record's batch.
func Value(r *Record, c int) types.Value {
	if ref := RefOf(r); ref != nil {
		if a := ref.B.cols[c].arr; a != nil {
			return types.ValueAt(a, ref.R)
		}
		return nil
	}
	if c >= len(r.Row) {
		return nil
	}
	return r.Row[c]
}

// arrays returns the batch's column arrays (nil where not decoded).
func (b *Batch) arrays() []arrow.Array {
	if b.arrs == nil {
		b.arrs = make([]arrow.Array, len(b.cols))
		for c := range b.cols {
			b.arrs[c] = b.cols[c].arr
		}
	}
	return b.arrs
}

// approxBytes is Record.ApproxBytes of the boxed row, computed from
// the arrays, so that buffers fill as they did with boxed records. The
// part every row of the batch shares is computed once (Batch.sizes).
func (ref *RowRef) approxBytes(key []byte) int64 {
	s := ref.B.sizes()
	n := s.base + int64(len(key))
	r := ref.R
	for i := range s.vars {
		v := &s.vars[i]
		if v.a.IsNull(r) {
			continue
		}
		switch {
		case v.str != nil:
			n += int64(v.str.ValueLen(r)) + 16
		case v.bin != nil:
			n += int64(v.bin.ValueLen(r)) + 24
		default:
			n += 8
		}
	}
	return n
}

// rowSizes is what approxBytes needs of a batch: the bytes every row
// counts (96, 16 per column, 8 per fixed-width column without NULLs) and
// the columns whose count varies by row (byte arrays, and fixed-width
// columns with NULLs).
type rowSizes struct {
	base int64
	vars []sizeCol
}

// sizeCol is a column whose approxBytes count varies by row.
type sizeCol struct {
	a   arrow.Array
	str *array.String
	bin *array.Binary
}

// sizes returns the batch's rowSizes, computed on first use (like
// RefRecord's refs, by the one goroutine that merges the batch).
func (b *Batch) sizes() *rowSizes {
	if b.rowSizes != nil {
		return b.rowSizes
	}
	s := &rowSizes{base: int64(96 + 16*len(b.cols))}
	for c := range b.cols {
		a := b.cols[c].arr
		if a == nil {
			continue
		}
		str, _ := a.(*array.String)
		bin, _ := a.(*array.Binary)
		if str == nil && bin == nil && a.NullN() == 0 {
			s.base += 8
			continue
		}
		s.vars = append(s.vars, sizeCol{a: a, str: str, bin: bin})
	}
	b.rowSizes = s
	return s
}

// refHasNull reports whether a RowRef's value c is NULL.
func (ref *RowRef) isNull(c int) bool {
	a := ref.B.cols[c].arr
	return a == nil || a.IsNull(ref.R)
}

// Batch returns the batch a RowRef record's row is in, or nil.
func BatchOf(r *Record) *Batch {
	if ref := RefOf(r); ref != nil {
		return ref.B
	}
	return nil
}

// MemBytes estimates the memory the batch's decoded data holds.
func (b *Batch) MemBytes() int64 {
	n := int64(len(b.key) + 4*len(b.koffs) + 8*len(b.seq) + 4*len(b.kind))
	for c := range b.cols {
		col := &b.cols[c]
		n += int64(len(col.valid) + len(col.vals) + 4*len(col.offs) + len(col.data))
	}
	return n
}
