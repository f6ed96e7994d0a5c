package query

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/siltdb/silt/types"
)

// loadParquet reads the rows of a Parquet file (COPY … FROM, FORMAT
// parquet) as rows of s and passes each to write. The file's top-level
// columns are matched to the table's by name (case-insensitively, as
// LoadCSV matches a header); each must be a flat column whose type
// converts losslessly to the table column's (the conversions INSERT makes
// without CAST). Errors name the row (1-based, across row groups).
//
// A damaged file fails with an error: the footer length is checked against
// the file's size before the Parquet library allocates it, and a panic of
// the library on a damaged file becomes an error.
func loadParquet(r io.Reader, s *types.Schema, write func(types.Row) error) (err error) {
	ra, size, err := readAllAt(r)
	if err != nil {
		return err
	}
	if err := checkParquetFooter(ra, size); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: not a readable Parquet file (damaged: %v)", types.ErrInvalid, p)
		}
	}()
	pf, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("%w: not a readable Parquet file: %v", types.ErrInvalid, err)
	}
	if err := checkParquetChunks(pf, size); err != nil {
		return err
	}
	fields := pf.Schema().Fields()
	cols := make([]parquetColumn, len(fields))
	seen := map[int]string{}
	for i, f := range fields {
		idx := s.FieldIndex(f.Name())
		if idx < 0 {
			return fmt.Errorf("%w: Parquet column %q is not a column of the table", types.ErrInvalid, f.Name())
		}
		if prev, dup := seen[idx]; dup {
			return fmt.Errorf("%w: Parquet columns %q and %q both name column %q", types.ErrInvalid, prev, f.Name(), s.Fields[idx].Name)
		}
		seen[idx] = f.Name()
		if !f.Leaf() || f.Repeated() {
			return fmt.Errorf("%w: Parquet column %q is nested or repeated; only flat columns load", types.ErrInvalid, f.Name())
		}
		src, err := parquetSourceType(f.Type())
		if err != nil {
			return fmt.Errorf("Parquet column %q: %w", f.Name(), err)
		}
		to := s.Fields[idx]
		if !implicitOK(src, to.Type) {
			return fmt.Errorf("%w: Parquet column %q is %s but column %q is %s", types.ErrInvalid, f.Name(), src, to.Name, to.Type)
		}
		cols[i] = parquetColumn{idx: idx, src: src, unit: parquetTimeUnit(f.Type())}
	}
	var n int64
	buf := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			k, err := rows.ReadRows(buf)
			for _, prow := range buf[:k] {
				n++
				row := make(types.Row, len(s.Fields))
				for _, v := range prow {
					c := v.Column()
					if c < 0 || c >= len(cols) {
						continue
					}
					col := cols[c]
					val, err := col.value(v)
					if err == nil {
						val, err = castValue(val, col.src, s.Fields[col.idx].Type, false)
					}
					if err != nil {
						_ = rows.Close()
						return fmt.Errorf("row %d, column %q: %w", n, s.Fields[col.idx].Name, err)
					}
					row[col.idx] = val
				}
				if err := write(row); err != nil {
					_ = rows.Close()
					return fmt.Errorf("row %d: %w", n, err)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				_ = rows.Close()
				return fmt.Errorf("%w: reading Parquet row %d: %v", types.ErrInvalid, n+1, err)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// parquetColumn is how one file column loads.
type parquetColumn struct {
	idx  int            // table column position
	src  types.DataType // the SQL type of the file column
	unit int64          // TIMESTAMP: the file's units per microsecond (<0: microseconds per unit)
}

// value converts one Parquet value to a value of c.src.
func (c parquetColumn) value(v parquet.Value) (types.Value, error) {
	if v.IsNull() {
		return nil, nil
	}
	switch c.src.Kind {
	case types.Boolean:
		return v.Boolean(), nil
	case types.Int:
		return v.Int32(), nil
	case types.BigInt:
		if v.Kind() == parquet.Int32 {
			return int64(v.Int32()), nil
		}
		return v.Int64(), nil
	case types.Float:
		return v.Float(), nil
	case types.Double:
		return v.Double(), nil
	case types.String:
		return string(v.ByteArray()), nil
	case types.Bytes:
		return append([]byte(nil), v.ByteArray()...), nil
	case types.DateKind:
		return types.Date(v.Int32()), nil
	case types.TimestampKind:
		x := v.Int64()
		if c.unit > 0 {
			return types.Timestamp(floorDiv(x, c.unit)), nil
		}
		return types.Timestamp(x * -c.unit), nil
	case types.DecimalKind:
		switch v.Kind() {
		case parquet.Int32:
			return types.Decimal(v.Int32()), nil
		case parquet.Int64:
			return types.Decimal(v.Int64()), nil
		}
		// Big-endian two's complement (BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY).
		b := v.ByteArray()
		x := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		d, ok := fitsDecimal(x, c.src.Precision)
		if !ok || !x.IsInt64() {
			return nil, errf(types.ErrInvalid, "decimal %s does not fit DECIMAL(%d,%d)", x, c.src.Precision, c.src.Scale)
		}
		return d, nil
	}
	return nil, errf(types.ErrInvalid, "internal: Parquet value of %s", c.src)
}

// parquetSourceType maps a Parquet column type to the SQL type its values
// load as.
func parquetSourceType(t parquet.Type) (types.DataType, error) {
	var lv format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		lv = lt.Value
	}
	bad := func() (types.DataType, error) {
		return types.DataType{}, fmt.Errorf("%w: Parquet type %s cannot be loaded", types.ErrInvalid, t)
	}
	decimal := func(x *format.DecimalType) (types.DataType, error) {
		d := types.TDecimal(int(x.Precision), int(x.Scale))
		if err := d.Validate(); err != nil {
			return types.DataType{}, fmt.Errorf("%w: Parquet %s: %v", types.ErrInvalid, t, err)
		}
		return d, nil
	}
	switch t.Kind() {
	case parquet.Boolean:
		return types.TBoolean, nil
	case parquet.Int32:
		switch x := lv.(type) {
		case nil:
			return types.TInt, nil
		case *format.DateType:
			return types.TDate, nil
		case *format.IntType:
			if x.IsSigned || x.BitWidth < 32 {
				return types.TInt, nil
			}
			return types.TBigInt, nil // UINT32
		case *format.DecimalType:
			return decimal(x)
		}
	case parquet.Int64:
		switch x := lv.(type) {
		case nil:
			return types.TBigInt, nil
		case *format.IntType:
			if x.IsSigned {
				return types.TBigInt, nil
			}
		case *format.DecimalType:
			return decimal(x)
		case *format.TimestampType:
			return types.TTimestamp, nil
		}
	case parquet.Float:
		return types.TFloat, nil
	case parquet.Double:
		return types.TDouble, nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		switch x := lv.(type) {
		case nil:
			return types.TBytes, nil
		case *format.StringType, *format.EnumType, *format.JsonType:
			return types.TString, nil
		case *format.DecimalType:
			return decimal(x)
		}
	}
	return bad()
}

// parquetTimeUnit returns how a TIMESTAMP column's units relate to
// microseconds: units per microsecond (nanoseconds: 1000), or minus
// microseconds per unit (milliseconds: -1000); -1 for microseconds.
func parquetTimeUnit(t parquet.Type) int64 {
	lt := t.LogicalType()
	if lt == nil {
		return -1
	}
	ts, ok := lt.Value.(*format.TimestampType)
	if !ok {
		return -1
	}
	switch ts.Unit.Value.(type) {
	case *format.NanoSeconds:
		return 1000
	case *format.MilliSeconds:
		return -1000
	}
	return -1
}

// checkParquetFooter checks the footer length a Parquet file ends with
// against the file's size.
func checkParquetFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%w: not a readable Parquet file: %d bytes is too short", types.ErrInvalid, size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("%w: not a readable Parquet file: its footer claims %d bytes of a %d-byte file", types.ErrInvalid, n, size)
	}
	return nil
}

// maxParquetChunkRatio bounds how much larger than the file a column
// chunk may claim to be once uncompressed.
const maxParquetChunkRatio = 1024

// checkParquetChunks checks the sizes and offsets the metadata gives each
// column chunk against the file's size, so a damaged file cannot make the
// reader allocate what the file could never hold.
func checkParquetChunks(pf *parquet.File, size int64) error {
	for i, rg := range pf.Metadata().RowGroups {
		for j, c := range rg.Columns {
			m := c.MetaData
			switch {
			case m.TotalCompressedSize < 0 || m.TotalCompressedSize > size,
				m.DataPageOffset < 0 || m.DataPageOffset >= size,
				m.DictionaryPageOffset < 0 || m.DictionaryPageOffset >= size,
				m.TotalUncompressedSize < 0 || m.TotalUncompressedSize > maxParquetChunkRatio*size+(1<<20),
				m.NumValues < 0:
				return fmt.Errorf("%w: not a readable Parquet file: row group %d, column %d has impossible sizes or offsets", types.ErrInvalid, i+1, j+1)
			}
			if m.Codec == format.Lz4 || m.Codec == format.Lz4Raw {
				// The Parquet library's LZ4 decoder grows its buffer without
				// bound on a damaged page.
				return fmt.Errorf("%w: Parquet files compressed with LZ4 cannot be loaded; write the file with ZSTD, Snappy or GZIP", types.ErrInvalid)
			}
			if err := checkParquetPages(pf, m, size); err != nil {
				return fmt.Errorf("%w: not a readable Parquet file: row group %d, column %d: %v", types.ErrInvalid, i+1, j+1, err)
			}
		}
	}
	return nil
}

// checkParquetPages reads the page headers of one column chunk and checks
// the page sizes they claim: within the chunk once compressed, and at
// most maxParquetChunkRatio times the file's size uncompressed. The
// headers are decoded from the chunk in memory, so a damaged length in a
// header cannot allocate more than the chunk holds.
func checkParquetPages(pf *parquet.File, m format.ColumnMetaData, size int64) error {
	base := m.DataPageOffset
	if m.DictionaryPageOffset != 0 {
		base = m.DictionaryPageOffset
	}
	if base+m.TotalCompressedSize > size {
		return errors.New("the column chunk ends past the end of the file")
	}
	chunk := make([]byte, m.TotalCompressedSize)
	if _, err := pf.ReadAt(chunk, base); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	var proto thrift.CompactProtocol
	limit := maxParquetChunkRatio*size + 1<<20
	for pos := 0; pos < len(chunk); {
		pr := proto.NewReaderFromBytes(chunk[pos:])
		var h format.PageHeader
		if err := thrift.NewDecoder(pr).Decode(&h); err != nil {
			return fmt.Errorf("page header: %v", err)
		}
		br, ok := pr.(interface{ BytesRead() int })
		if !ok {
			return nil // cannot tell where the page starts; leave it to the reader
		}
		pos += br.BytesRead()
		left := len(chunk) - pos
		if h.CompressedPageSize < 0 || int(h.CompressedPageSize) > left || h.UncompressedPageSize < 0 || int64(h.UncompressedPageSize) > limit {
			return fmt.Errorf("a page claims %d bytes (%d uncompressed) with %d left in the chunk", h.CompressedPageSize, h.UncompressedPageSize, left)
		}
		page := chunk[pos : pos+int(h.CompressedPageSize)]
		pos += int(h.CompressedPageSize)
		if m.Codec != format.Snappy {
			continue
		}
		// A Snappy block starts with its decoded length, which the decoder
		// allocates: check it too.
		if v2, ok := h.DataPageHeaderV2.Get(); ok {
			levels := int64(v2.RepetitionLevelsByteLength) + int64(v2.DefinitionLevelsByteLength)
			if compressed, set := v2.IsCompressed.Get(); (set && !compressed) || levels < 0 || levels > int64(len(page)) {
				continue
			}
			page = page[levels:]
		}
		if n, err := snappy.DecodedLen(page); err == nil && int64(n) > limit {
			return fmt.Errorf("a Snappy page claims %d bytes uncompressed", n)
		}
	}
	return nil
}
