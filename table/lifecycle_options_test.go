package table

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/types"
)

func TestLifecycleOptionDefaults(t *testing.T) {
	o, err := ParseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	l := o.Lifecycle
	if l.NumRetainedMin != 10 || l.NumRetainedMax != 0 || l.TimeRetained != time.Hour || l.LeaseTTL != 15*time.Minute ||
		l.OrphanGracePeriod != 24*time.Hour || l.PartitionFormatter != "yyyy-MM-dd" || l.TierMinLevel != -1 || l.Tiering() {
		t.Fatalf("defaults: %+v", l)
	}
	o, err = ParseOptions(map[string]string{
		OptSnapshotNumRetainedMin: "2", OptSnapshotNumRetainedMax: "5", OptSnapshotTimeRetained: "7 days",
		OptTierMinLevel: "0", OptTierColdURI: "s3://cold/x", OptTierColdStorageClass: "GLACIER_IR",
		OptPartitionTimeFormatter: "yyyyMMdd", OptPartitionTimePattern: "$dt", OptPartitionExpiration: "30d",
	})
	if err != nil {
		t.Fatal(err)
	}
	l = o.Lifecycle
	if l.NumRetainedMin != 2 || l.NumRetainedMax != 5 || l.TimeRetained != 7*24*time.Hour || l.TierMinLevel != 0 || !l.Tiering() ||
		l.ColdURI != "s3://cold/x" || l.ColdStorageClass != "GLACIER_IR" || l.PartitionExpiration != 30*24*time.Hour {
		t.Fatalf("parsed: %+v", l)
	}
}

// TestLifecycleOptionErrors: every bad lifecycle option is an ErrInvalid
// naming the option.
func TestLifecycleOptionErrors(t *testing.T) {
	for _, tc := range []struct{ k, v, want string }{
		{"snapshot.num-retained.mn", "3", "snapshot.num-retained.mn"},
		{"snapshot.time-retain", "1h", "snapshot.time-retain"},
		{OptSnapshotNumRetainedMin, "0", OptSnapshotNumRetainedMin},
		{OptSnapshotNumRetainedMin, "ten", OptSnapshotNumRetainedMin},
		{OptSnapshotNumRetainedMax, "-1", OptSnapshotNumRetainedMax},
		{OptSnapshotTimeRetained, "soon", OptSnapshotTimeRetained},
		{OptSnapshotTimeRetained, "-5m", OptSnapshotTimeRetained},
		{OptSnapshotTimeRetained, "0s", OptSnapshotTimeRetained},
		{OptSnapshotLeaseTTL, "1 fortnight", OptSnapshotLeaseTTL},
		{OptOrphanGracePeriod, "", OptOrphanGracePeriod},
		{OptPartitionExpiration, "30 dys", OptPartitionExpiration},
		{OptPartitionTimeFormatter, "yyyy-QQ", OptPartitionTimeFormatter},
		{OptPartitionTimeFormatter, "'yyyy", OptPartitionTimeFormatter},
		{OptPartitionTimePattern, "dt", OptPartitionTimePattern},
		{OptTierColdURI, "", OptTierColdURI},
		{OptTierColdURI, "s3://b/p?x=1", OptTierColdURI},
		{OptTierColdStorageClass, "glacier ir", OptTierColdStorageClass},
		{OptTierMinLevel, "-1", OptTierMinLevel},
		{OptTierMoveAfter, "old", OptTierMoveAfter},
		{OptTierPartitionAge, "1y", OptTierPartitionAge},
	} {
		_, err := ParseOptions(map[string]string{tc.k: tc.v})
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: %v, want an ErrInvalid naming %s", tc.k, tc.v, err, tc.want)
		}
	}
	_, err := ParseOptions(map[string]string{OptSnapshotNumRetainedMin: "5", OptSnapshotNumRetainedMax: "3"})
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), OptSnapshotNumRetainedMax) {
		t.Errorf("max < min: %v", err)
	}
	// An unknown partition column in the pattern is reported when used:
	// see lifecycle.TestPartitionPatternUnknownColumn.
}

func TestJavaLayout(t *testing.T) {
	for _, tc := range []struct{ java, text, want string }{
		{"yyyyMMdd", "20260131", "2026-01-31T00:00:00Z"},
		{"yyyy-MM-dd", "2026-01-31", "2026-01-31T00:00:00Z"},
		{"yyyy-MM-dd HH:mm:ss", "2026-01-31 13:14:15", "2026-01-31T13:14:15Z"},
		{"yyyyMMddHH", "2026013113", "2026-01-31T13:00:00Z"},
		{"yyyy-MM-dd'T'HH", "2026-01-31T07", "2026-01-31T07:00:00Z"},
		{"yyyy/MM/dd HH:mm:ss.SSS", "2026/01/31 01:02:03.456", "2026-01-31T01:02:03.456Z"},
	} {
		layout, err := javaLayout(tc.java)
		if err != nil {
			t.Fatalf("%s: %v", tc.java, err)
		}
		ts, err := time.Parse(layout, tc.text)
		if err != nil || ts.Format(time.RFC3339Nano) != tc.want {
			t.Errorf("%s (%s) on %q: %v %v, want %s", tc.java, layout, tc.text, ts, err, tc.want)
		}
	}
}

func FuzzJavaLayout(f *testing.F) {
	for _, s := range []string{"yyyyMMdd", "yyyy-MM-dd HH:mm:ss.SSS", "'T'", "''", "QQ", "yyyy'"} {
		f.Add(s, "20260101")
	}
	f.Fuzz(func(t *testing.T, pattern, text string) {
		if len(pattern)+len(text) > maxFuzzInput {
			return
		}
		layout, err := javaLayout(pattern)
		if err != nil {
			return
		}
		_, _ = time.Parse(layout, text) // must not panic
	})
}
