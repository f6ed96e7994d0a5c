package lsm

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// Typed conversion of a chunk of pending rows (at most pageChunkRows) of
// one fixed-width or STRING column into parquet.Values, in two passes:
// gather reads each row's value into a typed array on the stack (from
// its record, or from its source's typed value slice, resolved once per
// chunk and source rather than per row), then a loop per Parquet type
// builds the Values. A flush's rows come from a few change batches in
// key order, so consecutive rows rarely share an array: resolving the
// array per row (an interface type assertion, the value slice, the NULL
// count) was most of the conversion's cost.

// numeric is the Go types a fixed-width column's values are read as.
type numeric interface {
	~int32 | ~int64 | ~float32 | ~float64
}

// maxChunkSources is the most sources (fw.srcs) a chunk's rows may span
// for the typed conversion; a chunk spanning more converts row by row.
const maxChunkSources = pageChunkRows

// pendSrc is a batch (change batch or decoded row group) that pending
// rows come from: its arrays, and whether every row of it passes the
// checks of the rows appended from it (valid: 0 not known yet, 1 yes, 2
// no, check row by row).
type pendSrc struct {
	cols  []arrow.Array
	valid int8
}

// srcOf is the index in fw.srcs of a batch's arrays, added when not among
// the last few (a repeated entry costs only its resolution per chunk).
func (fw *fileWriter) srcOf(cols []arrow.Array) int32 {
	for i := len(fw.srcs) - 1; i >= 0 && i >= len(fw.srcs)-16; i-- {
		if c := fw.srcs[i].cols; len(c) == len(cols) && (len(cols) == 0 || &c[0] == &cols[0]) {
			return int32(i)
		}
	}
	fw.srcs = append(fw.srcs, pendSrc{cols: cols})
	return int32(len(fw.srcs) - 1)
}

// srcValid reports whether every row of source s passes check, calling
// it once per source.
func (fw *fileWriter) srcValid(s int32, check func([]arrow.Array) bool) bool {
	p := &fw.srcs[s]
	if p.valid == 0 {
		p.valid = 2
		if check(p.cols) {
			p.valid = 1
		}
	}
	return p.valid == 1
}

// view is one source array's values of a column as S: value r is
// vs[r*stride]; nulls is the array when it has NULLs.
type view[S numeric] struct {
	vs     []S
	stride int
	nulls  arrow.Array
}

// viewer resolves an array's view, false for an array of another type.
type viewer[S numeric] func(a arrow.Array) (view[S], bool)

// reinterpret is s as a slice of another type of the same size.
func reinterpret[S, D any](s []S) []D {
	return unsafe.Slice((*D)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func int64View(a arrow.Array) (view[int64], bool) {
	switch x := a.(type) {
	case *array.Int64:
		return view[int64]{vs: x.Int64Values(), stride: 1}, true
	case *array.Timestamp:
		return view[int64]{vs: reinterpret[arrow.Timestamp, int64](x.TimestampValues()), stride: 1}, true
	}
	return view[int64]{}, false
}

func int32View(a arrow.Array) (view[int32], bool) {
	switch x := a.(type) {
	case *array.Int32:
		return view[int32]{vs: x.Int32Values(), stride: 1}, true
	case *array.Date32:
		return view[int32]{vs: reinterpret[arrow.Date32, int32](x.Date32Values()), stride: 1}, true
	}
	return view[int32]{}, false
}

// decimalView reads a 64-bit DECIMAL's values as their low 64 bits (the
// values were checked to fit when their rows were appended, or decoded
// from a file), the first half of each little-endian decimal128.Num.
func decimalView(a arrow.Array) (view[int64], bool) {
	x, ok := a.(*array.Decimal128)
	if !ok {
		return view[int64]{}, false
	}
	vs := x.Values()
	return view[int64]{vs: unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(vs))), 2*len(vs)), stride: 2}, true
}

func float64View(a arrow.Array) (view[float64], bool) {
	if x, ok := a.(*array.Float64); ok {
		return view[float64]{vs: x.Float64Values(), stride: 1}, true
	}
	return view[float64]{}, false
}

func float32View(a arrow.Array) (view[float32], bool) {
	if x, ok := a.(*array.Float32); ok {
		return view[float32]{vs: x.Float32Values(), stride: 1}, true
	}
	return view[float32]{}, false
}

// sourceRange is the smallest and largest source of rows' batch rows;
// ok is false when they span more than maxChunkSources sources. Without
// batch rows it returns (0, -1, true).
func sourceRange(rows []pendingRow) (lo, hi int32, ok bool) {
	lo, hi = int32(1<<31-1), -1
	for i := range rows {
		if s := rows[i].src; s >= 0 {
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	if hi < 0 {
		return 0, -1, true
	}
	return lo, hi, hi-lo < maxChunkSources
}

// gather reads the values of column f of rows into dst as T, marking
// NULLs in null: records' values are R, batch rows' values are read
// through their sources' views. It reports whether any value is NULL,
// and false in ok when a source's array is not one view resolves.
func gather[S numeric, R numeric, T numeric](dst []T, null []bool, rows []pendingRow, srcs []pendSrc, f int, resolve viewer[S]) (nulls, ok bool) {
	lo, hi, ok := sourceRange(rows)
	if !ok {
		return false, false
	}
	var buf [maxChunkSources]view[S]
	views := buf[:hi-lo+1]
	for s := lo; s <= hi; s++ {
		a := srcs[s].cols[f]
		v, ok := resolve(a)
		if !ok {
			return false, false
		}
		if a.NullN() > 0 {
			v.nulls = a
		}
		views[s-lo] = v
	}
	for i := range rows {
		p := &rows[i]
		if p.src < 0 {
			v := p.rec.Row[f]
			if null[i] = v == nil; null[i] {
				nulls = true
				continue
			}
			dst[i] = T(v.(R))
			continue
		}
		w := &views[p.src-lo]
		if w.nulls != nil && w.nulls.IsNull(p.row) {
			null[i], nulls = true, true
			continue
		}
		null[i] = false
		dst[i] = T(w.vs[p.row*w.stride])
	}
	return nulls, true
}

// The loops below append the Values of gathered values: NULL (the zero
// Value) where null is set when nulls, else the value with definition
// level def (the column writers read no other level).

func appendInt64s(vals []parquet.Value, xs []int64, null []bool, nulls bool, def int) []parquet.Value {
	n := len(vals)
	vals = vals[:n+len(xs)]
	out := vals[n:]
	for i, x := range xs {
		if nulls && null[i] {
			out[i] = parquet.Value{}
			continue
		}
		v := parquet.Int64Value(x)
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return vals
}

func appendInt32s(vals []parquet.Value, xs []int32, null []bool, nulls bool, def int) []parquet.Value {
	n := len(vals)
	vals = vals[:n+len(xs)]
	out := vals[n:]
	for i, x := range xs {
		if nulls && null[i] {
			out[i] = parquet.Value{}
			continue
		}
		v := parquet.Int32Value(x)
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return vals
}

func appendDoubles(vals []parquet.Value, xs []float64, null []bool, nulls bool, def int) []parquet.Value {
	n := len(vals)
	vals = vals[:n+len(xs)]
	out := vals[n:]
	for i, x := range xs {
		if nulls && null[i] {
			out[i] = parquet.Value{}
			continue
		}
		v := parquet.DoubleValue(x)
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return vals
}

func appendFloats(vals []parquet.Value, xs []float32, null []bool, nulls bool, def int) []parquet.Value {
	n := len(vals)
	vals = vals[:n+len(xs)]
	out := vals[n:]
	for i, x := range xs {
		if nulls && null[i] {
			out[i] = parquet.Value{}
			continue
		}
		v := parquet.FloatValue(x)
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return vals
}

// fillFlat appends the Values of column f (of type t) of rows, at most
// pageChunkRows, as fill does, for the column types converted by type
// (false for others, or when a source's array has another Arrow type or
// the rows span too many sources; vals is then unchanged). vals has room
// for the rows.
func (fw *fileWriter) fillFlat(vals []parquet.Value, rows []pendingRow, f int, t types.DataType, def int) ([]parquet.Value, bool) {
	n := len(rows)
	if n > pageChunkRows || cap(vals)-len(vals) < n {
		return vals, false
	}
	var null [pageChunkRows]bool
	nl := null[:n]
	switch t.Kind {
	case types.BigInt, types.TimestampKind:
		var xs [pageChunkRows]int64
		var nulls, ok bool
		if t.Kind == types.BigInt {
			nulls, ok = gather[int64, int64, int64](xs[:n], nl, rows, fw.srcs, f, int64View)
		} else {
			nulls, ok = gather[int64, types.Timestamp, int64](xs[:n], nl, rows, fw.srcs, f, int64View)
		}
		if ok {
			return appendInt64s(vals, xs[:n], nl, nulls, def), true
		}
	case types.Int, types.DateKind:
		var xs [pageChunkRows]int32
		var nulls, ok bool
		if t.Kind == types.Int {
			nulls, ok = gather[int32, int32, int32](xs[:n], nl, rows, fw.srcs, f, int32View)
		} else {
			nulls, ok = gather[int32, types.Date, int32](xs[:n], nl, rows, fw.srcs, f, int32View)
		}
		if ok {
			return appendInt32s(vals, xs[:n], nl, nulls, def), true
		}
	case types.DecimalKind:
		if t.Is128() {
			return vals, false
		}
		if t.Precision <= 9 {
			var xs [pageChunkRows]int32
			if nulls, ok := gather[int64, types.Decimal, int32](xs[:n], nl, rows, fw.srcs, f, decimalView); ok {
				return appendInt32s(vals, xs[:n], nl, nulls, def), true
			}
			return vals, false
		}
		var xs [pageChunkRows]int64
		if nulls, ok := gather[int64, types.Decimal, int64](xs[:n], nl, rows, fw.srcs, f, decimalView); ok {
			return appendInt64s(vals, xs[:n], nl, nulls, def), true
		}
	case types.Double:
		var xs [pageChunkRows]float64
		if nulls, ok := gather[float64, float64, float64](xs[:n], nl, rows, fw.srcs, f, float64View); ok {
			return appendDoubles(vals, xs[:n], nl, nulls, def), true
		}
	case types.Float:
		var xs [pageChunkRows]float32
		if nulls, ok := gather[float32, float32, float32](xs[:n], nl, rows, fw.srcs, f, float32View); ok {
			return appendFloats(vals, xs[:n], nl, nulls, def), true
		}
	case types.String:
		return fw.fillStrings(vals, rows, f, def)
	}
	return vals, false
}

// fillStrings is fillFlat for STRING columns: the Values alias the
// records' strings and the arrays' memory until the column writer copies
// them.
func (fw *fileWriter) fillStrings(vals []parquet.Value, rows []pendingRow, f int, def int) ([]parquet.Value, bool) {
	lo, hi, ok := sourceRange(rows)
	if !ok {
		return vals, false
	}
	var buf [maxChunkSources]*array.String
	var nulls [maxChunkSources]bool
	views := buf[:hi-lo+1]
	for s := lo; s <= hi; s++ {
		a, ok := fw.srcs[s].cols[f].(*array.String)
		if !ok {
			return vals, false
		}
		views[s-lo], nulls[s-lo] = a, a.NullN() > 0
	}
	n := len(vals)
	vals = vals[:n+len(rows)]
	out := vals[n:]
	for i := range rows {
		p := &rows[i]
		var s string
		if p.src < 0 {
			v := p.rec.Row[f]
			if v == nil {
				out[i] = parquet.Value{}
				continue
			}
			s = v.(string)
		} else {
			a := views[p.src-lo]
			if nulls[p.src-lo] && a.IsNull(p.row) {
				out[i] = parquet.Value{}
				continue
			}
			s = a.Value(p.row)
		}
		v := parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
		v.SetDefinitionLevel(def)
		out[i] = v
	}
	return vals, true
}
