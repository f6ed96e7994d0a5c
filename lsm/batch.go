package lsm

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// Decoding row groups into Arrow arrays. DecodeBatch runs the columnar
// decoder of decode.go (with all its checks) and then lays the typed
// slices out as Arrow buffers: values are shared, not copied, where the
// stored and the read type have the same layout (INT, BIGINT, FLOAT,
// DOUBLE, DATE, TIMESTAMP, STRING and BYTES offsets); widenings
// (INT→BIGINT, FLOAT→DOUBLE, DECIMAL→decimal128) are one typed loop; the
// NULL flags become a validity bitmap. Nothing is boxed into a Value. The
// _key-against-key-columns check encodes the key straight from the typed
// slices.

// Batch is one row group decoded into Arrow arrays: the hidden columns and
// one array per read-schema field (see DecodeBatch).
type Batch struct {
	group int
	rows  int
	key   []byte   // row r's key is key[koffs[r]:koffs[r+1]]
	koffs []uint32 // rows+1 entries
	seq   []int64  // with the file's SeqBase added
	kind  []int32  // stored _kind: the RowKind, plus kindResetBit
	// uniqueKeys: decoding found no row whose key equals the previous
	// row's, so the merge takes runs of rows without comparing keys.
	uniqueKeys bool
	cols       []column      // per read-schema field; arr nil when not decoded
	arrs       []arrow.Array // the cols' arrays, built on demand (arrays)
	// refs and refRows back RefRecord's records.
	refs    []RowRef
	refRows types.Row
	// rowSizes backs RowRef.approxBytes (see sizes).
	rowSizes *rowSizes
}

// column is one decoded column in Arrow layout, with raw views of its
// buffers for the merge's take (batch_build.go).
type column struct {
	arr   arrow.Array
	valid []byte  // validity bitmap; nil when no row is NULL
	vals  []byte  // fixed-width values, or the bitmap of a BOOLEAN
	offs  []int32 // STRING/BYTES: rows+1 offsets into data
	data  []byte
}

// Len is the number of rows.
func (b *Batch) Len() int { return b.rows }

// Key returns row r's encoded key; it shares the batch's memory.
func (b *Batch) Key(r int) []byte { return b.key[b.koffs[r]:b.koffs[r+1]:b.koffs[r+1]] }

// Seq returns row r's sequence number (SeqBase added).
func (b *Batch) Seq(r int) int64 { return b.seq[r] }

// Kind returns row r's change type.
func (b *Batch) Kind(r int) types.RowKind { return types.RowKind(b.kind[r] & 3) }

// Column returns the array of read-schema field c, or nil when the
// projection did not decode it (its rows are NULL).
func (b *Batch) Column(c int) arrow.Array { return b.cols[c].arr }

// Hidden returns the _key, _seq (SeqBase added) and _kind columns as
// Arrow arrays sharing the batch's memory.
func (b *Batch) Hidden() (keys *array.Binary, seqs *array.Int64, kinds *array.Int32) {
	offs := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b.koffs))), len(b.koffs))
	keys = array.NewBinaryData(array.NewData(arrow.BinaryTypes.Binary, b.rows,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(b.key)}, nil, 0, 0))
	seqs = array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, b.rows,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(b.seq))}, nil, 0, 0))
	kinds = array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, b.rows,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(b.kind))}, nil, 0, 0))
	return keys, seqs, kinds
}

// DecodeBatch loads, verifies and decodes row group i into Arrow arrays,
// decoding only the columns opts selects (the others' Column is nil). It
// makes the checks Records makes (checksum, page bounds, key range,
// (key, seq) order, kinds, _key against the key columns when they are
// read); damage is an error wrapping types.ErrCorruption, never a panic.
func (f *FileReader) DecodeBatch(ctx context.Context, i int, opts ReadOptions) (*Batch, error) {
	return f.DecodeBatchWith(ctx, i, opts, nil)
}

// DecodeBatchWith is DecodeBatch reusing scratch's buffers (see Scratch;
// nil: buffers of its own).
func (f *FileReader) DecodeBatchWith(ctx context.Context, i int, opts ReadOptions, scratch *Scratch) (*Batch, error) {
	if i < 0 || i >= len(f.groups) {
		return nil, fmt.Errorf("%w: row group %d of %d", types.ErrInvalid, i, len(f.groups))
	}
	want, check, err := f.projection(opts)
	if err != nil {
		return nil, err
	}
	return f.decodeBatch(ctx, i, want, check, scratch)
}

func (f *FileReader) decodeBatch(ctx context.Context, i int, want []bool, check bool, scratch *Scratch) (*Batch, error) {
	ra, err := f.loadGroupInPlace(ctx, i)
	if err != nil {
		return nil, err
	}
	return f.decodeBatchLoadedWith(ctx, ra, i, want, check, scratch)
}

// decodeBatchLoaded is decodeBatch of row group i's verified bytes.
func (f *FileReader) decodeBatchLoaded(ctx context.Context, ra sliceReaderAt, i int, want []bool, check bool) (_ *Batch, err error) {
	return f.decodeBatchLoadedWith(ctx, ra, i, want, check, nil)
}

func (f *FileReader) decodeBatchLoadedWith(ctx context.Context, ra sliceReaderAt, i int, want []bool, check bool, scratch *Scratch) (_ *Batch, err error) {
	g, err := f.decodeLoadedWith(ctx, ra, i, want, check, scratch)
	if err != nil {
		return nil, err
	}
	defer recoverCorruption(&err, i)
	return f.toBatch(g)
}

// toBatch lays a decoded row group out as Arrow arrays.
func (f *FileReader) toBatch(g *groupBatch) (*Batch, error) {
	n := g.rows
	if len(g.key.offs) != n+1 || len(g.seq.i64) != n || len(g.kind.i32) != n {
		return nil, fmt.Errorf("%w: row group %d: hidden columns of the wrong length", types.ErrCorruption, g.group)
	}
	b := &Batch{group: g.group, rows: n, key: g.key.data, koffs: g.key.offs, seq: g.seq.i64, kind: g.kind.i32,
		uniqueKeys: !g.dupKeys, cols: make([]column, len(f.cols))}
	for r := range b.seq {
		b.seq[r] += f.seqBase
	}
	for c := range f.cols {
		if !g.want[c] {
			continue
		}
		rc := &f.cols[c]
		var err error
		if rc.file < 0 {
			b.cols[c], err = constColumn(rc.to, rc.def, n)
		} else {
			b.cols[c], err = arrowColumn(rc.to, &g.cols[c], n)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: row group %d column %d: %v", types.ErrCorruption, g.group, c, err)
		}
	}
	if g.check {
		if err := f.checkBatchKeys(b, g); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// arrowColumn converts a decoded chunk to the field type to (readableAs
// holds: mapColumns checked it).
func arrowColumn(to types.DataType, cv *colVals, n int) (column, error) {
	if cv.lenOf() != n {
		return column{}, fmt.Errorf("%d values for %d rows", cv.lenOf(), n)
	}
	if cv.vals != nil {
		return nestedArrowColumn(to, cv.vals)
	}
	at, err := types.ArrowType(to)
	if err != nil {
		return column{}, err
	}
	var col column
	nulls := 0
	if cv.null != nil {
		col.valid = make([]byte, bitmapBytes(n))
		for r, isNull := range cv.null[:n] {
			if isNull {
				nulls++
			} else {
				col.valid[r>>3] |= 1 << (r & 7)
			}
		}
		if nulls == 0 {
			col.valid = nil
		}
	}
	wrongKind := func() (column, error) { return column{}, fmt.Errorf("stored %s cannot be read as %s", cv.kind, to) }
	switch to.Kind {
	case types.Boolean:
		if cv.kind != parquet.Boolean {
			return wrongKind()
		}
		col.vals = make([]byte, bitmapBytes(n))
		for r, v := range cv.b[:n] {
			if v {
				col.vals[r>>3] |= 1 << (r & 7)
			}
		}
	case types.Int, types.DateKind:
		if cv.kind != parquet.Int32 {
			return wrongKind()
		}
		col.vals = arrow.Int32Traits.CastToBytes(cv.i32[:n])
	case types.BigInt, types.TimestampKind, types.TimeKind, types.TimestampLTZKind:
		switch cv.kind {
		case parquet.Int64:
			col.vals = arrow.Int64Traits.CastToBytes(cv.i64[:n])
		case parquet.Int32:
			w := make([]int64, n)
			for r, v := range cv.i32[:n] {
				w[r] = int64(v)
			}
			col.vals = arrow.Int64Traits.CastToBytes(w)
		default:
			return wrongKind()
		}
	case types.Float:
		if cv.kind != parquet.Float {
			return wrongKind()
		}
		col.vals = arrow.Float32Traits.CastToBytes(cv.f32[:n])
	case types.Double:
		switch cv.kind {
		case parquet.Double:
			col.vals = arrow.Float64Traits.CastToBytes(cv.f64[:n])
		case parquet.Float:
			w := make([]float64, n)
			for r, v := range cv.f32[:n] {
				w[r] = float64(v)
			}
			col.vals = arrow.Float64Traits.CastToBytes(w)
		default:
			return wrongKind()
		}
	case types.DecimalKind:
		w, ok := cv.decimalArrow(n)
		if !ok {
			return wrongKind()
		}
		col.vals = arrow.Decimal128Traits.CastToBytes(w)
	case types.String, types.Bytes:
		if cv.kind != parquet.ByteArray {
			return wrongKind()
		}
		if len(cv.offs) != n+1 || int(cv.offs[n]) > len(cv.data) || len(cv.data) > math.MaxInt32 {
			return column{}, fmt.Errorf("byte array offsets do not fit %d bytes", len(cv.data))
		}
		col.offs = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(cv.offs))), n+1)
		col.data = cv.data
	case types.UUIDKind:
		vals, ok := arrowColumnFixed(cv, n)
		if !ok {
			return wrongKind()
		}
		col.vals = vals
	default:
		return wrongKind()
	}
	col.arr = col.makeArray(at, n, nulls)
	return col, nil
}

// makeArray wraps the column's buffers in an Arrow array.
func (col *column) makeArray(at arrow.DataType, n, nulls int) arrow.Array {
	var valid *memory.Buffer
	if col.valid != nil {
		valid = memory.NewBufferBytes(col.valid)
	}
	bufs := []*memory.Buffer{valid, memory.NewBufferBytes(col.vals)}
	if col.offs != nil {
		bufs = []*memory.Buffer{valid, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(col.offs)), memory.NewBufferBytes(col.data)}
	}
	data := array.NewData(at, n, bufs, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// constColumn is a column the file lacks: its default repeated, or NULL.
func constColumn(to types.DataType, def types.Value, n int) (column, error) {
	out, err := newColOut(to, n)
	if err != nil {
		return column{}, err
	}
	for range n {
		if err := out.appendValue(def); err != nil {
			return column{}, err
		}
	}
	return out.finish(), nil
}

func bitmapBytes(n int) int { return (n + 7) >> 3 }

func bitSet(bm []byte, i int) bool { return bm[i>>3]>>(i&7)&1 == 1 }

// checkBatchKeys checks every row's _key against its key columns, encoding
// the key from the typed slices (types.EncodeRowKey's format).
func (f *FileReader) checkBatchKeys(b *Batch, g *groupBatch) error {
	var scratch []byte
	for r := 0; r < b.rows; r++ {
		scratch = scratch[:0]
		ok := true
		for _, k := range f.keyIdx {
			if scratch, ok = appendKeyValue(scratch, f.cols[k].to, &g.cols[k], r); !ok {
				break
			}
		}
		if !ok || !bytes.Equal(scratch, b.Key(r)) {
			return fmt.Errorf("%w: row group %d row %d: %s does not match the key columns", types.ErrCorruption, b.group, r, colKey)
		}
	}
	return nil
}

// appendKeyValue appends the key encoding of row r of a key column
// (stored with exactly the field's type, see mapColumns); false for a
// NULL or a type that cannot be a key.
func appendKeyValue(dst []byte, t types.DataType, cv *colVals, r int) ([]byte, bool) {
	if cv.null != nil && cv.null[r] {
		return dst, false
	}
	switch t.Kind {
	case types.Boolean:
		if cv.kind != parquet.Boolean {
			return dst, false
		}
		v := byte(0)
		if cv.b[r] {
			v = 1
		}
		return append(dst, byte(types.Boolean), v), true
	case types.Int, types.DateKind:
		if cv.kind != parquet.Int32 {
			return dst, false
		}
		return binary.BigEndian.AppendUint32(append(dst, byte(t.Kind)), uint32(cv.i32[r])^(1<<31)), true
	case types.BigInt, types.TimestampKind, types.DecimalKind, types.TimeKind, types.TimestampLTZKind:
		if t.Is128() {
			return appendDecimalKey(dst, cv, r)
		}
		var v int64
		switch cv.kind {
		case parquet.Int64:
			v = cv.i64[r]
		case parquet.Int32:
			v = int64(cv.i32[r])
		default:
			return dst, false
		}
		return binary.BigEndian.AppendUint64(append(dst, byte(t.Kind)), uint64(v)^(1<<63)), true
	case types.String, types.Bytes:
		if cv.kind != parquet.ByteArray {
			return dst, false
		}
		dst = append(dst, byte(t.Kind))
		for _, c := range cv.data[cv.offs[r]:cv.offs[r+1]] {
			if c == 0 {
				dst = append(dst, 0, 0xFF)
			} else {
				dst = append(dst, c)
			}
		}
		return append(dst, 0, 1), true
	case types.UUIDKind:
		if cv.kind != parquet.FixedLenByteArray || cv.width != uuidWidth || len(cv.fixed) < (r+1)*uuidWidth {
			return dst, false
		}
		return append(append(dst, byte(types.UUIDKind)), cv.fixed[r*uuidWidth:(r+1)*uuidWidth]...), true
	}
	return dst, false
}
