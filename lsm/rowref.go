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

// refApproxBytes is Record.ApproxBytes of the boxed row, computed from
// the arrays, so that buffers fill as they did with boxed records.
func (ref *RowRef) approxBytes(key []byte) int64 {
	b := ref.B
	n := int64(96 + len(key) + 16*len(b.cols))
	for c := range b.cols {
		a := b.cols[c].arr
		if a == nil || a.IsNull(ref.R) {
			continue
		}
		switch x := a.(type) {
		case *array.String:
			n += int64(x.ValueLen(ref.R)) + 16
		case *array.Binary:
			n += int64(x.ValueLen(ref.R)) + 24
		default:
			n += 8
		}
	}
	return n
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
