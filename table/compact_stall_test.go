package table

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func stallSchema(writeOnly bool) *types.Schema {
	s := simpleSchema(1)
	s.Options[OptCompactionTrigger] = "2"
	s.Options[OptStopTrigger] = "3"
	s.Options[OptWriteOnly] = fmt.Sprint(writeOnly)
	return s
}

func commitRows(ctx context.Context, w *Writer, ident string) (int64, error) {
	for k := int64(0); k < 10; k++ {
		if err := w.Write(ctx, types.Insert, types.Row{k, ident}); err != nil {
			return 0, err
		}
	}
	s, err := w.Commit(ctx, ident)
	if err != nil {
		return 0, err
	}
	return s.ID, nil
}

// TestStallWriteOnly: a write-only writer never compacts; once a bucket has
// stop-trigger sorted runs its Commit blocks (a cancelled context ends the
// wait and nothing is committed) until a standalone compactor catches up.
func TestStallWriteOnly(t *testing.T) {
	ctx := context.Background()
	tb, err := Open("db.t", objstore.NewMem(), "t/", stallSchema(true), Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	for c := 0; c < 3; c++ {
		if _, err := commitRows(ctx, w, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	stats, _ := tb.BucketStats(ctx)
	if len(stats) != 1 || stats[0].SortedRuns != 3 || stats[0].UntilStall != 0 || !stats[0].NeedsCompaction {
		t.Fatalf("bucket stats %+v", stats)
	}
	if br := w.BucketRuns(); len(br) != 1 || br[0].SortedRuns != 3 || br[0].UntilStall != 0 {
		t.Fatalf("writer bucket runs %+v", br)
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	_, err = commitRows(short, w, "blocked")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write into a stalled bucket = %v, want a stall ended by the deadline", err)
	}
	if l, _ := tb.Latest(ctx); l.ID != 3 {
		t.Fatalf("a stalled write committed: latest %d", l.ID)
	}
	// A standalone compactor unblocks it.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		if _, err := tb.Compact(ctx, CompactOptions{}); err != nil {
			t.Error(err)
		}
	}()
	w2 := tb.NewWriter("w2")
	if _, err := commitRows(ctx, w2, "after"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if s := w2.Stats(); s.Stalls != 1 || s.StallTime < 50*time.Millisecond || s.CompactionRounds != 0 {
		t.Errorf("writer stats %+v", s)
	}
	checkValues(t, tb, "after", 10)
}

// TestStallInline: with inline compaction a writer whose bucket reaches the
// stop trigger waits for its own background compaction; a cancelled context
// ends the wait, and Close waits for the running compaction.
func TestStallInline(t *testing.T) {
	ctx := context.Background()
	fault := objstore.NewFault(objstore.NewMem())
	tb, err := Open("db.t", fault, "t/", stallSchema(false), Env{})
	if err != nil {
		t.Fatal(err)
	}
	// Compactions read data files; writers never do. Hold the reads.
	release := make(chan struct{})
	fault.Add(objstore.Rule{Op: objstore.OpGet, KeyContains: "/data/", Crash: func() { <-release }})
	w := tb.NewWriter("w")
	for c := 0; c < 3; c++ {
		if _, err := commitRows(ctx, w, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	// Three runs: the next write blocks until the held compaction ends.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = w.Write(short, types.Insert, types.Row{int64(1), "x"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write into a stalled bucket = %v, want a stall ended by the deadline", err)
	}
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	if _, err := commitRows(ctx, w, "after"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if s.Stalls != 2 || s.Compactions == 0 || s.CompactionBytesWritten == 0 {
		t.Errorf("writer stats %+v", s)
	}
	stats, _ := tb.BucketStats(ctx)
	if stats[0].SortedRuns >= 3 {
		t.Errorf("bucket still at the stop trigger after compaction: %+v", stats)
	}
	checkValues(t, tb, "after", 10)
	checkNoOrphans(t, tb)
}

// TestInlineCompactionBoundsRuns: a writer committing many small batches
// keeps every bucket at or below the stop trigger.
func TestInlineCompactionBoundsRuns(t *testing.T) {
	ctx := context.Background()
	s := simpleSchema(2)
	tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	stop := tb.Options().Compaction.StopTrigger
	for c := 0; c < 40; c++ {
		if _, err := commitRows(ctx, w, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		stats, err := tb.BucketStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range stats {
			if b.SortedRuns > stop {
				t.Fatalf("commit %d: bucket %d has %d sorted runs > stop trigger %d", c, b.Bucket, b.SortedRuns, stop)
			}
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Compactions == 0 {
		t.Errorf("no inline compaction: %+v", s)
	}
	checkValues(t, tb, "39", 10)
}
