package lsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// DECIMAL columns of precision above 18 (types.Decimal128 values) are
// stored as Parquet FIXED_LEN_BYTE_ARRAY annotated DECIMAL(p,s): the
// unscaled value in big-endian two's complement, in the fewest bytes that
// hold every value of the precision (9 bytes for 19 to 21 digits, 16 for
// 36 to 38), as Spark, DuckDB and the Iceberg spec write them. Narrower
// precisions keep INT32/INT64 (schema.go), so files of existing tables are
// unchanged. A DECIMAL widened across 18 digits reads its old INT32/INT64
// columns as Decimal128 (readColumn.value, converter, buildColumn).

// decimalDigits[n-1] is the most digits n bytes of two's complement
// hold: floor((8n-1)·log10 2) (TestDecimalBytes checks it with math/big).
var decimalDigits = [16]int{2, 4, 6, 9, 11, 14, 16, 18, 21, 23, 26, 28, 31, 33, 35, 38}

// decimalBytes is the minimum FIXED_LEN_BYTE_ARRAY length of a DECIMAL of
// precision p: the smallest n with 10^p - 1 <= 2^(8n-1) - 1.
func decimalBytes(p int) int {
	for n, d := range decimalDigits {
		if p <= d {
			return n + 1
		}
	}
	return 16
}

// decimalNode is the Parquet leaf of a DECIMAL with 18 < p <= 38.
func decimalNode(t types.DataType) (parquet.Node, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return parquet.Decimal(t.Scale, t.Precision, parquet.FixedLenByteArrayType(decimalBytes(t.Precision))), nil
}

// siltTypeFLBA maps a FIXED_LEN_BYTE_ARRAY column back to its column type:
// only a DECIMAL of precision above 18 in its minimum length.
func siltTypeFLBA(t parquet.Type, lv format.LogicalTypeValue) (types.DataType, bool) {
	x, ok := lv.(*format.DecimalType)
	if !ok {
		return types.DataType{}, false
	}
	d := types.TDecimal(int(x.Precision), int(x.Scale))
	if !d.Is128() || d.Validate() != nil || t.Length() != decimalBytes(d.Precision) {
		return types.DataType{}, false
	}
	return d, true
}

// putDecimal writes n into b (len(b) bytes) in big-endian two's
// complement; false when n does not fit.
func putDecimal(b []byte, n decimal128.Num) bool {
	var full [16]byte
	binary.BigEndian.PutUint64(full[:8], uint64(n.HighBits()))
	binary.BigEndian.PutUint64(full[8:], n.LowBits())
	cut := 16 - len(b)
	sign := byte(0)
	if n.Sign() < 0 {
		sign = 0xFF
	}
	for _, c := range full[:cut] {
		if c != sign {
			return false
		}
	}
	if cut > 0 && full[cut]&0x80 != sign&0x80 {
		return false
	}
	copy(b, full[cut:])
	return true
}

// decimalOf reads a big-endian two's complement value of 1 to 16 bytes.
func decimalOf(b []byte) decimal128.Num {
	var full [16]byte
	if len(b) > 0 && b[0]&0x80 != 0 {
		full = [16]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	}
	copy(full[16-len(b):], b)
	return decimal128.New(int64(binary.BigEndian.Uint64(full[:8])), binary.BigEndian.Uint64(full[8:]))
}

// decimalValue is the Parquet value of a Decimal128 in a column of type t;
// false when it does not fit the column's byte length (a value outside
// the precision that no check caught).
func decimalValue(d types.Decimal128, t types.DataType) (parquet.Value, bool) {
	b := make([]byte, decimalBytes(t.Precision))
	if !putDecimal(b, d.Num()) {
		return parquet.Value{}, false
	}
	return parquet.FixedLenByteArrayValue(b), true
}

// DecimalStorable reports whether the DECIMAL value v (a types.Decimal or
// types.Decimal128) fits the physical type a column of type t is stored
// as: INT32 for a precision up to 9, INT64 up to 18, above that the
// FIXED_LEN_BYTE_ARRAY of decimalBytes bytes. A value with more digits
// than the precision that still fits is written intact (an aggregate such
// as sum can outgrow the precision; reads name the column, and widening it
// reads the value); one that does not fit cannot be written.
func DecimalStorable(v types.Value, t types.DataType) bool {
	switch d := v.(type) {
	case types.Decimal:
		if t.Is128() {
			return true
		}
		return t.Precision > 9 || (d >= math.MinInt32 && d <= math.MaxInt32)
	case types.Decimal128:
		return decimal128Fits(d, t)
	}
	return false
}

// decimal128Fits reports whether v is a Decimal128 that fits column type t.
func decimal128Fits(v types.Value, t types.DataType) bool {
	d, ok := v.(types.Decimal128)
	if !ok {
		return false
	}
	var b [16]byte
	return putDecimal(b[:decimalBytes(t.Precision)], d.Num())
}

// appendFixedPlain appends the dense values of a non-dictionary
// FIXED_LEN_BYTE_ARRAY page, one width-byte slot per row (zeros for NULLs).
func (c *colVals) appendFixedPlain(data encoding.Values, def []byte, dense int) error {
	vals, size := data.FixedLenByteArray()
	if err := c.fixedWidth(size); err != nil {
		return err
	}
	if len(vals) != dense*size {
		return fmt.Errorf("fixed-length page has %d bytes for %d values of %d", len(vals), dense, size)
	}
	if def == nil || dense == len(def) {
		c.fixed = append(c.fixed, vals...)
		return nil
	}
	j := 0
	for _, d := range def {
		if d == 1 {
			c.fixed = append(c.fixed, vals[j*size:(j+1)*size]...)
			j++
		} else {
			c.fixed = append(c.fixed, make([]byte, size)...)
		}
	}
	return nil
}

// appendFixedIndexed appends a dictionary-encoded FIXED_LEN_BYTE_ARRAY
// page; every index was checked to be below the dictionary's length n.
func (c *colVals) appendFixedIndexed(idx []int32, dv encoding.Values, def []byte, n int32) error {
	vals, size := dv.FixedLenByteArray()
	if err := c.fixedWidth(size); err != nil {
		return err
	}
	if len(vals) < int(n)*size {
		return errors.New("dictionary shorter than its length")
	}
	j := 0
	put := func() {
		x := int(idx[j])
		c.fixed = append(c.fixed, vals[x*size:(x+1)*size]...)
		j++
	}
	if def == nil {
		for range idx {
			put()
		}
		return nil
	}
	for _, d := range def {
		if d == 1 {
			put()
		} else {
			c.fixed = append(c.fixed, make([]byte, size)...)
		}
	}
	return nil
}

// fixedWidth records the chunk's value width, the same on every page.
func (c *colVals) fixedWidth(size int) error {
	if size < 1 || size > 16 {
		return fmt.Errorf("fixed-length values of %d bytes", size)
	}
	if c.width != 0 && c.width != size {
		return fmt.Errorf("fixed-length values of %d bytes after %d", size, c.width)
	}
	c.width = size
	return nil
}

// dec128 is row r of a DECIMAL column as a 128-bit value, whatever its
// stored physical type (a column widened across 18 digits is stored as
// INT32 or INT64).
func (c *colVals) dec128(r int) decimal128.Num {
	switch c.kind {
	case parquet.Int32:
		return decimal128.FromI64(int64(c.i32[r]))
	case parquet.Int64:
		return decimal128.FromI64(c.i64[r])
	case parquet.FixedLenByteArray:
		return decimalOf(c.fixed[r*c.width : (r+1)*c.width])
	}
	return decimal128.Num{}
}

// decimalArrow is the n rows of a DECIMAL column as Arrow decimal128 slots.
func (c *colVals) decimalArrow(n int) ([]decimal128.Num, bool) {
	switch c.kind {
	case parquet.Int32, parquet.Int64, parquet.FixedLenByteArray:
	default:
		return nil, false
	}
	w := make([]decimal128.Num, n)
	for r := range w {
		w[r] = c.dec128(r)
	}
	return w, true
}

// decimalConverter is converter for a DECIMAL field of precision above 18.
func decimalConverter(from types.DataType) func(parquet.Value) types.Value {
	switch {
	case from.Is128():
		return func(v parquet.Value) types.Value { return types.Decimal128(decimalOf(v.ByteArray())) }
	case from.Precision <= 9:
		return func(v parquet.Value) types.Value { return types.Decimal128FromInt64(int64(v.Int32())) }
	}
	return func(v parquet.Value) types.Value { return types.Decimal128FromInt64(v.Int64()) }
}

// appendDecimalKey appends the key encoding of row r of a 128-bit DECIMAL
// key column (types.EncodeKey's format).
func appendDecimalKey(dst []byte, cv *colVals, r int) ([]byte, bool) {
	if cv.kind != parquet.FixedLenByteArray {
		return dst, false
	}
	out, err := types.EncodeKey(dst, types.Decimal128(cv.dec128(r)))
	return out, err == nil
}

// Decimal128Node is the Parquet leaf silt writes for a DECIMAL of
// precision above 18 (for other writers of Parquet, such as COPY TO).
func Decimal128Node(t types.DataType) (parquet.Node, error) { return decimalNode(t) }

// Decimal128Value is the Parquet value of d in a column of
// Decimal128Node(t); an error when d does not fit t's stored width.
func Decimal128Value(d types.Decimal128, t types.DataType) (parquet.Value, error) {
	v, ok := decimalValue(d, t)
	if !ok {
		return parquet.Value{}, fmt.Errorf("%w: %s does not fit %s", types.ErrInvalid, types.FormatDecimal128(d, t.Scale), t)
	}
	return v, nil
}
