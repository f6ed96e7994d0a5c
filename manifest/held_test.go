package manifest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
)

// holdStore advances the clock after every manifest-list put: a commit
// attempt that stalls before its snapshot put.
type holdStore struct {
	objstore.Store
	clock *testClock
	stall int64 // milliseconds
}

func (h *holdStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	info, err := h.Store.PutIfAbsent(ctx, key, data)
	if strings.Contains(key, manifestListPrefix) {
		h.clock.Advance(h.stall)
	}
	return info, err
}

// TestCommitRefusesFilesHeldTooLong: a commit publishes only while at most
// half of OrphanGracePeriod passed since HeldSince (or since the start of
// the attempt, for the manifests it writes itself); otherwise it fails
// with ErrHeldTooLong and publishes nothing.
func TestCommitRefusesFilesHeldTooLong(t *testing.T) {
	ctx := context.Background()
	grace := time.Hour
	for _, tc := range []struct {
		name      string
		heldAgo   time.Duration // HeldSince before Commit is called (0: unset)
		stall     time.Duration // between the manifest-list put and the snapshot put
		published bool
	}{
		{"quick", 0, 0, true},
		{"files held under half", 29 * time.Minute, 0, true},
		{"files held over half", 31 * time.Minute, 0, false},
		{"attempt stalls over half", 0, 31 * time.Minute, false},
		{"held plus stall over half", 20 * time.Minute, 11 * time.Minute, false},
		{"held plus stall exactly half", 20 * time.Minute, 10 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(1_700_000_000_000)
			opts := testOptions(clock.Now)
			opts.OrphanGracePeriod = grace
			st := &holdStore{Store: objstore.NewMem(), clock: clock, stall: tc.stall.Milliseconds()}
			tb := Open(st, "wh/db.db/t", opts)
			c := appendCommit("w", "1", file("data/a.parquet", 3))
			if tc.heldAgo > 0 {
				c.HeldSince = clock.Now()
				clock.Advance(tc.heldAgo.Milliseconds())
			}
			s, err := tb.Commit(ctx, c)
			latest, lerr := tb.Latest(ctx)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.published {
				if err != nil || s == nil || latest == nil {
					t.Fatalf("commit: %v (latest %v)", err, latest)
				}
				return
			}
			if !errors.Is(err, ErrHeldTooLong) || !strings.Contains(err.Error(), "raise orphan.grace-period") {
				t.Fatalf("commit: %v, want ErrHeldTooLong", err)
			}
			if latest != nil {
				t.Fatalf("a refused commit published snapshot %d", latest.ID)
			}
		})
	}
	// Without a grace period the check is off.
	clock := newTestClock(1_700_000_000_000)
	tb := Open(&holdStore{Store: objstore.NewMem(), clock: clock, stall: (48 * time.Hour).Milliseconds()}, "t", testOptions(clock.Now))
	mustCommit(t, tb, appendCommit("w", "1", file("data/a.parquet", 3)))
}
