package lsm

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// The page index of a data file. parquet-go writes, after the row groups,
// an offset index (where each data page of a column chunk starts, its size
// with its header, and its first row) and a column index (each page's min
// and max) for every column chunk. Both lie in the file tail, which
// OpenFile verifies whole (checksum.go), so they are parsed from verified
// bytes; chunkPages then checks that they describe the chunk exactly: the
// pages start at the chunk's first data page, follow each other without a
// gap, end at the chunk's end, and their first rows start at 0 and ascend
// below the row group's row count. A point lookup uses them to read single
// pages instead of row groups (page_read.go).

// pageLoc is one data page of a column chunk.
type pageLoc struct {
	off      int64 // file offset of the page header
	size     int64 // header and body
	firstRow int64 // the page's first row within the row group
}

// chunkIndex is the checked page index of one column chunk.
type chunkIndex struct {
	// dictOff and dictLen locate the dictionary page (header and body);
	// dictLen is 0 when the chunk has none.
	dictOff, dictLen int64
	pages            []pageLoc
	rows             int64 // the row group's row count
	// min and max are the column index's per-page bounds (for the _key
	// column: truncated, so min is never greater and max never smaller
	// than the page's keys); nil when not wanted or absent.
	min, max [][]byte
	// nulls are the column index's per-page NULL counts (nil: absent).
	nulls []int64
}

// pageRows returns the rows [first, end) of page p.
func (c *chunkIndex) pageRows(p int) (first, end int64) {
	first = c.pages[p].firstRow
	if p+1 < len(c.pages) {
		return first, c.pages[p+1].firstRow
	}
	return first, c.rows
}

// pageOf returns the page holding row.
func (c *chunkIndex) pageOf(row int64) int {
	lo, hi := 0, len(c.pages)
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if c.pages[m].firstRow <= row {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// pageIndexes caches the checked page index of the column chunks a
// reader used; it is shared by the FileReaders of one Footer.
type pageIndexes struct {
	mu sync.Mutex
	m  map[[2]int]*chunkIndex
}

// errNoPageIndex: the chunk has no page index (a file written without
// one); the reader falls back to reading the row group.
var errNoPageIndex = fmt.Errorf("no page index")

// chunkIndex returns the checked page index of column col of row group
// i, with the column index's bounds when bounds is set. It returns
// errNoPageIndex when the chunk has none, and an error wrapping
// types.ErrCorruption when it does not describe the chunk.
func (f *FileReader) chunkIndex(i, col int, bounds bool) (*chunkIndex, error) {
	if f.pidx == nil {
		return nil, errNoPageIndex
	}
	k := [2]int{i, col}
	f.pidx.mu.Lock()
	ci, ok := f.pidx.m[k]
	f.pidx.mu.Unlock()
	if ok && (!bounds || ci.min != nil) {
		return ci, nil
	}
	cc := &f.file.Metadata().RowGroups[i].Columns[col]
	ci, err := parseChunkIndex(f.tail, cc, f.groups[i].rows, bounds)
	if err != nil {
		if err == errNoPageIndex {
			return nil, err
		}
		return nil, fmt.Errorf("row group %d column %s: %w", i, f.file.Root().Columns()[col].Name(), err)
	}
	f.pidx.mu.Lock()
	if f.pidx.m == nil {
		f.pidx.m = map[[2]int]*chunkIndex{}
	}
	f.pidx.m[k] = ci
	f.pidx.mu.Unlock()
	return ci, nil
}

// parseChunkIndex reads and checks the page index of column chunk cc of
// a row group of rows rows from the verified tail.
func parseChunkIndex(tail sliceReaderAt, cc *format.ColumnChunk, rows int64, bounds bool) (_ *chunkIndex, err error) {
	if cc.OffsetIndexLength <= 0 || cc.OffsetIndexOffset <= 0 {
		return nil, errNoPageIndex
	}
	b, err := tailBytes(tail, cc.OffsetIndexOffset, int64(cc.OffsetIndexLength), "offset index")
	if err != nil {
		return nil, err
	}
	oi, err := decodeOffsetIndex(b)
	if err != nil {
		return nil, err
	}
	md := &cc.MetaData
	ci, err := checkOffsetIndex(oi, md, rows)
	if err != nil {
		return nil, err
	}
	if bounds {
		if cc.ColumnIndexLength <= 0 || cc.ColumnIndexOffset <= 0 {
			return nil, errNoPageIndex
		}
		b, err := tailBytes(tail, cc.ColumnIndexOffset, int64(cc.ColumnIndexLength), "column index")
		if err != nil {
			return nil, err
		}
		cx, err := decodeColumnIndex(b)
		if err != nil {
			return nil, err
		}
		if len(cx.MinValues) == 0 && len(cx.MaxValues) == 0 {
			// parquet-go writes an empty column index for columns whose
			// values it keeps no bounds for (FIXED_LEN_BYTE_ARRAY UUIDs and
			// wide DECIMALs): the chunk is read whole, as without an index.
			// The tail holding it is checksummed, so this is not damage.
			return nil, errNoPageIndex
		}
		if len(cx.MinValues) != len(ci.pages) || len(cx.MaxValues) != len(ci.pages) || len(cx.NullPages) != len(ci.pages) {
			return nil, fmt.Errorf("%w: column index lists %d pages, offset index %d", types.ErrCorruption, len(cx.MinValues), len(ci.pages))
		}
		if len(cx.NullCounts) == len(ci.pages) {
			ci.nulls = slices.Clone([]int64(cx.NullCounts))
		}
		ci.min, ci.max = make([][]byte, len(ci.pages)), make([][]byte, len(ci.pages))
		for p := range ci.pages {
			if cx.NullPages[p] {
				continue // no bounds: the page may hold anything
			}
			ci.min[p], ci.max[p] = bytes.Clone(cx.MinValues[p]), bytes.Clone(cx.MaxValues[p])
		}
	}
	return ci, nil
}

// checkOffsetIndex checks that oi describes the chunk of md in a row
// group of rows rows exactly.
func checkOffsetIndex(oi *format.OffsetIndex, md *format.ColumnMetaData, rows int64) (*chunkIndex, error) {
	bad := func(format string, args ...any) (*chunkIndex, error) {
		return nil, fmt.Errorf("%w: offset index: "+format, append([]any{types.ErrCorruption}, args...)...)
	}
	end := md.DataPageOffset + md.TotalCompressedSize
	ci := &chunkIndex{rows: rows}
	if d := md.DictionaryPageOffset; d > 0 && d < md.DataPageOffset {
		end = d + md.TotalCompressedSize
		ci.dictOff, ci.dictLen = d, md.DataPageOffset-d
	}
	n := len(oi.PageLocations)
	if n == 0 || int64(n) > rows {
		return bad("%d pages for %d rows", n, rows)
	}
	ci.pages = make([]pageLoc, n)
	at := md.DataPageOffset
	for p, l := range oi.PageLocations {
		switch {
		case l.Offset != at:
			return bad("page %d at offset %d, expected %d", p, l.Offset, at)
		case l.CompressedPageSize <= 0 || int64(l.CompressedPageSize) > end-at:
			return bad("page %d of %d bytes, %d left in the chunk", p, l.CompressedPageSize, end-at)
		case p == 0 && l.FirstRowIndex != 0:
			return bad("first page starts at row %d", l.FirstRowIndex)
		case p > 0 && l.FirstRowIndex <= ci.pages[p-1].firstRow:
			return bad("page %d starts at row %d, not after row %d", p, l.FirstRowIndex, ci.pages[p-1].firstRow)
		case l.FirstRowIndex >= rows:
			return bad("page %d starts at row %d of %d", p, l.FirstRowIndex, rows)
		}
		ci.pages[p] = pageLoc{off: l.Offset, size: int64(l.CompressedPageSize), firstRow: l.FirstRowIndex}
		at += int64(l.CompressedPageSize)
	}
	if at != end {
		return bad("pages end at %d, the chunk at %d", at, end)
	}
	return ci, nil
}

// tailBytes returns n verified tail bytes at off.
func tailBytes(tail sliceReaderAt, off, n int64, what string) ([]byte, error) {
	if off < tail.off || n > int64(len(tail.data)) || off-tail.off > int64(len(tail.data))-n {
		return nil, fmt.Errorf("%w: %s at [%d,%d) outside the file tail", types.ErrCorruption, what, off, off+n)
	}
	return tail.data[off-tail.off : off-tail.off+n], nil
}

// decodeOffsetIndex decodes a Thrift-encoded offset index, recovering
// from decoder panics on malformed input.
func decodeOffsetIndex(b []byte) (oi *format.OffsetIndex, err error) {
	defer func() {
		if p := recover(); p != nil {
			oi, err = nil, fmt.Errorf("%w: malformed offset index: %v", types.ErrCorruption, p)
		}
	}()
	oi = new(format.OffsetIndex)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), b, oi); err != nil {
		return nil, fmt.Errorf("%w: malformed offset index: %v", types.ErrCorruption, err)
	}
	return oi, nil
}

// decodeColumnIndex decodes a Thrift-encoded column index.
func decodeColumnIndex(b []byte) (cx *format.ColumnIndex, err error) {
	defer func() {
		if p := recover(); p != nil {
			cx, err = nil, fmt.Errorf("%w: malformed column index: %v", types.ErrCorruption, p)
		}
	}()
	cx = new(format.ColumnIndex)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), b, cx); err != nil {
		return nil, fmt.Errorf("%w: malformed column index: %v", types.ErrCorruption, err)
	}
	return cx, nil
}
