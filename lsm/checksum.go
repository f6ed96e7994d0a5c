package lsm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// Integrity of data files. Parquet page CRCs cover page bodies only: page
// headers, bloom filters, the page index and the footer are unprotected, and
// a flipped bit there can turn into wrong rows or a missed lookup. Every
// silt data file therefore carries CRC-32C checksums in its footer's
// key-value metadata under checksumKey:
//
//	crc32c:<tail offset, 16 hex><tail crc, 8 hex><row group crc, 8 hex>...
//
// The tail is everything from the first bloom filter to the end of the file
// (bloom filters, page index, footer, footer length and magic); its CRC is
// computed with the 8 hex digits of the tail crc itself skipped. Each row
// group CRC covers the row group's byte range (every column chunk with its
// page headers). A reader verifies the tail before parsing the footer and a
// row group before decoding it, so parquet-go only ever sees verified bytes.
const (
	checksumKey    = "silt.checksums"
	checksumPrefix = "crc32c:"
	// tailDigits is the width of the tail offset and tail crc fields.
	tailDigits = 16 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksumPlaceholder is the fixed-width value written before the offsets
// are known; it is patched in place after the file is complete.
func checksumPlaceholder(numRowGroups int) string {
	return checksumPrefix + strings.Repeat("0", tailDigits+8*numRowGroups)
}

// checksums is the decoded checksumKey value.
type checksums struct {
	tailStart int64
	tailCRC   uint32
	rowGroups []uint32
	// crcAt is the offset of the tail crc digits in the file.
	crcAt int64
}

// footerBounds returns the footer's offset and length from the last 8 bytes
// of a file.
func footerBounds(trailer []byte, size int64) (int64, int64, error) {
	if len(trailer) < 8 || string(trailer[len(trailer)-4:]) != "PAR1" {
		return 0, 0, fmt.Errorf("%w: not a Parquet file (no PAR1 magic at the end)", types.ErrCorruption)
	}
	n := int64(binary.LittleEndian.Uint32(trailer[len(trailer)-8:]))
	if n <= 0 || n > size-12 {
		return 0, 0, fmt.Errorf("%w: footer length %d out of range for a %d-byte file", types.ErrCorruption, n, size)
	}
	return size - 8 - n, n, nil
}

// locateChecksums finds the checksumKey value in a raw Thrift-encoded footer
// that starts at file offset footerOff. In the compact protocol a KeyValue is
// written as field header 0x18, length varint, key bytes, field header 0x18,
// length varint, value bytes; the last occurrence is the metadata entry
// (statistics come earlier in the footer).
func locateChecksums(footer []byte, footerOff int64) (valueAt int64, value []byte, err error) {
	i := bytes.LastIndex(footer, []byte(checksumKey))
	if i < 0 {
		return 0, nil, fmt.Errorf("%w: footer has no %s entry (not a silt data file?)", types.ErrCorruption, checksumKey)
	}
	rest := footer[i+len(checksumKey):]
	if len(rest) < 2 || rest[0] != 0x18 {
		return 0, nil, fmt.Errorf("%w: malformed %s entry", types.ErrCorruption, checksumKey)
	}
	n, w := binary.Uvarint(rest[1:])
	if w <= 0 || n > uint64(len(rest)-1-w) {
		return 0, nil, fmt.Errorf("%w: malformed %s entry", types.ErrCorruption, checksumKey)
	}
	start := i + len(checksumKey) + 1 + w
	return footerOff + int64(start), footer[start : start+int(n)], nil
}

func parseChecksums(value []byte, valueAt int64) (checksums, error) {
	bad := func(what string) (checksums, error) {
		return checksums{}, fmt.Errorf("%w: bad %s entry: %s", types.ErrCorruption, checksumKey, what)
	}
	v := string(value)
	if !strings.HasPrefix(v, checksumPrefix) {
		return bad("unknown algorithm")
	}
	v = v[len(checksumPrefix):]
	if len(v) < tailDigits || (len(v)-tailDigits)%8 != 0 {
		return bad("wrong length")
	}
	off, err := strconv.ParseUint(v[:16], 16, 63)
	if err != nil || strings.ToLower(v[:16]) != v[:16] {
		return bad("tail offset")
	}
	c := checksums{tailStart: int64(off), crcAt: valueAt + int64(len(checksumPrefix)) + 16}
	if c.tailCRC, err = parseCRC(v[16:24]); err != nil {
		return bad("tail crc")
	}
	for p := v[tailDigits:]; len(p) > 0; p = p[8:] {
		crc, err := parseCRC(p[:8])
		if err != nil {
			return bad("row group crc")
		}
		c.rowGroups = append(c.rowGroups, crc)
	}
	return c, nil
}

func parseCRC(s string) (uint32, error) {
	if strings.ToLower(s) != s { // written lowercase: a flipped case bit is damage too
		return 0, errors.New("bad crc")
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return 0, errors.New("bad crc")
	}
	return binary.BigEndian.Uint32(b), nil
}

func putCRC(dst []byte, crc uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc)
	hex.Encode(dst, b[:])
}

// tailCRC is the CRC-32C of tail (the file from tailStart) with the 8 tail
// crc digits at file offset crcAt skipped.
func tailCRC(tail []byte, tailStart, crcAt int64) uint32 {
	at := crcAt - tailStart
	c := crc32.Update(0, castagnoli, tail[:at])
	return crc32.Update(c, castagnoli, tail[at+8:])
}

// rowGroupRange is the byte range holding every column chunk of a row group.
func rowGroupRange(rg *format.RowGroup) (start, end int64, err error) {
	if len(rg.Columns) == 0 {
		return 0, 0, fmt.Errorf("%w: row group without columns", types.ErrCorruption)
	}
	start, end = -1, -1
	for i := range rg.Columns {
		md := &rg.Columns[i].MetaData
		s := md.DataPageOffset
		if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < s {
			s = md.DictionaryPageOffset
		}
		if s < 4 || md.TotalCompressedSize <= 0 {
			return 0, 0, fmt.Errorf("%w: column chunk %d has bad offsets", types.ErrCorruption, i)
		}
		if start < 0 || s < start {
			start = s
		}
		if e := s + md.TotalCompressedSize; e > end {
			end = e
		}
	}
	return start, end, nil
}

// sliceReaderAt serves reads from verified bytes that were read from file
// offset off. Reads outside them fail, so a reader that follows corrupt
// offsets can never see unverified bytes.
type sliceReaderAt struct {
	off  int64
	data []byte
}

func (r sliceReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < r.off || off > r.off+int64(len(r.data)) {
		return 0, fmt.Errorf("%w: read at offset %d outside verified range [%d,%d)", types.ErrCorruption, off, r.off, r.off+int64(len(r.data)))
	}
	n := copy(p, r.data[off-r.off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readRange reads n bytes at off. A short read means the file is shorter
// than its recorded size: corruption.
func readRange(ctx context.Context, r io.ReaderAt, off, n int64, what string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	m, err := r.ReadAt(buf, off)
	if m == len(buf) {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: reading %s: file truncated (got %d of %d bytes at offset %d)", types.ErrCorruption, what, m, n, off)
	}
	return nil, fmt.Errorf("reading %s: %w", what, err)
}

// sealFile fills in the checksum placeholder of a complete file in place
// and returns the row groups' checksums.
func sealFile(data []byte, numRowGroups int) ([]uint32, error) {
	size := int64(len(data))
	footerOff, footerLen, err := footerBounds(data[max(0, size-8):], size)
	if err != nil {
		return nil, err
	}
	valueAt, value, err := locateChecksums(data[footerOff:footerOff+footerLen], footerOff)
	if err != nil {
		return nil, err
	}
	if len(value) != len(checksumPlaceholder(numRowGroups)) {
		return nil, fmt.Errorf("sealing data file: checksum placeholder has %d bytes, want %d", len(value), len(checksumPlaceholder(numRowGroups)))
	}
	md, err := decodeFooter(data[footerOff : footerOff+footerLen])
	if err != nil {
		return nil, fmt.Errorf("sealing data file: %w", err)
	}
	if len(md.RowGroups) != numRowGroups {
		return nil, fmt.Errorf("sealing data file: %d row groups written, footer lists %d", numRowGroups, len(md.RowGroups))
	}
	digits := value[len(checksumPrefix):]
	crcs := make([]uint32, len(md.RowGroups))
	var lastEnd int64 = 4
	for i := range md.RowGroups {
		start, end, err := rowGroupRange(&md.RowGroups[i])
		if err != nil {
			return nil, fmt.Errorf("sealing data file: %w", err)
		}
		if start < lastEnd || end > footerOff {
			return nil, fmt.Errorf("sealing data file: row group %d at [%d,%d) overlaps its neighbours", i, start, end)
		}
		lastEnd = end
		crcs[i] = crc32.Checksum(data[start:end], castagnoli)
		putCRC(digits[tailDigits+8*i:], crcs[i])
		if off := md.RowGroups[i].Columns[0].MetaData.BloomFilterOffset; off > 0 && off < end {
			return nil, fmt.Errorf("sealing data file: bloom filter of row group %d inside the row group", i)
		}
	}
	// The tail (bloom filters, page index, footer) follows the last row group.
	tailStart := lastEnd
	copy(digits, fmt.Sprintf("%016x", tailStart))
	crcAt := valueAt + int64(len(checksumPrefix)) + 16
	putCRC(data[crcAt:crcAt+8], tailCRC(data[tailStart:], tailStart, crcAt))
	return crcs, nil
}

// decodeFooter decodes Thrift-encoded file metadata. It recovers from
// decoder panics on malformed input.
func decodeFooter(footer []byte) (md *format.FileMetaData, err error) {
	defer func() {
		if p := recover(); p != nil {
			md, err = nil, fmt.Errorf("%w: malformed footer: %v", types.ErrCorruption, p)
		}
	}()
	md = new(format.FileMetaData)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, md); err != nil {
		return nil, fmt.Errorf("%w: malformed footer: %v", types.ErrCorruption, err)
	}
	return md, nil
}
