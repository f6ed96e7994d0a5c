package lsm

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// pageChunkRows is how many rows a column writer receives at a time. A
// column writer checks its page size after each call, so the chunking
// decides the page boundaries: 64 is what parquet.Writer.WriteRows uses,
// which keeps the files the columnar encoder writes byte-identical to the
// ones the row encoder wrote.
const pageChunkRows = 64

// pendingRow is a row appended to the current file and not yet handed to
// the column writers: a record, or row of a change batch's columns with
// its hidden values.
type pendingRow struct {
	rec  *Record
	cols []arrow.Array
	row  int
	key  []byte
	seq  int64 // as stored (base subtracted)
	kind int32 // as stored (with kindResetBit)
}

// resetColumns forgets the pending rows.
func (fw *fileWriter) resetColumns() {
	clear(fw.pend)
	fw.pend = fw.pend[:0]
	fw.pending = 0
}

// writeColumns hands the pending rows to the column writers column by
// column, converting pageChunkRows values at a time.
func (fw *fileWriter) writeColumns() error {
	cws := fw.w.ColumnWriters()
	fw.scratches()
	err := fw.eachColumn(len(cws), func(w, c int) error {
		scratch := fw.scratch[w][:0]
		for lo := 0; lo < len(fw.pend); lo += pageChunkRows {
			vals := fw.fill(scratch, fw.pend[lo:min(lo+pageChunkRows, len(fw.pend))], c)
			if _, err := cws[c].WriteRowValues(vals); err != nil {
				return fmt.Errorf("encoding column %d: %w", c, err)
			}
		}
		clear(scratch[:pageChunkRows]) // no references into the rows' memory
		return nil
	})
	if err != nil {
		return err
	}
	fw.resetColumns()
	return nil
}

// fill appends the values of file column c of rows, checked when the rows
// were appended. Only the definition level of a non-NULL value of an
// optional column is set: the column writers read no other level and not
// the column index of a value.
func (fw *fileWriter) fill(vals []parquet.Value, rows []pendingRow, c int) []parquet.Value {
	switch c {
	case 0:
		for i := range rows {
			vals = append(vals, parquet.ByteArrayValue(rows[i].key))
		}
		return vals
	case 1:
		for i := range rows {
			vals = append(vals, parquet.Int64Value(rows[i].seq))
		}
		return vals
	case 2:
		for i := range rows {
			vals = append(vals, parquet.Int32Value(rows[i].kind))
		}
		return vals
	}
	f := c - numHidden
	t := fw.schema.Fields[f].Type
	opt := fw.optional[f]
	for i := 0; i < len(rows); {
		p := &rows[i]
		if p.cols != nil {
			// The following rows of the same array convert in one loop.
			a := p.cols[f]
			j := i + 1
			for j < len(rows) && rows[j].cols != nil && rows[j].cols[f] == a {
				j++
			}
			vals = appendArrow(vals, a, rows[i:j], t, opt, c)
			i = j
			continue
		}
		v := recordValue(p.rec.Row[f], t)
		if opt && !v.IsNull() {
			v = v.Level(0, 1, c)
		}
		vals = append(vals, v)
		i++
	}
	return vals
}

// appendArrow appends the values of rows of array a (checked when they
// were appended), as fill does, with one type switch for all of them.
func appendArrow(vals []parquet.Value, a arrow.Array, rows []pendingRow, t types.DataType, opt bool, c int) []parquet.Value {
	put := func(v parquet.Value) {
		if opt {
			v = v.Level(0, 1, c)
		}
		vals = append(vals, v)
	}
	switch x := a.(type) {
	case *array.Int32:
		for i := range rows {
			if r := rows[i].row; x.IsNull(r) {
				vals = append(vals, parquet.Value{})
			} else {
				put(parquet.Int32Value(x.Value(r)))
			}
		}
	case *array.Int64:
		for i := range rows {
			if r := rows[i].row; x.IsNull(r) {
				vals = append(vals, parquet.Value{})
			} else {
				put(parquet.Int64Value(x.Value(r)))
			}
		}
	case *array.String:
		for i := range rows {
			if r := rows[i].row; x.IsNull(r) {
				vals = append(vals, parquet.Value{})
			} else {
				s := x.Value(r)
				put(parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s))))
			}
		}
	case *array.Timestamp:
		for i := range rows {
			if r := rows[i].row; x.IsNull(r) {
				vals = append(vals, parquet.Value{})
			} else {
				put(parquet.Int64Value(int64(x.Value(r))))
			}
		}
	default:
		for i := range rows {
			r := rows[i].row
			if a.IsNull(r) {
				vals = append(vals, parquet.Value{})
				continue
			}
			v, _ := arrowParquet(a, r, t)
			put(v)
		}
	}
	return vals
}

// recordValue converts a checked value of a column type; nil is NULL.
// Strings are not copied: the column writer copies them.
func recordValue(v types.Value, t types.DataType) parquet.Value {
	if v == nil {
		return parquet.Value{}
	}
	switch t.Kind {
	case types.Boolean:
		return parquet.BooleanValue(v.(bool))
	case types.Int:
		return parquet.Int32Value(v.(int32))
	case types.BigInt:
		return parquet.Int64Value(v.(int64))
	case types.Float:
		return parquet.FloatValue(v.(float32))
	case types.Double:
		return parquet.DoubleValue(v.(float64))
	case types.DecimalKind:
		if t.Is128() {
			pv, _ := decimalValue(v.(types.Decimal128), t) // checked by valueFits
			return pv
		}
		if t.Precision <= 9 {
			return parquet.Int32Value(int32(v.(types.Decimal)))
		}
		return parquet.Int64Value(int64(v.(types.Decimal)))
	case types.String:
		s := v.(string)
		return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
	case types.Bytes:
		return parquet.ByteArrayValue(v.([]byte))
	case types.DateKind:
		return parquet.Int32Value(int32(v.(types.Date)))
	case types.TimestampKind:
		return parquet.Int64Value(int64(v.(types.Timestamp)))
	}
	return parquet.Value{}
}

// storedKind is the _kind value of a record.
func storedKind(kind types.RowKind, reset bool) int32 {
	k := int32(kind)
	if reset {
		k |= kindResetBit
	}
	return k
}

// appendRecord appends a record to the pending rows after checking its
// values; on an error nothing is appended. r must stay unchanged until
// the rows are written.
func (fw *fileWriter) appendRecord(r *Record) error {
	for i, v := range r.Row {
		if v == nil {
			if !fw.optional[i] {
				return fmt.Errorf("%w: NULL in NOT NULL column %q", types.ErrInvalid, fw.schema.Fields[i].Name)
			}
			continue
		}
		if !valueFits(v, fw.schema.Fields[i].Type) {
			return fmt.Errorf("%w: column %q: value of Go type %T is not a %s", types.ErrInvalid, fw.schema.Fields[i].Name, v, fw.schema.Fields[i].Type)
		}
	}
	fw.pend = append(fw.pend, pendingRow{rec: r, key: r.Key, seq: r.Seq - fw.base, kind: storedKind(r.Kind, r.Reset)})
	fw.pending++
	return nil
}

// valueFits reports whether v has the Go type of a column kind.
func valueFits(v types.Value, t types.DataType) bool {
	var ok bool
	switch t.Kind {
	case types.Boolean:
		_, ok = v.(bool)
	case types.Int:
		_, ok = v.(int32)
	case types.BigInt:
		_, ok = v.(int64)
	case types.Float:
		_, ok = v.(float32)
	case types.Double:
		_, ok = v.(float64)
	case types.DecimalKind:
		if t.Is128() {
			return decimal128Fits(v, t)
		}
		_, ok = v.(types.Decimal)
	case types.String:
		_, ok = v.(string)
	case types.Bytes:
		_, ok = v.([]byte)
	case types.DateKind:
		_, ok = v.(types.Date)
	case types.TimestampKind:
		_, ok = v.(types.Timestamp)
	}
	return ok
}

// appendBatchRow appends row i of a change batch's columns with the given
// hidden values after checking its values (the arrays have the Arrow
// types of their columns, see WriteRun); on an error nothing is appended.
func (fw *fileWriter) appendBatchRow(cols []arrow.Array, i int, key []byte, seq int64, kind types.RowKind) error {
	for c, f := range fw.schema.Fields {
		a := cols[c]
		if a.IsNull(i) {
			if !fw.optional[c] {
				return fmt.Errorf("%w: NULL in NOT NULL column %q", types.ErrInvalid, f.Name)
			}
			continue
		}
		// WriteRun checked the Arrow types: only a DECIMAL can fail.
		if f.Type.Kind == types.DecimalKind {
			if _, err := arrowParquet(a, i, f.Type); err != nil {
				return fmt.Errorf("column %q: %w", f.Name, err)
			}
		}
	}
	fw.pend = append(fw.pend, pendingRow{cols: cols, row: i, key: key, seq: seq - fw.base, kind: storedKind(kind, false)})
	fw.pending++
	return nil
}

// arrowParquet converts the non-NULL value i of an array of the Arrow type
// types.ArrowType gives for t. Byte-array values alias the array's memory
// until the column writer copies them.
func arrowParquet(a arrow.Array, i int, t types.DataType) (parquet.Value, error) {
	switch x := a.(type) {
	case *array.Boolean:
		return parquet.BooleanValue(x.Value(i)), nil
	case *array.Int32:
		return parquet.Int32Value(x.Value(i)), nil
	case *array.Int64:
		return parquet.Int64Value(x.Value(i)), nil
	case *array.Float32:
		return parquet.FloatValue(x.Value(i)), nil
	case *array.Float64:
		return parquet.DoubleValue(x.Value(i)), nil
	case *array.Decimal128:
		v := x.Value(i)
		if t.Is128() {
			if pv, ok := decimalValue(types.Decimal128(v), t); ok {
				return pv, nil
			}
			return parquet.Value{}, fmt.Errorf("%w: decimal value does not fit %s", types.ErrInvalid, t)
		}
		lo := int64(v.LowBits())
		if hi := v.HighBits(); (lo < 0 && hi != -1) || (lo >= 0 && hi != 0) {
			return parquet.Value{}, fmt.Errorf("%w: decimal value out of the 64-bit range", types.ErrInvalid)
		}
		if t.Precision <= 9 {
			return parquet.Int32Value(int32(lo)), nil
		}
		return parquet.Int64Value(lo), nil
	case *array.String:
		s := x.Value(i)
		return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s))), nil
	case *array.Binary:
		return parquet.ByteArrayValue(x.Value(i)), nil
	case *array.Date32:
		return parquet.Int32Value(int32(x.Value(i))), nil
	case *array.Timestamp:
		return parquet.Int64Value(int64(x.Value(i))), nil
	}
	return parquet.Value{}, fmt.Errorf("%w: unsupported Arrow array %T for %s", types.ErrInvalid, a, t)
}

// appendRef appends a RowRef record, its values read from its batch's
// arrays (decoded from a data file: only NULLs need checking); on an
// error nothing is appended.
func (fw *fileWriter) appendRef(r *Record, ref *RowRef) error {
	cols := ref.B.arrays()
	if len(cols) != len(fw.schema.Fields) {
		return fmt.Errorf("%w: batch has %d columns, schema has %d", types.ErrInvalid, len(cols), len(fw.schema.Fields))
	}
	for c, f := range fw.schema.Fields {
		if cols[c] == nil {
			return fmt.Errorf("%w: column %q was not decoded", types.ErrInvalid, f.Name)
		}
		if !fw.optional[c] && cols[c].IsNull(ref.R) {
			return fmt.Errorf("%w: NULL in NOT NULL column %q", types.ErrInvalid, f.Name)
		}
	}
	fw.pend = append(fw.pend, pendingRow{cols: cols, row: ref.R, key: r.Key, seq: r.Seq - fw.base, kind: storedKind(r.Kind, r.Reset)})
	fw.pending++
	return nil
}
