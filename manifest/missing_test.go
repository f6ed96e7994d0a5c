package manifest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestLostLatestSnapshot: the object of the snapshot LATEST names is
// deleted. Latest reports it missing instead of showing its predecessor,
// a commit fails instead of publishing another snapshot under the lost id,
// and an explicit REPLACE (rollback) publishes its content under the next
// id above it; then the table works again. On main and on a branch.
func TestLostLatestSnapshot(t *testing.T) {
	for _, branch := range []string{"", "dev"} {
		t.Run("branch="+branch, func(t *testing.T) {
			ctx := context.Background()
			mem := objstore.NewMem()
			main, _ := newTestTable(t, mem)
			tb := main
			if branch != "" {
				mustCommit(t, main, appendCommit("w", "0", file("data/0", 1)))
				var err error
				if tb, err = main.CreateBranch(ctx, branch, mustLatest(t, main), "", ""); err != nil {
					t.Fatal(err)
				}
			}
			mustCommit(t, tb, appendCommit("w", "1", file("data/1", 1)))
			s2 := mustCommit(t, tb, appendCommit("w", "2", file("data/2", 1)))
			lost := mustCommit(t, tb, appendCommit("w", "3", file("data/3", 1)))
			if err := mem.Delete(ctx, tb.skey(SnapshotPath(lost.ID))); err != nil {
				t.Fatal(err)
			}

			var miss *SnapshotMissingError
			_, err := tb.Latest(ctx)
			if !errors.As(err, &miss) || !errors.Is(err, types.ErrCorruption) || miss.ID != lost.ID || miss.Present != s2.ID {
				t.Fatalf("Latest with snapshot %d lost = %v; want it reported missing", lost.ID, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "ROLLBACK TO VERSION") || !strings.Contains(msg, "restore snapshot/snapshot-") {
				t.Errorf("the error does not say how to recover: %s", msg)
			}
			for _, kind := range []CommitKind{CommitAppend, CommitCompact} {
				c := appendCommit("w", "4-"+string(kind), file("data/4", 1))
				if kind == CommitCompact {
					c = Commit{User: "c", Identifier: "1", Kind: CommitCompact, Upgrades: []Upgrade{{Path: "data/1", FromLevel: 0, Level: 1}}}
				}
				if s, err := tb.Commit(ctx, c); !errors.As(err, &miss) || miss.ID != lost.ID {
					t.Fatalf("%s commit over a lost snapshot = %v, %v; want it refused", kind, s, err)
				}
			}
			if _, err := mem.Stat(ctx, tb.skey(SnapshotPath(lost.ID))); !errors.Is(err, objstore.ErrNotFound) {
				t.Fatalf("snapshot id %d was published again: %v", lost.ID, err)
			}

			// Explicit recovery: roll back to snapshot 2 (a REPLACE commit).
			back, err := tb.Commit(ctx, Commit{User: "h", Identifier: "r", Kind: CommitReplace, Source: s2})
			if err != nil {
				t.Fatal(err)
			}
			if back.ID != lost.ID+1 || back.ParentID != s2.ID || back.ManifestList != s2.ManifestList {
				t.Fatalf("rollback published %+v; want id %d, parent %d, content of %d", back, lost.ID+1, s2.ID, s2.ID)
			}
			if l := mustLatest(t, tb); l.ID != back.ID {
				t.Fatalf("latest after rollback is %d, want %d", l.ID, back.ID)
			}
			next := mustCommit(t, tb, appendCommit("w", "5", file("data/5", 1)))
			files, err := tb.Files(ctx, next)
			if err != nil {
				t.Fatal(err)
			}
			if next.ID != back.ID+1 || len(files) != len(filesOf(t, tb, s2))+1 {
				t.Fatalf("commit after rollback: %+v with %v", next, paths(files))
			}
		})
	}
}

func filesOf(t *testing.T, tb *Table, s *Snapshot) []DataFile {
	t.Helper()
	fs, err := tb.Files(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestLostSnapshotBelowLaterOne: a snapshot below the newest is lost and
// the hint lags behind it, so probing stops at the gap. The next commit
// sees the later object in its listing and refuses to reuse the lost id.
func TestLostSnapshotBelowLaterOne(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	tb, _ := newTestTable(t, mem)
	for i := range 4 {
		mustCommit(t, tb, appendCommit("w", string(rune('a'+i)), file("data/"+string(rune('a'+i)), 1)))
	}
	if _, err := mem.Put(ctx, tb.skey(LatestHintPath), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := mem.Delete(ctx, tb.skey(SnapshotPath(3))); err != nil {
		t.Fatal(err)
	}
	var miss *SnapshotMissingError
	if s, err := tb.Commit(ctx, appendCommit("w", "e", file("data/e", 1))); !errors.As(err, &miss) || miss.ID != 3 || miss.Next != 5 {
		t.Fatalf("commit over a gap = %v, %v; want snapshot 3 reported missing", s, err)
	}
	if _, err := mem.Stat(ctx, tb.skey(SnapshotPath(3))); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("snapshot id 3 was published again: %v", err)
	}
}

// TestHintNeverLowered: committers that finish out of order cannot lower
// the LATEST hint, so it keeps proving the highest published id, whether
// the slow committer's put is conditional on the hint its attempt read
// (since raised by others) or on a fresh read.
func TestHintNeverLowered(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	tb, _ := newTestTable(t, mem)
	mustCommit(t, tb, appendCommit("w", "a", file("data/a", 1)))
	seenAt1 := tb.readHint(ctx) // what a slow committer of snapshot 2 read
	if !seenAt1.valid || seenAt1.id != 1 {
		t.Fatalf("hint after one commit = %+v, want id 1", seenAt1)
	}
	for i := 1; i < 3; i++ {
		mustCommit(t, tb, appendCommit("w", string(rune('a'+i)), file("data/"+string(rune('a'+i)), 1)))
	}
	for _, seen := range []hintSeen{seenAt1, {}, {absent: true}} {
		tb.writeHint(ctx, 2, seen) // a slow committer of snapshot 2
		if h := tb.readHint(ctx); !h.valid || h.id != 3 {
			t.Fatalf("after a slow committer that saw %+v: hint = %+v; want 3", seen, h)
		}
	}
	if _, err := mem.Put(ctx, tb.skey(LatestHintPath), []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	tb.writeHint(ctx, 3, seenAt1)
	if h := tb.readHint(ctx); !h.valid || h.id != 3 {
		t.Fatalf("a garbled hint was not replaced: %+v", h)
	}
}

// hintGets counts the GETs of snapshot/LATEST.
type hintGets struct {
	objstore.Store
	n atomic.Int64
}

func (h *hintGets) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	if strings.HasSuffix(key, LatestHintPath) {
		h.n.Add(1)
	}
	return h.Store.Get(ctx, key)
}

// TestCommitReadsHintOnce: a commit raises the LATEST hint from what its
// attempt read, with no second read, on a table with and without a hint;
// the hint then names the new snapshot.
func TestCommitReadsHintOnce(t *testing.T) {
	ctx := context.Background()
	st := &hintGets{Store: objstore.NewMem()}
	tb, _ := newTestTable(t, st)
	for i := range 4 {
		before := st.n.Load()
		s := mustCommit(t, tb, appendCommit("w", string(rune('a'+i)), file("data/"+string(rune('a'+i)), 1)))
		if got := st.n.Load() - before; got != 1 {
			t.Fatalf("commit %d read the hint %d times, want 1", i+1, got)
		}
		if h := tb.readHint(ctx); !h.valid || h.id != s.ID {
			t.Fatalf("after commit %d the hint is %+v, want %d", i+1, h, s.ID)
		}
	}
}

// TestExpiryDuringCommitIsNoLoss: a commit whose lagging hint points into
// snapshots that a concurrent expiry deletes while the commit probes sees
// a gap below its listed newest snapshot; that is no lost snapshot, and
// the commit looks again and succeeds on top of the newest.
func TestExpiryDuringCommitIsNoLoss(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	tb, _ := newTestTable(t, fault)
	for i := range 5 {
		mustCommit(t, tb, appendCommit("w", string(rune('a'+i)), file("data/"+string(rune('a'+i)), 1)))
	}
	if _, err := mem.Put(ctx, tb.skey(LatestHintPath), []byte("2")); err != nil {
		t.Fatal(err)
	}
	fault.Add(objstore.Rule{Op: objstore.OpStat, KeyContains: SnapshotPath(3), Times: 1, Crash: func() {
		for id := int64(1); id <= 4; id++ { // expiry, oldest first
			_ = mem.Delete(ctx, tb.skey(SnapshotPath(id)))
		}
	}})
	s, err := tb.Commit(ctx, appendCommit("w", "f", file("data/f", 1)))
	if err != nil || s.ID != 6 || s.ParentID != 5 {
		t.Fatalf("commit during expiry = %v, %v; want snapshot 6 on top of 5", s, err)
	}
}
