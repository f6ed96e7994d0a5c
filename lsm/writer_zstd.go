package lsm

import (
	"runtime"

	"github.com/klauspost/compress/zstd"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// idleEncoders is how many zstd encoders zstdPages keeps between pages:
// enough for the goroutines encoding a flush and a compaction at once
// (two per core, at most 2*maxEncodeWorkers), each about 8 MiB.
func idleEncoders() int { return min(2*runtime.GOMAXPROCS(0), 2*maxEncodeWorkers) }

// zstdPages is the ZSTD page codec of data files: ZSTD at one encoder
// level with the options of parquet-go's codec (one goroutine, no frame
// checksum, an empty input gives a frame), so pages compress to the same
// bytes. parquet-go's codec keeps its encoders in a sync.Pool, which
// drops them at garbage collections; each new encoder allocates and
// clears a 16 MiB history, a few percent of an ingest's CPU. zstdPages
// keeps up to idleEncoders idle encoders instead, with the lower-memory
// history (8 MiB and one block; it changes no output). It holds no state
// that changes what is written.
type zstdPages struct {
	level zstd.EncoderLevel
	idle  chan *zstd.Encoder
	dec   pqzstd.Codec
}

// newZstdPages returns the codec of the default encoder level
// (zstd.SpeedDefault, zstd's level 3).
func newZstdPages() *zstdPages { return newZstdPagesLevel(zstd.SpeedDefault) }

func newZstdPagesLevel(level zstd.EncoderLevel) *zstdPages {
	return &zstdPages{level: level, idle: make(chan *zstd.Encoder, idleEncoders())}
}

func (*zstdPages) String() string                            { return "ZSTD" }
func (*zstdPages) CompressionCodec() format.CompressionCodec { return format.Zstd }

// Encode implements compress.Codec.
func (c *zstdPages) Encode(dst, src []byte) ([]byte, error) {
	var e *zstd.Encoder
	select {
	case e = <-c.idle:
	default:
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(c.level),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
			zstd.WithLowerEncoderMem(true),
		)
		if err != nil {
			return nil, err
		}
	}
	out := e.EncodeAll(src, dst[:0])
	select {
	case c.idle <- e:
	default:
	}
	return out, nil
}

// Decode implements compress.Codec with parquet-go's codec (silt's
// readers decompress with pageDecoder).
func (c *zstdPages) Decode(dst, src []byte) ([]byte, error) {
	return c.dec.Decode(dst, src)
}
