package lsm

import (
	"fmt"
	"strings"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
	"github.com/siltdb/silt/types"
)

// Codec is the compression of a data file's pages. Every codec silt
// writes is one its page checks (decompress) and DuckDB read.
type Codec uint8

// Codecs. The zero value is ZSTD.
const (
	CodecZstd Codec = iota
	CodecSnappy
	CodecLZ4Raw
	CodecUncompressed
)

// Zstd levels, in zstd's numbering (1..22). The encoder (klauspost's)
// has four levels; zstd.EncoderLevelFromZstd maps a number to one of
// them: 1-2 fastest, 3-5 default, 6-9 better, 10-22 best.
const (
	MinZstdLevel = 1
	MaxZstdLevel = 22
	// DefaultZstdLevel is the level of Compression's zero value: zstd's
	// own default, the level silt wrote before the level was configurable.
	DefaultZstdLevel = 3
)

// Compression is the page compression of the files one write produces.
// The zero value is ZSTD at DefaultZstdLevel.
type Compression struct {
	Codec Codec
	// ZstdLevel is the zstd level (MinZstdLevel..MaxZstdLevel) when Codec
	// is CodecZstd; 0 is DefaultZstdLevel.
	ZstdLevel int
}

// String names the compression as the table options spell it: zstd (with
// its level), snappy, lz4_raw or uncompressed.
func (c Compression) String() string {
	if c.Codec == CodecZstd {
		return fmt.Sprintf("zstd level %d", c.level())
	}
	return c.Codec.String()
}

func (c Compression) level() int {
	if c.ZstdLevel == 0 {
		return DefaultZstdLevel
	}
	return c.ZstdLevel
}

// ZstdEncoder is the zstd encoder level (klauspost's) of c's zstd level.
func (c Compression) ZstdEncoder() zstd.EncoderLevel {
	return zstd.EncoderLevelFromZstd(c.level())
}

// Check reports a codec or level out of range.
func (c Compression) Check() error {
	if c.Codec > CodecUncompressed {
		return fmt.Errorf("%w: unknown compression codec %d", types.ErrInvalid, c.Codec)
	}
	if c.ZstdLevel != 0 && (c.ZstdLevel < MinZstdLevel || c.ZstdLevel > MaxZstdLevel) {
		return fmt.Errorf("%w: zstd level %d is outside %d..%d", types.ErrInvalid, c.ZstdLevel, MinZstdLevel, MaxZstdLevel)
	}
	return nil
}

// String is the codec's name in table options.
func (c Codec) String() string {
	switch c {
	case CodecZstd:
		return "zstd"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4Raw:
		return "lz4_raw"
	case CodecUncompressed:
		return "uncompressed"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// CodecNames lists the codec names ParseCodec accepts (without aliases).
func CodecNames() []string { return []string{"zstd", "snappy", "lz4_raw", "uncompressed"} }

// ParseCodec parses a codec name, case-insensitively: zstd, snappy,
// lz4_raw (alias lz4: Parquet's LZ4_RAW, the LZ4 codec Parquet readers
// share; the older framed LZ4 is deprecated) or uncompressed (alias none).
func ParseCodec(name string) (Codec, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "zstd":
		return CodecZstd, nil
	case "snappy":
		return CodecSnappy, nil
	case "lz4_raw", "lz4":
		return CodecLZ4Raw, nil
	case "uncompressed", "none":
		return CodecUncompressed, nil
	}
	return 0, fmt.Errorf("%w: unknown compression codec %q (want %s)", types.ErrInvalid, name, strings.Join(CodecNames(), ", "))
}

// Page codecs shared by all writers: like the ZSTD codecs they hold no
// state that changes what is written, and sharing keeps each zstd level's
// idle encoders (and their history windows) across files instead of
// allocating new ones per file.
var (
	zstdFastest = newZstdPagesLevel(zstd.SpeedFastest)
	zstdCodec   = newZstdPages()
	zstdBetter  = newZstdPagesLevel(zstd.SpeedBetterCompression)
	zstdBest    = newZstdPagesLevel(zstd.SpeedBestCompression)
	snappyCodec snappyPages
	lz4Codec    lz4Pages
	noCodec     uncompressed.Codec
)

// pageCodec is the parquet-go codec writing c.
func (c Compression) pageCodec() compress.Codec {
	switch c.Codec {
	case CodecSnappy:
		return &snappyCodec
	case CodecLZ4Raw:
		return &lz4Codec
	case CodecUncompressed:
		return &noCodec
	}
	switch c.ZstdEncoder() {
	case zstd.SpeedFastest:
		return zstdFastest
	case zstd.SpeedBetterCompression:
		return zstdBetter
	case zstd.SpeedBestCompression:
		return zstdBest
	}
	return zstdCodec
}

// snappyPages is Parquet's SNAPPY codec (raw snappy blocks), as
// parquet-go's.
type snappyPages struct{}

func (*snappyPages) String() string                            { return "SNAPPY" }
func (*snappyPages) CompressionCodec() format.CompressionCodec { return format.Snappy }

func (*snappyPages) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappy(dst[:cap(dst)], src), nil
}

func (*snappyPages) Decode(dst, src []byte) ([]byte, error) {
	return snappy.Decode(dst[:cap(dst)], src)
}

// lz4Pages is Parquet's LZ4_RAW codec (one LZ4 block per page) with
// lz4's fast compressor; parquet-go's codec compresses with the slower
// high-compression one unless told otherwise. Compressors (a 64 KiB hash
// table each) are reused through a pool; they hold no state that changes
// what is written.
type lz4Pages struct{ pool sync.Pool }

func (*lz4Pages) String() string                            { return "LZ4_RAW" }
func (*lz4Pages) CompressionCodec() format.CompressionCodec { return format.Lz4Raw }

func (p *lz4Pages) Encode(dst, src []byte) ([]byte, error) {
	n := lz4.CompressBlockBound(len(src))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	c, _ := p.pool.Get().(*lz4.Compressor)
	if c == nil {
		c = new(lz4.Compressor)
	}
	// With a destination of CompressBlockBound bytes it always succeeds.
	w, err := c.CompressBlock(src, dst[:n])
	p.pool.Put(c)
	if err != nil {
		return nil, err
	}
	return dst[:w], nil
}

func (*lz4Pages) Decode(dst, src []byte) ([]byte, error) {
	// The size is not in the block. parquet-go passes a dst of the page's
	// declared size and reads the page from it when the output fits, so
	// decode into dst first and grow only when it is too small (silt's
	// own page checks decompress with the declared size instead; see
	// decompress).
	dst = dst[:cap(dst)]
	for {
		if len(dst) > 0 {
			w, err := lz4.UncompressBlock(src, dst)
			if err == nil {
				return dst[:w], nil
			}
			if len(dst) >= 1<<30 {
				return nil, err
			}
		}
		dst = make([]byte, max(2*len(dst), 3*len(src), 64))
	}
}
