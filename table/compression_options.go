package table

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// File compression option keys (Apache Paimon's names and syntax).
const (
	// OptFileCompression is the codec of data files: zstd, snappy,
	// lz4_raw (alias lz4) or uncompressed (alias none).
	OptFileCompression = "file.compression"
	// OptZstdLevel is the zstd level (1..22) of files compressed with zstd.
	OptZstdLevel = "file.compression.zstd-level"
	// OptCompressionPerLevel overrides the codec of the files written at
	// some levels of a bucket's merge tree: "0:lz4_raw,1:zstd".
	OptCompressionPerLevel = "file.compression.per.level"
)

// Defaults of the file compression options (see ADRs 0040 and 0055:
// chosen by measuring CPU per ingested row and bytes stored). Level 0
// (writers' flushes, soon rewritten by compaction) is SNAPPY, which every
// Parquet reader reads, unless the table sets file.compression: then
// every level follows that codec, as a user setting it expects.
const (
	defaultFileCodec  = lsm.CodecZstd
	defaultZstdLevel  = 1
	defaultPerLevel   = "0:snappy"
	maxCompressLevels = 1000 // num-levels' maximum
)

// CompressionOptions are a table's parsed file compression options.
type CompressionOptions struct {
	// Codec and ZstdLevel are file.compression and
	// file.compression.zstd-level.
	Codec     lsm.Codec
	ZstdLevel int
	// PerLevel is file.compression.per.level: the codec of the files
	// written at a level, where it differs from Codec.
	PerLevel map[int]lsm.Codec
	// perLevelSet: file.compression.per.level was given, so setting
	// file.compression keeps it instead of dropping the default.
	perLevelSet bool
}

func defaultCompressionOptions() CompressionOptions {
	c := CompressionOptions{Codec: defaultFileCodec, ZstdLevel: defaultZstdLevel}
	c.PerLevel, _ = parseCompressionPerLevel(defaultPerLevel)
	return c
}

func compressionOptionDocs() []OptionDoc {
	return []OptionDoc{
		{OptFileCompression, "zstd", "codec of data files: zstd | snappy | lz4_raw (alias lz4) | uncompressed (alias none); every codec is one DuckDB, Spark and Trino read"},
		{OptZstdLevel, strconv.Itoa(defaultZstdLevel), "zstd level 1..22 of files compressed with zstd (1-2: fastest, 3-5: default, 6-9: better, 10-22: best compression; levels in one band write the same bytes)"},
		{OptCompressionPerLevel, defaultPerLevel, "codec per level of a bucket's merge tree, overriding file.compression for files written at those levels, e.g. 0:lz4_raw,1:zstd (level 0 holds writers' flushes); the default applies only while file.compression is unset, otherwise every level follows file.compression"},
	}
}

func isCompressionOption(k string) bool {
	return k == OptFileCompression || k == OptZstdLevel || k == OptCompressionPerLevel
}

func (c *CompressionOptions) set(k, v string) error {
	var err error
	switch k {
	case OptFileCompression:
		c.Codec, err = parseCodec(v)
		if err == nil && !c.perLevelSet {
			c.PerLevel = map[int]lsm.Codec{}
		}
	case OptZstdLevel:
		return parseIntOptInto(&c.ZstdLevel, k, v, lsm.MinZstdLevel, lsm.MaxZstdLevel)
	case OptCompressionPerLevel:
		c.PerLevel, err = parseCompressionPerLevel(v)
		c.perLevelSet = err == nil
	}
	if err != nil {
		return fmt.Errorf("%w: option %s: %v", types.ErrInvalid, k, err)
	}
	return nil
}

// ForLevel is the compression of the files written at level (0: flushes).
func (c CompressionOptions) ForLevel(level int) lsm.Compression {
	codec, ok := c.PerLevel[level]
	if !ok {
		codec = c.Codec
	}
	return lsm.Compression{Codec: codec, ZstdLevel: c.ZstdLevel}
}

// Files is the compression of files outside the merge tree's levels
// (changelog files): file.compression.
func (c CompressionOptions) Files() lsm.Compression {
	return lsm.Compression{Codec: c.Codec, ZstdLevel: c.ZstdLevel}
}

// levels is the compression of each of n levels (compaction.Options).
func (c CompressionOptions) levels(n int) []lsm.Compression {
	out := make([]lsm.Compression, max(n, 1))
	for l := range out {
		out[l] = c.ForLevel(l)
	}
	return out
}

// parseCodec parses a codec name (see lsm.ParseCodec).
func parseCodec(v string) (lsm.Codec, error) {
	c, err := lsm.ParseCodec(v)
	if err != nil {
		return 0, fmt.Errorf("unknown codec %q (want %s)", strings.TrimSpace(v), strings.Join(lsm.CodecNames(), ", "))
	}
	return c, nil
}

// parseIntOptInto is parseIntOpt storing into *dst.
func parseIntOptInto(dst *int, k, v string, lo, hi int) error {
	n, err := parseIntOpt(k, v, lo, hi)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

// parseCompressionPerLevel parses file.compression.per.level: comma
// separated level:codec pairs, e.g. "0:lz4_raw,1:zstd"; spaces around
// items are ignored and "" sets no level. A level appears at most once.
func parseCompressionPerLevel(v string) (map[int]lsm.Codec, error) {
	out := map[int]lsm.Codec{}
	if strings.TrimSpace(v) == "" {
		return out, nil
	}
	for item := range strings.SplitSeq(v, ",") {
		lv, name, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("%q is not level:codec (e.g. 0:lz4_raw,1:zstd)", strings.TrimSpace(item))
		}
		level, err := strconv.Atoi(strings.TrimSpace(lv))
		if err != nil || level < 0 || level >= maxCompressLevels {
			return nil, fmt.Errorf("level %q is not an integer in 0..%d (e.g. 0:lz4_raw,1:zstd)", strings.TrimSpace(lv), maxCompressLevels-1)
		}
		if _, dup := out[level]; dup {
			return nil, fmt.Errorf("level %d is given twice", level)
		}
		codec, err := parseCodec(name)
		if err != nil {
			return nil, err
		}
		out[level] = codec
	}
	return out, nil
}
