package compaction

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/manifest"
)

// bucketOf builds a bucket from a description of its runs, newest first:
// "L0:10 L0:5 L2:100" is two level-0 files of 10 and 5 bytes and a level-2
// run of 100 bytes. A "d" suffix ("L5:100d") marks -U/-D records.
func bucketOf(t *testing.T, desc string) *Bucket {
	t.Helper()
	b := &Bucket{}
	fields := strings.Fields(desc)
	for i, f := range fields {
		lvl, size, ok := strings.Cut(strings.TrimPrefix(f, "L"), ":")
		deletes := strings.HasSuffix(size, "d")
		l, err1 := strconv.Atoi(lvl)
		n, err2 := strconv.ParseInt(strings.TrimSuffix(size, "d"), 10, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("bad run %q", f)
		}
		seq := int64(1000 * (len(fields) - i)) // newest first
		df := manifest.DataFile{Path: fmt.Sprintf("f%d", i), Level: l, Size: n, MinSeq: seq, MaxSeq: seq + 10,
			MinKey: []byte{byte(i)}, MaxKey: []byte{byte(i), 0xff}}
		if deletes {
			df.DeleteCount = 1
		}
		b.Files = append(b.Files, df)
	}
	return b
}

func TestUniversalPicker(t *testing.T) {
	u := NewUniversal(Options{}) // trigger 5, levels 0..5, ratio 1%, amplification 200%
	tests := []struct {
		runs  string
		force bool
		want  string // Plan.String, or "" for none
	}{
		{"L0:10 L0:10 L0:10 L0:10", false, ""},
		{"L0:10 L0:10 L0:10 L0:10 L0:10", false, "bucket-0: L0,L0,L0,L0,L0 -> L5 (size-amplification, drop deletes)"},
		{"L0:1 L0:1 L0:1 L0:1 L5:100", false, "bucket-0: L0,L0,L0,L0 -> L4 (size-ratio)"},
		{"L0:10 L0:1 L0:1 L0:1 L5:1000", false, "bucket-0: L0,L0,L0,L0 -> L4 (size-ratio)"},
		// Size ratio picks nothing; six runs > trigger 5 force two, which
		// end inside level 0 and so extend to the first leveled run.
		{"L0:1 L0:10 L0:100 L2:1000 L4:10000 L5:100000", false, "bucket-0: L0,L0,L0,L2 -> L2 (run-count)"},
		{"L0:1 L0:10 L0:100 L4:10000 L5:100000", false, ""},
		{"L1:10 L2:10 L3:20 L4:40 L5:1000", false, "bucket-0: L1,L2,L3,L4 -> L4 (size-ratio)"},
		{"L1:10 L2:20 L3:40 L4:80 L5:1000", false, ""},
		// Size amplification: everything newer than the oldest run is
		// larger than twice the oldest.
		{"L0:100 L0:100 L1:100 L3:100 L5:100", false, "bucket-0: L0,L0,L1,L3,L5 -> L5 (size-amplification, drop deletes)"},
		// A stalled writer forces a compaction below the trigger.
		{"L0:1 L5:1000", false, ""},
		{"L0:1 L5:1000", true, "bucket-0: L0,L5 -> L5 (forced, drop deletes)"},
		{"L0:1 L3:100 L5:1000", true, "bucket-0: L0,L3 -> L4 (forced)"},
		{"L5:1000", true, ""},
		// Files above the configured last level (num-levels lowered).
		{"L0:10 L0:10 L0:10 L0:10 L7:10", false, "bucket-0: L0,L0,L0,L0,L7 -> L7 (size-amplification, drop deletes)"},
	}
	for _, tc := range tests {
		p, ok := u.Pick(bucketOf(t, tc.runs), tc.force)
		got := ""
		if ok {
			got = p.String()
			if p.RunsBefore != len(strings.Fields(tc.runs)) {
				t.Errorf("%s: RunsBefore %d", tc.runs, p.RunsBefore)
			}
		}
		if got != tc.want {
			t.Errorf("Pick(%q, force=%v)\n got  %q\n want %q", tc.runs, tc.force, got, tc.want)
		}
	}
}

func TestFullPicker(t *testing.T) {
	tests := []struct {
		runs    string
		rewrite bool
		want    string
	}{
		{"L5:100", false, ""},
		{"L5:100d", false, "bucket-0: L5 -> L5 (full, drop deletes)"},
		{"L5:100", true, "bucket-0: L5 -> L5 (full, drop deletes)"},
		{"L0:1", false, "bucket-0: L0 -> L5 (full, drop deletes)"},
		{"L0:1 L2:5 L5:100", false, "bucket-0: L0,L2,L5 -> L5 (full, drop deletes)"},
		{"", false, ""},
	}
	for _, tc := range tests {
		p, ok := Full{NumLevels: 6, Rewrite: tc.rewrite}.Pick(bucketOf(t, tc.runs), false)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tc.want {
			t.Errorf("Full.Pick(%q, rewrite=%v) = %q, want %q", tc.runs, tc.rewrite, got, tc.want)
		}
	}
}

func TestRunsAndCounts(t *testing.T) {
	files := []manifest.DataFile{
		{Path: "a", Partition: "p=2", Bucket: 0, Level: 0, MaxSeq: 5},
		{Path: "b", Partition: "p=1", Bucket: 1, Level: 0, MaxSeq: 9},
		{Path: "c", Partition: "p=1", Bucket: 1, Level: 0, MaxSeq: 20},
		{Path: "d", Partition: "p=1", Bucket: 1, Level: 3, MinKey: []byte{5}, MaxKey: []byte{6}},
		{Path: "e", Partition: "p=1", Bucket: 1, Level: 3, MinKey: []byte{1}, MaxKey: []byte{2}},
		{Path: "f", Partition: "p=1", Bucket: 1, Level: 1, MinKey: []byte{1}, MaxKey: []byte{9}},
	}
	bs := GroupBuckets(files)
	if len(bs) != 2 || bs[0].BucketID != (BucketID{"p=1", 1}) || bs[1].BucketID != (BucketID{"p=2", 0}) {
		t.Fatalf("GroupBuckets: %+v", bs)
	}
	var got []string
	for _, r := range bs[0].Runs() {
		var ps []string
		for _, f := range r.Files {
			ps = append(ps, f.Path)
		}
		got = append(got, fmt.Sprintf("L%d:%s", r.Level, strings.Join(ps, "+")))
	}
	if s := strings.Join(got, " "); s != "L0:c L0:b L1:f L3:e+d" {
		t.Errorf("Runs = %s", s)
	}
	counts := CountRuns(files)
	if counts[BucketID{"p=1", 1}] != 4 || counts[BucketID{"p=2", 0}] != 1 || len(counts) != 2 {
		t.Errorf("CountRuns = %v", counts)
	}
	if err := bs[0].CheckLevels(); err != nil {
		t.Error(err)
	}
	bs[0].Files = append(bs[0].Files, manifest.DataFile{Path: "g", Level: 3, MinKey: []byte{2}, MaxKey: []byte{3}})
	if err := bs[0].CheckLevels(); err == nil {
		t.Error("CheckLevels accepted overlapping files in level 3")
	}
}

// TestUniversalForcedNeedsStall: a forced request (a writer stalled at
// StopTrigger runs) is served only while the bucket still has that many
// runs; once other compactions brought it below, the picker plans what it
// would without force instead of merging the newest two or three runs.
func TestUniversalForcedNeedsStall(t *testing.T) {
	u := NewUniversal(Options{StopTrigger: 3}) // trigger 5
	tests := []struct {
		runs string
		want string
	}{
		{"L0:1 L5:1000", ""},
		{"L0:1 L0:1 L5:1000", "bucket-0: L0,L0 -> L4 (forced)"},
		{"L0:1 L0:1 L3:100 L5:1000", "bucket-0: L0,L0 -> L2 (forced)"},
		// At the trigger the ordinary picks still apply.
		{"L0:1 L0:1 L0:1 L0:1 L5:100", "bucket-0: L0,L0,L0,L0 -> L4 (size-ratio)"},
	}
	for _, tc := range tests {
		p, ok := u.Pick(bucketOf(t, tc.runs), true)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tc.want {
			t.Errorf("Pick(%q, force=true) with stop trigger 3\n got  %q\n want %q", tc.runs, got, tc.want)
		}
	}
}
