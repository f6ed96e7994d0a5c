package lifecycle

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestTaggedSnapshotSurvivesExpiry: snapshot expiry (ExpireSnapshots, with
// a retention of one snapshot) removes old snapshots of main, but a tagged
// snapshot and a branch keep their files: reads by tag and on the branch
// stay exact, and Changes from the tag to the latest snapshot still gives
// the latest state. (Reclaiming a dropped tag's files is the lifecycle
// work's business; it is only logged here.)
func TestTaggedSnapshotSurvivesExpiry(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	s := modelSchema(table.EngineDeduplicate, 2, true)
	s.Options[table.OptSnapshotNumRetainedMin] = "1"
	s.Options[table.OptSnapshotNumRetainedMax] = "1"
	tb, err := table.Open("db.t", objstore.NewMem(), "wh/db.db/t/", s, table.Env{})
	if err != nil {
		t.Fatal(err)
	}
	commitRandom(t, ctx, tb, rng, 60, "1")
	tagged := readRef(t, ctx, tb, table.Ref{})
	tagSnap, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.CreateTag(ctx, "keep", table.Ref{}); err != nil {
		t.Fatal(err)
	}
	commitRandom(t, ctx, tb, rng, 60, "2")
	br, err := tb.CreateBranch(ctx, "side", table.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	side := readRef(t, ctx, br, table.Ref{})
	for i := 0; i < 3; i++ {
		// Overwrite-heavy commits, then a full compaction, so the tagged
		// snapshot's files are no longer live in main.
		commitRandom(t, ctx, tb, rng, 120, "m"+string(rune('a'+i)))
	}
	if _, err := tb.Compact(ctx, table.CompactOptions{Full: true, User: "c"}); err != nil {
		t.Fatal(err)
	}
	latest := readRef(t, ctx, tb, table.Ref{})
	rep, _, err := ExpireSnapshots(ctx, tb, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Snapshots) == 0 {
		t.Fatal("expiry expired nothing: the test would prove nothing")
	}
	if _, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: tagSnap.ID}); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("snapshot %d should have expired: %v", tagSnap.ID, err)
	}
	sameState(t, "tag after expiry", readRef(t, ctx, tb, table.Ref{Tag: "keep"}), tagged)
	sameState(t, "branch after expiry", readRef(t, ctx, br, table.Ref{}), side)
	last, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var changes []table.Change
	for c, err := range tb.Changes(ctx, tagSnap, last) {
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, c)
	}
	sameState(t, "changes from the tag across expired snapshots", applyChangeList(tagged, changes), latest)
	t.Logf("expired %d snapshots, deleted %d files", len(rep.Snapshots), rep.FilesDeleted)

	if err := tb.DeleteTag(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	if err := tb.DropBranch(ctx, "side"); err != nil {
		t.Fatal(err)
	}
	commitRandom(t, ctx, tb, rng, 10, "z")
	rep2, _, err := ExpireSnapshots(ctx, tb, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.NewScan(ctx, table.ScanOptions{Tag: "keep"}); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("dropped tag: %v", err)
	}
	t.Logf("second expiry (tag and branch gone): %d snapshots, %d files deleted", len(rep2.Snapshots), rep2.FilesDeleted)
}
