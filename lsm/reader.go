package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// initialTailRead is how many bytes OpenFile reads from the end of a file in
// its first request; it usually covers the footer and the bloom filters.
const initialTailRead = 256 << 10

// FileReader reads one data file. It holds the verified footer and bloom
// filters in memory and reads row groups on demand; it needs no Close. It is
// safe for concurrent use.
type FileReader struct {
	r        io.ReaderAt
	size     int64
	seqBase  int64
	file     *parquet.File
	schemaID int64
	rowCount int64
	minKey   []byte
	maxKey   []byte
	groups   []rowGroup
	tail     sliceReaderAt     // verified bytes from the first bloom filter on
	leaves   []*parquet.Column // the file's leaf columns, in column-chunk order
	pidx     *pageIndexes      // the checked page indexes used so far (page_index.go)
	cols     []readColumn      // one per read-schema field
	keyIdx   []int             // read-schema positions of the key columns
	// checkKeys: the key columns are stored with their read types, so each
	// row's _key can be checked against its key columns.
	checkKeys bool

	rowGroupsRead atomic.Int64
	bytesRead     atomic.Int64
	pagesRead     atomic.Int64 // pages decoded by page reads
	pageReads     atomic.Int64 // ranged reads of page reads
}

// rowGroup is the verified metadata of one row group.
type rowGroup struct {
	start, end int64
	crc        uint32
	rows       int64
	minKey     []byte
	maxKey     []byte
	bloom      parquet.BloomFilter // nil when the file has none
}

// readColumn maps one read-schema field to a file column.
type readColumn struct {
	file int // file column index; -1 when the file lacks the field
	conv func(parquet.Value) types.Value
	to   types.DataType // the field's type
	def  types.Value    // value of every row when the file lacks the field: the field's default or NULL
	// nested, for an ARRAY, MAP or ROW field, is its stored shape; file
	// is then its first leaf column (nested_read.go).
	nested *nestedRead
}

// ReadStats counts what a FileReader read.
type ReadStats struct {
	RowGroupsRead, BytesRead int64
	// PagesRead counts the pages page reads decoded (LookupKeys; a
	// dictionary page once per read), PageReads their ranged reads.
	PagesRead, PageReads int64
}

// OpenFile opens the data file of size bytes readable through r, mapping its
// columns to readSchema by field id (falling back to the column name for
// files without ids). A readSchema field the file lacks reads as its
// default (types.Field.Default) or NULL; a
// column whose stored type cannot be read as the field's type is an error
// wrapping types.ErrInvalid. seqBase is added to every stored sequence
// number. A truncated or damaged file gives an error wrapping
// types.ErrCorruption that names the problem.
func OpenFile(ctx context.Context, r io.ReaderAt, size int64, readSchema *types.Schema, seqBase int64) (*FileReader, error) {
	if readSchema == nil {
		return nil, fmt.Errorf("%w: nil read schema", types.ErrInvalid)
	}
	if size < 16 {
		return nil, fmt.Errorf("%w: data file of %d bytes is too small", types.ErrCorruption, size)
	}
	tailOff := max(0, size-initialTailRead)
	tail, err := readTail(ctx, r, tailOff, size-tailOff)
	if err != nil {
		return nil, err
	}
	footerOff, footerLen, err := footerBounds(tail, size)
	if err != nil {
		return nil, err
	}
	if footerOff < tailOff {
		if tail, tailOff, err = extendTail(ctx, r, tail, tailOff, footerOff); err != nil {
			return nil, err
		}
	}
	footer := tail[footerOff-tailOff : footerOff-tailOff+footerLen]
	valueAt, value, err := locateChecksums(footer, footerOff)
	if err != nil {
		return nil, err
	}
	sums, err := parseChecksums(value, valueAt)
	if err != nil {
		return nil, err
	}
	if sums.tailStart < 4 || sums.tailStart > footerOff {
		return nil, fmt.Errorf("%w: tail offset %d out of range", types.ErrCorruption, sums.tailStart)
	}
	if sums.tailStart < tailOff {
		if tail, tailOff, err = extendTail(ctx, r, tail, tailOff, sums.tailStart); err != nil {
			return nil, err
		}
	}
	verified := tail[sums.tailStart-tailOff:]
	if _, ok := r.(*BytesReader); ok {
		// Keep a copy of the verified tail only: the footer may be
		// shared (OpenFooter) long after the file's bytes are released.
		verified = bytes.Clone(verified)
	}
	if got := tailCRC(verified, sums.tailStart, sums.crcAt); got != sums.tailCRC {
		return nil, fmt.Errorf("%w: checksum mismatch in the file tail (footer, bloom filters or page index damaged): stored %08x, computed %08x", types.ErrCorruption, sums.tailCRC, got)
	}
	f := &FileReader{r: r, size: size, seqBase: seqBase}
	f.bytesRead.Add(size - tailOff)
	tailReader := sliceReaderAt{off: sums.tailStart, data: verified}
	f.tail = tailReader
	f.pidx = new(pageIndexes)
	if err := f.open(tailReader, size, sums); err != nil {
		return nil, err
	}
	if err := f.mapColumns(readSchema); err != nil {
		return nil, err
	}
	return f, nil
}

// Footer is the verified footer, row-group metadata and bloom filters of
// one data file: what OpenFile reads before any row group. It does not
// depend on the read schema or on how the file is read, never changes, and
// may be shared (OpenFooter).
type Footer struct {
	size               int64
	file               *parquet.File
	schemaID, rowCount int64
	minKey, maxKey     []byte
	groups             []rowGroup
	tail               sliceReaderAt
	leaves             []*parquet.Column
	pidx               *pageIndexes
}

// Footer returns the file's verified footer, to open the same file again
// with OpenFooter without reading it.
func (f *FileReader) Footer() *Footer {
	return &Footer{size: f.size, file: f.file, schemaID: f.schemaID, rowCount: f.rowCount,
		minKey: f.minKey, maxKey: f.maxKey, groups: f.groups, tail: f.tail, leaves: f.leaves, pidx: f.pidx}
}

// Size is the size of the file the footer belongs to.
func (ft *Footer) Size() int64 { return ft.size }

// MemBytes approximates the memory the footer holds: the verified tail
// bytes (footer and bloom filters), the decoded metadata and the row-group
// key bounds.
func (ft *Footer) MemBytes() int64 {
	n := 2*int64(len(ft.tail.data)) + 1024
	for _, g := range ft.groups {
		n += int64(len(g.minKey)+len(g.maxKey)) + 128
	}
	return n
}

// OpenFooter is OpenFile for a file whose footer was read before: it reads
// nothing until a row group is needed. r reads the same file (ft.Size()
// bytes).
func OpenFooter(r io.ReaderAt, ft *Footer, readSchema *types.Schema, seqBase int64) (*FileReader, error) {
	if readSchema == nil || ft == nil {
		return nil, fmt.Errorf("%w: nil read schema or footer", types.ErrInvalid)
	}
	f := &FileReader{r: r, size: ft.size, seqBase: seqBase, file: ft.file, schemaID: ft.schemaID,
		rowCount: ft.rowCount, minKey: ft.minKey, maxKey: ft.maxKey, groups: ft.groups, tail: ft.tail, leaves: ft.leaves, pidx: ft.pidx}
	if err := f.mapColumns(readSchema); err != nil {
		return nil, err
	}
	return f, nil
}

// readTail is readRange of the file's tail, sliced from a BytesReader's
// bytes instead of copied (OpenFile copies the verified part it keeps).
func readTail(ctx context.Context, r io.ReaderAt, off, n int64) ([]byte, error) {
	if br, ok := r.(*BytesReader); ok && off >= 0 && n >= 0 && off+n <= int64(len(br.data)) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return br.data[off : off+n : off+n], nil
	}
	return readRange(ctx, r, off, n, "data file footer")
}

// extendTail reads the bytes [from, tailOff) in front of tail.
func extendTail(ctx context.Context, r io.ReaderAt, tail []byte, tailOff, from int64) ([]byte, int64, error) {
	front, err := readRange(ctx, r, from, tailOff-from, "data file footer")
	if err != nil {
		return nil, 0, err
	}
	return append(front, tail...), from, nil
}

// open parses the verified footer and row-group metadata.
func (f *FileReader) open(tail sliceReaderAt, size int64, sums checksums) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: malformed footer: %v", types.ErrCorruption, p)
		}
	}()
	pf, err := parquet.OpenFile(tail, size,
		parquet.SkipMagicBytes(true), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("%w: %v", types.ErrCorruption, err)
	}
	f.file = pf
	if v, ok := pf.Lookup(metaFormatVersion); !ok {
		return fmt.Errorf("%w: no %s in file metadata", types.ErrCorruption, metaFormatVersion)
	} else if n, err := strconv.Atoi(v); err != nil || n < 1 || n > FormatVersion {
		return fmt.Errorf("%w: unsupported data file format version %q (this build reads up to %d)", types.ErrCorruption, v, FormatVersion)
	}
	if v, ok := pf.Lookup(metaSchemaID); ok {
		if f.schemaID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%w: bad schema id %q", types.ErrCorruption, v)
		}
	}
	cols := pf.Root().Columns()
	if len(cols) < numHidden || cols[0].Name() != colKey || cols[1].Name() != colSeq || cols[2].Name() != colKind {
		return fmt.Errorf("%w: file does not start with the columns %s, %s, %s", types.ErrCorruption, colKey, colSeq, colKind)
	}
	for i, want := range []parquet.Kind{parquet.ByteArray, parquet.Int64, parquet.Int32} {
		if c := cols[i]; !c.Leaf() || !c.Required() || c.Type().Kind() != want {
			return fmt.Errorf("%w: hidden column %s has type %s", types.ErrCorruption, c.Name(), c.Type())
		}
	}
	for _, c := range cols {
		if c.Repeated() {
			return fmt.Errorf("%w: column %q is repeated at the top level", types.ErrCorruption, c.Name())
		}
		f.leaves = appendLeaves(f.leaves, c)
	}
	md := pf.Metadata()
	if len(md.RowGroups) != len(sums.rowGroups) || len(pf.RowGroups()) != len(md.RowGroups) {
		return fmt.Errorf("%w: footer lists %d row groups, checksums cover %d", types.ErrCorruption, len(md.RowGroups), len(sums.rowGroups))
	}
	lastEnd := int64(4)
	for i := range md.RowGroups {
		mrg := &md.RowGroups[i]
		start, end, err := rowGroupRange(mrg)
		if err != nil {
			return err
		}
		if start < lastEnd || end > sums.tailStart {
			return fmt.Errorf("%w: row group %d at [%d,%d) out of place", types.ErrCorruption, i, start, end)
		}
		lastEnd = end
		if len(mrg.Columns) != len(f.leaves) || mrg.NumRows <= 0 {
			return fmt.Errorf("%w: row group %d has %d columns and %d rows", types.ErrCorruption, i, len(mrg.Columns), mrg.NumRows)
		}
		if mrg.NumRows > MaxRowGroupRows {
			return fmt.Errorf("%w: row group %d declares %d rows, more than the limit of %d", types.ErrCorruption, i, mrg.NumRows, MaxRowGroupRows)
		}
		for j := range mrg.Columns {
			// A leaf of a nested column holds a value per entry, and at
			// least one per row.
			if nv := mrg.Columns[j].MetaData.NumValues; nv != mrg.NumRows && (f.leaves[j].MaxRepetitionLevel() == 0 || nv < mrg.NumRows) {
				return fmt.Errorf("%w: row group %d column %q has %d values for %d rows", types.ErrCorruption, i, f.leaves[j].Name(), mrg.Columns[j].MetaData.NumValues, mrg.NumRows)
			}
		}
		st := &mrg.Columns[0].MetaData.Statistics
		if st.MinValue == nil || st.MaxValue == nil || bytes.Compare(st.MinValue, st.MaxValue) > 0 {
			return fmt.Errorf("%w: row group %d has no valid %s statistics", types.ErrCorruption, i, colKey)
		}
		g := rowGroup{start: start, end: end, crc: sums.rowGroups[i], rows: mrg.NumRows,
			minKey: bytes.Clone(st.MinValue), maxKey: bytes.Clone(st.MaxValue)}
		if i > 0 && bytes.Compare(f.groups[i-1].maxKey, g.minKey) > 0 {
			return fmt.Errorf("%w: row groups %d and %d overlap in key range", types.ErrCorruption, i-1, i)
		}
		if mrg.Columns[0].MetaData.BloomFilterOffset > 0 {
			fcc, ok := pf.RowGroups()[i].ColumnChunks()[0].(*parquet.FileColumnChunk)
			if !ok {
				return fmt.Errorf("%w: unexpected column chunk type", types.ErrCorruption)
			}
			bf, err := fcc.BloomFilterFrom(tail)
			if err != nil {
				return fmt.Errorf("%w: bloom filter of row group %d: %v", types.ErrCorruption, i, err)
			}
			g.bloom = bf
		}
		f.groups = append(f.groups, g)
		f.rowCount += mrg.NumRows
	}
	if f.rowCount != md.NumRows {
		return fmt.Errorf("%w: file claims %d rows, row groups hold %d", types.ErrCorruption, md.NumRows, f.rowCount)
	}
	if len(f.groups) > 0 {
		f.minKey, f.maxKey = f.groups[0].minKey, f.groups[len(f.groups)-1].maxKey
	}
	return nil
}

// mapColumns maps the read schema's fields to file columns by field id.
func (f *FileReader) mapColumns(rs *types.Schema) error {
	cols := f.file.Root().Columns()[numHidden:]
	var ids []int
	if v, ok := f.file.Lookup(metaFieldIDs); ok {
		var err error
		if ids, err = parseFieldIDs(v, len(cols)); err != nil {
			return err
		}
	}
	byID := map[int]int{}
	byName := map[string]int{}
	leafStart := make([]int, len(cols)+1) // first leaf of top-level column numHidden+i
	leafStart[0] = numHidden
	for i, c := range cols {
		leafStart[i+1] = leafStart[i] + len(appendLeaves(nil, c))
		switch {
		case ids != nil:
			if c.ID() != 0 && c.ID() != parquetFieldID(ids[i]) {
				return fmt.Errorf("%w: column %q has field id %d, metadata says %d", types.ErrCorruption, c.Name(), c.ID(), ids[i])
			}
			byID[ids[i]] = numHidden + i
		case c.ID() != 0:
			byID[c.ID()] = numHidden + i
		default:
			byName[strings.ToLower(c.Name())] = numHidden + i
		}
	}
	all := f.file.Root().Columns()
	f.cols = make([]readColumn, len(rs.Fields))
	for i, fld := range rs.Fields {
		idx, ok := byID[fld.ID]
		if !ok {
			idx, ok = byName[strings.ToLower(fld.Name)]
		}
		if !ok {
			def, err := fld.DefaultValue()
			if err != nil {
				return err
			}
			f.cols[i] = readColumn{file: -1, def: def, to: fld.Type}
			continue
		}
		if !all[idx].Leaf() || fld.Type.IsNested() {
			rc, err := mapNested(all[idx], fld)
			if err != nil {
				return err
			}
			rc.file = leafStart[idx-numHidden]
			f.cols[i] = rc
			continue
		}
		st, err := storedType(all[idx].Type(), fld.Type)
		if err != nil {
			return fmt.Errorf("column %q: %w", fld.Name, err)
		}
		if !readableAs(st, fld.Type) {
			return fmt.Errorf("%w: column %q is stored as %s and cannot be read as %s", types.ErrInvalid, fld.Name, st, fld.Type)
		}
		f.cols[i] = readColumn{file: leafStart[idx-numHidden], conv: converter(st, fld.Type), to: fld.Type}
	}
	f.keyIdx = rs.KeyIndexes()
	f.checkKeys = len(f.keyIdx) > 0
	for _, k := range f.keyIdx {
		if k < 0 {
			return fmt.Errorf("%w: read schema has an unknown primary key column", types.ErrInvalid)
		}
		c := f.cols[k]
		if c.file < 0 {
			return fmt.Errorf("%w: primary key column %q is missing from the data file", types.ErrInvalid, rs.Fields[k].Name)
		}
		if st, _ := storedType(f.leaves[c.file].Type(), rs.Fields[k].Type); c.nested != nil || !st.Equal(rs.Fields[k].Type) {
			return fmt.Errorf("%w: primary key column %q is stored as %s, not %s", types.ErrInvalid, rs.Fields[k].Name, st, rs.Fields[k].Type)
		}
	}
	return nil
}

// converter returns the conversion of a non-NULL stored value of type from
// to a runtime value of type to (readableAs(from, to) holds).
func converter(from, to types.DataType) func(parquet.Value) types.Value {
	switch to.Kind {
	case types.Boolean:
		return func(v parquet.Value) types.Value { return v.Boolean() }
	case types.Int:
		return func(v parquet.Value) types.Value { return v.Int32() }
	case types.BigInt:
		if from.Kind == types.Int {
			return func(v parquet.Value) types.Value { return int64(v.Int32()) }
		}
		return func(v parquet.Value) types.Value { return v.Int64() }
	case types.Float:
		return func(v parquet.Value) types.Value { return v.Float() }
	case types.Double:
		if from.Kind == types.Float {
			return func(v parquet.Value) types.Value { return float64(v.Float()) }
		}
		return func(v parquet.Value) types.Value { return v.Double() }
	case types.DecimalKind:
		if to.Is128() {
			return decimalConverter(from)
		}
		if from.Precision <= 9 { // stored as INT32 (see parquetType)
			return func(v parquet.Value) types.Value { return types.Decimal(v.Int32()) }
		}
		return func(v parquet.Value) types.Value { return types.Decimal(v.Int64()) }
	case types.String:
		return func(v parquet.Value) types.Value { return string(v.ByteArray()) }
	case types.Bytes:
		return func(v parquet.Value) types.Value { return append([]byte{}, v.ByteArray()...) }
	case types.DateKind:
		return func(v parquet.Value) types.Value { return types.Date(v.Int32()) }
	case types.TimestampKind:
		return func(v parquet.Value) types.Value { return types.Timestamp(v.Int64()) }
	}
	if conv := converterTemporal(to); conv != nil {
		return conv
	}
	panic("lsm: converter for unknown type " + to.String())
}

// RowCount is the number of records in the file.
func (f *FileReader) RowCount() int64 { return f.rowCount }

// MinKey and MaxKey are the smallest and largest keys in the file.
func (f *FileReader) MinKey() []byte { return f.minKey }

// MaxKey is the largest key in the file.
func (f *FileReader) MaxKey() []byte { return f.maxKey }

// SchemaID is the id of the schema the file was written with.
func (f *FileReader) SchemaID() int64 { return f.schemaID }

// NumRowGroups is the number of row groups in the file.
func (f *FileReader) NumRowGroups() int { return len(f.groups) }

// Stats returns what the reader has read so far.
func (f *FileReader) Stats() ReadStats {
	return ReadStats{RowGroupsRead: f.rowGroupsRead.Load(), BytesRead: f.bytesRead.Load(),
		PagesRead: f.pagesRead.Load(), PageReads: f.pageReads.Load()}
}

// MayContain reports whether the file may hold records of key: false only if
// no row group's key range and bloom filter admit it.
func (f *FileReader) MayContain(key []byte) bool {
	for i := range f.groups {
		if f.groupMayContain(i, key) {
			return true
		}
	}
	return false
}

func (f *FileReader) groupMayContain(i int, key []byte) bool {
	g := &f.groups[i]
	if bytes.Compare(key, g.minKey) < 0 || bytes.Compare(key, g.maxKey) > 0 {
		return false
	}
	if g.bloom == nil {
		return true
	}
	ok, err := g.bloom.Check(parquet.ByteArrayValue(key))
	return ok || err != nil
}

// All yields every record of the file in file order, (Key, Seq) ascending,
// with every column (Records with no projection). Iteration stops at the
// first error.
func (f *FileReader) All(ctx context.Context) iter.Seq2[Record, error] {
	return f.Records(ctx, ReadOptions{})
}

var errStop = errors.New("stop")

// Get returns the records of key in (Seq) order, reading only row groups
// whose key range and bloom filter admit the key.
func (f *FileReader) Get(ctx context.Context, key []byte) ([]Record, error) {
	var out []Record
	for i := range f.groups {
		if !f.groupMayContain(i, key) {
			continue
		}
		ra, err := f.loadGroup(ctx, i)
		if err != nil {
			return nil, err
		}
		lo, hi, err := f.keyRange(ra, i, key)
		if err != nil {
			return nil, err
		}
		if lo == hi {
			continue
		}
		err = f.readRows(ctx, ra, i, lo, hi, func(r Record) error {
			if !bytes.Equal(r.Key, key) {
				return fmt.Errorf("%w: row group %d: key column changed between reads", types.ErrCorruption, i)
			}
			out = append(out, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
