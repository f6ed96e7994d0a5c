package table

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// checkBatch applies Write's checks to a change batch column by column.
// It returns how many leading rows are good and, if a row is bad, the
// error of the first bad one: "batch row N: ..." naming the column.
func (w *Writer) checkBatch(cols []arrow.Array, kinds *array.Int8, rows int) (int, error) {
	s := w.t.schema
	bad := rows // first bad row so far
	if kinds.NullN() > 0 {
		for r := 0; r < bad; r++ {
			if kinds.IsNull(r) {
				bad = r
				break
			}
		}
	}
	kv := kinds.Int8Values()
	for r := 0; r < bad; r++ {
		if !types.RowKind(kv[r]).Valid() {
			bad = r
			break
		}
	}
	isKey := make([]bool, len(s.Fields))
	for _, k := range w.t.keyIdx {
		isKey[k] = true
	}
	for c, f := range s.Fields {
		a := cols[c]
		if a.NullN() > 0 && (f.NotNull || isKey[c]) {
			for r := 0; r < bad; r++ {
				// NOT NULL binds +I/+U rows; a key column every row.
				if a.IsNull(r) && (isKey[c] || types.RowKind(kv[r]).IsAdd()) {
					bad = r
					break
				}
			}
		}
		if d, ok := a.(*array.Decimal128); ok {
			bad = firstDecimalMisfit(d, f.Type, bad)
		}
	}
	bad = w.t.firstRefusedRetraction(cols, kv, bad)
	if bad == rows {
		return rows, nil
	}
	return bad, fmt.Errorf("batch row %d: %w", bad, w.batchRowError(cols, kinds, bad))
}

// batchRowError is the error of a bad batch row: Write's message.
func (w *Writer) batchRowError(cols []arrow.Array, kinds *array.Int8, r int) error {
	if kinds.IsNull(r) {
		return fmt.Errorf("%w: NULL in %s", types.ErrInvalid, types.RowKindColumn)
	}
	kind := types.RowKind(kinds.Value(r))
	if !kind.Valid() {
		return fmt.Errorf("%w: bad row kind %d in %s (want 0..3: +I, -U, +U, -D)", types.ErrInvalid, kinds.Value(r), types.RowKindColumn)
	}
	for c, f := range w.t.schema.Fields {
		if d, ok := cols[c].(*array.Decimal128); ok && d.IsValid(r) && !decimalFits(d, r, f.Type) {
			return fmt.Errorf("%w: column %q: value %s does not fit %s", types.ErrInvalid, f.Name, d.ValueStr(r), f.Type)
		}
	}
	row := make(types.Row, len(cols))
	for c, a := range cols {
		row[c] = types.ValueAt(a, r)
	}
	if err := w.checkRow(kind, row); err != nil {
		return err
	}
	return fmt.Errorf("%w: rejected", types.ErrInvalid) // not reached: the checks agree
}

// pow10 is 10^p for the precisions of DECIMAL (at most 18).
func pow10(p int) int64 {
	n := int64(1)
	for range p {
		n *= 10
	}
	return n
}

// firstDecimalMisfit is the first of rows [0, n) of d whose value does not
// fit DECIMAL type t (see decimalFits), or n.
func firstDecimalMisfit(d *array.Decimal128, t types.DataType, n int) int {
	if t.Is128() {
		for r := 0; r < n; r++ {
			if d.IsValid(r) && !d.Value(r).FitsInPrecision(int32(t.Precision)) {
				return r
			}
		}
		return n
	}
	limit := pow10(t.Precision)
	vals := d.Values()
	for r, v := range vals[:n] {
		lo := int64(v.LowBits())
		if hi := v.HighBits(); ((lo < 0 && hi != -1) || (lo >= 0 && hi != 0) || lo <= -limit || lo >= limit) && d.IsValid(r) {
			return r
		}
	}
	return n
}

// decimalFits reports whether value r of d fits DECIMAL type t
// (types.CheckValue's rule): above 18 digits any 128-bit value of at most
// t's precision, else a 64-bit unscaled value of at most its precision.
func decimalFits(d *array.Decimal128, r int, t types.DataType) bool {
	v := d.Value(r)
	if t.Is128() {
		return v.FitsInPrecision(int32(t.Precision))
	}
	limit := pow10(t.Precision)
	lo := int64(v.LowBits())
	if hi := v.HighBits(); (lo < 0 && hi != -1) || (lo >= 0 && hi != 0) {
		return false
	}
	return lo > -limit && lo < limit
}

// batchKeys computes the key (types.EncodeRowKey of the primary-key
// columns), the bucket and partition, and the write-buffer size of a
// change-batch row of rows [0, n) of a checked batch, column by column.
// The result lives in the writer's scratch until the next batch; the keys
// are one new slab the write buffers take over.
func (w *Writer) batchKeys(cols []arrow.Array, n int) (*batchKeys, error) {
	t := w.t
	sc := &w.scratch
	bk := &sc.bk
	bk.keys, bk.buckets, bk.bytes = grow(bk.keys, n), grow(bk.buckets, n), grow(bk.bytes, n)
	clear(bk.buckets)
	var err error
	if sc.slab, sc.ends, err = appendKeys(sc.slab[:0], sc.ends[:0], cols, t.keyIdx, n); err != nil {
		return nil, err
	}
	// The buffers keep the keys until they flush: an exact-size copy, so
	// that the scratch slab's spare capacity is not kept with them.
	slab := make([]byte, len(sc.slab))
	copy(slab, sc.slab)
	start := 0
	for r, end := range sc.ends {
		bk.keys[r] = slab[start:end:end]
		start = end
	}
	if t.opts.Buckets > 1 {
		if sameInts(t.bucketIdx, t.keyIdx) {
			for r, k := range bk.keys {
				bk.buckets[r].bucket = types.Bucket(k, t.opts.Buckets)
			}
		} else {
			if sc.slab, sc.ends, err = appendKeys(sc.slab[:0], sc.ends[:0], cols, t.bucketIdx, n); err != nil {
				return nil, err
			}
			start := 0
			for r, end := range sc.ends {
				bk.buckets[r].bucket = types.Bucket(sc.slab[start:end], t.opts.Buckets)
				start = end
			}
		}
	}
	if len(t.partIdx) > 0 {
		row := make(types.Row, len(cols))
		for r := range n {
			if r > 0 && samePartition(cols, t.partIdx, r-1, r) {
				// Rows come clustered by partition more often than not:
				// the path of the row before, without formatting it again.
				bk.buckets[r].partition = bk.buckets[r-1].partition
				continue
			}
			for _, c := range t.partIdx {
				row[c] = types.ValueAt(cols[c], r)
			}
			bk.buckets[r].partition = t.partitionPath(row)
		}
	}
	// A buffered change-batch row holds its bookkeeping (lsm.BatchRowBytes),
	// its key, and its share of the batch's arrays: the fixed-width values
	// and validity bits, and a string's or blob's bytes plus its offset.
	// (Write's rows count as boxed values, lsm.Record.ApproxBytes, which
	// is what they hold; these rows hold about half as much.)
	fixedBits := int64(0)
	for _, a := range cols {
		fixedBits++ // validity
		if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok {
			fixedBits += int64(fw.BitWidth())
		}
	}
	base := lsm.BatchRowBytes + (fixedBits+7)/8
	for r := range n {
		bk.bytes[r] = base + int64(len(bk.keys[r]))
	}
	for _, a := range cols {
		switch x := a.(type) {
		case *array.String:
			for r := range n {
				bk.bytes[r] += int64(x.ValueLen(r)) + 4
			}
		case *array.Binary:
			for r := range n {
				bk.bytes[r] += int64(x.ValueLen(r)) + 4
			}
		}
	}
	return bk, nil
}

// samePartition reports whether rows i and j of a batch certainly have
// the same partition path: each of columns idx holds the same value (or
// NULL) in both. False means "format it": types it does not compare (and
// floats, whose -0 and NaN format apart from equal values) are never the
// same.
func samePartition(cols []arrow.Array, idx []int, i, j int) bool {
	for _, c := range idx {
		if !sameValue(cols[c], i, j) {
			return false
		}
	}
	return true
}

// sameValue reports whether values i and j of a are identical (both NULL
// or equal values of a type it compares).
func sameValue(a arrow.Array, i, j int) bool {
	if ni, nj := a.IsNull(i), a.IsNull(j); ni || nj {
		return ni && nj
	}
	switch x := a.(type) {
	case *array.String:
		return x.Value(i) == x.Value(j)
	case *array.Binary:
		return bytes.Equal(x.Value(i), x.Value(j))
	case *array.Int8:
		return x.Value(i) == x.Value(j)
	case *array.Int16:
		return x.Value(i) == x.Value(j)
	case *array.Int32:
		return x.Value(i) == x.Value(j)
	case *array.Int64:
		return x.Value(i) == x.Value(j)
	case *array.Date32:
		return x.Value(i) == x.Value(j)
	case *array.Timestamp:
		return x.Value(i) == x.Value(j)
	case *array.Boolean:
		return x.Value(i) == x.Value(j)
	case *array.Decimal128:
		return x.Value(i) == x.Value(j)
	}
	return false
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// encodeKeys encodes columns idx of rows [0, n) as types.EncodeRowKey
// does, into one shared slab.
func encodeKeys(cols []arrow.Array, idx []int, n int) ([][]byte, error) {
	slab, ends, err := appendKeys(nil, make([]int, 0, n), cols, idx, n)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, n)
	start := 0
	for r, end := range ends {
		keys[r] = slab[start:end:end]
		start = end
	}
	return keys, nil
}

// appendKeys appends the keys of columns idx of rows [0, n), encoded as
// types.EncodeRowKey does, to slab, and the end of each row's key in slab
// to ends.
func appendKeys(slab []byte, ends []int, cols []arrow.Array, idx []int, n int) ([]byte, []int, error) {
	if len(idx) == 1 && cols[idx[0]].NullN() == 0 {
		if s, e, ok := appendKeyColumn(slab, ends, cols[idx[0]], n); ok {
			return s, e, nil
		}
	}
	for r := range n {
		for _, c := range idx {
			var err error
			if slab, err = appendKeyValue(slab, cols[c], r); err != nil {
				return slab, ends, err
			}
		}
		ends = append(ends, len(slab))
	}
	return slab, ends, nil
}

// appendKeyColumn is appendKeys of a single key column a without NULLs,
// a type at a time: false for the types it leaves to appendKeyValue.
func appendKeyColumn(slab []byte, ends []int, a arrow.Array, n int) ([]byte, []int, bool) {
	switch x := a.(type) {
	case *array.Int64:
		slab = slices.Grow(slab, 9*n)
		for _, v := range x.Int64Values()[:n] {
			slab = binary.BigEndian.AppendUint64(append(slab, byte(types.BigInt)), uint64(v)^(1<<63))
			ends = append(ends, len(slab))
		}
	case *array.Int32:
		slab = slices.Grow(slab, 5*n)
		for _, v := range x.Int32Values()[:n] {
			slab = binary.BigEndian.AppendUint32(append(slab, byte(types.Int)), uint32(v)^(1<<31))
			ends = append(ends, len(slab))
		}
	case *array.Timestamp:
		slab = slices.Grow(slab, 9*n)
		for _, v := range x.TimestampValues()[:n] {
			slab = binary.BigEndian.AppendUint64(append(slab, byte(types.TimestampKind)), uint64(v)^(1<<63))
			ends = append(ends, len(slab))
		}
	case *array.String:
		for r := range n {
			slab = appendEscaped(append(slab, byte(types.String)), x.Value(r))
			ends = append(ends, len(slab))
		}
	default:
		return slab, ends, false
	}
	return slab, ends, true
}

// appendKeyValue appends the key encoding of value r of a (see
// types.EncodeRowKey: a kind tag, then an order-preserving encoding).
func appendKeyValue(dst []byte, a arrow.Array, r int) ([]byte, error) {
	if a.IsNull(r) {
		return nil, fmt.Errorf("%w: NULL in primary key", types.ErrInvalid)
	}
	switch x := a.(type) {
	case *array.Boolean:
		b := byte(0)
		if x.Value(r) {
			b = 1
		}
		return append(dst, byte(types.Boolean), b), nil
	case *array.Int32:
		return binary.BigEndian.AppendUint32(append(dst, byte(types.Int)), uint32(x.Value(r))^(1<<31)), nil
	case *array.Date32:
		return binary.BigEndian.AppendUint32(append(dst, byte(types.DateKind)), uint32(x.Value(r))^(1<<31)), nil
	case *array.Int64:
		return binary.BigEndian.AppendUint64(append(dst, byte(types.BigInt)), uint64(x.Value(r))^(1<<63)), nil
	case *array.Decimal128:
		if x.DataType().(*arrow.Decimal128Type).Precision > types.MaxDecimal64Precision {
			return types.EncodeKey(dst, types.Decimal128(x.Value(r))) // its own key tag
		}
		return binary.BigEndian.AppendUint64(append(dst, byte(types.DecimalKind)), x.Value(r).LowBits()^(1<<63)), nil
	case *array.Timestamp:
		return binary.BigEndian.AppendUint64(append(dst, byte(types.TimestampKind)), uint64(x.Value(r))^(1<<63)), nil
	case *array.String:
		return appendEscaped(append(dst, byte(types.String)), x.Value(r)), nil
	case *array.Binary:
		return appendEscaped(append(dst, byte(types.Bytes)), x.Value(r)), nil
	case *array.Float32, *array.Float64:
		return nil, fmt.Errorf("%w: floating-point values cannot be key values", types.ErrInvalid)
	}
	return nil, fmt.Errorf("%w: unsupported key column of Arrow type %s", types.ErrInvalid, a.DataType())
}

// appendEscaped is types' escaping of a variable-length key value: 0x00
// becomes 0x00 0xFF, and 0x00 0x01 ends the value.
func appendEscaped[T string | []byte](dst []byte, b T) []byte {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0, 1)
}
