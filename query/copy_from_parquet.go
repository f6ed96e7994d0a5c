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

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// loadParquet reads the rows of a Parquet file (COPY … FROM, FORMAT
// parquet) as rows of s and passes each to write. The file's top-level
// columns are matched to the table's by name (case-insensitively, as
// LoadCSV matches a header). A flat column's type, and each leaf type of
// a nested (LIST, MAP, group) column, whose ROW fields are matched by
// name, must convert losslessly to the table column's (the conversions
// INSERT makes without CAST). Errors name the row (1-based, across row
// groups).
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
	tops := pf.Root().Columns()
	cols := make([]parquetColumn, len(fields))
	var leafOf []leafRef // file leaf column -> (field, leaf of the field)
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
		to := s.Fields[idx]
		if !f.Leaf() {
			if i >= len(tops) || tops[i].Name() != f.Name() {
				return fmt.Errorf("%w: Parquet column %q: schema and columns disagree", types.ErrInvalid, f.Name())
			}
			nc, err := lsm.NewParquetNestedColumn(tops[i])
			if err != nil {
				return fmt.Errorf("Parquet column %q: %w", f.Name(), err)
			}
			conv, err := nestedLoadConv(nc.Type(), to.Type)
			if err != nil {
				return fmt.Errorf("Parquet column %q into column %q: %w", f.Name(), to.Name, err)
			}
			cols[i] = parquetColumn{idx: idx, src: nc.Type(), nested: nc, conv: conv}
			for l := range nc.Leaves() {
				leafOf = append(leafOf, leafRef{field: i, leaf: l})
			}
			continue
		}
		if f.Repeated() {
			return fmt.Errorf("%w: Parquet column %q is repeated outside a LIST or MAP; only flat and nested (LIST, MAP, group) columns load", types.ErrInvalid, f.Name())
		}
		src, err := parquetSourceType(f.Type())
		if err != nil {
			return fmt.Errorf("Parquet column %q: %w", f.Name(), err)
		}
		if !implicitOK(src, to.Type) {
			return fmt.Errorf("%w: Parquet column %q is %s but column %q is %s", types.ErrInvalid, f.Name(), src, to.Name, to.Type)
		}
		if src.Kind == types.TimestampLTZKind && to.Type.Kind == types.TimestampKind {
			src = types.TTimestamp // an instant loads as its UTC wall-clock time
		}
		cols[i] = parquetColumn{idx: idx, src: src, unit: parquetTimeUnit(f.Type())}
		leafOf = append(leafOf, leafRef{field: i})
	}
	// leafVals[i][l]: the current row's values of leaf l of nested field i.
	leafVals := make([][][]parquet.Value, len(cols))
	for i, c := range cols {
		if c.nested != nil {
			leafVals[i] = make([][]parquet.Value, len(c.nested.Leaves()))
		}
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
				if err := loadParquetRow(row, prow, cols, leafOf, leafVals, s); err != nil {
					_ = rows.Close()
					return fmt.Errorf("row %d, %w", n, err)
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

// leafRef is a file leaf column: the top-level field it belongs to and
// its leaf index within a nested field.
type leafRef struct{ field, leaf int }

// loadParquetRow fills row from the Parquet row prow (values in leaf
// column order, a nested field's leaves with their levels).
func loadParquetRow(row types.Row, prow parquet.Row, cols []parquetColumn, leafOf []leafRef, leafVals [][][]parquet.Value, s *types.Schema) error {
	for i := range leafVals {
		for l := range leafVals[i] {
			leafVals[i][l] = leafVals[i][l][:0]
		}
	}
	for _, v := range prow {
		c := v.Column()
		if c < 0 || c >= len(leafOf) {
			continue
		}
		ref := leafOf[c]
		col := cols[ref.field]
		if col.nested != nil {
			leafVals[ref.field][ref.leaf] = append(leafVals[ref.field][ref.leaf], v.Clone())
			continue
		}
		val, err := col.value(v)
		if err == nil {
			val, err = castValue(val, col.src, s.Fields[col.idx].Type, false)
		}
		if err != nil {
			return fmt.Errorf("column %q: %w", s.Fields[col.idx].Name, err)
		}
		row[col.idx] = val
	}
	for i, col := range cols {
		if col.nested == nil {
			continue
		}
		val, err := col.nested.Value(leafVals[i])
		if err == nil {
			val, err = col.conv(val)
		}
		if err != nil {
			return fmt.Errorf("column %q: %w", s.Fields[col.idx].Name, err)
		}
		row[col.idx] = val
	}
	return nil
}

// parquetColumn is how one file column loads.
type parquetColumn struct {
	idx  int            // table column position
	src  types.DataType // the SQL type of the file column
	unit int64          // TIMESTAMP: the file's units per microsecond (<0: microseconds per unit)
	// nested and conv read a nested (LIST, MAP, group) column.
	nested *lsm.ParquetNestedColumn
	conv   nestedConv
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
	case types.TimestampKind, types.TimestampLTZKind, types.TimeKind:
		var x int64
		if v.Kind() == parquet.Int32 {
			x = int64(v.Int32())
		} else {
			x = v.Int64()
		}
		if c.unit > 0 {
			x = floorDiv(x, c.unit)
		} else {
			x *= -c.unit
		}
		switch c.src.Kind {
		case types.TimestampLTZKind:
			return types.TimestampLTZ(x), nil
		case types.TimeKind:
			if x < 0 || x >= 86_400_000_000 {
				return nil, errf(types.ErrInvalid, "TIME value %d µs is not within a day", x)
			}
			return types.TimeOfDay(x), nil
		}
		return types.Timestamp(x), nil
	case types.UUIDKind:
		var u types.UUID
		if copy(u[:], v.ByteArray()) != len(u) {
			return nil, errf(types.ErrInvalid, "UUID of %d bytes", len(v.ByteArray()))
		}
		return u, nil
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
		d, ok := fitsDecimal(x, c.src.Precision) // a Decimal128 above 18 digits
		if !ok {
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
		case *format.TimeType:
			return types.TTime, nil // MILLIS
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
			if x.IsAdjustedToUTC {
				return types.TTimestampLTZ, nil
			}
			return types.TTimestamp, nil
		case *format.TimeType:
			return types.TTime, nil // MICROS, NANOS
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
		case *format.UUIDType:
			if t.Kind() == parquet.FixedLenByteArray && t.Length() == 16 {
				return types.TUUID, nil
			}
		}
	}
	return bad()
}

// parquetTimeUnit returns how a TIMESTAMP or TIME column's units relate to
// microseconds: units per microsecond (nanoseconds: 1000), or minus
// microseconds per unit (milliseconds: -1000); -1 for microseconds.
func parquetTimeUnit(t parquet.Type) int64 {
	lt := t.LogicalType()
	if lt == nil {
		return -1
	}
	var unit format.TimeUnit
	switch x := lt.Value.(type) {
	case *format.TimestampType:
		unit = x.Unit
	case *format.TimeType:
		unit = x.Unit
	default:
		return -1
	}
	switch unit.Value.(type) {
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
