package table

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/types"
)

// Compaction option keys (see OptionDocs for defaults and meaning).
const (
	OptCompactionTrigger  = "num-sorted-run.compaction-trigger"
	OptStopTrigger        = "num-sorted-run.stop-trigger"
	OptNumLevels          = "num-levels"
	OptSizeRatio          = "compaction.size-ratio"
	OptMaxSizeAmp         = "compaction.max-size-amplification-percent"
	OptMaxConcurrent      = "compaction.max-concurrent"
	OptWriteOnly          = "write-only"
	OptRecordExpireTime   = "record-level.expire-time"
	OptRecordExpireColumn = "record-level.time-field"
	OptCopyRowGroups      = "compaction.copy-row-groups"
)

// CompactionOptions are a table's parsed compaction options.
type CompactionOptions struct {
	// Trigger: a bucket with this many sorted runs is compacted.
	Trigger int
	// StopTrigger: writers stall while a bucket has this many sorted runs.
	StopTrigger int
	// NumLevels: levels 0 .. NumLevels-1.
	NumLevels int
	// SizeRatio (percent) and MaxSizeAmplificationPercent tune the
	// universal picker (see compaction.Universal).
	SizeRatio                   int
	MaxSizeAmplificationPercent int
	// MaxConcurrent bounds the background compactions of one writer (one
	// bucket each; while the writer waits, stalled or in Close, its helper
	// runs one more) and the buckets one Table.Compact compacts at once.
	MaxConcurrent int
	// WriteOnly disables inline compaction: a standalone compactor must
	// run (writers still stall at StopTrigger).
	WriteOnly bool
	// ExpireTime and TimeField: rows whose TimeField is older than
	// ExpireTime are dropped when a compaction writes the oldest data of a
	// bucket. Zero/"" when unset.
	ExpireTime time.Duration
	TimeField  string
	// NoRowGroupCopy: compactions decode every row group they merge,
	// even those that overlap no other input (compaction.copy-row-groups
	// = false).
	NoRowGroupCopy bool
}

func compactionOptionDocs() []OptionDoc {
	return []OptionDoc{
		{OptCompactionTrigger, "5", "sorted runs of a bucket that start a compaction"},
		{OptStopTrigger, "trigger + 3", "sorted runs of a bucket at which writers stall until compaction catches up"},
		{OptNumLevels, "trigger + 1", "levels of a bucket's merge tree (0 holds writers' flushes; the last holds fully compacted data)"},
		{OptSizeRatio, "1", "percent: a sorted run joins a compaction when it is at most this much larger than the runs picked so far"},
		{OptMaxSizeAmp, "200", "a bucket is fully compacted when its newer runs exceed this percentage of its oldest run"},
		{OptMaxConcurrent, "1", "background compactions one writer runs at once, one bucket each (a bucket it is stalled on gets one more), or buckets one silt compact compacts at once"},
		{OptWriteOnly, "false", "true: writers never compact (run silt compact --watch); they still stall at the stop trigger"},
		{OptRecordExpireTime, "", "record TTL, e.g. 7d or 12h: full compactions drop rows whose time field is older"},
		{OptRecordExpireColumn, "", "the TTL's time column: TIMESTAMP, or BIGINT Unix milliseconds"},
		{OptCopyRowGroups, "true", "compactions copy row groups that overlap no other input page by page instead of decoding and re-encoding them"},
	}
}

// isCompactionOption reports whether k is a compaction option key.
func isCompactionOption(k string) bool {
	switch k {
	case OptCompactionTrigger, OptStopTrigger, OptNumLevels, OptSizeRatio, OptMaxSizeAmp,
		OptMaxConcurrent, OptWriteOnly, OptRecordExpireTime, OptRecordExpireColumn, OptCopyRowGroups:
		return true
	}
	return false
}

// set parses one compaction option. Derived defaults are filled by finish.
func (c *CompactionOptions) set(k, v string) error {
	var err error
	switch k {
	case OptCompactionTrigger:
		c.Trigger, err = parseIntOpt(k, v, 2, 1000)
	case OptStopTrigger:
		c.StopTrigger, err = parseIntOpt(k, v, 2, 10000)
	case OptNumLevels:
		c.NumLevels, err = parseIntOpt(k, v, 2, 1000)
	case OptSizeRatio:
		c.SizeRatio, err = parseIntOpt(k, v, 1, 100000)
	case OptMaxSizeAmp:
		c.MaxSizeAmplificationPercent, err = parseIntOpt(k, v, 1, 1000000)
	case OptMaxConcurrent:
		c.MaxConcurrent, err = parseIntOpt(k, v, 1, 256)
	case OptWriteOnly:
		c.WriteOnly, err = strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			err = fmt.Errorf("%w: option %s: %q is not true or false", types.ErrInvalid, k, v)
		}
	case OptCopyRowGroups:
		var copyRG bool
		copyRG, err = strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			err = fmt.Errorf("%w: option %s: %q is not true or false", types.ErrInvalid, k, v)
		}
		c.NoRowGroupCopy = !copyRG
	case OptRecordExpireTime:
		c.ExpireTime, err = ParseDuration(k, v)
	case OptRecordExpireColumn:
		c.TimeField = strings.TrimSpace(v)
		if c.TimeField == "" {
			err = fmt.Errorf("%w: option %s: empty column name", types.ErrInvalid, k)
		}
	}
	return err
}

// finish fills the defaults that depend on other options and checks the
// options against each other.
func (c *CompactionOptions) finish() error {
	if c.Trigger == 0 {
		c.Trigger = compaction.DefaultSortedRunTrigger
	}
	if c.StopTrigger == 0 {
		c.StopTrigger = c.Trigger + 3
	}
	if c.NumLevels == 0 {
		c.NumLevels = c.Trigger + 1
	}
	if c.SizeRatio == 0 {
		c.SizeRatio = compaction.DefaultSizeRatio
	}
	if c.MaxSizeAmplificationPercent == 0 {
		c.MaxSizeAmplificationPercent = compaction.DefaultMaxSizeAmplificationPercent
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 1
	}
	switch {
	case c.StopTrigger < c.Trigger:
		return fmt.Errorf("%w: option %s=%d is below %s=%d", types.ErrInvalid, OptStopTrigger, c.StopTrigger, OptCompactionTrigger, c.Trigger)
	case (c.ExpireTime == 0) != (c.TimeField == ""):
		return fmt.Errorf("%w: options %s and %s must be set together", types.ErrInvalid, OptRecordExpireTime, OptRecordExpireColumn)
	}
	return nil
}

// checkTimeField verifies that record-level.time-field names a TIMESTAMP or
// BIGINT column of s.
func checkTimeField(s *types.Schema) error {
	name, ok := s.Options[OptRecordExpireColumn]
	if !ok {
		return nil
	}
	i := s.FieldIndex(strings.TrimSpace(name))
	if i < 0 {
		return fmt.Errorf("%w: option %s: unknown column %q", types.ErrInvalid, OptRecordExpireColumn, name)
	}
	if k := s.Fields[i].Type.Kind; k != types.TimestampKind && k != types.BigInt {
		return fmt.Errorf("%w: option %s: column %q is %s, want TIMESTAMP or BIGINT (Unix milliseconds)", types.ErrInvalid, OptRecordExpireColumn, name, s.Fields[i].Type)
	}
	return nil
}

// MinDuration is the smallest value a duration option accepts.
const MinDuration = time.Second

// ParseDuration parses durations like "90s", "12h", "7d" or "7 days"; the
// value must be at least MinDuration.
func ParseDuration(k, v string) (time.Duration, error) {
	d, err := parseDurationAtLeast(k, v, MinDuration)
	return d, err
}

// parseDurationAtLeast is ParseDuration with its own minimum (an option
// whose floor is larger words its own error: see orphan.grace-period).
func parseDurationAtLeast(k, v string, minimum time.Duration) (time.Duration, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	bad := fmt.Errorf("%w: option %s: bad duration %q (e.g. 7d, 12h, 30m)", types.ErrInvalid, k, v)
	var d time.Duration
	if n, ok := cutDaySuffix(s); ok {
		days, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if err != nil {
			return 0, bad
		}
		if days > 100000 {
			return 0, fmt.Errorf("%w: option %s: %q is above the maximum 100000d", types.ErrInvalid, k, v)
		}
		d = time.Duration(max(days, 0)) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d < minimum {
		return 0, fmt.Errorf("%w: option %s: %q is below the minimum %s", types.ErrInvalid, k, v, minimum)
	}
	return d, nil
}

func cutDaySuffix(s string) (string, bool) {
	for _, suffix := range []string{" days", " day", "days", "day", "d"} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			return n, true
		}
	}
	return s, false
}

// compactionOptions converts the table's options for package compaction.
func (t *Table) compactionOptions() compaction.Options {
	c := t.opts.Compaction
	o := compaction.Options{
		SortedRunTrigger:            c.Trigger,
		StopTrigger:                 c.StopTrigger,
		NumLevels:                   c.NumLevels,
		SizeRatio:                   c.SizeRatio,
		MaxSizeAmplificationPercent: c.MaxSizeAmplificationPercent,
		TargetFileSize:              t.opts.TargetFileSize,
		RowGroupRows:                t.opts.RowGroupRows,
		PageBytes:                   t.opts.PageBytes,
		Parallelism:                 c.MaxConcurrent,
		NoRowGroupCopy:              c.NoRowGroupCopy,
		Compression:                 t.opts.Compression.levels(c.NumLevels),
	}
	if c.TimeField != "" {
		if i := t.schema.FieldIndex(c.TimeField); i >= 0 {
			o.Expire = &compaction.Expire{Field: i, After: c.ExpireTime}
		}
	}
	return o.EnsureDefaults()
}
