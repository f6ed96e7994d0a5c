package table

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Option keys understood by silt tables. Every key a user can set is listed
// in optionDocs with its default; an unknown key is an error, so a typo never
// silently changes nothing.
const (
	OptBucket          = "bucket"
	OptMergeEngine     = "merge-engine"
	OptSequenceField   = "sequence.field"
	OptTargetFileSize  = "target-file-size"
	OptRowGroupRows    = "parquet.row-group-rows"
	OptWriteBufferSize = "write-buffer-size"
	OptPageSize        = "parquet.page-size"
	// OptSchemaCompatibility is the rule ALTER TABLE enforces (package
	// catalog, CheckCompatibility); see SchemaCompatibilityModes.
	OptSchemaCompatibility = "schema.compatibility"
	// OptIcebergEnabled publishes Iceberg metadata of the table at every
	// snapshot (package icebergview); unset follows the warehouse default.
	OptIcebergEnabled = "metadata.iceberg.enabled"
)

// SchemaCompatibilityModes returns the values of schema.compatibility.
func SchemaCompatibilityModes() []string {
	return []string{"backward", "backward_transitive", "forward", "forward_transitive", "full", "full_transitive", "none"}
}

// OptionDoc documents one table option.
type OptionDoc struct {
	Key, Default, Description string
}

// OptionDocs lists the table options with their defaults, for DESCRIBE,
// docs/configuration.md and validation. Per-column aggregate functions use
// the pattern fields.<column>.aggregate-function.
func OptionDocs() []OptionDoc {
	return append([]OptionDoc{
		{OptBucket, "1", "number of buckets per partition; a key's bucket is hash(key) mod bucket. Fixed at CREATE TABLE."},
		{OptMergeEngine, "deduplicate", "deduplicate | partial-update | aggregation | first-row"},
		{OptSequenceField, "", "column whose value orders the records of a key (ties: write order)"},
		{"fields.<col>.aggregate-function", "last_non_null_value", "aggregation engine: sum, product, min, max, count, last_value, last_non_null_value, first_value, first_non_null_value, bool_and, bool_or, collect (ARRAY), merge_map (MAP), listagg (STRING)"},
		{"fields.<col>.distinct", "false", "aggregation engine, collect columns: true keeps each element once"},
		{"fields.<col>.list-agg-delimiter", ",", "aggregation engine, listagg columns: the string between joined values"},
		{"fields.<col>.ignore-retract", "false", "aggregation engine: true ignores the column's -U values (required to write -U values to collect, merge_map, listagg, and INT/BIGINT/DECIMAL product columns)"},
		{OptTargetFileSize, "128mb", "target size of a data file"},
		{OptRowGroupRows, "65536", "maximum rows in a Parquet row group"},
		{OptPageSize, "256kb", "target uncompressed size of a Parquet data page; smaller pages make cold point lookups read less (16kb with parquet.row-group-rows 1024 reads one row group of ~40 KB in one GET), larger ones make scans cheaper"},
		{OptWriteBufferSize, "64mb", "memory a writer buffers before flushing sorted runs"},
		{OptSchemaCompatibility, "backward", "schema changes ALTER TABLE allows: backward | forward | full | none, or backward_transitive | forward_transitive | full_transitive"},
		{OptIcebergEnabled, "", "true | false: publish Iceberg table metadata pointing at the table's Parquet files at every snapshot (unset: the warehouse default, off unless configured)"},
	}, append(append(append(compactionOptionDocs(), lifecycleOptionDocs()...), historyOptionDocs()...), append(lookupOptionDocs(), compressionOptionDocs()...)...)...)
}

// Options are a table's parsed options.
type Options struct {
	Buckets         int
	MergeEngine     string
	SequenceField   string
	TargetFileSize  int64
	RowGroupRows    int
	WriteBufferSize int64
	// PageBytes is the target uncompressed size of a data page.
	PageBytes int
	// SchemaCompatibility is one of SchemaCompatibilityModes.
	SchemaCompatibility string
	// Compaction holds the compaction and write-stall options.
	Compaction CompactionOptions
	// Lifecycle holds snapshot/partition expiry, tiering and orphan
	// cleanup options (lifecycle_options.go).
	Lifecycle LifecycleOptions
	// History holds the changelog producer and automatic tag options
	// (history_options.go).
	History HistoryOptions
	// Lookup holds the point lookup options (lookup_options.go).
	Lookup LookupOptions
	// Compression holds the data file compression options
	// (compression_options.go).
	Compression CompressionOptions
	// Iceberg is metadata.iceberg.enabled: Set says the table sets it
	// (otherwise the warehouse default applies), Enabled its value.
	Iceberg struct{ Set, Enabled bool }
}

// ParseOptions validates the raw options of a schema and fills defaults.
func ParseOptions(raw map[string]string) (Options, error) {
	o := Options{Buckets: 1, MergeEngine: "deduplicate", TargetFileSize: 128 << 20, RowGroupRows: 64 << 10, WriteBufferSize: 64 << 20, PageBytes: 256 << 10, SchemaCompatibility: "backward", Compression: defaultCompressionOptions()}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		var err error
		switch {
		case k == OptBucket:
			o.Buckets, err = parseIntOpt(k, v, 1, 1<<16)
		case k == OptMergeEngine:
			switch v {
			case "deduplicate", "partial-update", "aggregation", "first-row":
				o.MergeEngine = v
			default:
				err = fmt.Errorf("%w: option %s: unknown merge engine %q (want deduplicate, partial-update, aggregation or first-row)", types.ErrInvalid, k, v)
			}
		case k == OptSequenceField:
			o.SequenceField = v
		case k == OptTargetFileSize:
			o.TargetFileSize, err = ParseSize(k, v)
		case k == OptWriteBufferSize:
			o.WriteBufferSize, err = ParseSize(k, v)
		case k == OptRowGroupRows:
			o.RowGroupRows, err = parseIntOpt(k, v, 1, 1<<24)
		case k == OptPageSize:
			var n int64
			if n, err = ParseSize(k, v); err == nil {
				if n < 1<<10 || n > 64<<20 {
					err = fmt.Errorf("%w: option %s: %q is outside 1kb..64mb (e.g. 16kb for tables read by key, 256kb for scans)", types.ErrInvalid, k, v)
				}
				o.PageBytes = int(n)
			}
		case k == OptSchemaCompatibility:
			if !slices.Contains(SchemaCompatibilityModes(), v) {
				err = fmt.Errorf("%w: option %s: unknown mode %q (want %s)", types.ErrInvalid, k, v, strings.Join(SchemaCompatibilityModes(), ", "))
			}
			o.SchemaCompatibility = v
		case k == OptIcebergEnabled:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				o.Iceberg.Set, o.Iceberg.Enabled = true, true
			case "false":
				o.Iceberg.Set, o.Iceberg.Enabled = true, false
			default:
				err = fmt.Errorf("%w: option %s: %q is not true or false", types.ErrInvalid, k, v)
			}
		case strings.HasPrefix(k, "fields.") && strings.HasSuffix(k, ".aggregate-function"), IsAggregateParamOption(k):
			// validated by NewMergeEngine against the columns
		case isCompactionOption(k):
			err = o.Compaction.set(k, v)
		case isLifecycleOption(k):
			err = o.Lifecycle.set(k, v)
		case isHistoryOption(k):
			err = o.History.set(k, v)
		case isLookupOption(k):
			err = o.Lookup.set(k, v)
		case isCompressionOption(k):
			err = o.Compression.set(k, v)
		default:
			err = fmt.Errorf("%w: unknown table option %q", types.ErrInvalid, k)
		}
		if err != nil {
			return Options{}, err
		}
	}
	if err := o.Compaction.finish(); err != nil {
		return Options{}, err
	}
	if err := o.Lifecycle.finish(); err != nil {
		return Options{}, err
	}
	if err := o.History.finish(); err != nil {
		return Options{}, err
	}
	return o, nil
}

func parseIntOpt(k, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: option %s: %q is not an integer in %d..%d", types.ErrInvalid, k, v, lo, hi)
	}
	return n, nil
}

// ParseSize parses sizes like "128mb", "64 MiB", "4096".
func ParseSize(k, v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("%w: option %s: bad size %q (e.g. 128mb)", types.ErrInvalid, k, v)
	}
	return n * mult, nil
}

// MinFileSize is the smallest target-file-size and write-buffer-size that
// CREATE TABLE and ALTER TABLE accept: smaller values would write a file or
// a flush per handful of rows.
const MinFileSize = 1 << 10

// CheckOptions validates the options of a schema that CREATE TABLE or
// ALTER TABLE is about to store: ParseOptions' checks, plus minimums that a
// table stored before they existed may not meet (such a table still opens,
// with its options as stored) and checks against the schema's columns.
func CheckOptions(s *types.Schema) error {
	o, err := ParseOptions(s.Options)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		key string
		val int64
	}{{OptTargetFileSize, o.TargetFileSize}, {OptWriteBufferSize, o.WriteBufferSize}} {
		if v, ok := s.Options[c.key]; ok && c.val < MinFileSize {
			return fmt.Errorf("%w: option %s: %q is below the minimum 1kb (allowed: 1kb or more, e.g. 128mb)", types.ErrInvalid, c.key, v)
		}
	}
	if len(s.PartitionKeys) == 0 {
		for _, k := range []string{OptPartitionExpiration, OptTierPartitionAge} {
			if _, ok := s.Options[k]; ok {
				return fmt.Errorf("%w: option %s needs a partitioned table (PARTITIONED BY), and this table has no partition columns", types.ErrInvalid, k)
			}
		}
	}
	return nil
}

// IsOption reports whether k is a table option key silt knows (including
// the per-column patterns fields.<col>.aggregate-function, .distinct,
// .list-agg-delimiter and .ignore-retract).
func IsOption(k string) bool {
	switch k {
	case OptBucket, OptMergeEngine, OptSequenceField, OptTargetFileSize, OptRowGroupRows, OptPageSize, OptWriteBufferSize, OptSchemaCompatibility, OptIcebergEnabled:
		return true
	}
	if rest, ok := strings.CutPrefix(k, "fields."); ok {
		if col, ok := strings.CutSuffix(rest, ".aggregate-function"); ok && col != "" {
			return true
		}
	}
	if IsAggregateParamOption(k) {
		return true
	}
	return isCompactionOption(k) || isLifecycleOption(k) || isHistoryOption(k) || isLookupOption(k) || isCompressionOption(k)
}
