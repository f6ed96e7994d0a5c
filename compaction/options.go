package compaction

import (
	"fmt"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// Options configure picking and executing compactions. The zero value is
// usable: EnsureDefaults fills every unset field with the default named in
// its comment (the same defaults as the table options of the same name).
type Options struct {
	// SortedRunTrigger starts a compaction once a bucket has this many
	// sorted runs (num-sorted-run.compaction-trigger). Default 5.
	SortedRunTrigger int
	// StopTrigger is the sorted-run count at which writers stall
	// (num-sorted-run.stop-trigger). A forced request (Request.Force, a
	// stalled writer's) is honoured only while the bucket still has this
	// many runs: once other compactions have brought it below, forcing
	// would merge a few small fresh runs that are soon merged again.
	// 0 (unset) honours a forced request at any count of two or more.
	StopTrigger int
	// NumLevels is the number of levels, 0 .. NumLevels-1 (num-levels).
	// Default SortedRunTrigger+1.
	NumLevels int
	// SizeRatio, in percent, lets a run join the candidates when its size
	// is at most (100+SizeRatio)% of the candidates' total
	// (compaction.size-ratio). Default 1.
	SizeRatio int
	// MaxSizeAmplificationPercent forces a full compaction of a bucket
	// when the runs newer than the oldest are larger than this percentage
	// of the oldest (compaction.max-size-amplification-percent). Default
	// 200.
	MaxSizeAmplificationPercent int
	// TargetFileSize ends an output file once it reaches this size
	// (target-file-size). Default 128 MiB.
	TargetFileSize int64
	// RowGroupRows caps the rows of an output row group
	// (parquet.row-group-rows). Default 65536.
	RowGroupRows int
	// PageBytes is the target uncompressed size of an output data page
	// (parquet.page-size); 0 is lsm's default.
	PageBytes int
	// Compression is the page compression of output files by output
	// level (file.compression, file.compression.zstd-level and
	// file.compression.per.level): Compression[l] for level l, the last
	// entry for levels past the end; empty means lsm's default (ZSTD at
	// lsm.DefaultZstdLevel). A file moved up a level without being
	// rewritten (see UpgradeMinSize) keeps the codec it was written with,
	// and a row group is copied page by page only into a file of its own
	// codec (otherwise it is re-encoded).
	Compression []lsm.Compression
	// UpgradeMinSize: an input file that overlaps no other input and is at
	// least this large moves to the output level without being rewritten;
	// smaller ones are rewritten together with their neighbours so that
	// small files do not accumulate. Default half of TargetFileSize.
	UpgradeMinSize int64
	// NoRowGroupCopy turns off row-group copying: by default a row group
	// of a merged input whose key range overlaps no other input (and that
	// needs nothing dropped) is copied into the output file page by page
	// instead of being decoded, merged and encoded again. Default false.
	NoRowGroupCopy bool
	// MaxBufferBytes bounds the memory of decoded records an executor holds
	// before encoding an output file. When one target-size file needs more,
	// the file ends early. Default 256 MiB.
	MaxBufferBytes int64
	// Parallelism is the number of buckets one Compactor.Run compacts at
	// once (compaction.max-concurrent; inline compaction runs one bucket per
	// Run instead, in that many workers). Default 1.
	Parallelism int
	// Expire, when set, drops rows whose time column is older than
	// Expire.After whenever a compaction writes the oldest data of a bucket
	// (record-level.expire-time, record-level.time-field).
	Expire *Expire
}

// Expire is the record-level TTL of a table.
type Expire struct {
	// Field is the position of the time column in the table schema: a
	// TIMESTAMP, or a BIGINT holding Unix milliseconds.
	Field int
	// After is the age at which a row expires.
	After time.Duration
}

// Defaults of Options.
const (
	DefaultSortedRunTrigger            = 5
	DefaultSizeRatio                   = 1
	DefaultMaxSizeAmplificationPercent = 200
	DefaultTargetFileSize              = 128 << 20
	DefaultRowGroupRows                = 64 << 10
	DefaultMaxBufferBytes              = 256 << 20
)

// EnsureDefaults returns o with every unset field set to its default.
func (o Options) EnsureDefaults() Options {
	if o.SortedRunTrigger <= 0 {
		o.SortedRunTrigger = DefaultSortedRunTrigger
	}
	if o.NumLevels <= 0 {
		o.NumLevels = o.SortedRunTrigger + 1
	}
	if o.SizeRatio <= 0 {
		o.SizeRatio = DefaultSizeRatio
	}
	if o.MaxSizeAmplificationPercent <= 0 {
		o.MaxSizeAmplificationPercent = DefaultMaxSizeAmplificationPercent
	}
	if o.TargetFileSize <= 0 {
		o.TargetFileSize = DefaultTargetFileSize
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.UpgradeMinSize <= 0 {
		o.UpgradeMinSize = o.TargetFileSize / 2
	}
	if o.MaxBufferBytes <= 0 {
		o.MaxBufferBytes = DefaultMaxBufferBytes
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 1
	}
	return o
}

// CompressionAt is the compression of the files written at level.
func (o *Options) CompressionAt(level int) lsm.Compression {
	if len(o.Compression) == 0 {
		return lsm.Compression{}
	}
	return o.Compression[min(max(level, 0), len(o.Compression)-1)]
}

// Validate checks o (after EnsureDefaults) against the schema the
// compactions read and write.
func (o *Options) Validate(schema *types.Schema) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: compaction options: %s", types.ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case o.SortedRunTrigger < 2:
		return bad("sorted-run trigger %d < 2", o.SortedRunTrigger)
	case o.NumLevels < 2:
		return bad("%d levels < 2", o.NumLevels)
	}
	for l, c := range o.Compression {
		if err := c.Check(); err != nil {
			return bad("level %d: %v", l, err)
		}
	}
	if e := o.Expire; e != nil {
		if schema == nil || e.Field < 0 || e.Field >= len(schema.Fields) {
			return bad("expire field %d out of range", e.Field)
		}
		if k := schema.Fields[e.Field].Type.Kind; k != types.TimestampKind && k != types.BigInt {
			return bad("expire column %q is %s, want TIMESTAMP or BIGINT (Unix milliseconds)", schema.Fields[e.Field].Name, schema.Fields[e.Field].Type)
		}
		if e.After <= 0 {
			return bad("expire time %v must be positive", e.After)
		}
	}
	return nil
}
