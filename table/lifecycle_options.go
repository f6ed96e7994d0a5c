package table

import (
	"fmt"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// Lifecycle option keys (see lifecycleOptionDocs for defaults and meaning).
const (
	OptSnapshotNumRetainedMin = "snapshot.num-retained.min"
	OptSnapshotNumRetainedMax = "snapshot.num-retained.max"
	OptSnapshotTimeRetained   = "snapshot.time-retained"
	OptSnapshotLeaseTTL       = "snapshot.lease-ttl"
	OptPartitionExpiration    = "partition.expiration-time"
	OptPartitionTimeFormatter = "partition.timestamp-formatter"
	OptPartitionTimePattern   = "partition.timestamp-pattern"
	OptOrphanGracePeriod      = "orphan.grace-period"
	OptTierColdURI            = "tier.cold.uri"
	OptTierColdStorageClass   = "tier.cold.storage-class"
	OptTierMoveAfter          = "tier.move-after"
	OptTierMinLevel           = "tier.min-level"
	OptTierPartitionAge       = "tier.partition-age"
)

// Defaults of the lifecycle options.
const (
	DefaultNumRetainedMin    = 10
	DefaultTimeRetained      = time.Hour
	DefaultLeaseTTL          = 15 * time.Minute
	DefaultOrphanGracePeriod = 24 * time.Hour
	// MinOrphanGracePeriod is the smallest orphan.grace-period accepted.
	// A commit refuses to publish once it held its files for half the
	// grace period; the other half covers the clock skew between orphan
	// cleanup and the store and the snapshot put's latency (minutes).
	MinOrphanGracePeriod      = time.Hour
	DefaultPartitionFormatter = "yyyy-MM-dd"
)

// TierCold is the name of the cold tier in DataFile.Tier ("" = hot).
const TierCold = "cold"

// LifecycleOptions are the lifecycle policy options of a table (snapshot
// and partition expiry, tiering, orphan cleanup). Zero durations mean
// "unset" where the doc says so.
type LifecycleOptions struct {
	// NumRetainedMin snapshots of main are always kept (>= 1; the latest
	// is never expired). Default 10.
	NumRetainedMin int
	// NumRetainedMax: snapshots beyond it are expired whatever their age.
	// 0 = unlimited (the default).
	NumRetainedMax int
	// TimeRetained: a snapshot is expired only once the snapshot after it
	// is older than this (so a reader of the latest snapshot has at least
	// TimeRetained to finish). Default 1h.
	TimeRetained time.Duration
	// LeaseTTL is how long a reader of an older snapshot pins its files.
	// Default 15m.
	LeaseTTL time.Duration
	// PartitionExpiration: partitions whose time (PartitionPattern parsed
	// with PartitionFormatter) is older are dropped. 0 = never.
	PartitionExpiration time.Duration
	// PartitionFormatter is a Java-style pattern (yyyyMMdd, yyyy-MM-dd
	// HH:mm, ...). Default yyyy-MM-dd.
	PartitionFormatter string
	// PartitionPattern builds the time text from partition values, e.g.
	// "$dt" or "$year-$month-$day". Default: the first partition column.
	PartitionPattern string
	// OrphanGracePeriod: unreferenced objects younger than this are kept
	// (they may belong to a commit in flight). Default 1 day.
	OrphanGracePeriod time.Duration
	// ColdURI names the cold tier ("" = Env.ColdURI); ColdStorageClass is
	// the S3 storage class of objects put there ("" = the bucket default).
	ColdURI, ColdStorageClass string
	// coldURIErr is why ColdURI breaks the URI rules (credentials, no
	// bucket, a relative directory): a schema written before they
	// existed still opens, but its cold tier cannot be used until the
	// option is fixed (see CheckNewOptions).
	coldURIErr error
	// Tiering rules: a hot data file moves to the cold tier when any rule
	// matches. TierMoveAfter: the file is older (CreatedMillis); 0 = off.
	// TierMinLevel: the file is at this level or beyond; -1 = off.
	// TierPartitionAge: its partition's time is older; 0 = off.
	TierMoveAfter    time.Duration
	TierMinLevel     int
	TierPartitionAge time.Duration
}

func lifecycleOptionDocs() []OptionDoc {
	return []OptionDoc{
		{OptSnapshotNumRetainedMin, "10", "snapshots of main always kept (at least 1; the latest is never expired)"},
		{OptSnapshotNumRetainedMax, "unlimited", "snapshots of main beyond this many are expired whatever their age"},
		{OptSnapshotTimeRetained, "1h", "a snapshot expires once the snapshot after it is older than this (between min and max)"},
		{OptSnapshotLeaseTTL, "15m", "how long a reader of an older snapshot (VERSION/TIMESTAMP AS OF) pins its files against expiry"},
		{OptPartitionExpiration, "", "drop partitions whose time is older than this, e.g. 30d (needs a partitioned table)"},
		{OptPartitionTimeFormatter, DefaultPartitionFormatter, "Java-style pattern of the partition time, e.g. yyyyMMdd or yyyy-MM-dd HH:mm"},
		{OptPartitionTimePattern, "$<first partition column>", "how partition values form the time text, e.g. $dt or $year-$month-$day"},
		{OptOrphanGracePeriod, "1d", "unreferenced files younger than this are kept by orphan cleanup (commits in flight); at least 1h, and a commit holding its files for half of it is refused"},
		{OptTierColdURI, "warehouse --cold-uri", "cold tier: s3://bucket/prefix or a local directory"},
		{OptTierColdStorageClass, "", "S3 storage class of objects moved to the cold tier, e.g. STANDARD_IA, GLACIER_IR"},
		{OptTierMoveAfter, "", "move data files older than this to the cold tier, e.g. 30d"},
		{OptTierMinLevel, "", "move data files at this level or beyond to the cold tier"},
		{OptTierPartitionAge, "", "move the data files of partitions older than this to the cold tier (uses the partition time options)"},
	}
}

func isLifecycleOption(k string) bool {
	switch k {
	case OptSnapshotNumRetainedMin, OptSnapshotNumRetainedMax, OptSnapshotTimeRetained, OptSnapshotLeaseTTL,
		OptPartitionExpiration, OptPartitionTimeFormatter, OptPartitionTimePattern, OptOrphanGracePeriod,
		OptTierColdURI, OptTierColdStorageClass, OptTierMoveAfter, OptTierMinLevel, OptTierPartitionAge:
		return true
	}
	return false
}

// set parses one lifecycle option; defaults are filled by finish.
func (l *LifecycleOptions) set(k, v string) error {
	var err error
	switch k {
	case OptSnapshotNumRetainedMin:
		l.NumRetainedMin, err = parseIntOpt(k, v, 1, 1<<30)
	case OptSnapshotNumRetainedMax:
		l.NumRetainedMax, err = parseIntOpt(k, v, 1, 1<<30)
	case OptSnapshotTimeRetained:
		l.TimeRetained, err = ParseDuration(k, v)
	case OptSnapshotLeaseTTL:
		l.LeaseTTL, err = ParseDuration(k, v)
	case OptPartitionExpiration:
		l.PartitionExpiration, err = ParseDuration(k, v)
	case OptPartitionTimeFormatter:
		l.PartitionFormatter = strings.TrimSpace(v)
		_, err = javaLayout(l.PartitionFormatter)
		if err != nil {
			err = fmt.Errorf("%w: option %s: %v", types.ErrInvalid, k, err)
		}
	case OptPartitionTimePattern:
		l.PartitionPattern = strings.TrimSpace(v)
		if !strings.Contains(l.PartitionPattern, "$") {
			err = fmt.Errorf("%w: option %s: %q names no partition column (e.g. $dt)", types.ErrInvalid, k, v)
		}
	case OptOrphanGracePeriod:
		l.OrphanGracePeriod, err = parseDurationAtLeast(k, v, 0)
		if err == nil && l.OrphanGracePeriod < MinOrphanGracePeriod {
			err = fmt.Errorf("%w: option %s '%s' is below the minimum %s (orphan cleanup could delete the files of a commit in flight)",
				types.ErrInvalid, k, strings.TrimSpace(v), "1h")
		}
	case OptTierColdURI:
		l.ColdURI = strings.TrimSpace(v)
		if l.ColdURI == "" || strings.ContainsAny(l.ColdURI, "?#") {
			err = checkColdURI(l.ColdURI) // the rules of old: an error that quotes the URI redacted
		} else {
			l.coldURIErr = checkColdURI(l.ColdURI)
		}
	case OptTierColdStorageClass:
		l.ColdStorageClass = strings.TrimSpace(v)
		if !validStorageClass(l.ColdStorageClass) {
			err = fmt.Errorf("%w: option %s: %q is not a storage class (e.g. STANDARD_IA, GLACIER_IR)", types.ErrInvalid, k, v)
		}
	case OptTierMoveAfter:
		l.TierMoveAfter, err = ParseDuration(k, v)
	case OptTierMinLevel:
		var n int
		n, err = parseIntOpt(k, v, 0, 1000)
		l.TierMinLevel = n + 1 // stored +1 so the zero value means "off"; see finish
	case OptTierPartitionAge:
		l.TierPartitionAge, err = ParseDuration(k, v)
	}
	return err
}

func validStorageClass(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// finish fills defaults and checks the options against each other.
func (l *LifecycleOptions) finish() error {
	if l.NumRetainedMin == 0 {
		l.NumRetainedMin = DefaultNumRetainedMin
	}
	if l.TimeRetained == 0 {
		l.TimeRetained = DefaultTimeRetained
	}
	if l.LeaseTTL == 0 {
		l.LeaseTTL = DefaultLeaseTTL
	}
	if l.OrphanGracePeriod == 0 {
		l.OrphanGracePeriod = DefaultOrphanGracePeriod
	}
	if l.PartitionFormatter == "" {
		l.PartitionFormatter = DefaultPartitionFormatter
	}
	l.TierMinLevel-- // -1 when unset
	if l.NumRetainedMax != 0 && l.NumRetainedMax < l.NumRetainedMin {
		return fmt.Errorf("%w: option %s=%d is below %s=%d", types.ErrInvalid, OptSnapshotNumRetainedMax, l.NumRetainedMax, OptSnapshotNumRetainedMin, l.NumRetainedMin)
	}
	return nil
}

// Tiering reports whether any tiering rule is set.
func (l *LifecycleOptions) Tiering() bool {
	return l.TierMoveAfter > 0 || l.TierMinLevel >= 0 || l.TierPartitionAge > 0
}

// javaLayout converts a Java DateTimeFormatter-style pattern (the letters
// y, M, d, H, m, s, S; other characters literal; text in single quotes
// literal) into a Go time layout.
func javaLayout(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty pattern")
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("pattern %q: unterminated quote", p)
			}
			b.WriteString(p[i+1 : i+1+j])
			i += j + 2
			continue
		}
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		run := p[i : i+n]
		var out string
		switch {
		case run == "yyyy" || run == "uuuu":
			out = "2006"
		case run == "yy":
			out = "06"
		case run == "MM":
			out = "01"
		case run == "dd":
			out = "02"
		case run == "HH":
			out = "15"
		case run == "mm":
			out = "04"
		case run == "ss":
			out = "05"
		case c == 'S' && n <= 9 && strings.HasSuffix(b.String(), "."):
			out = strings.Repeat("0", n) // Go reads fractions only after a '.'
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			return "", fmt.Errorf("pattern %q: unsupported field %q (use yyyy, yy, MM, dd, HH, mm, ss, S…)", p, run)
		case c >= '0' && c <= '9':
			return "", fmt.Errorf("pattern %q: digits must be quoted", p)
		default:
			out = run
		}
		b.WriteString(out)
		i += n
	}
	return b.String(), nil
}
