package table

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// waitCompacted waits until a COMPACT snapshot of tb changed bucket b
// (and no other), failing after 20 s.
func waitCompacted(t *testing.T, tb *Table, b int, while string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if slices.ContainsFunc(compactedBuckets(t, tb), func(bs []int) bool { return slices.Equal(bs, []int{b}) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bucket %d was not compacted %s; COMPACT snapshots changed %v", b, while, compactedBuckets(t, tb))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closeOnExit closes release when the test ends, unless the test did.
func closeOnExit(t *testing.T, release chan struct{}) {
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
}

// queueBehindHeldWorker has the only worker of a schedTable held on
// bucket 1 (two commits into it, trigger 2) and then makes bucket 0 due,
// queued behind it: commits b1-0, b1-1, b0-0 and b0-1.
func queueBehindHeldWorker(t *testing.T, w *Writer, keys [][]int64, held <-chan struct{}) {
	t.Helper()
	ctx := context.Background()
	for c := 0; c < 2; c++ {
		if err := commitKeys(ctx, w, keys[1], fmt.Sprint("b1-", c)); err != nil {
			t.Fatal(err)
		}
	}
	waitClosed(t, held, "bucket 1's compaction to start")
	for c := 0; c < 2; c++ {
		if err := commitKeys(ctx, w, keys[0], fmt.Sprint("b0-", c)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInlineCompactionCloseHelps: Close's goroutine is idle while it waits
// for the workers, so the writer's helper compacts the queued buckets
// beside them: with the only worker (compaction.max-concurrent = 1) held
// on bucket 1, the queued bucket 0 is compacted during Close rather than
// after bucket 1.
func TestInlineCompactionCloseHelps(t *testing.T) {
	ctx := context.Background()
	tb, keys, held, release := schedTable(t, 2, 1, 5, 1)
	closeOnExit(t, release)
	w := tb.NewWriter("w")
	queueBehindHeldWorker(t, w, keys, held)
	if got := compactedBuckets(t, tb); len(got) != 0 {
		t.Fatalf("COMPACT snapshots %v before Close, want none: bucket 0 waits behind the held worker", got)
	}
	closed := make(chan error, 1)
	go func() { closed <- w.Close(ctx) }()
	waitCompacted(t, tb, 0, "during Close while the worker was held on bucket 1")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while bucket 1's compaction was held", err)
	default:
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got, want := compactedBuckets(t, tb), [][]int{{0}, {1}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("COMPACT snapshots changed buckets %v, want %v", got, want)
	}
	got := readIDs(t, tb)
	for b, want := range []string{"b0-1", "b1-1"} {
		for _, k := range keys[b] {
			if got[k] != want {
				t.Errorf("key %d = %q, want %s", k, got[k], want)
			}
		}
	}
	checkNoOrphans(t, tb)
}

// TestInlineCompactionStalledWriterHelpsQueue: a writer stalled on a bucket
// a worker is compacting has nothing to do, so its helper compacts the next
// queued bucket meanwhile: with the only worker held on bucket 1 and the
// writer stalled on it, the queued bucket 0 is compacted before bucket 1's
// compaction ends.
func TestInlineCompactionStalledWriterHelpsQueue(t *testing.T) {
	ctx := context.Background()
	tb, keys, held, release := schedTable(t, 2, 1, 3, 1)
	closeOnExit(t, release)
	w := tb.NewWriter("w")
	queueBehindHeldWorker(t, w, keys, held)
	// A third run brings bucket 1 to the stop trigger (3): the next commit
	// into it stalls on the held worker.
	if err := commitKeys(ctx, w, keys[1], "b1-2"); err != nil {
		t.Fatal(err)
	}
	if got := compactedBuckets(t, tb); len(got) != 0 {
		t.Fatalf("COMPACT snapshots %v before the stall, want none", got)
	}
	committed := make(chan error, 1)
	go func() { committed <- commitKeys(ctx, w, keys[1], "b1-3") }()
	waitCompacted(t, tb, 0, "while the writer was stalled on bucket 1's held compaction")
	select {
	case err := <-committed:
		t.Fatalf("the stalled commit returned (%v) while bucket 1's compaction was held", err)
	default:
	}
	close(release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Stalls == 0 {
		t.Errorf("want a stall on bucket 1: %+v", s)
	}
	got := readIDs(t, tb)
	for b, want := range []string{"b0-1", "b1-3"} {
		for _, k := range keys[b] {
			if got[k] != want {
				t.Errorf("key %d = %q, want %s", k, got[k], want)
			}
		}
	}
	checkNoOrphans(t, tb)
}
