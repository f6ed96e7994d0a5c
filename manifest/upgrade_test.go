package manifest

import (
	"context"
	"errors"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestUpgrade: a COMPACT commit moves a file to another level without
// rewriting it. The new snapshot lists the file once at the new level with
// everything else unchanged, older snapshots still list it at the old level,
// and record counts do not change.
func TestUpgrade(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	s1 := mustCommit(t, tb, appendCommit("w", "1", file("data/a", 3), file("data/b", 2)))
	live, err := tb.Files(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	out := DataFile{Path: "data/c", Level: 3, RowCount: 2, MinSeq: 0, MaxSeq: 1}
	s2 := mustCommit(t, tb, Commit{User: "c", Identifier: "1", Kind: CommitCompact,
		Added: []DataFile{out}, Deleted: live[1:2], Upgrades: []Upgrade{{Path: "data/a", FromLevel: 0, Level: 3}}})
	if s2.TotalRecordCount != s1.TotalRecordCount || s2.DeltaRecordCount != 2 || s2.NextSequence != s1.NextSequence {
		t.Errorf("upgrade snapshot counts: %+v (parent %+v)", s2, s1)
	}
	files, err := tb.Files(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != "data/a" || files[0].Level != 3 || files[1].Path != "data/c" {
		t.Fatalf("after upgrade: %+v", files)
	}
	want := live[0]
	want.Level = 3
	if got := files[0]; got.Size != want.Size || got.SeqBase != want.SeqBase || got.MinSeq != want.MinSeq ||
		got.MaxSeq != want.MaxSeq || got.RowCount != want.RowCount || string(got.MaxKey) != string(want.MaxKey) {
		t.Errorf("upgraded file changed beyond its level: %+v, want %+v", got, want)
	}
	// The older snapshot is unchanged.
	old, err := tb.Files(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != 2 || old[0].Level != 0 || old[1].Level != 0 {
		t.Errorf("snapshot 1 changed: %+v", old)
	}
	// The delta manifest holds DELETE then ADD of the upgraded path, which
	// strict replay of format version 1 applies.
	metas, err := tb.ReadManifestList(ctx, s2.ManifestList)
	if err != nil {
		t.Fatal(err)
	}
	delta, err := tb.ReadManifest(ctx, metas[len(metas)-1].Path)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range delta {
		k := "ADD"
		if e.Kind == Delete {
			k = "DELETE"
		}
		kinds = append(kinds, k+" "+e.File.Path)
	}
	if got := kinds; len(got) != 4 || got[0] != "ADD data/c" || got[1] != "DELETE data/b" || got[2] != "DELETE data/a" || got[3] != "ADD data/a" {
		t.Errorf("delta entries: %v", got)
	}

	// Merging manifests keeps the upgraded level.
	tb2 := Open(tb.store, tb.root, func() Options { o := testOptions(nil); o.MaxManifests = 1; return o }())
	s3 := mustCommit(t, tb2, appendCommit("w", "2", file("data/d", 1)))
	files, err = tb2.Files(ctx, s3)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[0].Path != "data/d" || files[1].Path != "data/a" || files[1].Level != 3 {
		t.Errorf("after a merged manifest: %+v", files)
	}
}

// TestUpgradeConflicts: an upgrade or a compaction delete of a file that a
// concurrent compaction removed or moved aborts with ErrConflict and
// publishes nothing; malformed upgrades are ErrInvalid.
func TestUpgradeConflicts(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	s1 := mustCommit(t, tb, appendCommit("w", "1", file("data/a", 3), file("data/b", 2)))
	live, _ := tb.Files(ctx, s1)
	mustCommit(t, tb, Commit{User: "c1", Identifier: "1", Kind: CommitCompact, Upgrades: []Upgrade{{Path: "data/a", FromLevel: 0, Level: 2}}})

	conflicts := map[string]Commit{
		"upgrade from a stale level": {Upgrades: []Upgrade{{Path: "data/a", FromLevel: 0, Level: 5}}},
		"upgrade of a dead file":     {Upgrades: []Upgrade{{Path: "data/zz", FromLevel: 0, Level: 5}}},
		"delete at a stale level":    {Deleted: live[:1], Added: []DataFile{{Path: "data/out", RowCount: 3, MaxSeq: 2}}},
	}
	for name, c := range conflicts {
		c.User, c.Identifier, c.Kind = "c2", name, CommitCompact
		if _, err := tb.Commit(ctx, c); !errors.Is(err, types.ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
	}
	if l := mustLatest(t, tb); l.ID != 2 {
		t.Fatalf("conflicting commits changed the table: latest %d", l.ID)
	}

	invalid := map[string]Commit{
		"upgrade in an append":      {Kind: CommitAppend, Upgrades: []Upgrade{{Path: "data/b", FromLevel: 0, Level: 1}}},
		"upgrade to the same level": {Kind: CommitCompact, Upgrades: []Upgrade{{Path: "data/b", FromLevel: 0, Level: 0}}},
		"negative level":            {Kind: CommitCompact, Upgrades: []Upgrade{{Path: "data/b", FromLevel: 0, Level: -1}}},
		"upgrade and delete":        {Kind: CommitCompact, Deleted: live[1:], Upgrades: []Upgrade{{Path: "data/b", FromLevel: 0, Level: 1}}},
		"upgraded twice": {Kind: CommitCompact, Upgrades: []Upgrade{
			{Path: "data/b", FromLevel: 0, Level: 1}, {Path: "data/b", FromLevel: 0, Level: 2}}},
		"escaping path": {Kind: CommitCompact, Upgrades: []Upgrade{{Path: "../b", FromLevel: 0, Level: 1}}},
	}
	for name, c := range invalid {
		c.User, c.Identifier = "c3", name
		if _, err := tb.Commit(ctx, c); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
