package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// conflictTable is a one-bucket table with four level-0 runs: keys 0..19,
// the last commit's values winning.
func conflictTable(t *testing.T, store objstore.Store) *Table {
	t.Helper()
	s := simpleSchema(1)
	s.Options[OptWriteOnly] = "true" // only the test's compactors compact
	tb, err := Open("db.t", store, "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	for c := 0; c < 4; c++ {
		for k := int64(0); k < 20; k++ {
			mustWrite(t, w, types.Insert, types.Row{k, fmt.Sprintf("c%d", c)})
		}
		if _, err := w.Commit(context.Background(), fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

// checkNoOrphans: every data file in the store is referenced by some
// snapshot, so a failed compaction left nothing behind.
func checkNoOrphans(t *testing.T, tb *Table) {
	t.Helper()
	ctx := context.Background()
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	referenced := map[string]bool{}
	for _, s := range snaps {
		files, err := tb.Meta().Files(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			referenced[tb.Root()+f.Path] = true
		}
	}
	objs, err := tb.Store().List(ctx, tb.Root()+"data/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if !referenced[o.Key] {
			t.Errorf("orphan data file %s", o.Key)
		}
	}
}

func checkValues(t *testing.T, tb *Table, want string, n int64) {
	t.Helper()
	got := readIDs(t, tb)
	if int64(len(got)) != n {
		t.Fatalf("%d keys, want %d", len(got), n)
	}
	for k, v := range got {
		if v != want {
			t.Fatalf("key %d = %q, want %q", k, v, want)
		}
	}
}

func TestCompactorConflictsMem(t *testing.T) {
	testCompactorConflicts(t, func(*testing.T) objstore.Store { return objstore.NewMem() })
}

func TestCompactorConflictsMinIO(t *testing.T) {
	s3test.Endpoint(t)
	testCompactorConflicts(t, func(t *testing.T) objstore.Store { return s3test.NewStore(t) })
}

func testCompactorConflicts(t *testing.T, newStore func(*testing.T) objstore.Store) {
	ctx := context.Background()

	// Compactor vs compactor on the same bucket: the second to commit
	// aborts with ErrConflict, deletes its outputs and changes nothing.
	t.Run("compactor vs compactor", func(t *testing.T) {
		tb := conflictTable(t, newStore(t))
		c1, err := tb.NewCompactor("c1")
		if err != nil {
			t.Fatal(err)
		}
		c2, _ := tb.NewCompactor("c2")
		var rep2 *compaction.Report
		var err2 error
		c1.Progress = func(e compaction.Event) {
			if e.Kind == compaction.EventExecuted && rep2 == nil {
				rep2, err2 = c2.Run(ctx, compaction.Request{Full: true}) // wins the race
			}
		}
		rep1, err1 := c1.Run(ctx, compaction.Request{Full: true})
		if err2 != nil || len(rep2.Buckets) != 1 || rep2.Buckets[0].Status != compaction.Committed || len(rep2.Snapshots) != 1 {
			t.Fatalf("first compactor: %v %+v", err2, rep2)
		}
		if !errors.Is(err1, types.ErrConflict) || rep1.Buckets[0].Status != compaction.Conflict || len(rep1.Snapshots) != 0 {
			t.Fatalf("second compactor: %v %+v", err1, rep1)
		}
		latest, _ := tb.Latest(ctx)
		if latest.ID != rep2.Snapshots[0] {
			t.Errorf("latest snapshot %d, want the winner's %d", latest.ID, rep2.Snapshots[0])
		}
		checkNoOrphans(t, tb)
		checkValues(t, tb, "c3", 20)
		if rep2.Buckets[0].RunsBefore != 4 || rep2.Buckets[0].RunsAfter != 1 {
			t.Errorf("runs before/after: %+v", rep2.Buckets[0])
		}
	})

	// Compactor vs writer: an append between planning and committing
	// conflicts with nothing; both commits succeed and the newer rows win.
	t.Run("compactor vs writer", func(t *testing.T) {
		tb := conflictTable(t, newStore(t))
		c, _ := tb.NewCompactor("c")
		appended := false
		c.Progress = func(e compaction.Event) {
			if e.Kind != compaction.EventExecuted || appended {
				return
			}
			appended = true
			w := tb.NewWriter("w2")
			for k := int64(0); k < 20; k++ {
				mustWrite(t, w, types.UpdateAfter, types.Row{k, "late"})
			}
			if _, err := w.Commit(ctx, "late"); err != nil {
				t.Errorf("append during compaction: %v", err)
			}
		}
		rep, err := c.Run(ctx, compaction.Request{Full: true})
		if err != nil || rep.Buckets[0].Status != compaction.Committed {
			t.Fatalf("compaction with a concurrent append: %v %+v", err, rep)
		}
		checkValues(t, tb, "late", 20)
		stats, _ := tb.BucketStats(ctx)
		if len(stats) != 1 || stats[0].SortedRuns != 2 || stats[0].FilesPerLevel[0] != 1 {
			t.Errorf("after compaction and append: %+v", stats)
		}
		checkNoOrphans(t, tb)
	})
}

// TestCompactionCommitOutcomes: a commit that definitely failed deletes the
// outputs; one whose outcome is unknown keeps them (a published snapshot
// may reference them).
func TestCompactionCommitOutcomes(t *testing.T) {
	ctx := context.Background()
	t.Run("definite failure", func(t *testing.T) {
		fault := objstore.NewFault(objstore.NewMem())
		tb := conflictTable(t, fault)
		fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "manifest/manifest-list-", Err: errors.New("permission denied")})
		_, err := tb.Compact(ctx, CompactOptions{Full: true})
		if err == nil || errors.Is(err, objstore.ErrAmbiguous) {
			t.Fatalf("Compact = %v, want a definite failure", err)
		}
		fault.Clear()
		checkNoOrphans(t, tb)
		checkValues(t, tb, "c3", 20)
	})
	t.Run("unknown outcome", func(t *testing.T) {
		fault := objstore.NewFault(objstore.NewMem())
		tb := conflictTable(t, fault)
		fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-5", ApplyThenFail: true, Times: 1})
		fault.Add(objstore.Rule{Op: objstore.OpGet, KeyContains: "snapshot/snapshot-5", Err: objstore.ErrInjected, Times: 1})
		_, err := tb.Compact(ctx, CompactOptions{Full: true})
		if !errors.Is(err, objstore.ErrAmbiguous) {
			t.Fatalf("Compact = %v, want ErrAmbiguous", err)
		}
		fault.Clear()
		// The snapshot did land: every file it references must exist.
		latest, err := tb.Latest(ctx)
		if err != nil || latest.ID != 5 || latest.CommitKind != "COMPACT" {
			t.Fatalf("latest = %+v, %v", latest, err)
		}
		checkValues(t, tb, "c3", 20)
	})
}

// TestCompactPartitionSpec: --partition selects partitions by value.
func TestCompactPartitionSpec(t *testing.T) {
	tb, err := Open("db.t", objstore.NewMem(), "t/", modelSchema(EngineDeduplicate, 1, true), Env{})
	if err != nil {
		t.Fatal(err)
	}
	match, err := tb.ParsePartitionSpec("region=a/b c")
	if err != nil {
		t.Fatal(err)
	}
	if !match("region=a%2Fb%20c") || match("region=eu") {
		t.Error("partition spec region=a/b c matches the wrong partitions")
	}
	for _, bad := range []string{"nope=1", "region", "id=3"} {
		if _, err := tb.ParsePartitionSpec(bad); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "partition") {
			t.Errorf("ParsePartitionSpec(%q) = %v", bad, err)
		}
	}
}

// TestCompactionUnderFaults runs compactions against a store that fails
// one random call each time (errors, and calls that apply but report a
// failure): every outcome leaves the table readable with the same rows,
// and a compaction that definitely failed leaves no data file behind.
func TestCompactionUnderFaults(t *testing.T) {
	ctx := context.Background()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	fault := objstore.NewFault(objstore.NewMem())
	tb := conflictTable(t, fault)
	ops := []objstore.Op{objstore.OpGet, objstore.OpPut, objstore.OpPutIfAbsent, objstore.OpStat, objstore.OpList, objstore.OpDelete}
	outcomes := map[string]int{}
	for i := 0; i < 40; i++ {
		w := tb.NewWriter("w")
		for k := int64(0); k < 20; k++ {
			mustWrite(t, w, types.UpdateAfter, types.Row{k, fmt.Sprintf("i%d", i)})
		}
		if _, err := w.Commit(ctx, fmt.Sprint("i", i)); err != nil {
			t.Fatal(err)
		}
		op := ops[rng.IntN(len(ops))]
		fault.Add(objstore.Rule{Op: op, Nth: 1 + rng.IntN(6), Times: 1, ApplyThenFail: rng.IntN(2) == 0})
		_, err := tb.Compact(ctx, CompactOptions{Full: rng.IntN(2) == 0})
		fault.Clear()
		switch {
		case err == nil:
			outcomes["ok"]++
		case errors.Is(err, objstore.ErrAmbiguous):
			outcomes["ambiguous"]++
		default:
			outcomes["failed"]++
			if op != objstore.OpDelete { // deleting the outputs is best effort
				checkNoOrphans(t, tb)
			}
		}
		checkValues(t, tb, fmt.Sprintf("i%d", i), 20)
	}
	t.Logf("outcomes %v", outcomes)
}
