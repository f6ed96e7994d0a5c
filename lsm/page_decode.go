package lsm

import (
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// Decoding single pages fetched by a page read (page_read.go). The row
// group checksum cannot be checked without the whole row group, so each
// page is verified on its own before anything decodes it:
//
//   - its position and total size (header and body) come from the
//     verified offset index (dictionary pages: from the verified column
//     chunk metadata), and the header must end exactly where its declared
//     body fills that size;
//   - its body must match the page CRC (CRC-32 of the compressed levels and
//     values, which parquet-go writes for every page);
//   - its declared row and value counts must equal the rows the offset
//     index gives the page, and its NULL count the column index's;
//   - its levels and values are then checked by the same bounds as a
//     whole chunk's (pagecheck.go) before parquet-go decodes them.
//
// The header's remaining fields (encoding, level byte length,
// uncompressed size) carry no checksum of their own; a damaged one fails
// these checks or decompression, and for the _key column the decoded keys
// are checked against the page's bounds in the verified column index, the
// key order and the row group's key range, and each record's key columns
// against its _key. A mismatch is an error wrapping types.ErrCorruption,
// never a record.

// errPageFallback: a page of a kind the page path does not decode (a v1
// data page, or a parquet-go whose page header layout changed); the
// reader reads the whole row group instead, verified by its checksum.
var errPageFallback = errors.New("page not decodable alone")

// parsePage splits raw (one page: header and body, as located by the
// verified page index) into its header and body and verifies the body's
// CRC.
func parsePage(raw []byte) (h *format.PageHeader, body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			h, body, err = nil, nil, fmt.Errorf("malformed page header: %v", p)
		}
	}()
	h = new(format.PageHeader)
	r := new(thrift.CompactProtocol).NewReaderFromBytes(raw)
	if err := thrift.NewDecoder(r).Decode(h); err != nil {
		return nil, nil, fmt.Errorf("malformed page header: %v", err)
	}
	n := r.BytesRead()
	if h.CompressedPageSize < 0 || int64(n)+int64(h.CompressedPageSize) != int64(len(raw)) {
		return nil, nil, fmt.Errorf("page header of %d bytes declares a body of %d, the page index %d in all", n, h.CompressedPageSize, len(raw))
	}
	body = raw[n:]
	if got := crc32.ChecksumIEEE(body); got != uint32(h.CRC) {
		return nil, nil, fmt.Errorf("page checksum mismatch: stored %08x, computed %08x", uint32(h.CRC), got)
	}
	return h, body, nil
}

// pageRun is the decoded rows [first, first+vals.rows) of one column.
type pageRun struct {
	first int64
	vals  colVals
}

// decodeRun decodes the data pages [a, b] of column col of row group i
// (and the chunk's dictionary) from the fetched bytes fs.
func (f *FileReader) decodeRun(fs fetched, i, col int, ci *chunkIndex, a, b int, scratch *pageScratch) (run *pageRun, err error) {
	leaf := f.file.Root().Columns()[col]
	corrupt := func(err error) error {
		if errors.Is(err, types.ErrCorruption) || err == errPageFallback {
			return err
		}
		return fmt.Errorf("%w: row group %d column %s: %v", types.ErrCorruption, i, leaf.Name(), err)
	}
	defer func() {
		if p := recover(); p != nil {
			run, err = nil, corrupt(fmt.Errorf("decoding pages: %v", p))
		}
	}()
	pc := leaf
	if !foldPages {
		return nil, errPageFallback
	}
	md := &f.file.Metadata().RowGroups[i].Columns[col].MetaData
	first, _ := ci.pageRows(a)
	_, end := ci.pageRows(b)
	rows := int(end - first)
	run = &pageRun{first: first}
	run.vals.init(leaf.Type().Kind(), rows)
	run.vals.dataHint = md.TotalUncompressedSize
	shape := chunkShape{rows: int(f.groups[i].rows), optional: leaf.Optional(), kind: leaf.Type().Kind(),
		codec: md.Codec, uncompressed: md.TotalUncompressedSize, scratch: scratch}
	ownDelta := !leaf.Optional() && leaf.Type().Kind() == parquet.ByteArray
	shape.ownDelta = ownDelta
	var dict parquet.Dictionary
	dictLen := 0
	if ci.dictLen > 0 {
		raw, ok := fs.at(ci.dictOff, ci.dictLen)
		if !ok {
			return nil, fmt.Errorf("dictionary page of row group %d column %s not fetched", i, leaf.Name())
		}
		h, body, err := parsePage(raw)
		if err != nil {
			return nil, corrupt(fmt.Errorf("dictionary page: %v", err))
		}
		if h.Type != format.DictionaryPage || !h.DictionaryPageHeader.Valid {
			return nil, corrupt(fmt.Errorf("dictionary page of type %s", h.Type))
		}
		n := int(h.DictionaryPageHeader.V.NumValues)
		usize := int64(h.UncompressedPageSize)
		if n < 0 || n > shape.rows || usize < 0 || usize > md.TotalUncompressedSize {
			return nil, corrupt(fmt.Errorf("dictionary page of %d values and %d bytes", n, usize))
		}
		plain, err := checkDictionary(body, usize, n, shape)
		if err != nil {
			return nil, corrupt(fmt.Errorf("dictionary page: %v", err))
		}
		if dict, err = decodeDictionary(pc, &h.DictionaryPageHeader.V, plain); err != nil {
			return nil, corrupt(fmt.Errorf("dictionary page: %v", err))
		}
		dictLen = n
	}
	for p := a; p <= b; p++ {
		loc := ci.pages[p]
		raw, ok := fs.at(loc.off, loc.size)
		if !ok {
			return nil, fmt.Errorf("page %d of row group %d column %s not fetched", p, i, leaf.Name())
		}
		h, body, err := parsePage(raw)
		if err != nil {
			return nil, corrupt(fmt.Errorf("page %d: %v", p, err))
		}
		if h.Type == format.DataPage && h.DataPageHeader.Valid {
			return nil, errPageFallback
		}
		if h.Type != format.DataPageV2 || !h.DataPageHeaderV2.Valid {
			return nil, corrupt(fmt.Errorf("page %d: unexpected page type %s", p, h.Type))
		}
		v := h.DataPageHeaderV2.V
		pf, pe := ci.pageRows(p)
		n := int(pe - pf)
		usize := int64(h.UncompressedPageSize)
		if int(v.NumValues) != n || int(v.NumRows) != n || v.NumNulls < 0 || v.NumNulls > v.NumValues {
			return nil, corrupt(fmt.Errorf("page %d declares %d values, %d rows, %d nulls; the page index gives it %d rows", p, v.NumValues, v.NumRows, v.NumNulls, n))
		}
		if ci.nulls != nil && int64(v.NumNulls) != ci.nulls[p] {
			return nil, corrupt(fmt.Errorf("page %d declares %d nulls, the column index %d", p, v.NumNulls, ci.nulls[p]))
		}
		if usize < 0 || usize > md.TotalUncompressedSize {
			return nil, corrupt(fmt.Errorf("page %d declares %d uncompressed bytes, the chunk %d", p, usize, md.TotalUncompressedSize))
		}
		levels, values, err := checkDataV2(body, usize, &v, dict != nil, dictLen, shape)
		if err != nil {
			return nil, corrupt(fmt.Errorf("page %d: %v", p, err))
		}
		if ownDelta && v.Encoding == format.DeltaByteArray {
			if err := run.vals.appendDeltaByteArray(values, n, rows, md.TotalUncompressedSize); err != nil {
				return nil, corrupt(fmt.Errorf("page %d: %v", p, err))
			}
			continue
		}
		v.IsCompressed = thrift.Null[bool]{V: false, Valid: true} // checkDataV2 decompressed it
		scratch.page = append(append(scratch.page[:0], levels...), values...)
		pg, err := pc.DecodeDataPageV2(dataPageHeaderV2(&v), scratch.page, dict)
		if err != nil {
			return nil, corrupt(fmt.Errorf("page %d: %v", p, err))
		}
		err = run.vals.appendPage(pg, leaf.Optional(), rows)
		parquet.Release(pg)
		if err != nil {
			return nil, corrupt(fmt.Errorf("page %d: %v", p, err))
		}
	}
	if run.vals.rows != rows {
		return nil, corrupt(fmt.Errorf("pages %d..%d decode to %d rows, the page index gives them %d", a, b, run.vals.rows, rows))
	}
	return run, nil
}
