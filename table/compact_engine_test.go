package table

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// twin writes the same changelog to a table that compacts fully after
// every commit and to one that never compacts (pure merge-on-read, the
// reference), and compares them after every commit.
type twin struct {
	t              *testing.T
	compacted, ref *Table
	n              int
}

func newTwin(t *testing.T, s *types.Schema) *twin {
	t.Helper()
	ref := *s
	ref.Options = map[string]string{}
	for k, v := range s.Options {
		ref.Options[k] = v
	}
	ref.Options[OptWriteOnly] = "true"
	ref.Options[OptCompactionTrigger] = "1000"
	a, err := Open("db.a", objstore.NewMem(), "a/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open("db.b", objstore.NewMem(), "b/", &ref, Env{})
	if err != nil {
		t.Fatal(err)
	}
	return &twin{t: t, compacted: a, ref: b}
}

// commit writes one batch to both tables, fully compacts one, and
// compares them.
func (tw *twin) commit(rows ...func(w *Writer)) {
	t := tw.t
	ctx := context.Background()
	tw.n++
	for _, tb := range []*Table{tw.compacted, tw.ref} {
		w := tb.NewWriter("w")
		for _, r := range rows {
			r(w)
		}
		if _, err := w.Commit(ctx, fmt.Sprint(tw.n)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := tw.compacted.Compact(ctx, CompactOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.Buckets {
		if b.RunsAfter > 1 {
			t.Fatalf("full compaction left %d runs", b.RunsAfter)
		}
	}
	got, want := scanAll(t, tw.compacted), scanAll(t, tw.ref)
	if got != want {
		t.Fatalf("after commit %d and a full compaction:\n got  %s\n want %s", tw.n, got, want)
	}
}

func scanAll(t *testing.T, tb *Table) string {
	t.Helper()
	ctx := context.Background()
	s, err := tb.NewScan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(row))
	}
	return strings.Join(out, " ")
}

func put(kind types.RowKind, row ...types.Value) func(w *Writer) {
	return func(w *Writer) {
		if err := w.Write(context.Background(), kind, row); err != nil {
			panic(err)
		}
	}
}

// TestFullCompactionKeepsRetractions: an aggregation -U with no row yet is
// not a tombstone: it still subtracts from rows written later, so a full
// compaction must keep it.
func TestFullCompactionKeepsRetractions(t *testing.T) {
	s := modelSchema(EngineAggregation, 1, false)
	tw := newTwin(t, s)
	tw.commit(put(types.UpdateBefore, "eu", int32(1), int64(30), nil, nil))
	tw.commit(put(types.Insert, "eu", int32(1), int64(100), "x", nil))
	tw.commit(put(types.Delete, "eu", int32(1), nil, nil, nil), put(types.Insert, "eu", int32(2), int64(5), nil, nil))
	tw.commit(put(types.Insert, "eu", int32(1), int64(7), nil, nil))
	if got := scanAll(t, tw.compacted); got != "[eu 1 7 <nil> <nil>] [eu 2 5 <nil> <nil>]" {
		t.Errorf("rows %s", got)
	}
}

// TestFullCompactionSequenceFieldTombstone: with sequence.field a -D that
// carries the field still hides later records with smaller values, so a
// full compaction keeps it; one without the field is dropped.
func TestFullCompactionSequenceFieldTombstone(t *testing.T) {
	s := simpleSchema(1)
	s.Fields = append(s.Fields, types.Field{ID: 2, Name: "ver", Type: types.TBigInt})
	s.HighestFieldID = 2
	s.Options[OptSequenceField] = "ver"
	tw := newTwin(t, s)
	tw.commit(put(types.Insert, int64(1), "a", int64(10)), put(types.Insert, int64(2), "a", int64(10)))
	tw.commit(put(types.Delete, int64(1), nil, int64(20)), put(types.Delete, int64(2), nil, nil))
	tw.commit(put(types.Insert, int64(1), "late", int64(15)), put(types.Insert, int64(2), "late", int64(15)))
	if got := scanAll(t, tw.compacted); got != "[2 late 15]" {
		t.Errorf("rows %s", got)
	}
	for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineFirstRow} {
		s := modelSchema(engine, 1, false)
		tw := newTwin(t, s)
		tw.commit(put(types.Insert, "eu", int32(1), int64(1), "a", nil))
		tw.commit(put(types.Delete, "eu", int32(1), nil, nil, nil))
		tw.commit(put(types.UpdateAfter, "eu", int32(1), nil, "b", nil))
	}
}

// TestRecordTTL: a full compaction drops rows whose time field is older
// than record-level.expire-time (TIMESTAMP and BIGINT milliseconds); reads
// before it, and normal compactions, keep them.
func TestRecordTTL(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixMilli())
	env := Env{Now: func() time.Time { return time.UnixMilli(clock.Load()) }}
	for _, typ := range []types.DataType{types.TTimestamp, types.TBigInt} {
		t.Run(typ.String(), func(t *testing.T) {
			s := simpleSchema(1)
			s.Fields = append(s.Fields, types.Field{ID: 2, Name: "at", Type: typ})
			s.HighestFieldID = 2
			s.Options[OptRecordExpireTime] = "1d"
			s.Options[OptRecordExpireColumn] = "at"
			tb, err := Open("db.t", objstore.NewMem(), "t/", s, env)
			if err != nil {
				t.Fatal(err)
			}
			at := func(d time.Duration) types.Value {
				ts := now.Add(-d)
				if typ.Kind == types.BigInt {
					return ts.UnixMilli()
				}
				return types.TimestampOf(ts)
			}
			w := tb.NewWriter("w")
			mustWrite(t, w, types.Insert, types.Row{int64(1), "old", at(48 * time.Hour)})
			mustWrite(t, w, types.Insert, types.Row{int64(2), "new", at(time.Hour)})
			mustWrite(t, w, types.Insert, types.Row{int64(3), "no time", nil})
			if _, err := w.Commit(ctx, "1"); err != nil {
				t.Fatal(err)
			}
			// Reads hide the expired row before any compaction drops it.
			if got := len(readIDs(t, tb)); got != 2 {
				t.Fatalf("%d rows before compaction, want 2 (the expired row hidden)", got)
			}
			rep, err := tb.Compact(ctx, CompactOptions{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			got := readIDs(t, tb)
			if len(got) != 2 || got[2] != "new" || got[3] != "no time" || rep.Stats.Expired != 1 {
				t.Errorf("after a full compaction: %v, stats %+v", got, rep.Stats)
			}
			// Time passes: a second full compaction expires the next row
			// even though the bucket is already one run.
			clock.Add((24 * time.Hour).Milliseconds())
			if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
				t.Fatal(err)
			}
			if got := readIDs(t, tb); len(got) != 1 || got[3] != "no time" {
				t.Errorf("a day later: %v", got)
			}
			// Snapshot 1 still has every row: read when none had expired.
			clock.Store(now.Add(-72 * time.Hour).UnixMilli())
			if row, ok, err := tb.Get(ctx, 1, int64(1)); err != nil || !ok || row[1] != "old" {
				t.Errorf("snapshot 1, key 1: %v %v %v", row, ok, err)
			}
			clock.Store(now.UnixMilli())
			if _, ok, err := tb.Get(ctx, 1, int64(1)); err != nil || ok {
				t.Errorf("snapshot 1, key 1 read now: %v %v, want hidden (expired)", ok, err)
			}
			clock.Store(now.UnixMilli())
		})
	}
}

func TestCompactionOptions(t *testing.T) {
	o, err := ParseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := o.Compaction; c.Trigger != 5 || c.StopTrigger != 8 || c.NumLevels != 6 || c.SizeRatio != 1 ||
		c.MaxSizeAmplificationPercent != 200 || c.MaxConcurrent != 1 || c.WriteOnly || c.ExpireTime != 0 {
		t.Errorf("defaults %+v", c)
	}
	o, err = ParseOptions(map[string]string{OptCompactionTrigger: "10", OptRecordExpireTime: "7 days", OptRecordExpireColumn: "ts", OptWriteOnly: "TRUE"})
	if err != nil {
		t.Fatal(err)
	}
	if c := o.Compaction; c.StopTrigger != 13 || c.NumLevels != 11 || c.ExpireTime != 7*24*time.Hour || !c.WriteOnly {
		t.Errorf("derived %+v", c)
	}
	for _, bad := range []map[string]string{
		{OptCompactionTrigger: "1"},
		{OptCompactionTrigger: "5", OptStopTrigger: "4"},
		{OptNumLevels: "1"},
		{OptSizeRatio: "-1"},
		{OptMaxSizeAmp: "x"},
		{OptMaxConcurrent: "0"},
		{OptWriteOnly: "maybe"},
		{OptRecordExpireTime: "soon", OptRecordExpireColumn: "ts"},
		{OptRecordExpireTime: "1h"},
		{OptRecordExpireColumn: "ts"},
	} {
		if _, err := ParseOptions(bad); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("ParseOptions(%v) = %v, want ErrInvalid", bad, err)
		}
	}
	docs := map[string]bool{}
	for _, d := range OptionDocs() {
		docs[d.Key] = true
	}
	for _, k := range []string{OptCompactionTrigger, OptStopTrigger, OptNumLevels, OptSizeRatio, OptMaxSizeAmp, OptMaxConcurrent, OptWriteOnly, OptRecordExpireTime, OptRecordExpireColumn} {
		if !docs[k] {
			t.Errorf("option %s is not documented", k)
		}
	}
	// The TTL column must exist and hold a time.
	for col, want := range map[string]string{"nope": "unknown column", "v": "want TIMESTAMP or BIGINT"} {
		s := simpleSchema(1)
		s.Options[OptRecordExpireTime] = "1h"
		s.Options[OptRecordExpireColumn] = col
		if _, err := Open("db.t", objstore.NewMem(), "t/", s, Env{}); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("time field %q: %v", col, err)
		}
	}
}
