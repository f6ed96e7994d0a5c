package table

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// testClock is an injected clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func TestDueTag(t *testing.T) {
	for _, tc := range []struct {
		now, period string
		delay       time.Duration
		name, cut   string
	}{
		{"2026-11-22T00:00:00Z", TagPeriodDaily, 0, "2026-11-21", "2026-11-22T00:00:00Z"},
		{"2026-11-21T23:59:59Z", TagPeriodDaily, 0, "2026-11-20", "2026-11-21T00:00:00Z"},
		{"2026-11-22T13:30:00Z", TagPeriodDaily, 0, "2026-11-21", "2026-11-22T00:00:00Z"},
		{"2026-11-22T00:09:59Z", TagPeriodDaily, 10 * time.Minute, "2026-11-20", "2026-11-21T00:10:00Z"},
		{"2026-11-22T00:10:00Z", TagPeriodDaily, 10 * time.Minute, "2026-11-21", "2026-11-22T00:10:00Z"},
		{"2026-11-22T13:00:00Z", TagPeriodHourly, 0, "2026-11-22T12", "2026-11-22T13:00:00Z"},
		{"2026-11-22T12:59:59Z", TagPeriodHourly, 0, "2026-11-22T11", "2026-11-22T12:00:00Z"},
		{"2026-11-22T00:30:00Z", TagPeriodHourly, 0, "2026-11-21T23", "2026-11-22T00:00:00Z"},
		{"2026-11-22T13:30:00Z", TagPeriodTwoHours, 0, "2026-11-22T10", "2026-11-22T12:00:00Z"},
		{"2026-11-22T14:00:00Z", TagPeriodTwoHours, 0, "2026-11-22T12", "2026-11-22T14:00:00Z"},
		{"2026-11-22T01:00:00Z", TagPeriodTwoHours, 0, "2026-11-21T22", "2026-11-22T00:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		name, cut := dueTag(now, tc.period, tc.delay)
		if name != tc.name || cut.Format(time.RFC3339) != tc.cut {
			t.Errorf("%s %s delay %s: got %s (cutoff %s), want %s (cutoff %s)", tc.now, tc.period, tc.delay, name, cut.Format(time.RFC3339), tc.name, tc.cut)
		}
	}
}

func autoTagTable(t *testing.T, clock *testClock, opts map[string]string) *Table {
	t.Helper()
	s := simpleSchema(1)
	for k, v := range opts {
		s.Options[k] = v
	}
	tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func commitAt(t *testing.T, clock *testClock, tb *Table, at string, id int64) int64 {
	t.Helper()
	clock.set(at)
	w := tb.NewWriter("w")
	mustWrite(t, w, types.Insert, types.Row{id, at})
	s, err := w.Commit(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// autoTagRun runs AutoTagPlan then AutoTag at the clock's time and checks
// both agree.
func autoTagRun(t *testing.T, clock *testClock, tb *Table, at string) (created, deleted []string) {
	t.Helper()
	clock.set(at)
	ctx := context.Background()
	pc, pd, err := tb.AutoTagPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	created, deleted, err = tb.AutoTag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pc, pd) != fmt.Sprint(created, deleted) {
		t.Fatalf("at %s: plan %v %v, did %v %v", at, pc, pd, created, deleted)
	}
	return created, deleted
}

func tagState(t *testing.T, tb *Table) string {
	t.Helper()
	tags, err := tb.Meta().Tags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tg := range tags {
		s := fmt.Sprintf("%s=%d", tg.Name, tg.Snapshot.ID)
		if tg.Auto {
			s += "(auto)"
		}
		out = append(out, s)
	}
	return fmt.Sprint(out)
}

// TestAutoTagHourly walks an injected clock across hour boundaries: a tag
// per completed hour naming the latest snapshot committed by its end,
// nothing twice, no backfill of missed hours, retention deleting only the
// oldest automatic tags.
func TestAutoTagHourly(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	tb := autoTagTable(t, clock, map[string]string{
		OptTagAutoCreation: "process-time", OptTagCreationPeriod: "hourly", OptTagNumRetainedMax: "3",
	})
	// An empty table gets no tag.
	if c, _ := autoTagRun(t, clock, tb, "2026-11-22T09:30:00Z"); len(c) != 0 {
		t.Fatalf("empty table: created %v", c)
	}
	s1 := commitAt(t, clock, tb, "2026-11-22T10:15:00Z", 1)
	// Hour 09 ended before s1 was committed: nothing to tag.
	if c, _ := autoTagRun(t, clock, tb, "2026-11-22T10:20:00Z"); len(c) != 0 {
		t.Fatalf("created %v for an hour without snapshots", c)
	}
	c, _ := autoTagRun(t, clock, tb, "2026-11-22T11:00:00Z")
	if fmt.Sprint(c) != "[2026-11-22T10]" {
		t.Fatalf("at 11:00: created %v", c)
	}
	// Idempotent within the period.
	s2 := commitAt(t, clock, tb, "2026-11-22T11:30:00Z", 2)
	if c, d := autoTagRun(t, clock, tb, "2026-11-22T11:59:59Z"); len(c)+len(d) != 0 {
		t.Fatalf("second run in the same hour: created %v deleted %v", c, d)
	}
	// A late run tags the snapshot current at the hour's end, not s3.
	s3 := commitAt(t, clock, tb, "2026-11-22T12:10:00Z", 3)
	c, _ = autoTagRun(t, clock, tb, "2026-11-22T12:30:00Z")
	if fmt.Sprint(c) != "[2026-11-22T11]" {
		t.Fatalf("at 12:30: created %v", c)
	}
	if _, err := tb.Meta().CreateTag(ctx, "release-1", mustSnapshot(t, tb, s1), false); err != nil {
		t.Fatal(err)
	}
	// Hours 12 and 13 are not backfilled.
	c, _ = autoTagRun(t, clock, tb, "2026-11-22T15:05:00Z")
	if fmt.Sprint(c) != "[2026-11-22T14]" {
		t.Fatalf("at 15:05: created %v", c)
	}
	want := fmt.Sprintf("[2026-11-22T10=%d(auto) 2026-11-22T11=%d(auto) 2026-11-22T14=%d(auto) release-1=%d]", s1, s2, s3, s1)
	if got := tagState(t, tb); got != want {
		t.Fatalf("tags:\n got %s\nwant %s", got, want)
	}
	// The fourth auto tag pushes out the oldest; the manual tag stays.
	c, d := autoTagRun(t, clock, tb, "2026-11-22T16:00:00Z")
	if fmt.Sprint(c, d) != "[2026-11-22T15] [2026-11-22T10]" {
		t.Fatalf("at 16:00: created %v deleted %v", c, d)
	}
	want = fmt.Sprintf("[2026-11-22T11=%d(auto) 2026-11-22T14=%d(auto) 2026-11-22T15=%d(auto) release-1=%d]", s2, s3, s3, s1)
	if got := tagState(t, tb); got != want {
		t.Fatalf("tags:\n got %s\nwant %s", got, want)
	}
}

func mustSnapshot(t *testing.T, tb *Table, id int64) *manifest.Snapshot {
	t.Helper()
	s, err := tb.Meta().Snapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAutoTagDailyAndTimeRetention: daily tags with a creation delay, and
// tag.default-time-retained expiring automatic tags by creation time.
func TestAutoTagDailyAndTimeRetention(t *testing.T) {
	clock := &testClock{}
	tb := autoTagTable(t, clock, map[string]string{
		OptTagAutoCreation: "process-time", OptTagCreationDelay: "30m", OptTagDefaultRetained: "2d",
	})
	commitAt(t, clock, tb, "2026-11-20T08:00:00Z", 1)
	if c, _ := autoTagRun(t, clock, tb, "2026-11-21T00:29:00Z"); len(c) != 0 {
		t.Fatalf("created %v before the delay passed", c)
	}
	// Within the delay a commit still makes it into the day's tag.
	s2 := commitAt(t, clock, tb, "2026-11-21T00:20:00Z", 2)
	c, _ := autoTagRun(t, clock, tb, "2026-11-21T00:30:00Z")
	if fmt.Sprint(c) != "[2026-11-20]" {
		t.Fatalf("created %v", c)
	}
	if tg, err := tb.Meta().Tag(context.Background(), "2026-11-20"); err != nil || tg.Snapshot.ID != s2 || !tg.Auto {
		t.Fatalf("tag 2026-11-20: %+v %v, want snapshot %d, auto", tg, err, s2)
	}
	c, _ = autoTagRun(t, clock, tb, "2026-11-22T01:00:00Z")
	if fmt.Sprint(c) != "[2026-11-21]" {
		t.Fatalf("created %v", c)
	}
	// 2026-11-20 was created at 2026-11-21T00:30: gone after two days.
	c, d := autoTagRun(t, clock, tb, "2026-11-23T00:30:00Z")
	if fmt.Sprint(c, d) != "[2026-11-22] []" {
		t.Fatalf("created %v deleted %v", c, d)
	}
	c, d = autoTagRun(t, clock, tb, "2026-11-23T00:30:01Z")
	if fmt.Sprint(c, d) != "[] [2026-11-20]" {
		t.Fatalf("created %v deleted %v", c, d)
	}
}

// TestAutoTagOff: the default creates nothing; bad option values are
// errors naming the option.
func TestAutoTagOff(t *testing.T) {
	clock := &testClock{}
	tb := autoTagTable(t, clock, nil)
	commitAt(t, clock, tb, "2026-11-20T08:00:00Z", 1)
	if c, d := autoTagRun(t, clock, tb, "2026-11-25T00:00:00Z"); len(c)+len(d) != 0 {
		t.Fatalf("default options: created %v deleted %v", c, d)
	}
	for k, v := range map[string]string{
		OptTagAutoCreation: "watermark", OptTagCreationPeriod: "weekly", OptTagNumRetainedMax: "0",
		OptTagCreationDelay: "soon", OptTagDefaultRetained: "-1h", OptChangelogProducer: "full-compaction",
		OptRebuildSource: "nodot",
	} {
		_, err := ParseOptions(map[string]string{k: v})
		if !errors.Is(err, types.ErrInvalid) || !containsAll(err.Error(), k, v) {
			t.Errorf("%s=%s: got %v, want ErrInvalid naming both", k, v, err)
		}
	}
	o, err := ParseOptions(map[string]string{OptChangelogProducer: "Lookup", OptTagCreationPeriod: "two-hours"})
	if err != nil || o.History.ChangelogProducer != ProducerLookup || o.History.TagPeriod != TagPeriodTwoHours || o.History.TagCreation != TagCreationNone {
		t.Fatalf("%+v %v", o.History, err)
	}
	if !slices.ContainsFunc(OptionDocs(), func(d OptionDoc) bool { return d.Key == OptChangelogProducer }) {
		t.Fatal("changelog-producer is not documented in OptionDocs")
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// maxFuzzInput caps the inputs of this package's fuzz targets (see the
// fuzzing rule: every target caps its input, every decoder bounds its
// work by the sizes its input declares).
const maxFuzzInput = 64 << 10

// FuzzHistoryOptions: any value of a history option parses or fails with
// ErrInvalid naming the option, never panics.
func FuzzHistoryOptions(f *testing.F) {
	for _, d := range historyOptionDocs() {
		f.Add(d.Key, d.Default)
	}
	f.Add(OptTagCreationDelay, "10 days")
	f.Add(OptRebuildSource, "db.t")
	f.Fuzz(func(t *testing.T, k, v string) {
		if len(k)+len(v) > maxFuzzInput {
			return
		}
		if !isHistoryOption(k) {
			return
		}
		_, err := ParseOptions(map[string]string{k: v})
		if err != nil && (!errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), k)) {
			t.Fatalf("%s=%q: %v", k, v, err)
		}
	})
}
