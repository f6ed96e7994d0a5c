package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// Columnar decoding of whole row groups. A scan or a compaction reads every
// row of a row group, so instead of pulling one parquet.Value per cell
// (columnCursor, kept for point lookups that read a few rows) each needed
// column chunk is decoded page by page into a typed array (page.Data(),
// no per-value interface), and records are assembled from the arrays. The
// column projection (ReadOptions.Columns) decides which table columns are
// decoded at all; the hidden _key, _seq and _kind columns always are. Each
// page is decoded from the body the page check (pagecheck.go) already
// decompressed (decodeChecked), so a page is decompressed once.

// ReadOptions narrow what a scan decodes.
type ReadOptions struct {
	// Columns lists the read-schema positions to decode; nil decodes every
	// column. The records' rows keep the read schema's width: columns not
	// listed are NULL. When a primary-key column is not listed, the check
	// that each row's _key matches its key columns is skipped (the key
	// columns are not read).
	Columns []int
}

// Scratch holds the buffers decoding reuses from one row group to the
// next (decompressed page bodies, delta lengths): a compaction that reads
// many row groups one after another passes the same Scratch to each
// DecodeBatchWith instead of growing new buffers every time. The decoded
// batches never point into it. A Scratch serves one decode at a time.
type Scratch struct {
	d decodeScratch
}

// MemBytes is the memory s's buffers hold.
func (s *Scratch) MemBytes() int64 {
	d := &s.d
	return int64(cap(d.page.body) + cap(d.page.page) + 4*(cap(d.delta.prefix)+cap(d.delta.suffix)))
}

// decodeScratch holds the buffers reused across the pages and chunks of
// row groups.
type decodeScratch struct {
	page  pageScratch
	delta deltaScratch
}

// colVals holds one column chunk decoded to one typed slot per row.
type colVals struct {
	kind parquet.Kind
	null []bool // per row; nil when no row is NULL
	b    []bool
	i32  []int32
	i64  []int64
	f32  []float32
	f64  []float64
	data []byte   // byte arrays: row r is data[offs[r]:offs[r+1]]
	offs []uint32 // rows+1 entries
	// fixed-length byte arrays: row r is fixed[r*width:(r+1)*width]
	fixed []byte
	width int
	rows  int // rows decoded so far
	// vals holds a nested column's values, one per row (nil for NULL).
	vals []types.Value
	// dataHint is the chunk's declared uncompressed size, which bounds
	// the first page's estimate of the chunk's byte array data.
	dataHint int64
}

func (c *colVals) init(kind parquet.Kind, rows int) {
	*c = colVals{kind: kind}
	switch kind {
	case parquet.Boolean:
		c.b = make([]bool, 0, rows)
	case parquet.Int32:
		c.i32 = make([]int32, 0, rows)
	case parquet.Int64:
		c.i64 = make([]int64, 0, rows)
	case parquet.Float:
		c.f32 = make([]float32, 0, rows)
	case parquet.Double:
		c.f64 = make([]float64, 0, rows)
	case parquet.ByteArray:
		c.offs = make([]uint32, 1, rows+1)
	}
}

// decodeChunk decodes column col of row group i (its verified bytes ra)
// into dst, checking that it holds exactly the row group's row count.
// scratch (may be nil) holds buffers reused across pages and chunks.
func (f *FileReader) decodeChunk(ra sliceReaderAt, i, col int, dst *colVals, scratch *decodeScratch) (err error) {
	fcc, ok := f.file.RowGroups()[i].ColumnChunks()[col].(*parquet.FileColumnChunk)
	if !ok {
		return fmt.Errorf("%w: unexpected column chunk type", types.ErrCorruption)
	}
	node := fcc.Node()
	rows := int(f.groups[i].rows)
	dst.init(node.Type().Kind(), rows)
	dst.dataHint = f.file.Metadata().RowGroups[i].Columns[col].MetaData.TotalUncompressedSize
	corrupt := func(err error) error {
		if errors.Is(err, types.ErrCorruption) {
			return err
		}
		return fmt.Errorf("%w: row group %d column %s: %v", types.ErrCorruption, i, node.String(), err)
	}
	if pc, ok := node.(*parquet.Column); ok && foldPages {
		err := f.decodeChecked(ra, i, col, pc, dst, rows, corrupt, scratch)
		if err != errNoFold {
			return err
		}
		hint := dst.dataHint
		dst.init(node.Type().Kind(), rows)
		dst.dataHint = hint
	}
	if err := f.checkChunk(ra, i, col, true); err != nil {
		return err
	}
	pages := fcc.PagesFrom(ra)
	defer pages.Close()
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt(err)
		}
		err = dst.appendPage(p, node.Optional(), rows)
		parquet.Release(p)
		if err != nil {
			return corrupt(err)
		}
	}
	if dst.rows != rows {
		return corrupt(fmt.Errorf("fewer values than rows (%d of %d)", dst.rows, rows))
	}
	return nil
}

// errNoFold: the chunk has a page decodeChecked does not decode (a v1
// data page); decodeChunk decodes it through parquet-go's page reader.
var errNoFold = errors.New("page not decoded from the check's bodies")

// decodeChecked decodes column col of row group i in the same pass as its
// deep page check: each page is decoded from the body the check
// decompressed, so no page is decompressed twice.
func (f *FileReader) decodeChecked(ra sliceReaderAt, i, col int, pc *parquet.Column, dst *colVals, rows int, corrupt func(error) error, ds *decodeScratch) error {
	var dict parquet.Dictionary
	if ds == nil {
		ds = new(decodeScratch)
	}
	scratch := &ds.page
	uncompressed := f.file.Metadata().RowGroups[i].Columns[col].MetaData.TotalUncompressedSize
	ownDelta := !pc.Optional() && pc.Type().Kind() == parquet.ByteArray
	page := -1 // the check visits every page, in order
	err := f.checkChunkVisit(ra, i, col, true, func(h *format.PageHeader, levels, values []byte) error {
		page++
		switch {
		case h.Type == format.DictionaryPage && h.DictionaryPageHeader.Valid:
			d, err := decodeDictionary(pc, &h.DictionaryPageHeader.V, values)
			if err != nil {
				return corrupt(err)
			}
			dict = d
			return nil
		case h.Type == format.DataPageV2 && h.DataPageHeaderV2.Valid && values != nil:
			v := h.DataPageHeaderV2.V
			if ownDelta && v.Encoding == format.DeltaByteArray {
				if err := dst.appendDeltaByteArrayWith(values, int(v.NumValues), rows, uncompressed, &ds.delta); err != nil {
					// Worded as the page check's errors, which it replaces.
					return fmt.Errorf("%w: row group %d column %s: page %d: %v", types.ErrCorruption, i, pc.Name(), page, err)
				}
				return nil
			}
			v.IsCompressed = thrift.Null[bool]{V: false, Valid: true} // the check decompressed it
			// The page is copied out (appendPage) before the next one
			// reuses the buffer.
			scratch.page = append(append(scratch.page[:0], levels...), values...)
			p, err := pc.DecodeDataPageV2(dataPageHeaderV2(&v), scratch.page, dict)
			if err != nil {
				return corrupt(err)
			}
			err = dst.appendPage(p, pc.Optional(), rows)
			parquet.Release(p)
			if err != nil {
				return corrupt(err)
			}
			return nil
		}
		return errNoFold
	}, scratch, ownDelta)
	if err != nil {
		return err
	}
	if dst.rows != rows {
		return corrupt(fmt.Errorf("fewer values than rows (%d of %d)", dst.rows, rows))
	}
	return nil
}

// decodeDictionary decodes a dictionary page's decompressed PLAIN body
// (as parquet.Column.DecodeDictionary does after decompressing).
func decodeDictionary(pc *parquet.Column, h *format.DictionaryPageHeader, plain []byte) (parquet.Dictionary, error) {
	enc := h.Encoding
	if enc == format.PlainDictionary {
		enc = format.Plain
	}
	if enc != format.Plain {
		return nil, fmt.Errorf("dictionary encoded as %s", enc)
	}
	t := pc.Type()
	n := int(h.NumValues)
	values := t.NewValues(make([]byte, 0, len(plain)), make([]uint32, 0, n+1))
	values, err := t.Decode(values, plain, parquet.LookupEncoding(enc))
	if err != nil {
		return nil, err
	}
	got := -1
	switch t.Kind() {
	case parquet.ByteArray:
		_, offs := values.ByteArray()
		got = len(offs) - 1
	case parquet.Int32:
		got = len(values.Int32())
	case parquet.Int64:
		got = len(values.Int64())
	case parquet.Float:
		got = len(values.Float())
	case parquet.Double:
		got = len(values.Double())
	case parquet.FixedLenByteArray:
		if b, size := values.FixedLenByteArray(); size > 0 {
			got = len(b) / size
		}
	}
	if got < n {
		return nil, fmt.Errorf("dictionary of %d values decodes to %d", n, got)
	}
	return t.NewDictionary(int(pc.Index()), n, values), nil
}

// appendPage appends the rows of one page.
func (c *colVals) appendPage(p parquet.Page, optional bool, rows int) error {
	n := int(p.NumRows())
	if n <= 0 {
		return errors.New("page yields no values")
	}
	if c.rows+n > rows {
		return errors.New("more values than rows")
	}
	def := p.DefinitionLevels()
	nulls := 0
	switch {
	case optional:
		if len(def) != n {
			return fmt.Errorf("page has %d definition levels for %d rows", len(def), n)
		}
		for _, d := range def {
			if d > 1 {
				return fmt.Errorf("bad definition level %d", d)
			}
			nulls += int(1 - d)
		}
	case len(def) != 0:
		return errors.New("definition levels in a required column")
	}
	if nulls > 0 && c.null == nil {
		c.null = make([]bool, c.rows, rows)
	}
	if c.null != nil {
		if nulls == 0 {
			c.null = append(c.null, make([]bool, n)...)
		} else {
			for _, d := range def {
				c.null = append(c.null, d == 0)
			}
		}
	}
	dense := n - nulls
	data := p.Data()
	// expand maps dense value j to row slots: j is the index of the next
	// non-NULL value; NULL rows get the zero value.
	var err error
	if dict := p.Dictionary(); dict != nil {
		err = c.appendIndexed(data.Int32(), dict, def, dense)
	} else {
		err = c.appendPlain(data, def, dense, rows)
	}
	if err != nil {
		return err
	}
	c.rows += n
	return nil
}

// appendPlain appends the dense values of a non-dictionary page of a
// chunk of rows rows.
func (c *colVals) appendPlain(data encoding.Values, def []byte, dense, rows int) error {
	switch c.kind {
	case parquet.Boolean:
		bits := data.Boolean()
		if len(bits)*8 < dense {
			return errors.New("boolean page too short")
		}
		j := 0
		next := func() bool { v := bits[j>>3]>>(j&7)&1 == 1; j++; return v }
		if def == nil || dense == len(def) {
			for range dense {
				c.b = append(c.b, next())
			}
			return nil
		}
		for _, d := range def {
			c.b = append(c.b, d == 1 && next())
		}
	case parquet.Int32:
		c.i32 = expand(c.i32, data.Int32(), def, dense)
	case parquet.Int64:
		c.i64 = expand(c.i64, data.Int64(), def, dense)
	case parquet.Float:
		c.f32 = expand(c.f32, data.Float(), def, dense)
	case parquet.Double:
		c.f64 = expand(c.f64, data.Double(), def, dense)
	case parquet.ByteArray:
		vals, offs := data.ByteArray()
		if len(offs) != dense+1 || int(offs[dense]) > len(vals) {
			return fmt.Errorf("byte array page has %d offsets for %d values", len(offs), dense)
		}
		for j := 1; j < len(offs); j++ {
			if offs[j] < offs[j-1] {
				return errors.New("byte array offsets out of order")
			}
		}
		if b := int64(offs[dense] - offs[0]); cap(c.data) == 0 && dense > 0 {
			// The first page sizes the chunk's data: its bytes per row
			// for every row, with an eighth to spare, within the declared
			// size (a page with NULLs counts them as rows: more to spare).
			est := b * int64(rows) / int64(dense)
			c.data = make([]byte, 0, max(b, min(est+est/8, c.dataHint, math.MaxInt32)))
		}
		base := uint32(len(c.data)) - offs[0]
		c.data = append(c.data, vals[offs[0]:offs[dense]]...)
		j := 0
		if def == nil || dense == len(def) {
			for _, o := range offs[1:] {
				c.offs = append(c.offs, o+base)
			}
			return nil
		}
		for _, d := range def {
			if d == 1 {
				j++
			}
			c.offs = append(c.offs, offs[j]+base)
		}
	case parquet.FixedLenByteArray:
		if err := c.appendFixedPlain(data, def, dense); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported physical type %s", c.kind)
	}
	if c.lenOf() != c.rows+max(len(def), dense) {
		return fmt.Errorf("page has %d values, want %d", c.lenOf()-c.rows, max(len(def), dense))
	}
	return nil
}

// lenOf is the number of row slots filled in the typed slice.
func (c *colVals) lenOf() int {
	if c.vals != nil {
		return len(c.vals)
	}
	switch c.kind {
	case parquet.Boolean:
		return len(c.b)
	case parquet.ByteArray:
		return len(c.offs) - 1
	case parquet.Int32:
		return len(c.i32)
	case parquet.Int64:
		return len(c.i64)
	case parquet.Float:
		return len(c.f32)
	case parquet.Double:
		return len(c.f64)
	case parquet.FixedLenByteArray:
		if c.width > 0 {
			return len(c.fixed) / c.width
		}
	}
	return 0
}

// expand appends dense values to dst, one slot per row of def (zero for
// NULLs); with no NULLs it is one copy. It returns dst unchanged-length
// plus whatever fit when the page holds the wrong number of values, which
// the caller's length check reports.
func expand[T any](dst, vals []T, def []byte, dense int) []T {
	if len(vals) != dense {
		return dst
	}
	if def == nil || dense == len(def) {
		return append(dst, vals...)
	}
	var zero T
	j := 0
	for _, d := range def {
		if d == 1 {
			dst = append(dst, vals[j])
			j++
		} else {
			dst = append(dst, zero)
		}
	}
	return dst
}

// appendIndexed appends the values of a dictionary-encoded page.
func (c *colVals) appendIndexed(idx []int32, dict parquet.Dictionary, def []byte, dense int) error {
	if len(idx) != dense {
		return fmt.Errorf("page has %d indexes for %d values", len(idx), dense)
	}
	n := int32(dict.Len())
	for _, x := range idx {
		if x < 0 || x >= n {
			return fmt.Errorf("dictionary index %d out of range [0,%d)", x, n)
		}
	}
	dv := dict.Page().Data()
	if def == nil || len(def) == dense {
		// No NULL in the page: one value per index (the hidden _kind, and
		// most dictionary pages).
		if done, err := c.appendIndexedDense(idx, dv, n); done || err != nil {
			return err
		}
	}
	j := 0
	nextIdx := func(d byte) (int32, bool) {
		if def != nil && d == 0 {
			return 0, false
		}
		x := idx[j]
		j++
		return x, true
	}
	rowsN := dense
	if def != nil {
		rowsN = len(def)
	}
	level := func(r int) byte {
		if def == nil {
			return 1
		}
		return def[r]
	}
	switch c.kind {
	case parquet.Int32:
		d := dv.Int32()
		if len(d) < int(n) {
			return errors.New("dictionary shorter than its length")
		}
		for r := range rowsN {
			x, ok := nextIdx(level(r))
			if ok {
				c.i32 = append(c.i32, d[x])
			} else {
				c.i32 = append(c.i32, 0)
			}
		}
	case parquet.Int64:
		d := dv.Int64()
		if len(d) < int(n) {
			return errors.New("dictionary shorter than its length")
		}
		for r := range rowsN {
			x, ok := nextIdx(level(r))
			if ok {
				c.i64 = append(c.i64, d[x])
			} else {
				c.i64 = append(c.i64, 0)
			}
		}
	case parquet.Float:
		d := dv.Float()
		if len(d) < int(n) {
			return errors.New("dictionary shorter than its length")
		}
		for r := range rowsN {
			x, ok := nextIdx(level(r))
			if ok {
				c.f32 = append(c.f32, d[x])
			} else {
				c.f32 = append(c.f32, 0)
			}
		}
	case parquet.Double:
		d := dv.Double()
		if len(d) < int(n) {
			return errors.New("dictionary shorter than its length")
		}
		for r := range rowsN {
			x, ok := nextIdx(level(r))
			if ok {
				c.f64 = append(c.f64, d[x])
			} else {
				c.f64 = append(c.f64, 0)
			}
		}
	case parquet.ByteArray:
		vals, offs := dv.ByteArray()
		if len(offs) != int(n)+1 {
			return fmt.Errorf("dictionary has %d offsets for %d values", len(offs), n)
		}
		for r := range rowsN {
			if x, ok := nextIdx(level(r)); ok {
				a, b := offs[x], offs[x+1]
				if a > b || int(b) > len(vals) {
					return errors.New("dictionary offsets out of range")
				}
				c.data = append(c.data, vals[a:b]...)
			}
			c.offs = append(c.offs, uint32(len(c.data)))
		}
	case parquet.FixedLenByteArray:
		return c.appendFixedIndexed(idx, dv, def, n)
	default:
		// Booleans are never dictionary-encoded by parquet-go.
		return fmt.Errorf("dictionary-encoded %s column", c.kind)
	}
	return nil
}

// appendIndexedDense is appendIndexed of a page without NULLs (every
// index checked to be below n); done is false for a kind it leaves to
// appendIndexed.
func (c *colVals) appendIndexedDense(idx []int32, dv encoding.Values, n int32) (done bool, err error) {
	switch c.kind {
	case parquet.Int32:
		d := dv.Int32()
		if len(d) < int(n) {
			return true, errors.New("dictionary shorter than its length")
		}
		for _, x := range idx {
			c.i32 = append(c.i32, d[x])
		}
	case parquet.Int64:
		d := dv.Int64()
		if len(d) < int(n) {
			return true, errors.New("dictionary shorter than its length")
		}
		for _, x := range idx {
			c.i64 = append(c.i64, d[x])
		}
	case parquet.Float:
		d := dv.Float()
		if len(d) < int(n) {
			return true, errors.New("dictionary shorter than its length")
		}
		for _, x := range idx {
			c.f32 = append(c.f32, d[x])
		}
	case parquet.Double:
		d := dv.Double()
		if len(d) < int(n) {
			return true, errors.New("dictionary shorter than its length")
		}
		for _, x := range idx {
			c.f64 = append(c.f64, d[x])
		}
	default:
		return false, nil
	}
	return true, nil
}

// groupBatch is one row group decoded column by column.
type groupBatch struct {
	group int
	rows  int
	key   colVals
	seq   colVals
	kind  colVals
	cols  []colVals // per read-schema field; unused for fields not decoded
	want  []bool    // per read-schema field: decoded (or a default)
	check bool      // check _key against the key columns
	slab  []types.Value
	// dupKeys: some row's key equals the previous row's (several records
	// of a key); otherwise each row is its key's only record here.
	dupKeys bool
}

// projection returns, per read-schema field, whether it is read.
func (f *FileReader) projection(opts ReadOptions) (want []bool, check bool, err error) {
	want = make([]bool, len(f.cols))
	if opts.Columns == nil {
		for i := range want {
			want[i] = true
		}
		return want, f.checkKeys, nil
	}
	for _, c := range opts.Columns {
		if c < 0 || c >= len(want) {
			return nil, false, fmt.Errorf("%w: projected column %d out of range [0,%d)", types.ErrInvalid, c, len(want))
		}
		want[c] = true
	}
	check = f.checkKeys
	for _, k := range f.keyIdx {
		check = check && want[k]
	}
	return want, check, nil
}

// decodeGroup loads, verifies and decodes row group i.
func (f *FileReader) decodeGroup(ctx context.Context, i int, want []bool, check bool) (_ *groupBatch, err error) {
	ra, err := f.loadGroupInPlace(ctx, i)
	if err != nil {
		return nil, err
	}
	return f.decodeLoaded(ctx, ra, i, want, check)
}

func (f *FileReader) decodeLoaded(ctx context.Context, ra sliceReaderAt, i int, want []bool, check bool) (_ *groupBatch, err error) {
	return f.decodeLoadedWith(ctx, ra, i, want, check, nil)
}

// decodeLoadedWith is decodeLoaded reusing the buffers of scratch (nil:
// buffers of its own for this row group).
func (f *FileReader) decodeLoadedWith(ctx context.Context, ra sliceReaderAt, i int, want []bool, check bool, scratch *Scratch) (_ *groupBatch, err error) {
	defer recoverCorruption(&err, i)
	b := &groupBatch{group: i, rows: int(f.groups[i].rows), cols: make([]colVals, len(f.cols)), want: want, check: check}
	if scratch == nil {
		scratch = new(Scratch)
	}
	for c, dst := range []*colVals{&b.key, &b.seq, &b.kind} {
		if err := f.decodeChunk(ra, i, c, dst, &scratch.d); err != nil {
			return nil, err
		}
	}
	for c, rc := range f.cols {
		if !want[c] || rc.file < 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if rc.nested != nil {
			if err := f.decodeNestedVals(ra, i, &rc, &b.cols[c]); err != nil {
				return nil, err
			}
			continue
		}
		if err := f.decodeChunk(ra, i, rc.file, &b.cols[c], &scratch.d); err != nil {
			return nil, err
		}
	}
	if b.key.null != nil || b.seq.null != nil || b.kind.null != nil {
		return nil, fmt.Errorf("%w: row group %d: NULL in a hidden column", types.ErrCorruption, i)
	}
	g := &f.groups[i]
	// The hidden columns: keys within the row group's range and in
	// (key, seq) order, valid kinds.
	var prev []byte
	for r := 0; r < b.rows; r++ {
		k := b.key.data[b.key.offs[r]:b.key.offs[r+1]]
		if kind := b.kind.i32[r]; kind&^(kindResetBit|3) != 0 {
			return nil, fmt.Errorf("%w: row group %d row %d: bad %s value %d", types.ErrCorruption, i, r, colKind, kind)
		}
		if r == 0 {
			if bytes.Compare(k, g.minKey) < 0 {
				return nil, fmt.Errorf("%w: row group %d row %d: key outside the row group's key range", types.ErrCorruption, i, r)
			}
		} else if c := bytes.Compare(prev, k); c > 0 || (c == 0 && b.seq.i64[r-1] > b.seq.i64[r]) {
			return nil, fmt.Errorf("%w: records out of (key, seq) order in row group %d", types.ErrCorruption, i)
		} else if c == 0 {
			b.dupKeys = true
		}
		prev = k
	}
	if b.rows > 0 && bytes.Compare(prev, g.maxKey) > 0 {
		return nil, fmt.Errorf("%w: row group %d row %d: key outside the row group's key range", types.ErrCorruption, i, b.rows-1)
	}
	return b, nil
}

// record assembles row r of the batch. Keys share the batch's key buffer,
// which is never written after decoding (each is capped at its length);
// BYTES values are copied.
func (f *FileReader) record(b *groupBatch, r int, scratch *[]byte) (Record, error) {
	kind := b.kind.i32[r]
	rec := Record{
		Key:    b.key.data[b.key.offs[r]:b.key.offs[r+1]:b.key.offs[r+1]],
		Seq:    b.seq.i64[r] + f.seqBase,
		Kind:   types.RowKind(kind & 3),
		Reset:  kind&kindResetBit != 0,
		Merged: true,
	}
	n := len(f.cols)
	if len(b.slab) < n {
		b.slab = make([]types.Value, n*min(256, b.rows-r))
	}
	rec.Row, b.slab = types.Row(b.slab[:n:n]), b.slab[n:]
	for c := range f.cols {
		if !b.want[c] {
			continue
		}
		rc := &f.cols[c]
		if rc.file < 0 {
			rec.Row[c] = cloneDefault(rc.def)
			continue
		}
		cv := &b.cols[c]
		if cv.null != nil && cv.null[r] {
			continue
		}
		rec.Row[c] = rc.value(cv, r)
	}
	if b.check {
		var err error
		if *scratch, err = types.EncodeRowKey((*scratch)[:0], rec.Row, f.keyIdx); err != nil || !bytes.Equal(*scratch, rec.Key) {
			return Record{}, fmt.Errorf("%w: row group %d row %d: %s does not match the key columns", types.ErrCorruption, b.group, r, colKey)
		}
	}
	return rec, nil
}

// value converts the stored value of row r (not NULL) to the field's type
// (see converter, which does the same for one parquet.Value).
func (rc *readColumn) value(cv *colVals, r int) types.Value {
	switch rc.to.Kind {
	case types.Boolean:
		return cv.b[r]
	case types.Int:
		return cv.i32[r]
	case types.BigInt:
		if cv.kind == parquet.Int32 {
			return int64(cv.i32[r])
		}
		return cv.i64[r]
	case types.Float:
		return cv.f32[r]
	case types.Double:
		if cv.kind == parquet.Float {
			return float64(cv.f32[r])
		}
		return cv.f64[r]
	case types.DecimalKind:
		if rc.to.Is128() {
			return types.Decimal128(cv.dec128(r))
		}
		if cv.kind == parquet.Int32 {
			return types.Decimal(cv.i32[r])
		}
		return types.Decimal(cv.i64[r])
	case types.String:
		return string(cv.data[cv.offs[r]:cv.offs[r+1]])
	case types.Bytes:
		return append([]byte{}, cv.data[cv.offs[r]:cv.offs[r+1]]...)
	case types.DateKind:
		return types.Date(cv.i32[r])
	case types.TimestampKind:
		return types.Timestamp(cv.i64[r])
	case types.ArrayKind, types.MapKind, types.StructKind:
		return cv.vals[r]
	}
	if v, ok := valueTemporal(rc.to, cv, r); ok {
		return v
	}
	panic("lsm: value of unknown type " + rc.to.String())
}
