package lsm

import (
	"slices"
	"strconv"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// Reusing parquet writers. A new parquet.Writer allocates its column
// writers, and each column writer its value buffers (for a 256 KiB page
// about 256 KiB per required column, whatever the file's row count) and
// grows the others by doubling: most of the bytes a flush allocated. A
// writer that finished a file is Reset for the next file of the same
// write and, at the end of a write, kept in parquetWriters for the next
// write with the same configuration (Parquet schema and writer options);
// a writer whose write failed is dropped.
//
// parquet-go's Reset keeps the buffers and clears the writer's state for
// another file, but (v0.32) it also clears the column paths its column
// writers share with the previous file's row group metadata, so the
// footer of every later file names each column "". finish therefore sets
// the footer's column paths of a reused writer's file from the Parquet
// schema (see truncateFooterStats), which gives the bytes of a new
// writer's file: TestReusedWriterWritesSameBytes compares the two.

// parquetWriters holds idle writers (*pooledWriter). A sync.Pool lets the
// garbage collector reclaim the ones that stay unused.
var parquetWriters sync.Pool

// pooledWriter is an idle writer and the configuration it was made for.
type pooledWriter struct {
	key writerKey
	w   *parquet.Writer
}

// writerKey is what a parquet.Writer's output depends on besides the rows:
// the Parquet schema (a function of the columns' names, field ids, types
// and optional flags, see parquetSchema) and the options start passes.
type writerKey struct {
	cols        []writerCol
	compression Compression
	bloomBits   int
	pageBytes   int
}

type writerCol struct {
	id       int
	name     string
	kind     types.Kind
	prec     int
	scale    int
	optional bool
}

// writerKeyOf is the key of a write's writers; false when its writers are
// not pooled (nested columns, whose Parquet nodes the key does not
// describe, or a test asking for new writers).
func (fw *fileWriter) writerKeyOf() (writerKey, bool) {
	if fw.opts.newWriters || fw.ps == nil {
		return writerKey{}, false
	}
	k := writerKey{compression: fw.opts.Compression, bloomBits: fw.opts.BloomBitsPerKey, pageBytes: fw.opts.PageBytes}
	k.cols = make([]writerCol, len(fw.schema.Fields))
	for i, f := range fw.schema.Fields {
		if f.Type.IsNested() {
			return writerKey{}, false
		}
		k.cols[i] = writerCol{id: f.ID, name: f.Name, kind: f.Type.Kind, prec: f.Type.Precision, scale: f.Type.Scale, optional: fw.optional[i]}
	}
	return k, true
}

func (k *writerKey) equal(o *writerKey) bool {
	return k.compression == o.compression && k.bloomBits == o.bloomBits && k.pageBytes == o.pageBytes && slices.Equal(k.cols, o.cols)
}

// parquetWriter returns the writer of the file start begins: the write's
// writer Reset, an idle one of the same configuration Reset, or a new one.
func (fw *fileWriter) parquetWriter() *parquet.Writer {
	if fw.w != nil && !fw.opts.newWriters {
		fw.w.Reset(&fw.buf)
		fw.reused = true
		return fw.w
	}
	if !fw.keyed {
		fw.key, fw.pooled = fw.writerKeyOf()
		fw.keyed = true
	}
	if fw.pooled {
		if p, ok := parquetWriters.Get().(*pooledWriter); ok && p.key.equal(&fw.key) {
			p.w.Reset(&fw.buf)
			fw.reused = true
			return p.w
		}
		// Another configuration's writer is dropped: a process writes
		// mostly one table's files at a time.
	}
	return parquet.NewWriter(&fw.buf, fw.ps,
		// Shared codecs (see writer_codec.go) keep the zstd encoders'
		// history windows across files instead of allocating and clearing
		// new ones per file, which dominated small flushes.
		parquet.Compression(fw.opts.Compression.pageCodec()),
		parquet.BloomFilters(parquet.SplitBlockFilter(uint(fw.opts.BloomBitsPerKey), colKey)),
		parquet.DeferBloomFiltersWithBuffers(parquet.NewBufferPool()),
		parquet.PageBufferSize(fw.opts.PageBytes),
		// See stats.go: no page header statistics, a truncated page index.
		parquet.DataPageStatistics(false),
		parquet.ColumnIndexSizeLimit(func([]string) int { return statsTruncateBytes }),
		parquet.CreatedBy("silt", strconv.Itoa(FormatVersion), ""),
	)
}

// release keeps the write's writer for the next write once every file is
// finished; call it only after a write succeeded.
func (fw *fileWriter) release() {
	if fw.w == nil || !fw.pooled {
		return
	}
	fw.w.Reset(nil) // holds no output buffer while idle
	parquetWriters.Put(&pooledWriter{key: fw.key, w: fw.w})
	fw.w = nil
}
