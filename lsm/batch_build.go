package lsm

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/siltdb/silt/types"
)

// Building output columns from selected rows of decoded batches (a take)
// and from the boxed rows of merged keys, straight into Arrow buffers.

// layout is how a column's values are stored.
type layout uint8

const (
	layoutBits  layout = iota // BOOLEAN: a bitmap
	layoutFixed               // width bytes per value
	layoutVar                 // STRING/BYTES: int32 offsets and data
)

// colOut builds one column.
type colOut struct {
	at     arrow.DataType
	to     types.DataType
	layout layout
	width  int
	n      int
	nulls  int
	valid  []byte // allocated at the first NULL
	vals   []byte
	offs   []int32
	data   []byte
	// nb builds a nested column value by value (the slow path).
	nb array.Builder
}

func newColOut(to types.DataType, capacity int) (*colOut, error) {
	at, err := types.ArrowType(to)
	if err != nil {
		return nil, err
	}
	o := &colOut{at: at, to: to}
	if to.IsNested() {
		o.nb = array.NewBuilder(memory.DefaultAllocator, at)
		return o, nil
	}
	switch to.Kind {
	case types.Boolean:
		o.layout = layoutBits
		o.vals = make([]byte, 0, bitmapBytes(capacity))
	case types.String, types.Bytes:
		o.layout = layoutVar
		o.offs = make([]int32, 1, capacity+1)
	default:
		o.layout = layoutFixed
		o.width = at.(arrow.FixedWidthDataType).BitWidth() / 8
		o.vals = make([]byte, 0, capacity*o.width)
	}
	return o, nil
}

// setNull marks the value about to be appended (row o.n) NULL.
func (o *colOut) setNull() {
	if o.valid == nil {
		o.valid = make([]byte, bitmapBytes(o.n+1), bitmapBytes(max(o.n+1, 1024)))
		for r := 0; r < o.n; r++ {
			o.valid[r>>3] |= 1 << (r & 7)
		}
	}
	o.growValid()
	o.nulls++
}

// setValid marks row o.n valid (when a bitmap exists).
func (o *colOut) setValid() {
	if o.valid != nil {
		o.growValid()
		o.valid[o.n>>3] |= 1 << (o.n & 7)
	}
}

func (o *colOut) growValid() {
	for len(o.valid) <= o.n>>3 {
		o.valid = append(o.valid, 0)
	}
}

// appendZero appends the zero value of the column (the slot of a NULL).
func (o *colOut) appendZero() {
	switch o.layout {
	case layoutBits:
		if o.n&7 == 0 {
			o.vals = append(o.vals, 0)
		}
	case layoutFixed:
		for range o.width {
			o.vals = append(o.vals, 0)
		}
	case layoutVar:
		o.offs = append(o.offs, int32(len(o.data)))
	}
}

// appendNull appends a NULL.
func (o *colOut) appendNull() {
	if o.nb != nil {
		o.nb.AppendNull()
		o.nulls++
		o.n++
		return
	}
	o.setNull()
	o.appendZero()
	o.n++
}

// appendValue appends v (the column type's Go value, or nil).
func (o *colOut) appendValue(v types.Value) error {
	if v == nil {
		o.appendNull()
		return nil
	}
	if o.nb != nil {
		if err := types.AppendValue(o.nb, v); err != nil {
			return err
		}
		o.n++
		return nil
	}
	ok := true
	switch x := v.(type) {
	case bool:
		ok = o.to.Kind == types.Boolean
		if ok {
			o.appendBit(x)
		}
	case int32:
		ok = o.width == 4
		o.vals = append(o.vals, arrow.Int32Traits.CastToBytes([]int32{x})...)
	case types.Date:
		ok = o.width == 4
		o.vals = append(o.vals, arrow.Int32Traits.CastToBytes([]int32{int32(x)})...)
	case int64:
		ok = o.width == 8
		o.vals = append(o.vals, arrow.Int64Traits.CastToBytes([]int64{x})...)
	case types.Timestamp:
		ok = o.width == 8
		o.vals = append(o.vals, arrow.Int64Traits.CastToBytes([]int64{int64(x)})...)
	case types.TimeOfDay:
		ok = o.width == 8
		o.vals = append(o.vals, arrow.Int64Traits.CastToBytes([]int64{int64(x)})...)
	case types.TimestampLTZ:
		ok = o.width == 8
		o.vals = append(o.vals, arrow.Int64Traits.CastToBytes([]int64{int64(x)})...)
	case types.UUID:
		ok = o.width == 16
		o.vals = append(o.vals, x[:]...)
	case float32:
		ok = o.width == 4
		o.vals = append(o.vals, arrow.Float32Traits.CastToBytes([]float32{x})...)
	case float64:
		ok = o.width == 8
		o.vals = append(o.vals, arrow.Float64Traits.CastToBytes([]float64{x})...)
	case types.Decimal:
		ok = o.width == 16
		o.vals = append(o.vals, arrow.Decimal128Traits.CastToBytes([]decimal128.Num{decimal128.FromI64(int64(x))})...)
	case types.Decimal128:
		ok = o.width == 16
		o.vals = append(o.vals, arrow.Decimal128Traits.CastToBytes([]decimal128.Num{x.Num()})...)
	case string:
		ok = o.layout == layoutVar
		o.data = append(o.data, x...)
		o.offs = append(o.offs, int32(len(o.data)))
	case []byte:
		ok = o.layout == layoutVar
		o.data = append(o.data, x...)
		o.offs = append(o.offs, int32(len(o.data)))
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%w: value of Go type %T in a %s column", types.ErrInvalid, v, o.to)
	}
	o.setValid()
	o.n++
	return nil
}

func (o *colOut) appendBit(v bool) {
	if o.n&7 == 0 {
		o.vals = append(o.vals, 0)
	}
	if v {
		o.vals[o.n>>3] |= 1 << (o.n & 7)
	}
}

// take appends row r of src, a decoded column of the same type.
func (o *colOut) take(src *column, r int) {
	if o.nb != nil {
		_ = o.appendValue(types.ValueAt(src.arr, r)) // of the column's own type
		return
	}
	if src.valid != nil && !bitSet(src.valid, r) {
		o.appendNull()
		return
	}
	switch o.layout {
	case layoutBits:
		o.appendBit(bitSet(src.vals, r))
	case layoutFixed:
		o.appendFixed(src.vals, r)
	case layoutVar:
		o.data = append(o.data, src.data[src.offs[r]:src.offs[r+1]]...)
		o.offs = append(o.offs, int32(len(o.data)))
	}
	o.setValid()
	o.n++
}

// appendFixed appends fixed-width value r of vals: a word copy, not a
// memmove, for the widths silt uses.
func (o *colOut) appendFixed(vals []byte, r int) {
	le := binary.LittleEndian
	switch o.width {
	case 4:
		o.vals = le.AppendUint32(o.vals, le.Uint32(vals[r*4:]))
	case 8:
		o.vals = le.AppendUint64(o.vals, le.Uint64(vals[r*8:]))
	case 16:
		o.vals = le.AppendUint64(le.AppendUint64(o.vals, le.Uint64(vals[r*16:])), le.Uint64(vals[r*16+8:]))
	default:
		o.vals = append(o.vals, vals[r*o.width:(r+1)*o.width]...)
	}
}

// takeRange appends rows [from, to) of src.
func (o *colOut) takeRange(src *column, from, to int) {
	if src.valid != nil || o.layout == layoutBits || (o.valid != nil) || o.nb != nil {
		for r := from; r < to; r++ {
			o.take(src, r)
		}
		return
	}
	switch o.layout {
	case layoutFixed:
		if to-from == 1 {
			o.appendFixed(src.vals, from)
			break
		}
		o.vals = append(o.vals, src.vals[from*o.width:to*o.width]...)
	case layoutVar:
		base := int32(len(o.data)) - src.offs[from]
		o.data = append(o.data, src.data[src.offs[from]:src.offs[to]]...)
		for _, off := range src.offs[from+1 : to+1] {
			o.offs = append(o.offs, off+base)
		}
	}
	o.n += to - from
}

// finish returns the built column.
func (o *colOut) finish() column {
	if o.nb != nil {
		a := o.nb.NewArray()
		o.nb.Release()
		return column{arr: a}
	}
	col := column{vals: o.vals, offs: o.offs, data: o.data}
	if o.nulls > 0 {
		col.valid = o.valid[:bitmapBytes(o.n)]
	}
	if o.layout == layoutVar {
		col.vals = nil
	}
	if col.vals == nil && o.layout != layoutVar {
		col.vals = []byte{}
	}
	if o.layout == layoutVar && col.data == nil {
		col.data = []byte{}
	}
	col.arr = col.makeArray(o.at, o.n, o.nulls)
	return col
}

// nullArrays caches all-NULL arrays by type and length: a projection's
// unread columns share one per batch length. Their buffers are slices of
// one zeroed slab (Arrow buffers are never written once built), so a batch
// of 64Ki rows with several unread columns costs one allocation, not one
// per column and buffer.
type nullArrays struct {
	m    map[nullKey]arrow.Array
	zero []byte // all zero; shared by the arrays' buffers
}

type nullKey struct {
	t string
	n int
}

func (m *nullArrays) get(at arrow.DataType, n int) arrow.Array {
	k := nullKey{at.Fingerprint(), n}
	if a, ok := m.m[k]; ok {
		return a
	}
	if m.m == nil || len(m.m) > 64 {
		m.m = map[nullKey]arrow.Array{}
	}
	a := m.build(at, n)
	m.m[k] = a
	return a
}

// build makes an all-NULL array of n rows over the zero slab: a validity
// bitmap of zeros, zero values (or all-zero offsets and no data).
func (m *nullArrays) build(at arrow.DataType, n int) arrow.Array {
	var values int
	switch t := at.(type) {
	case *arrow.BooleanType:
		values = bitmapBytes(n)
	case *arrow.StringType, *arrow.BinaryType:
		values = 4 * (n + 1)
	case arrow.FixedWidthDataType:
		if t.BitWidth()%8 != 0 {
			return array.MakeArrayOfNull(memory.DefaultAllocator, at, n)
		}
		values = t.BitWidth() / 8 * n
	default:
		return array.MakeArrayOfNull(memory.DefaultAllocator, at, n)
	}
	if need := max(values, bitmapBytes(n)); len(m.zero) < need {
		m.zero = make([]byte, need)
	}
	buf := func(size int) *memory.Buffer { return memory.NewBufferBytes(m.zero[:size:size]) }
	bufs := []*memory.Buffer{buf(bitmapBytes(n)), buf(values)}
	switch at.(type) {
	case *arrow.StringType, *arrow.BinaryType:
		bufs = append(bufs, memory.NewBufferBytes([]byte{}))
	}
	data := array.NewData(at, n, bufs, nil, n, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// takeSegments builds column c from segments of decoded batches when none
// of them holds a NULL in c (and none is a boxed row): one allocation per
// buffer and a word copy per value, instead of colOut's appends. ok is
// false when the column does not qualify.
func takeSegments(at arrow.DataType, segs []segment, c, n int) (col column, ok bool) {
	var l layout
	width := 0
	for _, s := range segs {
		if s.b == nil || s.b.cols[c].arr == nil || s.b.cols[c].valid != nil {
			return column{}, false
		}
	}
	switch at.ID() {
	case arrow.BOOL:
		return column{}, false
	case arrow.STRING, arrow.BINARY:
		l = layoutVar
	default:
		fw, isFixed := at.(arrow.FixedWidthDataType)
		if !isFixed {
			return column{}, false
		}
		l, width = layoutFixed, fw.BitWidth()/8
	}
	if l == layoutVar {
		total := 0
		for _, s := range segs {
			src := &s.b.cols[c]
			total += int(src.offs[s.to] - src.offs[s.from])
		}
		if total > math.MaxInt32 {
			return column{}, false
		}
		col.data = make([]byte, 0, total)
		col.offs = make([]int32, 1, n+1)
		for _, s := range segs {
			src := &s.b.cols[c]
			base := int32(len(col.data)) - src.offs[s.from]
			col.data = append(col.data, src.data[src.offs[s.from]:src.offs[s.to]]...)
			for _, off := range src.offs[s.from+1 : s.to+1] {
				col.offs = append(col.offs, off+base)
			}
		}
	} else {
		col.vals = make([]byte, n*width)
		le := binary.LittleEndian
		pos := 0
		for _, s := range segs {
			src := s.b.cols[c].vals
			if s.to-s.from == 1 {
				r := s.from
				switch width {
				case 4:
					le.PutUint32(col.vals[pos:], le.Uint32(src[r*4:]))
				case 8:
					le.PutUint64(col.vals[pos:], le.Uint64(src[r*8:]))
				case 16:
					le.PutUint64(col.vals[pos:], le.Uint64(src[r*16:]))
					le.PutUint64(col.vals[pos+8:], le.Uint64(src[r*16+8:]))
				default:
					copy(col.vals[pos:pos+width], src[r*width:])
				}
				pos += width
				continue
			}
			pos += copy(col.vals[pos:], src[s.from*width:s.to*width])
		}
		if pos != n*width {
			return column{}, false
		}
	}
	col.arr = col.makeArray(at, n, 0)
	return col, true
}
