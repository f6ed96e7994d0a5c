package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/objstore/objstoretest"
	"github.com/siltdb/silt/types"
)

// TestCommitRetryAfterFailedUpload: the upload of one bucket's data file
// fails, so the commit fails; retrying the commit on the same writer must
// publish every buffered row. A writer used to drop the failed bucket's
// rows from its buffer (only the buckets after it stayed buffered), so the
// retry committed without them and nothing said so.
func TestCommitRetryAfterFailedUpload(t *testing.T) {
	ctx := context.Background()
	fault := objstore.NewFault(objstore.NewMem())
	tb, err := Open("db.t", fault, "t/", simpleSchema(4), Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("job")
	defer w.Close(ctx)
	const n = 200
	for i := int64(0); i < n; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "a"})
	}
	// The second data file uploaded fails: one bucket's upload.
	fault.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "data/bucket-", Nth: 2, Times: 1, Err: objstore.ErrInjected})
	if _, err := w.Commit(ctx, "1"); err == nil {
		t.Fatal("commit with a failed upload succeeded")
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := readIDs(t, tb)
	if len(got) != n {
		t.Fatalf("after the retried commit %d rows, want %d", len(got), n)
	}
}

// TestCommitRetryAfterFailedUploadRandom: every merge engine, random rows
// over few keys (so flushes pre-merge), a small write buffer (several
// flushes per commit) and a random data-file upload that fails; the
// commit is retried on the same writer until it succeeds. The table must
// read as a reference table written without faults.
func TestCommitRetryAfterFailedUploadRandom(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 17))
			ctx := context.Background()
			for _, engine := range []string{EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow} {
				fault := objstore.NewFault(objstore.NewMem())
				partitioned := rng.IntN(2) == 0
				tb, err := Open("db.t", fault, "t/", modelSchema(engine, 3, partitioned), Env{})
				if err != nil {
					t.Fatal(err)
				}
				ref, err := Open("db.ref", objstore.NewMem(), "ref/", modelSchema(engine, 3, partitioned), Env{})
				if err != nil {
					t.Fatal(err)
				}
				w, wr := tb.NewWriter("job"), ref.NewWriter("job")
				for c := range 5 {
					for range 20 + rng.IntN(150) {
						r := randRow(rng, 12)
						kind := types.Insert
						if rng.IntN(8) == 0 {
							kind = types.Delete
						}
						mustWrite(t, w, kind, r)
						mustWrite(t, wr, kind, r)
					}
					fault.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "/bucket-", Nth: 1 + rng.IntN(6), Times: 1, Err: objstore.ErrInjected})
					for attempt := 0; ; attempt++ {
						_, err := w.Commit(ctx, fmt.Sprint(c))
						if err == nil {
							break
						}
						if !errors.Is(err, objstore.ErrInjected) || attempt > 3 {
							t.Fatalf("%s commit %d attempt %d: %v", engine, c, attempt, err)
						}
					}
					if _, err := wr.Commit(ctx, fmt.Sprint(c)); err != nil {
						t.Fatal(err)
					}
					fault.Clear()
					if got, want := scanAll(t, tb), scanAll(t, ref); got != want {
						t.Fatalf("%s after commit %d:\n got  %s\n want %s", engine, c, got, want)
					}
				}
				w.Close(ctx)
				wr.Close(ctx)
			}
		})
	}
}

// TestFailedFlushLeavesNoFiles: a bucket's files are split over several
// data files and the upload of a later one fails. Abort deletes the files
// uploaded before the failure, and after a retry that succeeds only the
// committed files are left.
func TestFailedFlushLeavesNoFiles(t *testing.T) {
	ctx := context.Background()
	for _, abort := range []bool{true, false} {
		mem := objstore.NewMem()
		fault := objstore.NewFault(mem)
		s := simpleSchema(1)
		s.Options[OptTargetFileSize] = "4kb"
		s.Options[OptRowGroupRows] = "16"
		tb, err := Open("db.t", fault, "t/", s, Env{})
		if err != nil {
			t.Fatal(err)
		}
		w := tb.NewWriter("job")
		for i := int64(0); i < 2000; i++ {
			mustWrite(t, w, types.Insert, types.Row{i, "some text to fill pages"})
		}
		fault.Add(objstore.Rule{Op: objstore.OpPut, KeyContains: "data/bucket-", Nth: 3, Times: 1, Err: objstore.ErrInjected})
		if _, err := w.Commit(ctx, "1"); err == nil {
			t.Fatal("commit with a failed upload succeeded")
		}
		if abort {
			if err := w.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			if left, _ := mem.List(ctx, "t/data/"); len(left) != 0 {
				t.Fatalf("abort left %d data files", len(left))
			}
			continue
		}
		if _, err := w.Commit(ctx, "1"); err != nil {
			t.Fatal(err)
		}
		_, files, err := tb.DataFiles(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		left, _ := mem.List(ctx, "t/data/")
		if len(left) != len(files) || len(files) < 3 {
			t.Fatalf("%d data objects for %d committed files", len(left), len(files))
		}
		if got := readIDs(t, tb); len(got) != 2000 {
			t.Fatalf("%d rows, want 2000", len(got))
		}
		w.Close(ctx)
	}
}

// TestFlushUploadsOverlap: a flush uploads its buckets' files at once, not
// one bucket after another, so an object store's PUT latency is paid about
// once per flush; the commit publishes every row.
func TestFlushUploadsOverlap(t *testing.T) {
	ctx := context.Background()
	st := objstoretest.NewOverlap(objstore.NewMem(), "/data/")
	tb, err := Open("db.t", st, "t/", simpleSchema(4), Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("job")
	defer w.Close(ctx)
	const n = 200
	for i := int64(0); i < n; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "a"})
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if p := st.Peak(); p < 2 {
		t.Errorf("at most %d data-file PUT in flight, want the 4 buckets' uploads to overlap", p)
	}
	if got := readIDs(t, tb); len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	if s := w.Stats(); s.Flushes != 4 || s.Files != 4 {
		t.Errorf("stats %+v, want 4 flushes of one file each", s)
	}
}
