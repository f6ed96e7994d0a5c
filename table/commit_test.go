package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func simpleSchema(buckets int) *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "v", Type: types.TString},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 1,
		Options:        map[string]string{OptBucket: fmt.Sprint(buckets)},
	}
}

type crash struct{ where string }

// TestCrashBetweenUploadAndCommit: the process dies after uploading data
// files and manifests but before the snapshot's conditional put. The table
// stays readable at the previous snapshot, and the restarted writer's retry
// with the same commit identifier is applied exactly once.
func TestCrashBetweenUploadAndCommit(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	tb, err := Open("db.t", fault, "t/", simpleSchema(2), Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("job")
	for i := int64(0); i < 10; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "a"})
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}

	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot-2", Times: 1, Crash: func() { panic(crash{"before snapshot put"}) }})
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("expected the injected crash")
			}
		}()
		w := tb.NewWriter("job")
		for i := int64(0); i < 10; i++ {
			mustWrite(t, w, types.UpdateAfter, types.Row{i, "b"})
		}
		_, _ = w.Commit(ctx, "2")
	}()
	got := readIDs(t, tb)
	for i := int64(0); i < 10; i++ {
		if got[i] != "a" {
			t.Fatalf("after crash: key %d = %q, want the committed %q", i, got[i], "a")
		}
	}
	// Restart: replay the same batch with the same identifier, twice (the
	// second time as if the ack of the first had been lost).
	for attempt := 0; attempt < 2; attempt++ {
		w := tb.NewWriter("job")
		for i := int64(0); i < 10; i++ {
			mustWrite(t, w, types.UpdateAfter, types.Row{i, "b"})
		}
		snap, err := w.Commit(ctx, "2")
		if err != nil {
			t.Fatal(err)
		}
		if snap.ID != 2 {
			t.Fatalf("attempt %d: commit 2 published as snapshot %d, want 2 (applied once)", attempt, snap.ID)
		}
	}
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots, want 2", len(snaps))
	}
	got = readIDs(t, tb)
	for i := int64(0); i < 10; i++ {
		if got[i] != "b" {
			t.Fatalf("key %d = %q, want b", i, got[i])
		}
	}
}

// TestCommitOutcomeUnknown: the snapshot put is applied but reported as
// failed. The writer resolves it by reading back and does not apply the
// batch twice; a later commit does not re-add the files.
func TestCommitOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	fault := objstore.NewFault(objstore.NewMem())
	tb, err := Open("db.t", fault, "t/", simpleSchema(1), Env{})
	if err != nil {
		t.Fatal(err)
	}
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot-1", Times: 1, ApplyThenFail: true})
	w := tb.NewWriter("job")
	mustWrite(t, w, types.Insert, types.Row{int64(1), "x"})
	snap, err := w.Commit(ctx, "c1")
	if err != nil {
		t.Fatalf("commit with lost ack: %v", err)
	}
	if snap.ID != 1 {
		t.Fatalf("snapshot %d, want 1", snap.ID)
	}
	mustWrite(t, w, types.Insert, types.Row{int64(2), "y"})
	snap, err = w.Commit(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}
	files, err := tb.Meta().Files(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("%d live files after two commits of one file each, want 2", len(files))
	}
}

// TestFailedUploadCommitsNothing: an upload error fails the commit, Abort
// removes what was uploaded, and nothing is visible.
func TestFailedUploadCommitsNothing(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	tb, err := Open("db.t", fault, "t/", simpleSchema(4), Env{})
	if err != nil {
		t.Fatal(err)
	}
	fault.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "data/", Nth: 3, Err: errors.New("disk full")})
	w := tb.NewWriter("job")
	for i := int64(0); i < 100; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "x"})
	}
	if _, err := w.Commit(ctx, "1"); err == nil {
		t.Fatal("commit succeeded despite a failed upload")
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := tb.Latest(ctx); s != nil {
		t.Fatalf("snapshot %d published by a failed commit", s.ID)
	}
	left, _ := mem.List(ctx, "t/data/")
	if len(left) != 0 {
		t.Fatalf("abort left %d data files", len(left))
	}
}

// TestConcurrentWritersMinIO: several writers commit to one table on a real
// MinIO at once. Every acknowledged commit is in the history exactly once,
// no snapshot id is used twice, and each key holds the value of the last
// snapshot (by id) that wrote it.
func TestConcurrentWritersMinIO(t *testing.T) {
	store := s3test.NewStore(t)
	testConcurrentWriters(t, store)
}

func TestConcurrentWritersMem(t *testing.T) {
	testConcurrentWriters(t, objstore.NewMem())
}

func testConcurrentWriters(t *testing.T, store objstore.Store) {
	ctx := context.Background()
	seed := testSeed(t)
	const writers, commits, keys = 4, 6, 40
	tb, err := Open("db.t", store, "wh/db.db/t/", simpleSchema(2), Env{})
	if err != nil {
		t.Fatal(err)
	}
	type ack struct {
		user, ident string
		snap        int64
		rows        map[int64]string
	}
	var mu sync.Mutex
	var acks []ack
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for wi := 0; wi < writers; wi++ {
		wg.Add(1)
		go func(wi int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(wi)))
			user := fmt.Sprintf("writer-%d", wi)
			w := tb.NewWriter(user)
			for c := 0; c < commits; c++ {
				rows := map[int64]string{}
				for i := 0; i < 5; i++ {
					k := rng.Int64N(keys)
					v := fmt.Sprintf("w%d-c%d-%d", wi, c, i)
					if err := w.Write(ctx, types.Insert, types.Row{k, v}); err != nil {
						errs <- err
						return
					}
					rows[k] = v
				}
				ident := fmt.Sprint(c)
				snap, err := w.Commit(ctx, ident)
				if err != nil {
					errs <- fmt.Errorf("%s commit %s: %w", user, ident, err)
					return
				}
				mu.Lock()
				acks = append(acks, ack{user, ident, snap.ID, rows})
				mu.Unlock()
			}
		}(wi)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Inline compactions add COMPACT snapshots; every APPEND snapshot must
	// be an acknowledged commit.
	appends := 0
	byID := map[int64]string{}
	for i, s := range snaps {
		if s.ID != int64(i+1) {
			t.Fatalf("snapshot ids not contiguous: position %d has id %d", i, s.ID)
		}
		byID[s.ID] = s.CommitUser + "/" + s.CommitIdentifier
		if s.CommitKind == manifest.CommitAppend {
			appends++
		}
	}
	if appends != writers*commits {
		t.Fatalf("%d APPEND snapshots for %d acknowledged commits", appends, writers*commits)
	}
	want := map[int64]string{}
	last := map[int64]int64{}
	for _, a := range acks {
		if byID[a.snap] != a.user+"/"+a.ident {
			t.Fatalf("acknowledged commit %s/%s as snapshot %d, history has %q there", a.user, a.ident, a.snap, byID[a.snap])
		}
		for k, v := range a.rows {
			if a.snap > last[k] {
				last[k], want[k] = a.snap, v
			}
		}
	}
	got := readIDs(t, tb)
	if len(got) != len(want) {
		t.Fatalf("%d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %d = %q, want %q (written by snapshot %d, the last to write it)", k, got[k], v, last[k])
		}
	}
}

func mustWrite(t *testing.T, w *Writer, kind types.RowKind, r types.Row) {
	t.Helper()
	if err := w.Write(context.Background(), kind, r); err != nil {
		t.Fatal(err)
	}
}

func readIDs(t *testing.T, tb *Table) map[int64]string {
	t.Helper()
	ctx := context.Background()
	s, err := tb.NewScan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out[row[0].(int64)] = row[1].(string)
	}
	return out
}
