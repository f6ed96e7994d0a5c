package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func historyTable(t *testing.T, store objstore.Store) *Table {
	t.Helper()
	tb, err := Open("db.t", store, "wh/db.db/t/", modelSchema(EngineDeduplicate, 2, true), Env{})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// commitRandom writes n random rows (inserts and deletes), commits, and
// returns the latest snapshot.
func commitRandom(t *testing.T, ctx context.Context, tb *Table, rng *rand.Rand, n int, ident string) *manifest.Snapshot {
	t.Helper()
	w := tb.NewWriter("w-" + ident)
	for i := 0; i < n; i++ {
		kind := types.Insert
		if rng.IntN(5) == 0 {
			kind = types.Delete
		}
		if err := w.Write(ctx, kind, randRow(rng, 50)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, ident); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil { // may commit an inline compaction
		t.Fatal(err)
	}
	s, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readRef(t *testing.T, ctx context.Context, tb *Table, r Ref) map[modelKey]types.Row {
	t.Helper()
	s, err := tb.NewScan(ctx, ScanOptions{SnapshotID: r.SnapshotID, Tag: r.Tag, AsOfMillis: r.AsOfMillis})
	if err != nil {
		t.Fatalf("scan %s: %v", r, err)
	}
	out := map[modelKey]types.Row{}
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatalf("scan %s: %v", r, err)
		}
		out[modelKey{row[0].(string), row[1].(int32)}] = row
	}
	return out
}

func sameState(t *testing.T, what string, got, want map[modelKey]types.Row) {
	t.Helper()
	if d := diffStates(got, want); d != "" {
		t.Fatalf("%s:\n%s", what, d)
	}
}

// TestTagsBranchesRollback walks the whole history surface of one table:
// tags (and their survival of snapshot expiry), rollback by id and tag,
// branches created from a snapshot and a tag, writes and compaction on a
// branch that leave main alone, fast-forward, Changes on a branch, and
// the errors of unknown names.
func TestTagsBranchesRollback(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	store := objstore.NewMem()
	tb := historyTable(t, store)

	if _, err := tb.CreateTag(ctx, "empty", Ref{}); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("tag of an empty table: %v", err)
	}
	s1 := commitRandom(t, ctx, tb, rng, 60, "1")
	st1 := readRef(t, ctx, tb, Ref{})
	if _, err := tb.CreateTag(ctx, "v1", Ref{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.CreateTag(ctx, "v1", Ref{}); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("duplicate tag: %v", err)
	}
	if _, err := tb.CreateTag(ctx, "123", Ref{}); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("all-digit tag name: %v", err)
	}
	s2 := commitRandom(t, ctx, tb, rng, 60, "2")
	st2 := readRef(t, ctx, tb, Ref{})
	if _, err := tb.CreateTag(ctx, "first", Ref{SnapshotID: s1.ID}); err != nil {
		t.Fatal(err)
	}

	// A tagged snapshot survives expiry of its snapshot object.
	if err := store.Delete(ctx, tb.Root()+manifest.SnapshotPath(s1.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.NewScan(ctx, ScanOptions{SnapshotID: s1.ID}); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("expired snapshot by id: %v", err)
	}
	sameState(t, "read by tag after expiry", readRef(t, ctx, tb, Ref{Tag: "v1"}), st1)
	if _, err := tb.NewScan(ctx, ScanOptions{Tag: "nope"}); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("unknown tag: %v", err)
	}
	if _, err := tb.NewScan(ctx, ScanOptions{AsOfMillis: s2.TimeMillis - 1e6}); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("time before the first retained snapshot: %v", err)
	}
	tags, err := tb.Tags(ctx)
	if err != nil || len(tags) != 2 || tags[0].Name != "first" || tags[1].Snapshot.ID != s1.ID {
		t.Fatalf("tags: %d %v %s/%d %s/%d (s1 %d)", len(tags), err, tags[0].Name, tags[0].Snapshot.ID, tags[1].Name, tags[1].Snapshot.ID, s1.ID)
	}

	// Rollback to the tag: content of snapshot 1, history kept.
	rb, err := tb.Rollback(ctx, Ref{Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if rb.ID != s2.ID+1 || rb.CommitKind != manifest.CommitReplace || rb.Properties[PropReplaceSource] != "tag:v1" {
		t.Fatalf("rollback snapshot: %+v", rb)
	}
	sameState(t, "after rollback to v1", readRef(t, ctx, tb, Ref{}), st1)
	sameState(t, "snapshot 2 still readable", readRef(t, ctx, tb, Ref{SnapshotID: s2.ID}), st2)
	if _, err := tb.Rollback(ctx, Ref{SnapshotID: s2.ID}); err != nil {
		t.Fatal(err)
	}
	sameState(t, "after rollback to 2", readRef(t, ctx, tb, Ref{}), st2)
	if _, err := tb.Rollback(ctx, Ref{SnapshotID: 999}); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("rollback to an unknown snapshot: %v", err)
	}

	// A branch from tag v1: writes there leave main alone.
	br, err := tb.CreateBranch(ctx, "dev", Ref{Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.CreateBranch(ctx, "dev", Ref{}); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("duplicate branch: %v", err)
	}
	if _, err := tb.CreateBranch(ctx, "main", Ref{}); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("branch named main: %v", err)
	}
	sameState(t, "new branch", readRef(t, ctx, br, Ref{}), st1)
	bs1 := commitRandom(t, ctx, br, rng, 80, "b1")
	if _, err := br.Compact(ctx, CompactOptions{Full: true, User: "c"}); err != nil {
		t.Fatal(err)
	}
	stB := readRef(t, ctx, br, Ref{})
	sameState(t, "main after a branch write", readRef(t, ctx, tb, Ref{}), st2)
	bsnaps, err := br.Meta().Snapshots(ctx)
	if err != nil || len(bsnaps) < 2 || bsnaps[0].ID != s1.ID || bsnaps[1].ID != s1.ID+1 || bs1.ID <= s1.ID {
		t.Fatalf("branch snapshots should continue from the source's id %d: %v", s1.ID, err)
	}
	// Changes on the branch from its first snapshot.
	first, err := br.ResolveRef(ctx, Ref{SnapshotID: s1.ID})
	if err != nil {
		t.Fatal(err)
	}
	last, err := br.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var changes []Change
	for c, err := range br.Changes(ctx, first, last) {
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, c)
	}
	sameState(t, "branch changes applied", applyChangeList(st1, changes), stB)

	// Branch views of an unknown branch fail clearly.
	if _, err := tb.Branch(ctx, "nope"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("unknown branch: %v", err)
	}
	again, err := tb.Branch(ctx, "dev")
	if err != nil || again.BranchName() != "dev" {
		t.Fatalf("open branch: %v", err)
	}
	infos, err := tb.Branches(ctx)
	if err != nil || len(infos) != 1 || infos[0].Name != "dev" || infos[0].FromTag != "v1" {
		t.Fatalf("branches: %+v %v", infos, err)
	}

	// Fast-forward main to the branch.
	ff, err := tb.FastForward(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("branch:dev@%d", last.ID); ff.Properties[PropReplaceSource] != want {
		t.Fatalf("fast-forward source %q, want %q", ff.Properties[PropReplaceSource], want)
	}
	sameState(t, "main after fast-forward", readRef(t, ctx, tb, Ref{}), stB)
	if _, err := tb.FastForward(ctx, "nope"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("fast-forward to an unknown branch: %v", err)
	}
	// Main keeps working after the fast-forward.
	commitRandom(t, ctx, tb, rng, 10, "3")

	// Drop the branch; main is unaffected.
	if err := tb.DropBranch(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if err := tb.DropBranch(ctx, "dev"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("drop a dropped branch: %v", err)
	}
	if _, err := tb.Branch(ctx, "dev"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("dropped branch opened: %v", err)
	}
	// Tags: delete.
	if err := tb.DeleteTag(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	if err := tb.DeleteTag(ctx, "first"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("delete a deleted tag: %v", err)
	}
	// No leases are left behind by rollbacks, branch creation and
	// fast-forward.
	leases, err := tb.Meta().Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		if l.Owner == historyUser {
			t.Fatalf("lease left behind: %+v", *l)
		}
	}
}

// TestFastForwardAtomic: readers scanning main while main is fast-forwarded
// to a branch see either the old content or the new, never a mix. The
// store adds latency to snapshot and manifest reads so that scans overlap
// the commit.
func TestFastForwardAtomic(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 11))
	fault := objstore.NewFault(objstore.NewMem())
	tb := historyTable(t, fault)
	for i := 0; i < 3; i++ {
		commitRandom(t, ctx, tb, rng, 80, fmt.Sprint("m", i))
	}
	br, err := tb.CreateBranch(ctx, "green", Ref{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		commitRandom(t, ctx, br, rng, 80, fmt.Sprint("g", i))
	}
	oldState := readRef(t, ctx, tb, Ref{})
	newState := readRef(t, ctx, br, Ref{})
	if diffStates(oldState, newState) == "" {
		t.Fatal("branch content equals main: the test would prove nothing")
	}
	fault.Add(objstore.Rule{KeyContains: "manifest/", Latency: 300 * time.Microsecond})
	fault.Add(objstore.Rule{KeyContains: "snapshot/", Latency: 200 * time.Microsecond})

	var (
		mu             sync.Mutex
		sawOld, sawNew int
		failure        error
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				s, err := tb.NewScan(ctx, ScanOptions{})
				if err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
					return
				}
				got := map[modelKey]types.Row{}
				for row, err := range s.Rows(ctx) {
					if err != nil {
						mu.Lock()
						failure = err
						mu.Unlock()
						return
					}
					got[modelKey{row[0].(string), row[1].(int32)}] = row
				}
				mu.Lock()
				switch {
				case diffStates(got, oldState) == "":
					sawOld++
				case diffStates(got, newState) == "":
					sawNew++
				default:
					failure = fmt.Errorf("a read of snapshot %d is neither the old nor the new state:\nvs old: %s\nvs new: %s",
						s.SnapshotID(), diffStates(got, oldState), diffStates(got, newState))
				}
				mu.Unlock()
			}
		}()
	}
	// Let readers see the old state, fast-forward, then let them see the
	// new one.
	waitFor := func(cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal("readers made no progress")
			}
			time.Sleep(time.Millisecond)
		}
	}
	count := func(old bool) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			if failure != nil {
				return true
			}
			if old {
				return sawOld >= 3
			}
			return sawNew >= 3
		}
	}
	waitFor(count(true))
	if _, err := tb.FastForward(ctx, "green"); err != nil {
		t.Fatal(err)
	}
	waitFor(count(false))
	close(done)
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	t.Logf("%d reads of the old state, %d of the new, none mixed", sawOld, sawNew)
}

// TestBranchViewRunsNoHook: creating a branch runs Env.AfterChange (the
// Iceberg view publishes its ref); opening a branch to read or write it
// changes nothing and must not run the hook (it used to, so every read of
// a branch published).
func TestBranchViewRunsNoHook(t *testing.T) {
	ctx := context.Background()
	calls := 0
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", modelSchema(EngineDeduplicate, 2, true),
		Env{AfterChange: func(context.Context, *Table) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	commitRandom(t, ctx, tb, rand.New(rand.NewPCG(1, 2)), 20, "c1")
	before := calls
	if _, err := tb.CreateBranch(ctx, "dev", Ref{}); err != nil {
		t.Fatal(err)
	}
	if calls != before+1 {
		t.Fatalf("CreateBranch ran the hook %d times, want 1", calls-before)
	}
	for range 3 {
		if _, err := tb.Branch(ctx, "dev"); err != nil {
			t.Fatal(err)
		}
	}
	if calls != before+1 {
		t.Errorf("opening a branch ran the hook %d times, want 0", calls-before-1)
	}
}
