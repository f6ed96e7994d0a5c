package manifest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// errCrash is the panic value of a simulated process death.
var errCrash = errors.New("simulated crash")

// commitCrashing runs Commit and reports whether it "crashed".
func commitCrashing(tb *Table, c Commit) (crashed bool, s *Snapshot, err error) {
	defer func() {
		if r := recover(); r != nil {
			if r != errCrash {
				panic(r)
			}
			crashed = true
		}
	}()
	s, err = tb.Commit(context.Background(), c)
	return false, s, err
}

// TestCrashDuringCommit kills the committer at each step of a commit
// (a crash at every step of a commit): the table stays readable at the previous snapshot (or
// the new one, when the crash follows the snapshot put), and the caller's
// retry with the same identifier applies the commit exactly once.
func TestCrashDuringCommit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rule      objstore.Rule
		published bool // the snapshot put happened before the crash
	}{
		{"before delta manifest upload", objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "manifest/manifest-0"}, false},
		{"before manifest list upload", objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "manifest/manifest-list-"}, false},
		{"between manifest upload and snapshot put", objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-"}, false},
		{"after snapshot put, before acknowledgement", objstore.Rule{Op: objstore.OpPutIfMatch, KeyContains: LatestHintPath}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			mem := objstore.NewMem()
			fault := objstore.NewFault(mem)
			tb, _ := newTestTable(t, fault)
			mustCommit(t, tb, appendCommit("w", "1", file("data/1", 2), file("data/2", 3)))
			mustCommit(t, tb, appendCommit("w", "2", file("data/3", 1)))
			before, err := tb.Files(ctx, mustLatest(t, tb))
			if err != nil {
				t.Fatal(err)
			}

			c := appendCommit("w", "3", file("data/4", 4))
			c.Deleted = []DataFile{{Path: "data/1"}}
			rule := tc.rule
			rule.Times = 1
			rule.Crash = func() { panic(errCrash) }
			fault.Add(rule)
			if crashed, s, err := commitCrashing(tb, c); !crashed {
				t.Fatalf("the crash rule did not fire: %v, %v", s, err)
			}

			// Restart: a fresh handle on the same storage, no faults.
			re := Open(mem, tb.Root(), testOptions(newTestClock(1_800_000_000_000).Now))
			l, err := re.Latest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantID := int64(2)
			if tc.published {
				wantID = 3
			}
			if l.ID != wantID {
				t.Fatalf("after the crash latest is %d, want %d", l.ID, wantID)
			}
			if !tc.published {
				files, err := re.Files(ctx, l)
				if err != nil || !reflect.DeepEqual(files, before) {
					t.Fatalf("table changed by a crashed commit: %v, %v", paths(files), err)
				}
			}
			s, err := re.Commit(ctx, c)
			if err != nil || s.ID != 3 {
				t.Fatalf("retried commit = %v, %v; want snapshot 3", s, err)
			}
			if again, err := re.Commit(ctx, c); err != nil || again.ID != 3 {
				t.Fatalf("second retry = %v, %v; want snapshot 3 again", again, err)
			}
			if l := mustLatest(t, re); l.ID != 3 {
				t.Fatalf("commit applied more than once: latest %d", l.ID)
			}
			files, err := re.Files(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if got := paths(files); !reflect.DeepEqual(got, []string{"data/2", "data/3", "data/4"}) {
				t.Fatalf("files after recovery: %v", got)
			}
			// Every retained snapshot is still fully readable.
			for id := int64(1); id <= 3; id++ {
				s, err := re.Snapshot(ctx, id)
				if err == nil {
					_, err = re.Files(ctx, s)
				}
				if err != nil {
					t.Fatalf("snapshot %d: %v", id, err)
				}
			}
		})
	}
}
