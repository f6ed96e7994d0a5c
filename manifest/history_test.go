package manifest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func TestValidateRefName(t *testing.T) {
	for _, ok := range []string{"v1", "release-2026.11", "a", "2026-11-22", "x_y", "7a"} {
		if err := ValidateRefName("tag", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "12", "-a", ".a", "a/b", "../x", "a b", string(make([]byte, 129))} {
		if err := ValidateRefName("tag", bad); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("%q: got %v, want ErrInvalid", bad, err)
		}
	}
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb, _ := newTestTable(t, store)
	if _, err := tb.CreateTag(ctx, "v1", nil, false); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("tag of an empty table: %v", err)
	}
	s1 := mustCommit(t, tb, appendCommit("w", "1", file("data/a", 3)))
	s2 := mustCommit(t, tb, appendCommit("w", "2", file("data/b", 3)))
	if _, err := tb.CreateTag(ctx, "v1", s1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.CreateTag(ctx, "v1", s2, false); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("duplicate tag: %v", err)
	}
	if _, err := tb.CreateTag(ctx, "nightly", s2, true); err != nil {
		t.Fatal(err)
	}
	tags, err := tb.Tags(ctx)
	if err != nil || len(tags) != 2 || tags[0].Name != "nightly" || tags[1].Name != "v1" || !tags[0].Auto {
		t.Fatalf("Tags = %+v, %v", tags, err)
	}
	if !reflect.DeepEqual(tags[1].Snapshot, *s1) {
		t.Fatalf("tag v1 holds %+v, want %+v", tags[1].Snapshot, *s1)
	}
	// The tag outlives its snapshot object, and its files stay listed.
	if err := store.Delete(ctx, tb.key(SnapshotPath(1))); err != nil {
		t.Fatal(err)
	}
	v1, err := tb.Tag(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	files, err := tb.Files(ctx, &v1.Snapshot)
	if err != nil || len(files) != 1 || files[0].Path != "data/a" {
		t.Fatalf("files of tag v1 = %v, %v", paths(files), err)
	}
	// Tagging a snapshot whose object is gone fails and leaves no tag.
	if _, err := tb.CreateTag(ctx, "late", s1, false); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("tag of an expired snapshot: %v", err)
	}
	if _, err := tb.Tag(ctx, "late"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("tag late left behind: %v", err)
	}
	if err := tb.DeleteTag(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := tb.DeleteTag(ctx, "v1"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := tb.Tag(ctx, "../x"); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
}

func TestBranches(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb, _ := newTestTable(t, store)
	s1 := mustCommit(t, tb, appendCommit("w", "1", file("data/a", 3)))
	b, err := tb.CreateBranch(ctx, "dev", s1, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.CreateBranch(ctx, "dev", nil, "", ""); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("duplicate branch: %v", err)
	}
	if _, err := tb.CreateBranch(ctx, "main", nil, "", ""); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("branch main: %v", err)
	}
	// The branch starts at a copy of snapshot 1 and diverges.
	bl, err := b.Latest(ctx)
	if err != nil || bl == nil || bl.ID != 1 || bl.ManifestList != s1.ManifestList {
		t.Fatalf("branch latest = %+v, %v", bl, err)
	}
	bs2 := mustCommit(t, b, appendCommit("w", "b2", file("data/b", 2)))
	ms2 := mustCommit(t, tb, appendCommit("w", "2", file("data/c", 2)))
	if bs2.ID != 2 || ms2.ID != 2 {
		t.Fatalf("ids: branch %d main %d", bs2.ID, ms2.ID)
	}
	bf, _ := b.Files(ctx, bs2)
	mf, _ := tb.Files(ctx, ms2)
	if !reflect.DeepEqual(paths(bf), []string{"data/a", "data/b"}) || !reflect.DeepEqual(paths(mf), []string{"data/a", "data/c"}) {
		t.Fatalf("branch files %v, main files %v", paths(bf), paths(mf))
	}
	// Branch and main see only their own snapshots.
	if got, _ := tb.Latest(ctx); got.ID != 2 || got.CommitIdentifier != "2" {
		t.Fatalf("main latest = %+v", got)
	}
	if found, err := b.FindCommit(ctx, "w", "2"); found != nil || err != nil {
		t.Fatalf("branch found main's commit: %v %v", found, err)
	}
	infos, err := tb.Branches(ctx)
	if err != nil || len(infos) != 1 || infos[0].Name != "dev" || infos[0].From.ID != 1 {
		t.Fatalf("Branches = %+v, %v", infos, err)
	}
	if _, err := tb.OpenBranch(ctx, "nope"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("open unknown branch: %v", err)
	}
	// A creator that crashed after the info object is finished by OpenBranch.
	if _, err := tb.CreateBranch(ctx, "crashed", s1, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, tb.key("branch/crashed/snapshot/snapshot-1")); err != nil {
		t.Fatal(err)
	}
	cb, err := tb.OpenBranch(ctx, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := cb.Latest(ctx); err != nil || l == nil || l.ID != 1 {
		t.Fatalf("repaired branch latest = %+v, %v", l, err)
	}
	if err := tb.DropBranch(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if left, _ := store.List(ctx, tb.key("branch/dev/")); len(left) != 0 {
		t.Fatalf("dropped branch left %v", left)
	}
	if err := tb.DropBranch(ctx, "dev"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("second drop: %v", err)
	}
	if main := b.Main(); main.BranchName() != "" {
		t.Fatal("Main() is not main")
	}
}

func TestReplaceCommit(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	s1 := mustCommit(t, tb, Commit{User: "w", Identifier: "1", Kind: CommitAppend, Added: []DataFile{file("data/a", 3)},
		SeqCount: 3, Properties: map[string]string{"offset": "3"}})
	mustCommit(t, tb, Commit{User: "w", Identifier: "2", Kind: CommitAppend, Added: []DataFile{file("data/b", 5)},
		SeqCount: 5, Properties: map[string]string{"offset": "8"}})
	s3, err := tb.Commit(ctx, Commit{User: "admin", Identifier: "rollback-1", Kind: CommitReplace, Source: s1,
		Properties: map[string]string{"silt.replace.source": "snapshot:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if s3.ID != 3 || s3.ManifestList != s1.ManifestList || s3.TotalRecordCount != s1.TotalRecordCount || s3.NextSequence != 8 {
		t.Fatalf("rollback snapshot = %+v", s3)
	}
	if s3.Properties["offset"] != "3" || s3.Properties["silt.replace.source"] != "snapshot:1" {
		t.Fatalf("rollback properties = %v", s3.Properties)
	}
	files, _ := tb.Files(ctx, s3)
	if !reflect.DeepEqual(paths(files), []string{"data/a"}) {
		t.Fatalf("files after rollback: %v", paths(files))
	}
	// Later writes still sequence after everything ever written.
	s4 := mustCommit(t, tb, appendCommit("w", "3", file("data/c", 1)))
	f4, _ := tb.Files(ctx, s4)
	for _, f := range f4 {
		if f.Path == "data/c" && f.MinSeq != 8 {
			t.Fatalf("write after rollback has seq %d, want 8", f.MinSeq)
		}
	}
	for _, bad := range []Commit{
		{User: "a", Identifier: "x", Kind: CommitReplace},
		{User: "a", Identifier: "x", Kind: CommitAppend, Source: s1},
		{User: "a", Identifier: "x", Kind: CommitReplace, Source: s1, Added: []DataFile{file("data/z", 1)}, SeqCount: 1},
	} {
		if _, err := tb.Commit(ctx, bad); !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	gone := *s1
	gone.ManifestList = "manifest/manifest-list-gone"
	if _, err := tb.Commit(ctx, Commit{User: "a", Identifier: "y", Kind: CommitReplace, Source: &gone}); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("replace with a missing manifest list: %v", err)
	}
}

func TestRetierAndChangelog(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	cl := file("data/changelog-1", 2)
	s1 := mustCommit(t, tb, Commit{User: "w", Identifier: "1", Kind: CommitAppend,
		Added: []DataFile{file("data/a", 3), file("data/b", 3)}, Changelog: []DataFile{cl}, SeqCount: 3})
	got, err := tb.ChangelogFiles(ctx, s1)
	if err != nil || len(got) != 1 || got[0].Path != "data/changelog-1" || got[0].SeqBase != 0 {
		t.Fatalf("changelog = %+v, %v", got, err)
	}
	s2 := mustCommit(t, tb, Commit{User: "c", Identifier: "1", Kind: CommitCompact,
		Retiers: []Retier{{Path: "data/a", FromTier: "", Tier: "cold"}}})
	if s2.ChangelogManifestList != "" {
		t.Fatal("changelog list inherited by the next snapshot")
	}
	files, _ := tb.Files(ctx, s2)
	if len(files) != 2 || files[0].Tier != "cold" || files[1].Tier != "" || s2.TotalRecordCount != s1.TotalRecordCount {
		t.Fatalf("after retier: %+v (total %d)", files, s2.TotalRecordCount)
	}
	if _, err := tb.Commit(ctx, Commit{User: "c", Identifier: "2", Kind: CommitCompact,
		Retiers: []Retier{{Path: "data/a", FromTier: "", Tier: "cold"}}}); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("retier from the wrong tier: %v", err)
	}
	if _, err := tb.Commit(ctx, Commit{User: "c", Identifier: "3", Kind: CommitAppend, SeqCount: 1, Added: []DataFile{file("data/q", 1)},
		Retiers: []Retier{{Path: "data/b", Tier: "cold"}}}); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("retier in an APPEND commit: %v", err)
	}
	r, err := tb.ReachableFrom(ctx, s1.ManifestList, s1.ChangelogManifestList)
	if err != nil || len(r.ManifestLists) != 2 || len(r.DataFiles) != 3 {
		t.Fatalf("reachable from s1 = %+v, %v", r, err)
	}
	r2, err := tb.ReachableFrom(ctx, s2.ManifestList, "")
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[string]string{}
	for _, f := range r2.DataFiles {
		tiers[f.Path] = f.Tier
	}
	if !reflect.DeepEqual(tiers, map[string]string{"data/a": "cold", "data/b": ""}) || len(r2.Manifests) != 2 {
		t.Fatalf("reachable from s2: %v, manifests %v", tiers, r2.Manifests)
	}
}

func TestLeases(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb, clock := newTestTable(t, store)
	s1 := mustCommit(t, tb, appendCommit("w", "1", file("data/a", 3)))
	l, err := tb.AcquireLease(ctx, s1, "", "reader-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if l.Ref != "snapshot/snapshot-1" || l.ManifestList != s1.ManifestList {
		t.Fatalf("lease = %+v", l)
	}
	clock.Advance(30_000)
	if err := tb.RenewLease(ctx, l, time.Minute); err != nil {
		t.Fatal(err)
	}
	leases, err := tb.Leases(ctx)
	if err != nil || len(leases) != 1 || leases[0].ExpiresMillis != l.ExpiresMillis || leases[0].Expired(clock.Now()) {
		t.Fatalf("Leases = %+v, %v", leases, err)
	}
	clock.Advance(61_000)
	if !l.Expired(clock.Now()) {
		t.Fatal("lease did not expire")
	}
	if err := tb.RenewLease(ctx, l, time.Minute); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("renew of an expired lease: %v", err)
	}
	if err := tb.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	// A lease on a snapshot whose object is gone (expired: never the
	// latest) fails and leaves nothing.
	s2 := mustCommit(t, tb, appendCommit("w", "2", file("data/b", 1)))
	if err := store.Delete(ctx, tb.key(SnapshotPath(1))); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.AcquireLease(ctx, s1, "", "reader-2", time.Minute); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("lease on an expired snapshot: %v", err)
	}
	if leases, _ := tb.Leases(ctx); len(leases) != 0 {
		t.Fatalf("leases left: %+v", leases)
	}
	// A lease through a tag checks the tag, and a branch lease its branch's snapshot.
	if _, err := tb.CreateTag(ctx, "keep", s2, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.AcquireLease(ctx, s2, TagPath("keep"), "r", time.Minute); err != nil {
		t.Fatal(err)
	}
	b, err := tb.CreateBranch(ctx, "dev", s2, "", "")
	if err != nil {
		t.Fatal(err)
	}
	bl, err := b.AcquireLease(ctx, s2, "", "r", time.Minute)
	if err != nil || bl.Ref != "branch/dev/snapshot/snapshot-2" {
		t.Fatalf("branch lease = %+v, %v", bl, err)
	}
	// Garbage lease objects are reported, not guessed around.
	if _, err := store.Put(ctx, tb.key(LeasePath("junk")), []byte("junk")); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Leases(ctx); !errors.Is(err, types.ErrCorruption) {
		t.Fatalf("corrupt lease: %v", err)
	}
}

func FuzzDecodeTag(f *testing.F) {
	b, _ := EncodeTag(&Tag{Version: 1, Name: "v1", Snapshot: Snapshot{Version: 1, ID: 3, ParentID: 2, ManifestList: "manifest/manifest-list-x"}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		fuzzDecode(t, KindTag, data, DecodeTag, EncodeTag)
	})
}

func FuzzDecodeBranchInfo(f *testing.F) {
	b, _ := EncodeBranchInfo(&BranchInfo{Version: 1, Name: "dev", From: &Snapshot{Version: 1, ID: 3, ManifestList: "manifest/manifest-list-x"}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		fuzzDecode(t, KindBranch, data, DecodeBranchInfo, EncodeBranchInfo)
	})
}

func FuzzDecodeLease(f *testing.F) {
	b, _ := EncodeLease(&Lease{Version: 1, ID: "x", Ref: "snapshot/snapshot-1", SnapshotID: 1, ManifestList: "manifest/manifest-list-x", ExpiresMillis: 5})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		fuzzDecode(t, KindLease, data, DecodeLease, EncodeLease)
	})
}

func TestSnapshotNotFoundExplains(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb, _ := newTestTable(t, store)
	_, err := tb.Snapshot(ctx, 1)
	var nf *SnapshotNotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, types.ErrNotFound) || nf.Hint() != "(it has no snapshots)" {
		t.Fatalf("empty table: %v", err)
	}
	for i := 1; i <= 4; i++ {
		mustCommit(t, tb, appendCommit("w", fmt.Sprint(i), file(fmt.Sprintf("data/%d", i), 1)))
	}
	if err := store.Delete(ctx, tb.key(SnapshotPath(1))); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]string{1: "(expired: the retained snapshots are 2..4)", 9: "(the latest is 4)"} {
		_, err := tb.Snapshot(ctx, id)
		if !errors.As(err, &nf) || nf.Hint() != want || !strings.Contains(err.Error(), fmt.Sprintf("snapshot %d not found", id)) {
			t.Fatalf("snapshot %d: %v", id, err)
		}
	}
}
