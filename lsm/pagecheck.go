package lsm

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
	"github.com/siltdb/silt/types"
)

// Bounding the decoding of a row group by its declared sizes. Checksums
// catch accidental damage; a crafted file with recomputed checksums gets
// past them, and parquet-go trusts the counts inside a column chunk: page
// header sizes, value counts, run headers. checkChunk walks a chunk's pages
// before parquet-go sees them and rejects, with an error wrapping
// types.ErrCorruption, every count larger than what the row group declares:
//
//   - each page's compressed size fits in the chunk, and the pages'
//     uncompressed sizes add up to at most the chunk's declared
//     total_uncompressed_size;
//   - data pages hold 1..rows values and together exactly the row group's
//     row count; a dictionary holds at most rows entries and comes first;
//   - compressed bodies decompress to exactly their declared size (the
//     decompressor stops at it);
//   - definition levels and dictionary indexes (RLE/bit-packed hybrid runs)
//     hold no more values than the page, delta headers announce no more
//     values than the page, and delta-encoded strings decode to at most
//     maxDecodedPageBytes or 4x the chunk's uncompressed size;
//   - only the page types, encodings and codecs silt writes are accepted.
//
// So the memory and work of decoding a row group stay proportional to its
// declared sizes (row count and uncompressed bytes).

// maxDecodedPageBytes is the floor of the limit on one page's decoded
// string bytes (see checkDeltaByteArray).
const maxDecodedPageBytes = 256 << 20

// deltaByteArrayLimit bounds the decoded bytes of one DELTA_BYTE_ARRAY
// page of a chunk declaring uncompressed bytes.
func deltaByteArrayLimit(uncompressed int64) int64 {
	return max(maxDecodedPageBytes, 4*uncompressed)
}

// pageDecoder decompresses zstd page bodies for checking, never past the
// capacity of the buffer it is given (the declared uncompressed size).
// Like zstdCodec it holds no state that changes its output.
var pageDecoder = func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecodeAllCapLimit(true), zstd.WithDecoderConcurrency(0))
	if err != nil {
		panic("lsm: zstd decoder options: " + err.Error())
	}
	return d
}()

// chunkShape is what checkChunk needs to know about a column chunk.
type chunkShape struct {
	rows         int  // the row group's row count
	optional     bool // definition levels of bit width 1
	kind         parquet.Kind
	codec        format.CompressionCodec
	uncompressed int64 // declared total_uncompressed_size
	// scratch, when not nil, is reused for decompressed bodies (see
	// pageScratch); otherwise each body gets its own buffer.
	scratch *pageScratch
	// ownDelta: the visitor checks and decodes the DELTA_BYTE_ARRAY pages
	// of this (required) column itself (appendDeltaByteArray), so the
	// check does not decode their lengths first.
	ownDelta bool
	// nested: a leaf of a nested column, whose pages hold values (entries)
	// rather than rows (see nested_check.go).
	nested *nestedShape
}

// pageScratch holds buffers a decoder reuses from page to page and chunk
// to chunk of a row group, instead of allocating (and clearing) a fresh
// one per page: a decompressed body, and the concatenated page the
// decoder hands parquet-go. A body in it is valid only until the next
// page is checked, so a pageVisit must not keep it.
type pageScratch struct {
	body []byte
	page []byte
}

// checkChunk checks column col of row group i in its verified bytes ra.
// deep also decompresses the pages and scans their levels and values;
// without it only the page headers are checked.
func (f *FileReader) checkChunk(ra sliceReaderAt, i, col int, deep bool) error {
	return f.checkChunkVisit(ra, i, col, deep, nil, nil, false)
}

// pageVisit receives each page of a deep check once it passed: its header,
// and for a dictionary its decompressed body (levels nil), for a v2 data
// page its definition levels and decompressed values. A v1 data page is
// visited with both nil. An error stops the check and is returned as is.
// The bodies may live in a reused buffer: they are valid during the call.
type pageVisit func(h *format.PageHeader, levels, values []byte) error

// checkChunkVisit is checkChunk calling visit (when not nil, with deep)
// on every page, so that a decoder can use the bodies the check
// decompressed instead of decompressing them again. scratch (may be nil)
// is reused for the decompressed bodies. With ownDelta (and a visitor) the
// DELTA_BYTE_ARRAY pages of a required column are left for the visitor to
// check while it decodes them (chunkShape.ownDelta).
func (f *FileReader) checkChunkVisit(ra sliceReaderAt, i, col int, deep bool, visit pageVisit, scratch *pageScratch, ownDelta bool) error {
	md := &f.file.Metadata().RowGroups[i].Columns[col].MetaData
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	leaf := f.leaves[col]
	if start < ra.off || end > ra.off+int64(len(ra.data)) {
		return fmt.Errorf("%w: row group %d column %s: chunk [%d,%d) outside the row group", types.ErrCorruption, i, leaf.Name(), start, end)
	}
	shape := chunkShape{rows: int(f.groups[i].rows), optional: leaf.Optional(), kind: leaf.Type().Kind(),
		codec: md.Codec, uncompressed: md.TotalUncompressedSize, scratch: scratch,
		ownDelta: ownDelta && visit != nil && !leaf.Optional() && leaf.Type().Kind() == parquet.ByteArray}
	if len(leaf.Path()) > 1 { // a leaf of a nested column
		shape.nested = newNestedShape(leaf, md.NumValues)
		shape.ownDelta = false
	}
	if err := checkPages(ra.data[start-ra.off:end-ra.off], shape, deep, visit); err != nil {
		if _, ok := err.(visitError); ok {
			return err.(visitError).err
		}
		return fmt.Errorf("%w: row group %d column %s: %v", types.ErrCorruption, i, leaf.Name(), err)
	}
	return nil
}

// checkPages checks the pages of one column chunk (see checkChunk).
func checkPages(data []byte, s chunkShape, deep bool, visit pageVisit) error {
	if s.rows <= 0 || s.uncompressed < 0 {
		return fmt.Errorf("chunk declares %d rows and %d uncompressed bytes", s.rows, s.uncompressed)
	}
	if s.nested != nil {
		return checkNestedPages(data, s, deep)
	}
	proto := new(thrift.CompactProtocol)
	var values, dictLen int
	var uncompressed int64
	dict := false
	for page, off := 0, 0; off < len(data); page++ {
		h, body, next, err := chunkPage(proto, data, off, page, &uncompressed, s.uncompressed)
		if err != nil {
			return err
		}
		off = next
		usize := int64(h.UncompressedPageSize)
		switch {
		case h.Type == format.DictionaryPage && h.DictionaryPageHeader.Valid:
			n := int(h.DictionaryPageHeader.V.NumValues)
			if dict || values > 0 || n < 0 || n > s.rows {
				return fmt.Errorf("page %d: dictionary of %d values (a second one, after data, or more than the %d rows)", page, n, s.rows)
			}
			dict, dictLen = true, n
			if deep {
				var plain []byte
				if plain, err = checkDictionary(body, usize, n, s); err == nil && visit != nil {
					if err := visit(&h, nil, plain); err != nil {
						return visitError{err}
					}
				}
			}
		case h.Type == format.DataPageV2 && h.DataPageHeaderV2.Valid:
			v := &h.DataPageHeaderV2.V
			n := int(v.NumValues)
			if n <= 0 || n > s.rows-values || v.NumRows != v.NumValues || v.NumNulls < 0 || v.NumNulls > v.NumValues {
				return fmt.Errorf("page %d declares %d values, %d rows, %d nulls (%d of %d rows left)", page, n, v.NumRows, v.NumNulls, s.rows-values, s.rows)
			}
			values += n
			if deep {
				var levels, vals []byte
				if levels, vals, err = checkDataV2(body, usize, v, dict, dictLen, s); err == nil && visit != nil {
					if err := visit(&h, levels, vals); err != nil {
						return visitError{err}
					}
				}
			}
		case h.Type == format.DataPage && h.DataPageHeader.Valid:
			n := int(h.DataPageHeader.V.NumValues)
			if n <= 0 || n > s.rows-values {
				return fmt.Errorf("page %d declares %d values (%d of %d rows left)", page, n, s.rows-values, s.rows)
			}
			values += n
			if deep {
				if err = checkDataV1(body, usize, &h.DataPageHeader.V, dict, dictLen, s); err == nil && visit != nil {
					if err := visit(&h, nil, nil); err != nil {
						return visitError{err}
					}
				}
			}
		default:
			return fmt.Errorf("page %d: unsupported page type %s", page, h.Type)
		}
		if err != nil {
			return fmt.Errorf("page %d: %v", page, err)
		}
	}
	if values != s.rows {
		return fmt.Errorf("pages hold %d values for %d rows", values, s.rows)
	}
	return nil
}

// decompress returns body decompressed to exactly size bytes, into
// scratch's buffer when scratch is not nil.
func decompress(body []byte, size int64, codec format.CompressionCodec, scratch *pageScratch) ([]byte, error) {
	switch codec {
	case format.Uncompressed:
		if int64(len(body)) != size {
			return nil, fmt.Errorf("uncompressed body of %d bytes, header says %d", len(body), size)
		}
		return body, nil
	case format.Zstd, format.Snappy, format.Lz4Raw:
		var dst []byte
		if scratch != nil && int64(cap(scratch.body)) >= size {
			dst = scratch.body[:0:size] // the capacity bounds the output
		} else {
			dst = make([]byte, 0, size)
			if scratch != nil {
				scratch.body = dst
			}
		}
		out, err := decompressInto(dst, body, codec)
		if err != nil {
			return nil, fmt.Errorf("decompressing to at most the declared %d bytes: %v", size, err)
		}
		if int64(len(out)) != size {
			return nil, fmt.Errorf("body decompresses to %d bytes, header says %d", len(out), size)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported compression codec %s", codec)
}

// decompressInto decompresses body with codec (ZSTD, SNAPPY or LZ4_RAW)
// into dst, never past its capacity.
func decompressInto(dst, body []byte, codec format.CompressionCodec) ([]byte, error) {
	switch codec {
	case format.Snappy:
		n, err := snappy.DecodedLen(body)
		if err != nil {
			return nil, err
		}
		if n > cap(dst) {
			return nil, fmt.Errorf("snappy body declares %d bytes", n)
		}
		return snappy.Decode(dst[:n], body)
	case format.Lz4Raw:
		if cap(dst) == 0 { // lz4's decoder faults on an empty destination
			if len(body) == 1 && body[0] == 0 {
				return dst, nil // the block of an empty page
			}
			return nil, fmt.Errorf("LZ4 block of %d bytes for an empty page", len(body))
		}
		n, err := lz4.UncompressBlock(body, dst[:cap(dst)])
		if err != nil {
			return nil, err
		}
		return dst[:n], nil
	}
	return pageDecoder.DecodeAll(body, dst)
}

func checkDictionary(body []byte, usize int64, n int, s chunkShape) ([]byte, error) {
	plain, err := decompress(body, usize, s.codec, s.scratch)
	if err != nil {
		return nil, err
	}
	if w := fixedWidth(s.kind); w > 0 && len(plain) < n*w || w == 0 && len(plain) < 4*n {
		return nil, fmt.Errorf("dictionary of %d values in %d bytes", n, len(plain))
	}
	return plain, nil
}

func checkDataV2(body []byte, usize int64, v *format.DataPageHeaderV2, dict bool, dictLen int, s chunkShape) (levels, values []byte, err error) {
	n := int(v.NumValues)
	rl, dl := int(v.RepetitionLevelsByteLength), int(v.DefinitionLevelsByteLength)
	switch {
	case rl != 0:
		return nil, nil, fmt.Errorf("repetition levels in a flat column")
	case dl < 0 || dl > len(body) || int64(dl) > usize:
		return nil, nil, fmt.Errorf("definition levels of %d bytes in a page of %d", dl, len(body))
	case !s.optional && (dl != 0 || v.NumNulls != 0):
		return nil, nil, fmt.Errorf("definition levels or nulls in a required column")
	}
	if err := checkHybrid(body[:dl], 1, n); err != nil {
		return nil, nil, fmt.Errorf("definition levels: %v", err)
	}
	vals := body[dl:]
	if !v.IsCompressed.Valid || v.IsCompressed.V {
		if vals, err = decompress(vals, usize-int64(dl), s.codec, s.scratch); err != nil {
			return nil, nil, err
		}
	} else if int64(len(vals)) != usize-int64(dl) {
		return nil, nil, fmt.Errorf("uncompressed values of %d bytes, header says %d", len(vals), usize-int64(dl))
	}
	if err := checkValues(vals, v.Encoding, n-int(v.NumNulls), dict, dictLen, s); err != nil {
		return nil, nil, err
	}
	return body[:dl], vals, nil
}

func checkDataV1(body []byte, usize int64, v *format.DataPageHeader, dict bool, dictLen int, s chunkShape) error {
	plain, err := decompress(body, usize, s.codec, s.scratch)
	if err != nil {
		return err
	}
	n := int(v.NumValues)
	if s.optional {
		if v.DefinitionLevelEncoding != format.RLE || len(plain) < 4 {
			return fmt.Errorf("definition levels encoded as %s", v.DefinitionLevelEncoding)
		}
		l := binary.LittleEndian.Uint32(plain)
		if uint64(l) > uint64(len(plain)-4) {
			return fmt.Errorf("definition levels of %d bytes in a page of %d", l, len(plain))
		}
		if err := checkHybrid(plain[4:4+l], 1, n); err != nil {
			return fmt.Errorf("definition levels: %v", err)
		}
		plain = plain[4+l:]
	}
	return checkValues(plain, v.Encoding, n, dict, dictLen, s)
}

// visitError carries a visitor's error out of checkPages unwrapped.
type visitError struct{ err error }

func (e visitError) Error() string { return e.err.Error() }

// checkValues checks the encoded values of a page holding at most n
// non-NULL values.
func checkValues(b []byte, enc format.Encoding, n int, dict bool, dictLen int, s chunkShape) error {
	switch enc {
	case format.Plain:
		if w := fixedWidth(s.kind); w > 0 && len(b) < n*w {
			return fmt.Errorf("%d plain values in %d bytes", n, len(b))
		}
		return nil
	case format.RLEDictionary, format.PlainDictionary:
		if !dict || s.kind == parquet.Boolean {
			return fmt.Errorf("dictionary indexes without a dictionary")
		}
		if n == 0 {
			return nil
		}
		if len(b) == 0 {
			return fmt.Errorf("dictionary indexes missing")
		}
		return checkHybrid(b[1:], int(b[0]), n)
	case format.RLE:
		if s.kind != parquet.Boolean || len(b) < 4 {
			return fmt.Errorf("RLE-encoded %s values", s.kind)
		}
		l := binary.LittleEndian.Uint32(b)
		if uint64(l) > uint64(len(b)-4) {
			return fmt.Errorf("RLE values of %d bytes in %d", l, len(b)-4)
		}
		return checkHybrid(b[4:4+l], 1, n)
	case format.DeltaBinaryPacked:
		if s.kind != parquet.Int32 && s.kind != parquet.Int64 {
			return fmt.Errorf("delta-encoded %s values", s.kind)
		}
		return checkDeltaHeader(b, n)
	case format.DeltaLengthByteArray:
		if s.kind != parquet.ByteArray {
			return fmt.Errorf("delta-length-encoded %s values", s.kind)
		}
		return checkDeltaLengths(b, n)
	case format.DeltaByteArray:
		if s.kind != parquet.ByteArray {
			return fmt.Errorf("delta-encoded %s values", s.kind)
		}
		if s.ownDelta {
			return nil // appendDeltaByteArray checks it as it decodes
		}
		return checkDeltaByteArray(b, n, deltaByteArrayLimit(s.uncompressed))
	}
	return fmt.Errorf("unsupported encoding %s", enc)
}

// checkDeltaHeader checks that a DELTA_BINARY_PACKED header announces at
// most n values; parquet-go allocates for that many before decoding.
func checkDeltaHeader(b []byte, n int) error {
	for k := 0; k < 2; k++ {
		_, w := binary.Uvarint(b)
		if w <= 0 {
			return fmt.Errorf("malformed delta header")
		}
		b = b[w:]
	}
	total, w := binary.Uvarint(b)
	if w <= 0 {
		return fmt.Errorf("malformed delta header")
	}
	if total > uint64(n) {
		return fmt.Errorf("delta header announces %d values, the page holds %d", total, n)
	}
	return nil
}

// fixedWidth is the plain-encoded width of one value of kind, 0 for byte
// arrays; booleans are bit-packed and checked as 0.
func fixedWidth(k parquet.Kind) int {
	switch k {
	case parquet.Int32, parquet.Float:
		return 4
	case parquet.Int64, parquet.Double:
		return 8
	}
	return 0
}

// chunkPage decodes the header of page number page at data[off:] of a
// column chunk, checks its sizes against what remains of the chunk and,
// adding to *uncompressed, against the chunk's declared uncompressed size,
// and returns the header, the page's body and the offset after it.
func chunkPage(proto *thrift.CompactProtocol, data []byte, off, page int, uncompressed *int64, declared int64) (format.PageHeader, []byte, int, error) {
	var h format.PageHeader
	r := proto.NewReaderFromBytes(data[off:])
	if err := thrift.NewDecoder(r).Decode(&h); err != nil {
		return h, nil, 0, fmt.Errorf("page %d: malformed page header: %v", page, err)
	}
	off += r.BytesRead()
	size, usize := int(h.CompressedPageSize), int64(h.UncompressedPageSize)
	if size < 0 || size > len(data)-off {
		return h, nil, 0, fmt.Errorf("page %d claims %d bytes, %d remain in the chunk", page, size, len(data)-off)
	}
	*uncompressed += int64(r.BytesRead()) + usize
	if usize < 0 || *uncompressed > declared {
		return h, nil, 0, fmt.Errorf("page %d: pages decode to more than the chunk's declared %d bytes", page, declared)
	}
	return h, data[off : off+size], off + size, nil
}
