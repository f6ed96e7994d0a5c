package lsm

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
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
	src  int32 // cols' index in fileWriter.srcs; -1 for a record
	key  []byte
	seq  int64 // as stored (base subtracted)
	kind int32 // as stored (with kindResetBit)
}

// resetColumns forgets the pending rows.
func (fw *fileWriter) resetColumns() {
	clear(fw.pend)
	fw.pend = fw.pend[:0]
	clear(fw.srcs)
	fw.srcs = fw.srcs[:0]
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
	if fw.leaves != nil { // the file has nested columns (nested_write.go)
		lc := &fw.leaves[c-numHidden]
		if lc.root != nil {
			return fw.fillNested(vals, rows, lc, c)
		}
		f = lc.field
	}
	t := fw.schema.Fields[f].Type
	opt := fw.optional[f]
	def := 0
	if opt {
		def = 1
	}
	if out, ok := fw.fillFlat(vals, rows, f, t, def); ok {
		return out
	}
	return fillRows(vals, rows, f, t, opt, c)
}

// fillRows is fill for a table column (f of file column c) value by
// value, for the types and arrays fillFlat does not convert.
func fillRows(vals []parquet.Value, rows []pendingRow, f int, t types.DataType, opt bool, c int) []parquet.Value {
	for i := 0; i < len(rows); {
		p := &rows[i]
		if p.cols != nil {
			// The following rows of change batches or decoded batches
			// convert in one loop, whichever arrays they come from.
			j := i + 1
			for j < len(rows) && rows[j].cols != nil {
				j++
			}
			vals = appendArrows(vals, rows[i:j], f, t, opt)
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

// appendArrows appends the values of column f of rows, all rows of
// arrays (checked when they were appended), as fill does: rows whose
// arrays have one Arrow type convert in one loop over the arrays' value
// slices, testing NULLs only in arrays that have them, and only the
// definition level is set (opt: 1 for a non-NULL value; the column
// writers read no other level).
func appendArrows(vals []parquet.Value, rows []pendingRow, f int, t types.DataType, opt bool) []parquet.Value {
	n := len(vals)
	vals = slices.Grow(vals, len(rows))[:n+len(rows)]
	out := vals[n:]
	def := 0
	if opt {
		def = 1
	}
	for done := 0; done < len(rows); {
		done += gatherArrows(out[done:], rows[done:], f, t, def)
	}
	return vals
}

// gatherArrows converts the values of column f of a prefix of rows into
// out, at least one row: the rows whose arrays have the Arrow type of the
// first row's array. It returns the length of the prefix.
func gatherArrows(out []parquet.Value, rows []pendingRow, f int, t types.DataType, def int) int {
	switch rows[0].cols[f].(type) {
	case *array.Int32:
		return gatherTyped(out, rows, f, def, (*array.Int32).Int32Values, parquet.Int32Value)
	case *array.Int64:
		return gatherTyped(out, rows, f, def, (*array.Int64).Int64Values, parquet.Int64Value)
	case *array.Float64:
		return gatherTyped(out, rows, f, def, (*array.Float64).Float64Values, parquet.DoubleValue)
	case *array.Float32:
		return gatherTyped(out, rows, f, def, (*array.Float32).Float32Values, parquet.FloatValue)
	case *array.Timestamp:
		return gatherTyped(out, rows, f, def, (*array.Timestamp).TimestampValues, func(v arrow.Timestamp) parquet.Value { return parquet.Int64Value(int64(v)) })
	case *array.Date32:
		return gatherTyped(out, rows, f, def, (*array.Date32).Date32Values, func(v arrow.Date32) parquet.Value { return parquet.Int32Value(int32(v)) })
	case *array.Decimal128:
		if t.Is128() {
			break // FIXED_LEN_BYTE_ARRAY: value by value below
		}
		// The values fit in 64 bits: checked when appended (change
		// batches) or decoded from a file.
		if t.Precision <= 9 {
			return gatherTyped(out, rows, f, def, (*array.Decimal128).Values, func(v decimal128.Num) parquet.Value { return parquet.Int32Value(int32(v.LowBits())) })
		}
		return gatherTyped(out, rows, f, def, (*array.Decimal128).Values, func(v decimal128.Num) parquet.Value { return parquet.Int64Value(int64(v.LowBits())) })
	case *array.String:
		return gatherStrings(out, rows, f, def)
	}
	// Other arrays (BOOLEAN, BYTES): value by value, the rows of this array.
	a := rows[0].cols[f]
	i := 0
	for ; i < len(rows) && rows[i].cols[f] == a; i++ {
		r := rows[i].row
		if a.IsNull(r) {
			out[i] = parquet.Value{}
			continue
		}
		v, _ := arrowParquet(a, r, t)
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return i
}

// gatherTyped converts the values of column f of the longest prefix of
// rows whose arrays are As, reading each array's value slice (values)
// once per run of its rows, and returns the prefix's length.
func gatherTyped[A interface {
	arrow.Array
	comparable
}, T any](out []parquet.Value, rows []pendingRow, f, def int, values func(A) []T, conv func(T) parquet.Value) int {
	var cur A
	var vs []T
	nulls := false
	for i := range rows {
		if a, ok := rows[i].cols[f].(A); !ok {
			return i
		} else if a != cur {
			cur, vs, nulls = a, values(a), a.NullN() > 0
		}
		r := rows[i].row
		if nulls && cur.IsNull(r) {
			out[i] = parquet.Value{}
			continue
		}
		v := conv(vs[r])
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return len(rows)
}

// gatherStrings is gatherTyped for STRING arrays: the values alias the
// arrays' memory until the column writer copies them.
func gatherStrings(out []parquet.Value, rows []pendingRow, f, def int) int {
	var cur *array.String
	nulls := false
	for i := range rows {
		if a, ok := rows[i].cols[f].(*array.String); !ok {
			return i
		} else if a != cur {
			cur, nulls = a, a.NullN() > 0
		}
		r := rows[i].row
		if nulls && cur.IsNull(r) {
			out[i] = parquet.Value{}
			continue
		}
		s := cur.Value(r)
		v := parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return len(rows)
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
	pv, _ := recordValueTemporal(v, t)
	return pv
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
			if e, failed := v.(MergeError); failed {
				return e
			}
			return fmt.Errorf("%w: column %q: value of Go type %T is not a %s", types.ErrInvalid, fw.schema.Fields[i].Name, v, fw.schema.Fields[i].Type)
		}
	}
	fw.pend = append(fw.pend, pendingRow{rec: r, src: -1, key: r.Key, seq: r.Seq - fw.base, kind: storedKind(r.Kind, r.Reset)})
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
	case types.ArrayKind, types.MapKind, types.StructKind:
		ok = types.CheckValue(v, t) == nil
	default:
		ok = valueFitsTemporal(v, t)
	}
	return ok
}

// appendBatchRow appends row i of a change batch's columns with the given
// hidden values after checking its values (the arrays have the Arrow
// types of their columns, see WriteRun); on an error nothing is appended.
func (fw *fileWriter) appendBatchRow(cols []arrow.Array, i int, key []byte, seq int64, kind types.RowKind) error {
	src := fw.srcOf(cols)
	if !fw.srcValid(src, fw.batchValid) {
		for c, f := range fw.schema.Fields {
			a := cols[c]
			if a.IsNull(i) {
				if !fw.optional[c] {
					return fmt.Errorf("%w: NULL in NOT NULL column %q", types.ErrInvalid, f.Name)
				}
				continue
			}
			// WriteRun checked the Arrow types: only a DECIMAL can fail here.
			if f.Type.Kind == types.DecimalKind {
				if _, err := arrowParquet(a, i, f.Type); err != nil {
					return fmt.Errorf("column %q: %w", f.Name, err)
				}
			}
		}
	}
	// Checks batchValid does not make: NOT NULL nested fields and TIME
	// ranges, for the schemas that have such columns.
	for _, c := range fw.valueCheckColumns() {
		a, f := cols[c], &fw.schema.Fields[c]
		if a.IsNull(i) {
			continue
		}
		if f.Type.IsNested() {
			if err := types.CheckValue(types.ValueAt(a, i), f.Type); err != nil {
				return fmt.Errorf("column %q: %w", f.Name, err)
			}
		}
		if err := checkArrowTemporal(a, i, f.Type); err != nil {
			return fmt.Errorf("column %q: %w", f.Name, err)
		}
	}
	fw.pend = append(fw.pend, pendingRow{cols: cols, row: i, src: src, key: key, seq: seq - fw.base, kind: storedKind(kind, false)})
	fw.pending++
	return nil
}

// batchValid reports whether every row of a change batch's columns passes
// appendBatchRow's checks (no NULL in a required column, every DECIMAL in
// the 64-bit range), checking each batch once: a flush interleaves the
// rows of a few batches, so checking whole arrays once is cheaper than
// checking every row. A batch that fails is checked row by row.
func (fw *fileWriter) batchValid(cols []arrow.Array) bool {
	if len(cols) == 0 {
		return false
	}
	if ok, seen := fw.checked[cols[0]]; seen {
		return ok
	}
	if fw.checked == nil {
		fw.checked = map[arrow.Array]bool{}
	}
	ok := true
	for c := range fw.schema.Fields {
		a := cols[c]
		if !fw.optional[c] && a.NullN() > 0 {
			ok = false
			break
		}
		if d, isDec := a.(*array.Decimal128); isDec && !fw.schema.Fields[c].Type.Is128() && !decimalsFit(d) {
			ok = false
			break
		}
	}
	fw.checked[cols[0]] = ok
	return ok
}

// valueCheckColumns lists the columns whose values need a check per row
// beyond batchValid's: nested columns (NOT NULL nested fields) and TIME
// (a value within a day). Computed once per file writer.
func (fw *fileWriter) valueCheckColumns() []int {
	if fw.valueChecks == nil {
		fw.valueChecks = []int{}
		for c, f := range fw.schema.Fields {
			if f.Type.IsNested() || f.Type.Kind == types.TimeKind {
				fw.valueChecks = append(fw.valueChecks, c)
			}
		}
	}
	return fw.valueChecks
}

// decimalsFit reports whether every non-NULL value of a is in the 64-bit
// range arrowParquet accepts.
func decimalsFit(a *array.Decimal128) bool {
	for i, v := range a.Values() {
		lo, hi := int64(v.LowBits()), v.HighBits()
		if ((lo < 0 && hi != -1) || (lo >= 0 && hi != 0)) && !a.IsNull(i) {
			return false
		}
	}
	return true
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
	if v, ok := arrowParquetTemporal(a, i); ok {
		return v, nil
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
	src := fw.srcOf(cols)
	if !fw.srcValid(src, fw.refsValid) {
		for c, f := range fw.schema.Fields {
			if cols[c] == nil {
				return fmt.Errorf("%w: column %q was not decoded", types.ErrInvalid, f.Name)
			}
			if !fw.optional[c] && cols[c].IsNull(ref.R) {
				return fmt.Errorf("%w: NULL in NOT NULL column %q", types.ErrInvalid, f.Name)
			}
		}
	}
	fw.pend = append(fw.pend, pendingRow{cols: cols, row: ref.R, src: src, key: r.Key, seq: r.Seq - fw.base, kind: storedKind(r.Kind, r.Reset)})
	fw.pending++
	return nil
}

// refsValid reports whether every row of a decoded batch's arrays passes
// appendRef's checks: every column decoded, no NULL in a required one.
func (fw *fileWriter) refsValid(cols []arrow.Array) bool {
	for c := range fw.schema.Fields {
		if cols[c] == nil || (!fw.optional[c] && cols[c].NullN() > 0) {
			return false
		}
	}
	return true
}
