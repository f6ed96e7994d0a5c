package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// rebuildSource writes a random history into db.src: commits of mixed row
// kinds, with a full compaction in between. It returns the table and the
// number of snapshots.
func rebuildSource(t *testing.T, rng *rand.Rand, store objstore.Store, producer string) *Table {
	return rebuildSourceN(t, rng, store, producer, 8)
}

func rebuildSourceN(t *testing.T, rng *rand.Rand, store objstore.Store, producer string, commits int) *Table {
	t.Helper()
	ctx := context.Background()
	s := modelSchema("deduplicate", 2, true)
	s.Options[OptChangelogProducer] = producer
	s.Options[OptCompactionTrigger] = "50" // a fixed history: no background compactions
	src, err := Open("db.src", store, "wh/db.db/src/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := src.NewWriter("w")
	t.Cleanup(func() { _ = w.Close(ctx) })
	for c := 1; c <= commits; c++ {
		for i := rng.IntN(60); i >= 0; i-- {
			kind := []types.RowKind{types.Insert, types.Insert, types.UpdateAfter, types.Delete, types.UpdateBefore}[rng.IntN(5)]
			mustWrite(t, w, kind, randRow(rng, 30))
		}
		if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
			t.Fatal(err)
		}
		if c == 4 {
			if _, err := src.Compact(ctx, CompactOptions{Full: true, User: "compactor"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return src
}

// lastChangingSnapshot is the id of the last snapshot of src whose commit
// changed at least one row (0: none).
func lastChangingSnapshot(t *testing.T, src *Table) int64 {
	t.Helper()
	ctx := context.Background()
	snaps, err := src.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	var prev *manifest.Snapshot
	for _, s := range snaps {
		for _, err := range src.Changes(ctx, prev, s) {
			if err != nil {
				t.Fatal(err)
			}
			last = s.ID
			break
		}
		prev = s
	}
	return last
}

// changingSnapshots counts the snapshots of src whose commit changed at
// least one row (a rebuild commits exactly those).
func changingSnapshots(t *testing.T, src *Table) int {
	t.Helper()
	ctx := context.Background()
	snaps, err := src.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var prev *manifest.Snapshot
	for _, s := range snaps {
		for _, err := range src.Changes(ctx, prev, s) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			break
		}
		prev = s
	}
	return n
}

// rebuildTarget opens a target table for src under root with extra options.
func rebuildTarget(t *testing.T, store objstore.Store, src *Table, name string, opts map[string]string) *Table {
	t.Helper()
	s := *src.Schema()
	s.Options = map[string]string{}
	for k, v := range src.Schema().Options {
		s.Options[k] = v
	}
	for k, v := range opts {
		s.Options[k] = v
	}
	s.Options[OptRebuildSource] = src.Name()
	dst, err := Open("db."+name, store, "wh/db.db/"+name+"/", &s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// rebuildCommits maps source snapshot ids to the target snapshots that
// replayed them, failing if one was applied twice.
func rebuildCommits(t *testing.T, dst *Table, source string) map[int64]*manifest.Snapshot {
	t.Helper()
	snaps, err := dst.Meta().Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]*manifest.Snapshot{}
	for _, s := range snaps {
		if s.CommitUser != RebuildUser(source) {
			continue
		}
		var id int64
		if _, err := fmt.Sscanf(s.CommitIdentifier, "src-snapshot-%d", &id); err != nil {
			t.Fatalf("target snapshot %d: identifier %q", s.ID, s.CommitIdentifier)
		}
		if prev, dup := out[id]; dup {
			t.Fatalf("source snapshot %d applied twice: target snapshots %d and %d", id, prev.ID, s.ID)
		}
		if s.Properties[PropRebuildSnapshot] != fmt.Sprint(id) || s.Properties[PropRebuildSource] != source {
			t.Fatalf("target snapshot %d: properties %v", s.ID, s.Properties)
		}
		out[id] = s
	}
	return out
}

// changeLog renders the target's changes at each replayed source snapshot.
func changeLog(t *testing.T, dst *Table, commits map[int64]*manifest.Snapshot) string {
	t.Helper()
	ids := make([]int64, 0, len(commits))
	for id := range commits {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var b strings.Builder
	var prev *manifest.Snapshot
	for _, id := range ids {
		fmt.Fprintf(&b, "source %d:", id)
		for _, c := range collectChanges(t, context.Background(), dst, prev, commits[id]) {
			fmt.Fprintf(&b, " %s%v", c.Kind, c.Row)
		}
		b.WriteString("\n")
		prev = commits[id]
	}
	return b.String()
}

// checkReplayed checks that the target's state at each replayed source
// snapshot equals the source's state there.
func checkReplayed(t *testing.T, src, dst *Table, commits map[int64]*manifest.Snapshot) {
	t.Helper()
	ctx := context.Background()
	for id, s := range commits {
		if d := diffStates(readAll(t, ctx, dst, s.ID), readAll(t, ctx, src, id)); d != "" {
			t.Fatalf("target snapshot %d (source %d) differs from the source:\n%s", s.ID, id, d)
		}
	}
}

// TestRebuildDeterministic rebuilds the same source twice into two targets
// (one with the lookup changelog producer): both get the source's content
// at every replayed snapshot, and identical changes snapshot by snapshot.
func TestRebuildDeterministic(t *testing.T) {
	seed := testSeed(t)
	for _, producer := range []string{ProducerNone, ProducerLookup} {
		t.Run("source="+producer, func(t *testing.T) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(seed, uint64(len(producer))))
			store := objstore.NewMem()
			src := rebuildSource(t, rng, store, producer)
			var logs []string
			for i, opts := range []map[string]string{
				{OptChangelogProducer: ProducerLookup},
				// Small flushes and eager inline compaction: other files and
				// COMPACT snapshots in between, the same content and changes.
				{OptChangelogProducer: ProducerLookup, OptWriteBufferSize: "1kb", OptCompactionTrigger: "2"},
			} {
				dst := rebuildTarget(t, store, src, fmt.Sprint("dst", i), opts)
				var events []RebuildProgress
				rep, err := Rebuild(ctx, src, dst, RebuildOptions{Progress: func(p RebuildProgress) { events = append(events, p) }})
				if err != nil {
					t.Fatal(err)
				}
				latest, _ := src.Latest(ctx)
				if rep.To != latest.ID || rep.Snapshots != int(latest.ID) || len(events) != int(latest.ID) || rep.FullRead {
					t.Fatalf("report %+v, %d events, source latest %d", rep, len(events), latest.ID)
				}
				if last := events[len(events)-1]; last.Done != last.Total || last.Rows != rep.Rows {
					t.Fatalf("last progress event %+v, report %+v", last, rep)
				}
				commits := rebuildCommits(t, dst, src.Name())
				if want := changingSnapshots(t, src); rep.Commits != len(commits) || len(commits) != want {
					t.Fatalf("%d commits reported, %d found, want one per source snapshot that changed rows (%d)", rep.Commits, len(commits), want)
				}
				checkReplayed(t, src, dst, commits)
				logs = append(logs, changeLog(t, dst, commits))
				// A second run has nothing left to do: it commits nothing and
				// looks only at the source snapshots after the last one that
				// changed rows (no target commit records those as done).
				rep, err = Rebuild(ctx, src, dst, RebuildOptions{})
				if err != nil || rep.Commits != 0 || rep.Rows != 0 || int64(rep.Snapshots) != latest.ID-lastChangingSnapshot(t, src) {
					t.Fatalf("rerun: %+v %v (source latest %d, last changing %d)", rep, err, latest.ID, lastChangingSnapshot(t, src))
				}
			}
			if logs[0] != logs[1] {
				t.Fatalf("two rebuilds gave different changes:\n%s\nvs\n%s", logs[0], logs[1])
			}
		})
	}
}

type crashed struct{}

// TestRebuildResume interrupts rebuilds at several points (a crash before
// a target snapshot put, a crash right after one, a put that succeeded but
// reported failure, a cancelled context) and reruns them: each ends with
// the source's content and no source snapshot applied twice.
func TestRebuildResume(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	mem := objstore.NewMem()
	src := rebuildSource(t, rand.New(rand.NewPCG(seed, 1)), mem, ProducerNone)
	// No inline compaction: its background commits would hit the crash
	// rules outside the rebuild's goroutine.
	quiet := map[string]string{OptCompactionTrigger: "50"}
	for i, tc := range []struct {
		name string
		rule *objstore.Rule
	}{
		{"crash before snapshot put", &objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "/snapshot/snapshot-3", Times: 1, Crash: func() { panic(crashed{}) }}},
		{"crash after snapshot put", &objstore.Rule{Op: objstore.OpPut, KeyContains: "/snapshot/LATEST", Nth: 4, Times: 1, Crash: func() { panic(crashed{}) }}},
		{"put applied but failed", &objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "/snapshot/snapshot-2", Times: 1, ApplyThenFail: true}},
		{"cancel", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fault := objstore.NewFault(mem)
			dst := rebuildTarget(t, fault, src, fmt.Sprint("r", i), quiet)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var o RebuildOptions
			if tc.rule != nil {
				fault.Add(*tc.rule)
			} else {
				o.Progress = func(p RebuildProgress) {
					if p.Done == 3 {
						cancel()
					}
				}
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(crashed); !ok {
							panic(r)
						}
					}
				}()
				_, err := Rebuild(cctx, src, dst, o)
				if tc.rule == nil && !errors.Is(err, context.Canceled) {
					t.Errorf("cancelled rebuild: %v", err)
				}
			}()
			// Restart with a fresh table handle.
			dst = rebuildTarget(t, fault, src, fmt.Sprint("r", i), quiet)
			rep, err := Rebuild(ctx, src, dst, RebuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.rule == nil && rep.From == 0 {
				t.Errorf("the rerun started from scratch: %+v", rep)
			}
			commits := rebuildCommits(t, dst, src.Name())
			checkReplayed(t, src, dst, commits)
			latest, _ := src.Latest(ctx)
			got, _ := dst.Latest(ctx)
			if d := diffStates(readAll(t, ctx, dst, got.ID), readAll(t, ctx, src, latest.ID)); d != "" {
				t.Fatalf("after resume the target differs from the source:\n%s", d)
			}
		})
	}
}

// TestRebuildAsOfAndExpired: --as-of stops early and a later run continues;
// a fresh rebuild of a source whose first snapshots expired starts with a
// full read; bad targets are refused.
func TestRebuildAsOfAndExpired(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	mem := objstore.NewMem()
	src := rebuildSource(t, rand.New(rand.NewPCG(seed, 2)), mem, ProducerLookup)
	latest, _ := src.Latest(ctx)

	dst := rebuildTarget(t, mem, src, "asof", nil)
	s3, _ := src.Meta().Snapshot(ctx, 3)
	if rep, err := Rebuild(ctx, src, dst, RebuildOptions{To: s3}); err != nil || rep.To != 3 {
		t.Fatalf("as of 3: %+v %v", rep, err)
	}
	if rep, err := Rebuild(ctx, src, dst, RebuildOptions{}); err != nil || rep.From != 3 || rep.To != latest.ID {
		t.Fatalf("continue: %+v %v", rep, err)
	}
	checkReplayed(t, src, dst, rebuildCommits(t, dst, src.Name()))
	if _, err := Rebuild(ctx, src, dst, RebuildOptions{To: s3}); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("rebuilding back to 3: %v, want ErrConflict", err)
	}

	// Expire snapshots 1 and 2 of the source (their snapshot objects).
	for _, id := range []int64{1, 2} {
		if err := mem.Delete(ctx, "wh/db.db/src/"+manifest.SnapshotPath(id)); err != nil {
			t.Fatal(err)
		}
	}
	full := rebuildTarget(t, mem, src, "full", nil)
	rep, err := Rebuild(ctx, src, full, RebuildOptions{})
	if err != nil || !rep.FullRead || rep.Snapshots != int(latest.ID-2) {
		t.Fatalf("rebuild of an expired history: %+v %v", rep, err)
	}
	commits := rebuildCommits(t, full, src.Name())
	if _, ok := commits[3]; !ok {
		t.Fatalf("no target snapshot for the full read of source snapshot 3: %v", commits)
	}
	checkReplayed(t, src, full, commits)

	// Targets that are not rebuilds of src are refused.
	plain, err := Open("db.plain", mem, "wh/db.db/plain/", src.Schema(), Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Rebuild(ctx, src, plain, RebuildOptions{}); !errors.Is(err, types.ErrConflict) || !strings.Contains(err.Error(), OptRebuildSource) {
		t.Fatalf("plain target: %v", err)
	}
	other := rebuildTarget(t, mem, plain, "other", nil)
	if _, err := Rebuild(ctx, src, other, RebuildOptions{}); !errors.Is(err, types.ErrConflict) || !strings.Contains(err.Error(), "db.plain") {
		t.Fatalf("target of another source: %v", err)
	}
	narrow := rebuildTarget(t, mem, src, "narrow", nil)
	ns := *narrow.Schema()
	ns.Fields = ns.Fields[:len(ns.Fields)-1]
	ns.HighestFieldID--
	if narrow, err = Open("db.narrow", mem, "wh/db.db/narrow/", &ns, Env{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Rebuild(ctx, src, narrow, RebuildOptions{}); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "columns") {
		t.Fatalf("target with other columns: %v", err)
	}
}

// TestRebuildS3 rebuilds on S3 (MinIO), interrupted once by a cancelled
// context and resumed.
func TestRebuildS3(t *testing.T) {
	store := s3test.NewStore(t)
	seed := testSeed(t)
	ctx := context.Background()
	src := rebuildSourceN(t, rand.New(rand.NewPCG(seed, 4)), store, ProducerLookup, 4)
	dst := rebuildTarget(t, store, src, "s3dst", nil)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := Rebuild(cctx, src, dst, RebuildOptions{Progress: func(p RebuildProgress) {
		if p.Done == 2 {
			cancel()
		}
	}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled rebuild: %v", err)
	}
	rep, err := Rebuild(ctx, src, dst, RebuildOptions{})
	if err != nil || rep.From != 2 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	checkReplayed(t, src, dst, rebuildCommits(t, dst, src.Name()))
}
