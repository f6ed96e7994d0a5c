package manifest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func TestEmptyTable(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	if s, err := tb.Latest(ctx); s != nil || err != nil {
		t.Fatalf("Latest on empty table = %v, %v", s, err)
	}
	if ss, err := tb.Snapshots(ctx); len(ss) != 0 || err != nil {
		t.Fatalf("Snapshots = %v, %v", ss, err)
	}
	if fs, err := tb.Files(ctx, nil); len(fs) != 0 || err != nil {
		t.Fatalf("Files(nil) = %v, %v", fs, err)
	}
	_, err := tb.Snapshot(ctx, 1)
	if !errors.Is(err, types.ErrNotFound) || !strings.Contains(err.Error(), "snapshot 1 not found") {
		t.Fatalf("Snapshot(1) = %v", err)
	}
	if _, err := tb.SnapshotAsOf(ctx, 1); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("SnapshotAsOf = %v", err)
	}
	if s, err := tb.FindCommit(ctx, "u", "1"); s != nil || err != nil {
		t.Fatalf("FindCommit = %v, %v", s, err)
	}
}

func TestCommitBasics(t *testing.T) {
	ctx := context.Background()
	tb, clock := newTestTable(t, objstore.NewMem())

	a := file("data/bucket-1/a.parquet", 5)
	a.Bucket = 1
	s1 := mustCommit(t, tb, Commit{User: "w", Identifier: "1", Kind: CommitAppend, SchemaID: 3,
		Added: []DataFile{a, file("data/bucket-0/b.parquet", 3)}, SeqCount: 5,
		Properties: map[string]string{"offset": "10", "keep": "x"}})
	clock.Advance(1000)
	s2 := mustCommit(t, tb, Commit{User: "w", Identifier: "2", Kind: CommitAppend, SchemaID: 3,
		Added: []DataFile{file("data/bucket-0/c.parquet", 2)}, SeqCount: 2,
		Properties: map[string]string{"offset": "12"}})
	s3 := mustCommit(t, tb, Commit{User: "v", Identifier: "1", Kind: CommitOverwrite, SchemaID: 4,
		Deleted: []DataFile{{Path: "data/bucket-0/b.parquet"}}, Properties: map[string]string{"keep": ""}})

	want := []struct {
		s                *Snapshot
		id, parent, next int64
		total, delta     int64
		props            map[string]string
		user, ident      string
		kind             CommitKind
		schema, time     int64
	}{
		{s1, 1, 0, 5, 8, 8, map[string]string{"offset": "10", "keep": "x"}, "w", "1", CommitAppend, 3, 1_700_000_000_000},
		{s2, 2, 1, 7, 10, 2, map[string]string{"offset": "12", "keep": "x"}, "w", "2", CommitAppend, 3, 1_700_000_001_000},
		{s3, 3, 2, 7, 7, 0, map[string]string{"offset": "12"}, "v", "1", CommitOverwrite, 4, 1_700_000_001_000},
	}
	for _, w := range want {
		s := w.s
		if s.ID != w.id || s.ParentID != w.parent || s.NextSequence != w.next || s.TotalRecordCount != w.total ||
			s.DeltaRecordCount != w.delta || !reflect.DeepEqual(s.Properties, w.props) || s.CommitUser != w.user ||
			s.CommitIdentifier != w.ident || s.CommitKind != w.kind || s.SchemaID != w.schema || s.TimeMillis != w.time ||
			s.Version != FormatVersion {
			t.Errorf("snapshot %d = %+v, want %+v", w.id, s, w)
		}
		read, err := tb.Snapshot(ctx, w.id)
		if err != nil || !reflect.DeepEqual(read, s) {
			t.Errorf("Snapshot(%d) = %+v, %v; want %+v", w.id, read, err, s)
		}
	}

	files, err := tb.Files(ctx, s3)
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(files); !reflect.DeepEqual(got, []string{"data/bucket-0/c.parquet", "data/bucket-1/a.parquet"}) {
		t.Fatalf("Files(3) = %v", got)
	}
	// c was the second commit: sequence numbers shifted by s1.NextSequence.
	if c := files[0]; c.SeqBase != 5 || c.MinSeq != 5 || c.MaxSeq != 6 {
		t.Errorf("c.parquet sequence = base %d [%d, %d], want base 5 [5, 6]", c.SeqBase, c.MinSeq, c.MaxSeq)
	}
	if a := files[1]; a.SeqBase != 0 || a.MinSeq != 0 || a.MaxSeq != 4 {
		t.Errorf("a.parquet sequence = base %d [%d, %d]", a.SeqBase, a.MinSeq, a.MaxSeq)
	}
	old, err := tb.Files(ctx, s1)
	if err != nil || len(old) != 2 {
		t.Fatalf("Files(1) = %v, %v (time travel must still see b.parquet)", paths(old), err)
	}
	ss, err := tb.Snapshots(ctx)
	if err != nil || len(ss) != 3 || ss[0].ID != 1 || ss[2].ID != 3 {
		t.Fatalf("Snapshots = %v, %v", ss, err)
	}
	// Open with the root spelled with its trailing slash sees the same table.
	if l, err := Open(tb.store, "wh/db.db/t/", Options{}).Latest(ctx); err != nil || l.ID != 3 {
		t.Fatalf("reopen: %v, %v", l, err)
	}
}

func TestLatestHint(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	tb, _ := newTestTable(t, fault)
	for i := 1; i <= 40; i++ {
		mustCommit(t, tb, appendCommit("w", fmt.Sprint(i), file(fmt.Sprintf("data/f%d", i), 1)))
	}
	hint := tb.key(LatestHintPath)
	for _, tc := range []struct {
		name    string
		hint    string // "" deletes it
		maxStat int
	}{
		{"exact", "40", 1},
		{"missing", "", 1},
		{"garbled", "4x0", 1},
		{"zero", "0", 1},
		{"negative", "-3", 1},
		{"leading zero", "040", 1},
		{"stale", "1", 12}, // gallop 2,3,5,9,17,33,65 then bisect
		{"just behind", "39", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.hint == "" {
				_ = mem.Delete(ctx, hint)
			} else if _, err := mem.Put(ctx, hint, []byte(tc.hint)); err != nil {
				t.Fatal(err)
			}
			before := fault.Calls(objstore.OpStat)
			s, err := tb.Latest(ctx)
			if err != nil || s == nil || s.ID != 40 {
				t.Fatalf("Latest = %v, %v; want 40", s, err)
			}
			if n := fault.Calls(objstore.OpStat) - before; n > tc.maxStat {
				t.Errorf("Latest used %d Stat calls, want <= %d", n, tc.maxStat)
			}
		})
	}
	// A hint ahead of every snapshot proves that the snapshot it names was
	// published and is lost: Latest says so instead of moving backwards.
	if _, err := mem.Put(ctx, hint, []byte("999")); err != nil {
		t.Fatal(err)
	}
	var miss *SnapshotMissingError
	if s, err := tb.Latest(ctx); !errors.As(err, &miss) || !errors.Is(err, types.ErrCorruption) || miss.ID != 999 || miss.Present != 40 || miss.Next != 1000 {
		t.Fatalf("Latest with a hint ahead = %v, %v; want snapshot 999 missing", s, err)
	}
	if _, err := mem.Put(ctx, hint, []byte("40")); err != nil {
		t.Fatal(err)
	}
	// Latest never caches: a commit through another handle is seen at once.
	other := Open(mem, "wh/db.db/t/", testOptions(newTestClock(0).Now))
	mustCommit(t, other, appendCommit("x", "1", file("data/x", 1)))
	if s, err := tb.Latest(ctx); err != nil || s.ID != 41 {
		t.Fatalf("Latest after foreign commit = %v, %v", s, err)
	}
}

func TestCommitIdempotent(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	s1 := mustCommit(t, tb, appendCommit("w", "a", file("data/1", 1)))
	again := mustCommit(t, tb, appendCommit("w", "a", file("data/1", 1)))
	if !reflect.DeepEqual(again, s1) {
		t.Fatalf("retried commit = %+v, want the published %+v", again, s1)
	}
	mustCommit(t, tb, appendCommit("other", "a", file("data/2", 1))) // same identifier, other user
	if s, err := tb.FindCommit(ctx, "w", "a"); err != nil || s == nil || s.ID != 1 {
		t.Fatalf("FindCommit(w, a) = %v, %v", s, err)
	}
	if s, err := tb.FindCommit(ctx, "w", "b"); err != nil || s != nil {
		t.Fatalf("FindCommit(w, b) = %v, %v", s, err)
	}
	// Still recognised behind another user's commit.
	again = mustCommit(t, tb, appendCommit("w", "a", file("data/1", 1)))
	if again.ID != 1 {
		t.Fatalf("retry behind another commit got snapshot %d", again.ID)
	}
	mustCommit(t, tb, appendCommit("w", "b", file("data/3", 1)))
	if l, _ := tb.Latest(ctx); l.ID != 3 {
		t.Fatalf("latest = %d, want 3", l.ID)
	}
}

func TestCompactionConflict(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	mustCommit(t, tb, appendCommit("w", "1", file("data/a", 3), file("data/b", 2)))
	mustCommit(t, tb, appendCommit("w", "2", file("data/c", 4)))
	live, _ := tb.Files(ctx, mustLatest(t, tb))

	out := DataFile{Path: "data/ab", Level: 1, RowCount: 5, MinSeq: 0, MaxSeq: 2}
	c1 := Commit{User: "compactor-1", Identifier: "1", Kind: CommitCompact, Added: []DataFile{out}, Deleted: live[:2]}
	s := mustCommit(t, tb, c1)
	if s.NextSequence != 7 || s.TotalRecordCount != 9 || s.DeltaRecordCount != 5 {
		t.Errorf("compaction snapshot = %+v", s)
	}
	files, _ := tb.Files(ctx, s)
	if got := paths(files); !reflect.DeepEqual(got, []string{"data/c", "data/ab"}) {
		t.Errorf("after compaction: %v", got)
	}
	if files[1].MinSeq != 0 || files[1].MaxSeq != 2 || files[1].SeqBase != 0 {
		t.Errorf("compaction output sequence numbers were changed: %+v", files[1])
	}

	c2 := Commit{User: "compactor-2", Identifier: "1", Kind: CommitCompact,
		Added: []DataFile{{Path: "data/ab2", RowCount: 5, MaxSeq: 2}}, Deleted: live[:1]}
	_, err := tb.Commit(ctx, c2)
	if !errors.Is(err, types.ErrConflict) || !strings.Contains(err.Error(), "data/a is not live") {
		t.Fatalf("second compaction of data/a: %v, want ErrConflict", err)
	}
	if l := mustLatest(t, tb); l.ID != 3 {
		t.Fatalf("conflicting compaction changed the table: latest %d", l.ID)
	}

	bad := Commit{User: "compactor-3", Identifier: "1", Kind: CommitCompact,
		Added: []DataFile{{Path: "data/x", RowCount: 1, MinSeq: 3, MaxSeq: 7}}, Deleted: files[:1]}
	if _, err := tb.Commit(ctx, bad); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("compaction output with future sequence numbers: %v, want ErrInvalid", err)
	}
}

func mustLatest(t *testing.T, tb *Table) *Snapshot {
	t.Helper()
	s, err := tb.Latest(context.Background())
	if err != nil || s == nil {
		t.Fatalf("Latest = %v, %v", s, err)
	}
	return s
}

func TestCheckAborts(t *testing.T) {
	ctx := context.Background()
	tb, _ := newTestTable(t, objstore.NewMem())
	errFenced := fmt.Errorf("%w: offsets moved", types.ErrFenced)
	var seen []*Snapshot
	c := appendCommit("w", "1", file("data/1", 1))
	c.Check = func(p *Snapshot) error { seen = append(seen, p); return nil }
	mustCommit(t, tb, c)
	if len(seen) != 1 || seen[0] != nil {
		t.Fatalf("Check saw %v, want one nil parent", seen)
	}
	c = appendCommit("w", "2", file("data/2", 1))
	c.Check = func(p *Snapshot) error {
		if p == nil || p.ID != 1 {
			t.Errorf("Check parent = %v", p)
		}
		return errFenced
	}
	if _, err := tb.Commit(ctx, c); err != errFenced {
		t.Fatalf("Commit = %v, want the Check error unchanged", err)
	}
	if l := mustLatest(t, tb); l.ID != 1 {
		t.Fatalf("aborted commit published snapshot %d", l.ID)
	}
}

func TestMergeManifests(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(newTestClock(0).Now)
	opts.MaxManifests = 3
	tb := Open(objstore.NewMem(), "t/", opts)
	var want []string
	for i := 1; i <= 20; i++ {
		c := appendCommit("w", fmt.Sprint(i), file(fmt.Sprintf("data/f%02d", i), 2))
		if i%4 == 0 { // drop the oldest live file now and then
			c.Deleted = []DataFile{{Path: want[0]}}
			want = want[1:]
		}
		want = append(want, c.Added[0].Path)
		s := mustCommit(t, tb, c)
		metas, err := tb.ReadManifestList(ctx, s.ManifestList)
		if err != nil {
			t.Fatal(err)
		}
		if len(metas) > 3 {
			t.Fatalf("snapshot %d has %d manifests, MaxManifests is 3", s.ID, len(metas))
		}
		files, err := tb.Files(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := paths(files); !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot %d: files %v, want %v", s.ID, got, want)
		}
		if s.TotalRecordCount != int64(2*len(want)) {
			t.Fatalf("snapshot %d: total %d, want %d", s.ID, s.TotalRecordCount, 2*len(want))
		}
	}
	// A property-only commit adds no manifest.
	l := mustLatest(t, tb)
	before, _ := tb.ReadManifestList(ctx, l.ManifestList)
	s := mustCommit(t, tb, Commit{User: "w", Identifier: "props", Kind: CommitAppend, Properties: map[string]string{"k": "v"}})
	after, _ := tb.ReadManifestList(ctx, s.ManifestList)
	if !reflect.DeepEqual(before, after) || s.ManifestList == l.ManifestList {
		t.Fatalf("property-only commit: manifests %v -> %v, list %s -> %s", before, after, l.ManifestList, s.ManifestList)
	}
}

func TestCommitValidation(t *testing.T) {
	tb, _ := newTestTable(t, objstore.NewMem())
	ok := appendCommit("w", "1", file("data/1", 2))
	for name, mut := range map[string]func(*Commit){
		"no user":          func(c *Commit) { c.User = "" },
		"no identifier":    func(c *Commit) { c.Identifier = "" },
		"bad kind":         func(c *Commit) { c.Kind = "MERGE" },
		"escaping path":    func(c *Commit) { c.Added[0].Path = "../x" },
		"absolute path":    func(c *Commit) { c.Added[0].Path = "/data/x" },
		"added twice":      func(c *Commit) { c.Added = append(c.Added, c.Added[0]) },
		"seq beyond count": func(c *Commit) { c.SeqCount = 1 },
		"seq base set":     func(c *Commit) { c.Added[0].SeqBase = 3 },
		"negative rows":    func(c *Commit) { c.Added[0].RowCount = -1 },
		"add and delete":   func(c *Commit) { c.Deleted = []DataFile{{Path: "data/1"}} },
		"compact with seq": func(c *Commit) { c.Kind = CommitCompact },
	} {
		c := ok
		c.Added = append([]DataFile(nil), ok.Added...)
		mut(&c)
		if _, err := tb.Commit(context.Background(), c); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	mustCommit(t, tb, ok)
	// Adding a path that is already live is caught when live files are loaded.
	c := appendCommit("w", "2", file("data/1", 1))
	c.Deleted = []DataFile{{Path: "data/1x"}}
	mustCommit(t, tb, appendCommit("w", "1b", file("data/1x", 1)))
	if _, err := tb.Commit(context.Background(), c); !errors.Is(err, types.ErrInvalid) {
		t.Errorf("re-adding a live file: %v, want ErrInvalid", err)
	}
}

func TestAmbiguousSnapshotPut(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	tb, _ := newTestTable(t, fault)
	mustCommit(t, tb, appendCommit("w", "0", file("data/0", 1)))

	// Applied, then reported as a timeout: resolved by reading back.
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", ApplyThenFail: true, Times: 1})
	s := mustCommit(t, tb, appendCommit("w", "1", file("data/1", 1)))
	if s.ID != 2 {
		t.Fatalf("got snapshot %d, want 2", s.ID)
	}
	// Failed without applying: retried.
	fault.Clear()
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", Err: objstore.ErrInjected, Times: 2})
	if s = mustCommit(t, tb, appendCommit("w", "2", file("data/2", 1))); s.ID != 3 {
		t.Fatalf("got snapshot %d, want 3", s.ID)
	}
	// Applied, and the read-back fails too: outcome unknown.
	fault.Clear()
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/snapshot-", ApplyThenFail: true, Times: 1})
	fault.Add(objstore.Rule{Op: objstore.OpGet, KeyContains: "snapshot/snapshot-4", Err: objstore.ErrInjected, Times: 1})
	c := appendCommit("w", "3", file("data/3", 1))
	_, err := tb.Commit(ctx, c)
	if !errors.Is(err, objstore.ErrAmbiguous) {
		t.Fatalf("Commit = %v, want ErrAmbiguous", err)
	}
	fault.Clear()
	s = mustCommit(t, tb, c) // the caller's retry
	if s.ID != 4 {
		t.Fatalf("retry got snapshot %d, want the applied 4", s.ID)
	}
	if l := mustLatest(t, tb); l.ID != 4 {
		t.Fatalf("commit applied twice: latest %d", l.ID)
	}
	// A cancelled context ends the loop without retrying.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tb.Commit(cctx, appendCommit("w", "4", file("data/4", 1))); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled commit: %v", err)
	}
}

func TestCommitGivesUp(t *testing.T) {
	mem := objstore.NewMem()
	fault := objstore.NewFault(mem)
	opts := testOptions(newTestClock(0).Now)
	opts.MaxAttempts = 5
	tb := Open(fault, "t", opts)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/", Err: objstore.ErrPreconditionFailed})
	_, err := tb.Commit(context.Background(), appendCommit("w", "1", file("data/1", 1)))
	if !errors.Is(err, types.ErrConflict) || !strings.Contains(err.Error(), "5 attempts") {
		t.Fatalf("always losing: %v, want ErrConflict after 5 attempts", err)
	}
	fault.Clear()
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "manifest/", Err: objstore.ErrInjected})
	_, err = tb.Commit(context.Background(), appendCommit("w", "1", file("data/1", 1)))
	if !errors.Is(err, objstore.ErrInjected) || errors.Is(err, types.ErrConflict) {
		t.Fatalf("manifest writes failing: %v", err)
	}
	// A manifest and its list are put at once, so each failed attempt
	// puts both.
	if n := fault.Calls(objstore.OpPutIfAbsent); n != 5*3+5*2 {
		t.Errorf("%d conditional puts, want 5 attempts * 3 objects + 5 failed manifest and manifest-list puts", n)
	}
	if s, _ := tb.Latest(context.Background()); s != nil {
		t.Fatalf("failed commits published %v", s)
	}
}

func TestCorruptObjects(t *testing.T) {
	ctx := context.Background()
	mem := objstore.NewMem()
	tb, _ := newTestTable(t, mem)
	s1 := mustCommit(t, tb, appendCommit("w", "1", file("data/1", 1)))
	s2 := mustCommit(t, tb, appendCommit("w", "2", file("data/2", 1)))

	b, _, _ := mem.Get(ctx, tb.key(SnapshotPath(1)))
	_, _ = mem.Put(ctx, tb.key(SnapshotPath(3)), b) // snapshot 1 copied to id 3
	if _, err := tb.Snapshot(ctx, 3); !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "holds id 1") {
		t.Errorf("misplaced snapshot: %v", err)
	}
	_ = mem.Delete(ctx, tb.key(SnapshotPath(3)))

	b, _, _ = mem.Get(ctx, tb.key(s2.ManifestList))
	_, _ = mem.Put(ctx, tb.key(s2.ManifestList), b[:len(b)-5])
	if _, err := tb.Files(ctx, s2); !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "manifest-list") {
		t.Errorf("torn manifest list: %v", err)
	}
	metas, err := tb.ReadManifestList(ctx, s1.ManifestList)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ = mem.Get(ctx, tb.key(metas[0].Path))
	b[len(b)/2] ^= 0x10
	_, _ = mem.Put(ctx, tb.key(metas[0].Path), b)
	if _, err := tb.Files(ctx, s1); !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("flipped bit in manifest: %v", err)
	}
	// A commit on a table whose latest metadata is damaged fails clearly
	// instead of publishing on top of it.
	c := appendCommit("w", "3", file("data/3", 1))
	c.Deleted = []DataFile{{Path: "data/1"}}
	if _, err := tb.Commit(ctx, c); !errors.Is(err, types.ErrCorruption) {
		t.Errorf("commit on damaged table: %v", err)
	}
}

func TestCommitErrorClasses(t *testing.T) {
	ctx := context.Background()
	errDenied := errors.New("access denied")
	for _, tc := range []struct {
		name      string
		rule      objstore.Rule
		attempts  int  // snapshot puts expected (0: none)
		ambiguous bool // the error must wrap ErrAmbiguous
	}{
		{"permanent manifest error stops at once", objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "manifest/", Err: errDenied}, 0, false},
		{"store gave up: no second layer of retries", objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "manifest/",
			Err: fmt.Errorf("%w: %w", objstore.ErrGaveUp, objstore.ErrInjected)}, 0, false},
		{"transient snapshot put failures are retried, then ambiguous", objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/", Err: objstore.ErrInjected}, 4, true},
		{"permanent snapshot put error after read-back", objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/", Err: errDenied}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fault := objstore.NewFault(objstore.NewMem())
			opts := testOptions(newTestClock(0).Now)
			opts.MaxAttempts = 4
			tb := Open(fault, "t", opts)
			fault.Add(tc.rule)
			_, err := tb.Commit(ctx, appendCommit("w", "1", file("data/1", 1)))
			if err == nil || !errors.Is(err, tc.rule.Err) {
				t.Fatalf("Commit = %v, want it to wrap %v", err, tc.rule.Err)
			}
			if errors.Is(err, objstore.ErrAmbiguous) != tc.ambiguous {
				t.Fatalf("Commit = %v: wraps ErrAmbiguous %v, want %v", err, !tc.ambiguous, tc.ambiguous)
			}
			if l, err := tb.Latest(ctx); l != nil || err != nil {
				t.Fatalf("failed commit published %v (%v)", l, err)
			}
			puts := fault.Calls(objstore.OpPutIfAbsent) / 3 // manifest, list, snapshot per attempt
			if tc.attempts == 0 && fault.Calls(objstore.OpPutIfAbsent) != 2 {
				t.Fatalf("%d conditional puts, want the failing manifest and manifest-list puts (put at once)", fault.Calls(objstore.OpPutIfAbsent))
			}
			if tc.attempts > 0 && puts != tc.attempts {
				t.Fatalf("%d attempts, want %d", puts, tc.attempts)
			}
			fault.Clear()
			if s := mustCommit(t, tb, appendCommit("w", "1", file("data/1", 1))); s.ID != 1 {
				t.Fatalf("retry published snapshot %d", s.ID)
			}
		})
	}
}
