package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// gcTable opens a table for the lifecycle tests on hot and cold stores
// stamped by clock.
func gcTable(t *testing.T, clock *fakeClock, hot, cold objstore.Store, opts map[string]string) *table.Table {
	t.Helper()
	s := gcSchema(opts)
	if _, ok := opts[table.OptWriteOnly]; !ok {
		s.Options[table.OptWriteOnly] = "true" // no inline compaction: predictable snapshot ids
	}
	tb, err := table.Open("db.t", hot, "wh/db.db/t/", s, lifecycleEnv(clock, hot, cold))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// gcCommit commits rows {k: "c<n>-k"} for k in keys, then advances the
// clock by step.
func gcCommit(t *testing.T, tb *table.Table, clock *fakeClock, n int, keys []int64, step time.Duration) *manifest.Snapshot {
	t.Helper()
	ctx := context.Background()
	w := tb.NewWriter("w")
	for _, k := range keys {
		mustWrite(t, w, types.Insert, types.Row{k, fmt.Sprintf("c%d-%d", n, k)})
	}
	s, err := w.Commit(ctx, fmt.Sprint(n))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(step)
	return s
}

func readSnapshot(t *testing.T, tb *table.Table, id int64) (map[int64]string, error) {
	t.Helper()
	ctx := context.Background()
	sc, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: id})
	if err != nil {
		return nil, err
	}
	defer sc.Close(ctx)
	out := map[int64]string{}
	for row, err := range sc.Rows(ctx) {
		if err != nil {
			return nil, err
		}
		out[row[0].(int64)] = row[1].(string)
	}
	return out, nil
}

func snapshotIDs(t *testing.T, tb *table.Table) []int64 {
	t.Helper()
	snaps, err := tb.Meta().Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range snaps {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestExpireRetention: the latest snapshot and num-retained.min are kept;
// beyond num-retained.max snapshots go whatever their age; in between a
// snapshot goes once its successor is older than time-retained; oldest
// first.
func TestExpireRetention(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	hot := newClockStore(objstore.NewMem(), clock.Now)
	tb := gcTable(t, clock, hot, objstore.NewMem(), map[string]string{
		table.OptSnapshotNumRetainedMin: "3", table.OptSnapshotNumRetainedMax: "6", table.OptSnapshotTimeRetained: "10m",
	})
	for i := 1; i <= 8; i++ {
		gcCommit(t, tb, clock, i, []int64{int64(i)}, time.Minute)
	}
	// 8 snapshots, max 6: 1 and 2 go although they are young.
	rep, _, err := ExpireSnapshots(ctx, tb, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(snapshotIDs(t, tb)); got != "[3 4 5 6 7 8]" || fmt.Sprint(rep.Snapshots) != "[1 2]" {
		t.Fatalf("after max: %s (expired %v)", got, rep.Snapshots)
	}
	// Snapshot 4 was committed at minute 3 (clock now minute 8): 3 stopped
	// being latest at minute 3, which is less than 10m ago: nothing goes.
	if _, _, err := ExpireSnapshots(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(snapshotIDs(t, tb)); got != "[3 4 5 6 7 8]" {
		t.Fatalf("young snapshots expired: %s", got)
	}
	// Minute 14.5: snapshots 3 and 4 stopped being the latest at minutes 3
	// and 4 (when 4 and 5 were committed), more than 10m ago; 5 at minute 5.
	clock.Advance(6*time.Minute + 30*time.Second)
	if _, _, err := ExpireSnapshots(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(snapshotIDs(t, tb)); got != "[5 6 7 8]" {
		t.Fatalf("after time-retained: %s", got)
	}
	clock.Advance(24 * time.Hour) // everything is old: min keeps 3
	if _, _, err := ExpireSnapshots(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(snapshotIDs(t, tb)); got != "[6 7 8]" {
		t.Fatalf("after a day: %s", got)
	}
	got, err := readSnapshot(t, tb, 6)
	if err != nil || len(got) != 6 {
		t.Fatalf("snapshot 6: %v %v", got, err)
	}
	if _, err := readSnapshot(t, tb, 5); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("expired snapshot 5: %v, want ErrNotFound", err)
	}
	checkStorageExact(t, ctx, tb, hot, objstore.NewMem(), mustSnapshots(t, tb))
}

func mustSnapshots(t *testing.T, tb *table.Table) []*manifest.Snapshot {
	t.Helper()
	snaps, err := tb.Meta().Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snaps
}

// TestExpireJournalResume: an expiry that fails at its Nth delete (of a
// snapshot, a manifest or a data file) leaves its journal; the next run
// resumes it: every retained snapshot, tag and leased snapshot reads
// exactly, and the stores hold exactly what they need (no orphan cleanup
// involved).
func TestExpireJournalResume(t *testing.T) {
	ctx := context.Background()
	for nth := 1; nth <= 14; nth++ {
		t.Run(fmt.Sprint(nth), func(t *testing.T) {
			clock := newFakeClock()
			mem := newClockStore(objstore.NewMem(), clock.Now)
			fault := objstore.NewFault(mem)
			tb := gcTable(t, clock, fault, objstore.NewMem(), map[string]string{table.OptSnapshotNumRetainedMin: "2", table.OptSnapshotTimeRetained: "1m"})
			want := map[int64]map[int64]string{}
			for i := 1; i <= 8; i++ {
				gcCommit(t, tb, clock, i, []int64{int64(i % 3), int64(10 + i)}, time.Minute)
				if i == 4 {
					if _, err := tb.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, s := range mustSnapshots(t, tb) {
				got, err := readSnapshot(t, tb, s.ID)
				if err != nil {
					t.Fatal(err)
				}
				want[s.ID] = got
			}
			tagged := int64(3)
			tagSnap, err := tb.Meta().Snapshot(ctx, tagged)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tb.Meta().CreateTag(ctx, "keep", tagSnap, false); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Hour)
			fault.Add(objstore.Rule{Op: objstore.OpDelete, Nth: nth, Err: errors.New("injected: process died")})
			_, _, err = ExpireSnapshots(ctx, tb, false)
			fault.Clear()
			journals, jerr := newGC(tb).journals(ctx)
			if jerr != nil {
				t.Fatal(jerr)
			}
			if err == nil {
				t.Skipf("the run made fewer than %d deletes", nth)
			}
			if len(journals) != 1 {
				t.Fatalf("failed run left %d journals, want 1: %v", len(journals), err)
			}
			rep, _, err := ExpireSnapshots(ctx, tb, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Resumed != 1 {
				t.Fatalf("resumed %d journals", rep.Resumed)
			}
			if js, _ := newGC(tb).journals(ctx); len(js) != 0 {
				t.Fatalf("%d journals left after the resume", len(js))
			}
			snaps := mustSnapshots(t, tb)
			if len(snaps) != 2 {
				t.Fatalf("%d snapshots retained", len(snaps))
			}
			for _, s := range snaps {
				got, err := readSnapshot(t, tb, s.ID)
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want[s.ID]) {
					t.Fatalf("retained snapshot %d: %v %v, want %v", s.ID, got, err, want[s.ID])
				}
			}
			// The tag's snapshot is expired as a snapshot but its files stay.
			tagFiles, err := tb.Meta().ReachableFrom(ctx, tagSnap.ManifestList, "")
			if err != nil {
				t.Fatalf("tagged snapshot lost its files: %v", err)
			}
			checkStorageExact(t, ctx, tb, mem, objstore.NewMem(), append(snaps, tagSnap))
			_ = tagFiles
		})
	}
}

// TestLeaseRace: a reader acquiring a lease on the oldest snapshot while
// expiry runs either fails with ErrNotFound (the snapshot went first) or
// reads every row of it (all its files survive).
func TestLeaseRace(t *testing.T) {
	ctx := context.Background()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	outcomes := map[string]int{}
	for iter := 0; iter < 40; iter++ {
		clock := newFakeClock()
		mem := newClockStore(objstore.NewMem(), clock.Now)
		fault := objstore.NewFault(mem)
		tb := gcTable(t, clock, fault, objstore.NewMem(), map[string]string{table.OptSnapshotNumRetainedMin: "1", table.OptSnapshotTimeRetained: "1m"})
		gcCommit(t, tb, clock, 1, []int64{1, 2, 3}, time.Minute)
		want, _ := readSnapshot(t, tb, 1)
		w := tb.NewWriter("w2")
		mustWrite(t, w, types.Delete, types.Row{int64(1), nil})
		mustWrite(t, w, types.Delete, types.Row{int64(2), nil})
		mustWrite(t, w, types.Delete, types.Row{int64(3), nil})
		if _, err := w.Commit(ctx, "2"); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		// Random delays on both sides widen every interleaving.
		fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "lease/", Latency: time.Duration(rng.IntN(3000)) * time.Microsecond})
		fault.Add(objstore.Rule{Op: objstore.OpStat, KeyContains: "snapshot-1", Latency: time.Duration(rng.IntN(3000)) * time.Microsecond})
		fault.Add(objstore.Rule{Op: objstore.OpList, KeyContains: "lease/", Latency: time.Duration(rng.IntN(3000)) * time.Microsecond})
		fault.Add(objstore.Rule{Op: objstore.OpDelete, KeyContains: "snapshot-1", Latency: time.Duration(rng.IntN(3000)) * time.Microsecond})
		var wg sync.WaitGroup
		var scan *table.Scan
		var scanErr, expErr error
		wg.Add(2)
		go func() { defer wg.Done(); scan, scanErr = tb.NewScan(ctx, table.ScanOptions{SnapshotID: 1}) }()
		go func() { defer wg.Done(); _, _, expErr = ExpireSnapshots(ctx, tb, false) }()
		wg.Wait()
		fault.Clear()
		if expErr != nil {
			t.Fatal(expErr)
		}
		if scanErr != nil {
			if !errors.Is(scanErr, types.ErrNotFound) {
				t.Fatalf("seed %d iter %d: lease failed with %v, want ErrNotFound", seed, iter, scanErr)
			}
			outcomes["refused"]++
			continue
		}
		got := map[int64]string{}
		for row, err := range scan.Rows(ctx) {
			if err != nil {
				t.Fatalf("seed %d iter %d: leased reader hit %v", seed, iter, err)
			}
			got[row[0].(int64)] = row[1].(string)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d iter %d: leased read %v, want %v", seed, iter, got, want)
		}
		_ = scan.Close(ctx)
		outcomes["read"]++
		// Once the lease is gone the files are collected.
		if _, _, err := ExpireSnapshots(ctx, tb, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := CleanOrphans(ctx, tb, false); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestOrphanGrace: unreferenced files are deleted only once older than
// orphan.grace-period; referenced files never.
func TestOrphanGrace(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	mem := newClockStore(objstore.NewMem(), clock.Now)
	tb := gcTable(t, clock, mem, objstore.NewMem(), map[string]string{table.OptOrphanGracePeriod: "2h"})
	gcCommit(t, tb, clock, 1, []int64{1, 2}, time.Minute)
	// A crashed writer: flushed files, never committed.
	w := tb.NewWriter("crashed")
	mustWrite(t, w, types.Insert, types.Row{int64(9), "lost"})
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Put(ctx, tb.Root()+"manifest/manifest-list-abandoned", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Put(ctx, tb.Root()+"schema/schema-9", []byte("not ours")); err != nil {
		t.Fatal(err)
	}
	rep, _, err := CleanOrphans(ctx, tb, false)
	if err != nil || rep.Deleted != 0 || rep.Young != 2 {
		t.Fatalf("young orphans: %+v %v", rep, err)
	}
	clock.Advance(2*time.Hour - 2*time.Minute)
	if rep, _, err = CleanOrphans(ctx, tb, false); err != nil || rep.Deleted != 0 {
		t.Fatalf("inside the grace period: %+v %v", rep, err)
	}
	clock.Advance(5 * time.Minute)
	rep, next, err := CleanOrphans(ctx, tb, true)
	if err != nil || rep.Deleted != 2 || len(next) != 1 {
		t.Fatalf("dry run: %+v %v %v", rep, next, err)
	}
	if rep, _, err = CleanOrphans(ctx, tb, false); err != nil || rep.Deleted != 2 {
		t.Fatalf("after the grace period: %+v %v", rep, err)
	}
	if _, err := mem.Stat(ctx, tb.Root()+"schema/schema-9"); err != nil {
		t.Fatalf("orphan cleanup touched a file outside data/ and manifest/: %v", err)
	}
	if got, err := readSnapshot(t, tb, 1); err != nil || len(got) != 2 {
		t.Fatalf("snapshot 1 after cleanup: %v %v", got, err)
	}
	checkStorageExact(t, ctx, tb, mem, objstore.NewMem(), mustSnapshots(t, tb))
}

// TestExpiredLeasesCleaned: expired leases are deleted and pin nothing.
func TestExpiredLeasesCleaned(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	mem := newClockStore(objstore.NewMem(), clock.Now)
	tb := gcTable(t, clock, mem, objstore.NewMem(), map[string]string{table.OptSnapshotLeaseTTL: "10m", table.OptSnapshotNumRetainedMin: "1", table.OptSnapshotTimeRetained: "1m"})
	gcCommit(t, tb, clock, 1, []int64{1}, time.Minute)
	sc, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: 1})
	if err != nil {
		t.Fatal(err)
	}
	gcCommit(t, tb, clock, 2, []int64{1}, time.Minute)
	if _, err := tb.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	ex, _, err := ExpireSnapshots(ctx, tb, false)
	if err != nil || fmt.Sprint(ex.Snapshots) != "[1 2]" {
		t.Fatalf("expiry: %+v %v", ex, err)
	}
	if n, err := CleanLeases(ctx, tb, false); err != nil || n != 0 {
		t.Fatalf("live lease cleaned: %d %v", n, err)
	}
	for row, err := range sc.Rows(ctx) {
		if err != nil || row[1] != "c1-1" {
			t.Fatalf("leased read: %v %v", row, err)
		}
	}
	clock.Advance(10 * time.Minute)
	if n, err := CleanLeases(ctx, tb, false); err != nil || n != 1 {
		t.Fatalf("expired lease: %d %v", n, err)
	}
	if err := sc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(48 * time.Hour)
	if _, _, err := CleanOrphans(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	checkStorageExact(t, ctx, tb, mem, objstore.NewMem(), mustSnapshots(t, tb))
}

func TestExpireDryRunChangesNothing(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	mem := newClockStore(objstore.NewMem(), clock.Now)
	tb := gcTable(t, clock, mem, objstore.NewMem(), map[string]string{table.OptSnapshotNumRetainedMin: "1", table.OptSnapshotTimeRetained: "1m"})
	for i := 1; i <= 3; i++ {
		gcCommit(t, tb, clock, i, []int64{1}, time.Hour)
	}
	before, _ := mem.List(ctx, "")
	rep, err := Maintain(ctx, tb, MaintainOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := mem.List(ctx, "")
	if len(before) != len(after) {
		t.Fatalf("dry run changed the store: %d -> %d objects", len(before), len(after))
	}
	if len(rep.Next) != 1 || !strings.Contains(rep.Next[0], "expire snapshots 1..2") {
		t.Fatalf("next: %q", rep.Next)
	}
}

// TestLeaseRenewedByLongRead: a read that is still running when half of
// the lease's TTL has passed renews it, so expiry keeps its files.
func TestLeaseRenewedByLongRead(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	mem := newClockStore(objstore.NewMem(), clock.Now)
	tb := gcTable(t, clock, mem, objstore.NewMem(), map[string]string{table.OptSnapshotLeaseTTL: "10m"})
	gcCommit(t, tb, clock, 1, []int64{1, 2}, time.Minute)
	gcCommit(t, tb, clock, 2, []int64{3}, time.Minute)
	for _, point := range []bool{false, true} {
		opts := table.ScanOptions{SnapshotID: 1}
		if point {
			opts.Equals = map[int]types.Value{0: int64(1)}
		}
		sc, err := tb.NewScan(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		first := sc.Lease().ExpiresMillis
		clock.Advance(6 * time.Minute)
		for _, err := range sc.Rows(ctx) {
			if err != nil {
				t.Fatal(err)
			}
		}
		leases, err := tb.Meta().Leases(ctx)
		if err != nil || len(leases) != 1 {
			t.Fatalf("leases: %v %v", leases, err)
		}
		if want := clock.Now().Add(10 * time.Minute).UnixMilli(); leases[0].ExpiresMillis != want || sc.Lease().ExpiresMillis != want || want <= first {
			t.Fatalf("point=%v: lease expires at %d (scan's copy %d), want renewed to %d", point, leases[0].ExpiresMillis, sc.Lease().ExpiresMillis, want)
		}
		if err := sc.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if leases, _ := tb.Meta().Leases(ctx); len(leases) != 0 {
			t.Fatalf("Close left %d leases", len(leases))
		}
	}
}
