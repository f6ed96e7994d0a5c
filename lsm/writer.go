package lsm

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// FormatVersion is the data-file format version written into every file's
// key-value metadata (silt.format.version). Readers accept versions up to it.
// Version 2 gives the column of field id 0 and the hidden columns Parquet
// field_ids (ParquetFieldID0, ParquetFieldIDHidden; version 1 stores none);
// builds that read only version 1 would reject such a file as corrupt,
// hence the new version.
const FormatVersion = 2

// MaxRowGroupRows is the most rows a row group may hold: readers size
// their buffers by a row group's declared row count, so a file declaring
// more is rejected as corrupt before anything is allocated for it.
const MaxRowGroupRows = 1 << 24

// Key-value metadata keys of a data file.
const (
	metaFormatVersion = "silt.format.version"
	metaSchemaID      = "silt.schema.id"
	metaFieldIDs      = "silt.field.ids"
)

// WriterOptions configure WriteFiles. Zero fields take the documented
// defaults (see EnsureDefaults).
type WriterOptions struct {
	// TargetFileSize starts a new file once the current one reaches this
	// many bytes (estimated before compression of the last pages; one key's
	// records never span files). Default 128 MiB.
	TargetFileSize int64
	// RowGroupRows caps the rows of a row group. Default 65536, at most
	// MaxRowGroupRows.
	RowGroupRows int
	// RowGroupBytes caps the estimated bytes of a row group. Default 64 MiB.
	RowGroupBytes int64
	// PageBytes is the target uncompressed size of a data page. Default
	// defaultPageBytes.
	PageBytes int
	// Compression is the page compression of the files (zero value: ZSTD
	// at DefaultZstdLevel).
	Compression Compression
	// BloomBitsPerKey sizes the split-block bloom filter of the _key column
	// (10 bits give about 1% false positives). Default 10.
	BloomBitsPerKey int
	// Buffers, when set, lends each file its buffer; the caller hands
	// EncodedFile.Data back with Buffers.Release once nothing reads it
	// (see Buffers).
	Buffers *Buffers
	// rowPath selects the row encoder (parquet.Row per record) instead of
	// the columnar one; tests compare the two.
	rowPath bool
	// workers, when positive, is the number of goroutines encoding the
	// columns of a file (default: see encodeWorkers); tests compare 1 with
	// several.
	workers int
	// newWriters makes every file's parquet.Writer a new one (see
	// writer_pool.go); tests compare the two.
	newWriters bool
}

// defaultPageBytes is the default data page size. A point lookup reads
// single pages (FileReader.LookupKeys): with 16 KiB pages a lookup in a
// typical table reads tens of kilobytes instead of hundreds, but decoding
// whole row groups (scans) takes 17-33 % more CPU per row and encoding
// about 5 % more than with 256 KiB pages (see BenchmarkPageSize). Scans
// and ingest are the common case, so the default stays 256 KiB and tables
// read mostly by key set parquet.page-size (table option).
const defaultPageBytes = 256 << 10

// EnsureDefaults fills zero fields with their defaults.
func (o *WriterOptions) EnsureDefaults() {
	if o.TargetFileSize <= 0 {
		o.TargetFileSize = 128 << 20
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 64 << 10
	}
	o.RowGroupRows = min(o.RowGroupRows, MaxRowGroupRows)
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = 64 << 20
	}
	if o.PageBytes <= 0 {
		o.PageBytes = defaultPageBytes
	}
	if o.BloomBitsPerKey <= 0 {
		o.BloomBitsPerKey = 10
	}
}

// EncodedFile is one encoded data file and the facts a manifest entry needs.
type EncodedFile struct {
	Data []byte
	// RowCount is the number of records; DeleteCount those of kind -U/-D.
	RowCount, DeleteCount int64
	// MinKey and MaxKey are the smallest and largest Key.
	MinKey, MaxKey []byte
	// MinSeq and MaxSeq are the smallest and largest Seq as stored (before
	// any SeqBase).
	MinSeq, MaxSeq int64
	// SeqBase must be recorded as the file's sequence base: readers add it
	// to the stored _seq values. It is 0 unless the file holds row groups
	// copied from a file with another base (see WritePieces).
	SeqBase int64
	// GroupsCopied counts row groups copied verbatim from input files
	// (their compressed pages spliced in), RowsCopied their records.
	// GroupsReencoded counts row groups parquet-go re-encoded column by
	// column because a verbatim copy was not possible; GroupsDecoded those
	// that had to be decoded to records and encoded again (a different
	// Parquet schema or sequence base).
	GroupsCopied, GroupsReencoded, GroupsDecoded int
	// RowsCopied and BytesCopied are the records and compressed bytes of
	// the row groups copied verbatim.
	RowsCopied, BytesCopied int64
}

// WriteFiles encodes merged records sorted by (Key, Seq) as Parquet sorted-run
// files in the layout described in the package doc. A new file is started
// when TargetFileSize is reached, never inside one key's records. Records
// out of order, not produced by a Merger (Merged unset), with the wrong
// number of values or with values of the wrong Go type are rejected with
// types.ErrInvalid.
func WriteFiles(recs []Record, schema *types.Schema, opts WriterOptions) ([]EncodedFile, error) {
	if len(recs) == 0 {
		if schema == nil {
			return nil, fmt.Errorf("%w: nil schema", types.ErrInvalid)
		}
		return nil, nil
	}
	// Records alone are never decoded, so no context is needed.
	return WritePieces(context.Background(), []Piece{{Records: recs}}, schema, opts)
}

func checkRecords(recs []Record, s *types.Schema) error {
	for i := range recs {
		r := &recs[i]
		switch {
		case len(r.Key) == 0:
			return fmt.Errorf("%w: record %d has an empty key", types.ErrInvalid, i)
		case !r.Merged:
			return fmt.Errorf("%w: record %d was not produced by a merge (Merged unset)", types.ErrInvalid, i)
		case !r.Kind.Valid():
			return fmt.Errorf("%w: record %d has bad row kind %d", types.ErrInvalid, i, r.Kind)
		case len(r.Row) != len(s.Fields) && RefOf(r) == nil:
			return fmt.Errorf("%w: record %d has %d values, schema has %d columns", types.ErrInvalid, i, len(r.Row), len(s.Fields))
		case i > 0 && compareRecords(&recs[i-1], r) > 0:
			return fmt.Errorf("%w: records not sorted by (key, seq) at record %d", types.ErrInvalid, i)
		}
	}
	return nil
}

func hasNull(recs []Record, col int) bool {
	for i := range recs {
		if ref := RefOf(&recs[i]); ref != nil {
			if ref.isNull(col) {
				return true
			}
			continue
		}
		if recs[i].Row[col] == nil {
			return true
		}
	}
	return false
}

// fileWriter encodes one file at a time, column by column: every
// writeBatch rows, each column's values are converted and handed to its
// parquet ColumnWriter in chunks of pageChunkRows rows, no parquet.Row per
// record (see writer_columns.go).
type fileWriter struct {
	schema   *types.Schema
	ps       *parquet.Schema
	optional []bool
	// valueChecks: columns checked value by value (valueCheckColumns).
	valueChecks []int
	opts        WriterOptions

	buf bytes.Buffer
	w   *parquet.Writer
	// key is the configuration of w when pooled (writer_pool.go); keyed
	// once it is computed. reused is set when w wrote a file before.
	key                   writerKey
	keyed, pooled, reused bool
	// pend holds the rows not yet handed to the column writers (pending
	// counts them, also for rowPath); scratch is one chunk of values per
	// encoding goroutine (see eachColumn), colErrs their columns' errors.
	pend    []pendingRow
	pending int
	// srcs are the batches pend's rows come from (pendingRow.src).
	srcs []pendSrc
	// checked caches batchValid by a change batch's first array.
	checked map[arrow.Array]bool
	scratch [][]parquet.Value
	colErrs []error
	// workers is the number of goroutines that encode columns (see
	// eachColumn); 1 for rowPath.
	workers   int
	rgRows    int   // rows in the current row group
	rgStart   int64 // w.Size() when the current row group started
	sized     int64 // w.Size() unless negative (see size)
	rowGroups int
	file      EncodedFile
	// base is subtracted from every record's Seq; copies maps output row
	// groups written by copying to their source.
	base   int64
	copies map[int]*GroupCopy
	// rowPath encodes through parquet.Row and Writer.WriteRows, the
	// encoder before the columnar one (tests compare the two).
	rowPath bool
	rows    []parquet.Row
	// leaves maps the file's table columns (file column - numHidden) to
	// fields when a field is nested; nil otherwise (nested_write.go).
	leaves []leafCol
}

const writeBatch = 256

// tailSlack is the room left in a file's buffer for the page index and
// footer that follow its pages.
const tailSlack = 16 << 10

const maxInt = int64(^uint(0) >> 1)

func (fw *fileWriter) start() {
	fw.buf = *bytes.NewBuffer(fw.opts.Buffers.get())
	fw.sized = -1
	fw.w = fw.parquetWriter()
	if fw.pend == nil {
		fw.pend = make([]pendingRow, 0, writeBatch)
	}
	fw.resetColumns()
	fw.initLeaves()
	fw.workers = encodeWorkers(fw.opts.workers)
	if fw.rowPath {
		fw.workers = 1
	}
	fw.rows = fw.rows[:0]
	fw.rgRows, fw.rgStart, fw.rowGroups = 0, 0, 0
	fw.file = EncodedFile{}
	fw.copies = map[int]*GroupCopy{}
}

func (fw *fileWriter) add(r *Record) error {
	if ref := RefOf(r); ref != nil {
		if fw.rowPath {
			boxed := Box(*r)
			return fw.addRow(&boxed)
		}
		if err := fw.appendRef(r, ref); err != nil {
			return err
		}
		return fw.added(r.Key, r.Seq, r.Kind)
	}
	if fw.rowPath {
		return fw.addRow(r)
	}
	if err := fw.appendRecord(r); err != nil {
		return err
	}
	return fw.added(r.Key, r.Seq, r.Kind)
}

// added accounts for one appended record and writes and flushes as due.
func (fw *fileWriter) added(key []byte, seq int64, kind types.RowKind) error {
	n := int64(0)
	if !kind.IsAdd() {
		n = 1
	}
	fw.account(key, key, seq-fw.base, seq-fw.base, 1, n)
	fw.rgRows++
	if fw.pending == writeBatch || fw.rgRows >= fw.opts.RowGroupRows {
		if err := fw.writeRows(); err != nil {
			return err
		}
	}
	if fw.rgRows >= fw.opts.RowGroupRows || (fw.rgRows%64 == 0 && fw.size()-fw.rgStart >= fw.opts.RowGroupBytes) {
		return fw.flushRowGroup()
	}
	return nil
}

// addRow is add through parquet.Row (rowPath).
func (fw *fileWriter) addRow(r *Record) error {
	// The rows of a batch are reused once WriteRows has copied them into
	// the column buffers.
	var dst parquet.Row
	if n := len(fw.rows); n < cap(fw.rows) {
		dst = fw.rows[:n+1][n]
	}
	row, err := fw.encodeRow(dst[:0], r)
	if err != nil {
		return err
	}
	fw.rows = append(fw.rows, row)
	fw.pending++
	return fw.added(r.Key, r.Seq, r.Kind)
}

func (fw *fileWriter) writeRows() error {
	if fw.pending == 0 {
		return nil
	}
	fw.sized = -1
	if fw.rowPath {
		if _, err := fw.w.WriteRows(fw.rows); err != nil {
			return fmt.Errorf("encoding rows: %w", err)
		}
		fw.rows = fw.rows[:0]
		fw.pending = 0
		return nil
	}
	return fw.writeColumns()
}

func (fw *fileWriter) flushRowGroup() error {
	if err := fw.writeRows(); err != nil {
		return err
	}
	if fw.rgRows == 0 {
		return nil
	}
	if err := fw.flushColumns(); err != nil {
		return fmt.Errorf("writing row group: %w", err)
	}
	// The row group's pages are copied into the file's buffer: make room
	// for them, the bloom filter (at most twice its bits, rounded up to a
	// power of two) and the footer once rather than doubling the buffer
	// page by page.
	bloom := fw.file.RowCount * int64(fw.opts.BloomBitsPerKey) / 4
	if grow := fw.size() + bloom + tailSlack - int64(fw.buf.Len()); grow > 0 && grow <= maxInt {
		fw.buf.Grow(int(grow))
	}
	fw.sized = -1
	if err := fw.w.Flush(); err != nil {
		return fmt.Errorf("writing row group: %w", err)
	}
	fw.rowGroups++
	fw.rgRows = 0
	fw.rgStart = fw.size()
	return nil
}

// size is fw.w.Size(), the bytes of the file so far with its unflushed
// pages, remembered between the calls that change it: rows are handed to
// the column writers only every writeBatch rows, but a file's size is
// compared with the target after every key.
func (fw *fileWriter) size() int64 {
	if fw.sized < 0 {
		fw.sized = fw.w.Size()
	}
	return fw.sized
}

// finish closes the file, then patches its checksums in place.
func (fw *fileWriter) finish() (EncodedFile, error) {
	if err := fw.flushRowGroup(); err != nil {
		return EncodedFile{}, err
	}
	fw.w.SetKeyValueMetadata(metaFormatVersion, strconv.Itoa(FormatVersion))
	fw.w.SetKeyValueMetadata(metaSchemaID, strconv.FormatInt(fw.schema.ID, 10))
	fw.w.SetKeyValueMetadata(metaFieldIDs, formatFieldIDs(fw.schema))
	fw.w.SetKeyValueMetadata(checksumKey, checksumPlaceholder(fw.rowGroups))
	if err := fw.w.Close(); err != nil {
		return EncodedFile{}, fmt.Errorf("closing data file: %w", err)
	}
	var paths [][]string
	if fw.reused {
		paths = fw.ps.Columns()
	}
	data, err := truncateFooterStats(fw.buf.Bytes(), paths)
	if err != nil {
		return EncodedFile{}, err
	}
	crcs, err := sealFile(data, fw.rowGroups)
	if err != nil {
		return EncodedFile{}, err
	}
	f := fw.file
	for i, c := range fw.copies {
		if crcs[i] == c.crc {
			f.GroupsCopied++
			f.RowsCopied += c.rows
			f.BytesCopied += c.Size()
		} else {
			f.GroupsReencoded++
		}
	}
	f.Data = data
	f.MaxKey = bytes.Clone(f.MaxKey)
	return f, nil
}

// encodeRow appends a record to row as a Parquet row in file column order.
func (fw *fileWriter) encodeRow(row parquet.Row, r *Record) (parquet.Row, error) {
	kind := int32(r.Kind)
	if r.Reset {
		kind |= kindResetBit
	}
	row = append(row,
		parquet.ByteArrayValue(r.Key).Level(0, 0, 0),
		parquet.Int64Value(r.Seq-fw.base).Level(0, 0, 1),
		parquet.Int32Value(kind).Level(0, 0, 2))
	for i, v := range r.Row {
		col := numHidden + i
		if v == nil {
			if !fw.optional[i] {
				return nil, fmt.Errorf("%w: NULL in NOT NULL column %q", types.ErrInvalid, fw.schema.Fields[i].Name)
			}
			row = append(row, parquet.Value{}.Level(0, 0, col))
			continue
		}
		pv, ok := toParquet(v, fw.schema.Fields[i].Type)
		if !ok {
			if e, failed := v.(MergeError); failed {
				return nil, e
			}
			return nil, fmt.Errorf("%w: column %q: value of Go type %T is not a %s", types.ErrInvalid, fw.schema.Fields[i].Name, v, fw.schema.Fields[i].Type)
		}
		def := 0
		if fw.optional[i] {
			def = 1
		}
		row = append(row, pv.Level(0, def, col))
	}
	return row, nil
}

// toParquet converts a non-NULL value of a column kind.
func toParquet(v types.Value, t types.DataType) (parquet.Value, bool) {
	switch t.Kind {
	case types.Boolean:
		x, ok := v.(bool)
		return parquet.BooleanValue(x), ok
	case types.Int:
		x, ok := v.(int32)
		return parquet.Int32Value(x), ok
	case types.BigInt:
		x, ok := v.(int64)
		return parquet.Int64Value(x), ok
	case types.Float:
		x, ok := v.(float32)
		return parquet.FloatValue(x), ok
	case types.Double:
		x, ok := v.(float64)
		return parquet.DoubleValue(x), ok
	case types.DecimalKind:
		if t.Is128() {
			if !decimal128Fits(v, t) {
				return parquet.Value{}, false
			}
			return decimalValue(v.(types.Decimal128), t)
		}
		x, ok := v.(types.Decimal)
		if t.Precision <= 9 {
			return parquet.Int32Value(int32(x)), ok
		}
		return parquet.Int64Value(int64(x)), ok
	case types.String:
		x, ok := v.(string)
		return parquet.ByteArrayValue([]byte(x)), ok
	case types.Bytes:
		x, ok := v.([]byte)
		return parquet.ByteArrayValue(x), ok
	case types.DateKind:
		x, ok := v.(types.Date)
		return parquet.Int32Value(int32(x)), ok
	case types.TimestampKind:
		x, ok := v.(types.Timestamp)
		return parquet.Int64Value(int64(x)), ok
	}
	return parquet.Value{}, false
}
