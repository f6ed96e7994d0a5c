package icebergview

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	icetable "github.com/apache/iceberg-go/table"
	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// history drives one table through a random history (writes, deletes,
// compactions, tags, branches, schema changes, expired snapshots) with
// the view published after every change, and checks the view after each
// step against silt.
type history struct {
	t      *testing.T
	ctx    context.Context
	rng    *rand.Rand
	f      *fixture
	engine string
	schema *types.Schema
	n      int // names tags, branches, columns
	// evolveEvery, when set, makes about one step in evolveEvery a
	// schema change (nested fields mostly).
	evolveEvery int
}

func randomSchema(engine string) *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{Name: "v0", Type: types.TBigInt}, // field id 0: no Parquet field id
			{Name: "k", Type: types.TInt, NotNull: true},
			{Name: "p", Type: types.TString, NotNull: true},
			{Name: "amount", Type: types.TDecimal(10, 2)},
			{Name: "at", Type: types.TTimestamp},
			{Name: "tags", Type: types.TArray(types.TString)},
			{Name: "attrs", Type: types.TMap(types.TString, types.TStruct(types.Field{Name: "x", Type: types.TBigInt}))},
			{Name: "info", Type: types.TStruct(types.Field{Name: "a", Type: types.TInt}, types.Field{Name: "b", Type: types.TStruct(types.Field{Name: "c", Type: types.TString})})},
		},
		PrimaryKeys:   []string{"p", "k"},
		PartitionKeys: []string{"p"},
		Options:       map[string]string{"merge-engine": engine, "bucket": "2"},
	}
}

func (h *history) row(k int) types.Row {
	r := make(types.Row, len(h.schema.Fields))
	v := h.rng.IntN(1000)
	for i, f := range h.schema.Fields {
		switch {
		case f.Name == "k":
			r[i] = int32(k)
		case f.Name == "p":
			r[i] = []string{"x", "y z"}[k%2]
		case f.Type.Kind == types.BigInt:
			r[i] = int64(v)
		case f.Type.Kind == types.Int:
			if h.rng.IntN(4) == 0 {
				r[i] = nil
			} else {
				r[i] = int32(v)
			}
		case f.Type.Kind == types.DecimalKind:
			r[i] = types.Decimal(v * 7)
		case f.Type.Kind == types.TimestampKind:
			r[i] = types.Timestamp(int64(v) * 1_000_003)
		case f.Type.IsNested() && h.rng.IntN(5) > 0:
			r[i] = nestedgen.Value(h.rng, f.Type)
		}
	}
	return r
}

// write commits a random batch through tbl (main or a branch view).
func (h *history) write(tbl *table.Table) {
	w := tbl.NewWriter("test")
	for i, n := 0, 1+h.rng.IntN(8); i < n; i++ {
		k := h.rng.IntN(16)
		kind := types.Insert
		if freshEngine(h.engine) && h.rng.IntN(5) == 0 {
			kind = types.Delete
		}
		if err := w.Write(h.ctx, kind, h.row(k)); err != nil {
			h.t.Fatal(err)
		}
	}
	if _, err := w.Commit(h.ctx, "c"+strconv.Itoa(h.next())); err != nil {
		h.t.Fatal(err)
	}
	// Wait for the writer's inline compaction (it commits, and publishes,
	// in the background).
	if err := w.Close(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

func (h *history) next() int { h.n++; return h.n }

func (h *history) branches() []*manifest.BranchInfo {
	bs, err := h.f.tbl.Branches(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return bs
}

func (h *history) step() string {
	ctx, tbl := h.ctx, h.f.tbl
	if h.evolveEvery > 0 && h.rng.IntN(h.evolveEvery) == 0 {
		return h.evolve()
	}
	switch op := h.rng.IntN(14); {
	case op < 5:
		h.write(tbl)
		return "write"
	case op == 5:
		full := h.rng.IntN(3) > 0
		if _, err := tbl.Compact(ctx, table.CompactOptions{Full: full}); err != nil {
			h.t.Fatal(err)
		}
		return fmt.Sprintf("compact full=%v", full)
	case op == 6:
		if s, _ := tbl.Latest(ctx); s != nil {
			name := "t" + strconv.Itoa(h.next())
			if _, err := tbl.CreateTag(ctx, name, table.Ref{}); err != nil {
				h.t.Fatal(err)
			}
			return "tag " + name
		}
	case op == 7:
		tags, _ := tbl.Tags(ctx)
		if len(tags) > 0 {
			name := tags[h.rng.IntN(len(tags))].Name
			if err := tbl.DeleteTag(ctx, name); err != nil {
				h.t.Fatal(err)
			}
			return "delete tag " + name
		}
	case op == 8 && os.Getenv("NOBRANCH") == "":
		name := "b" + strconv.Itoa(h.next())
		b, err := tbl.CreateBranch(ctx, name, table.Ref{})
		if err != nil {
			h.t.Fatal(err)
		}
		h.write(b)
		return "branch " + name
	case op == 9:
		if bs := h.branches(); len(bs) > 0 {
			name := bs[h.rng.IntN(len(bs))].Name
			b, err := tbl.Branch(ctx, name)
			if err != nil {
				h.t.Fatal(err)
			}
			h.write(b)
			return "write branch " + name
		}
	case op == 10:
		if bs := h.branches(); len(bs) > 0 {
			name := bs[h.rng.IntN(len(bs))].Name
			if err := tbl.DropBranch(ctx, name); err != nil {
				h.t.Fatal(err)
			}
			return "drop branch " + name
		}
	case op == 11:
		return h.evolve()
	case op == 13:
		return h.tier()
	case op == 12 && os.Getenv("NOEXPIRE") == "":
		// Expiry of an old main snapshot (its files stay: later snapshots
		// may use them): the view must drop it on the next publication.
		ids, err := listIDs(ctx, h.f.store, testRoot, "")
		if err != nil {
			h.t.Fatal(err)
		}
		if len(ids) > 2 {
			id := ids[h.rng.IntN(len(ids)-1)]
			if err := h.f.store.Delete(ctx, testRoot+manifest.SnapshotPath(id)); err != nil {
				h.t.Fatal(err)
			}
			h.write(tbl)
			return fmt.Sprintf("expire snapshot %d", id)
		}
	}
	h.write(tbl)
	return "write"
}

// tier moves up to three hot files of main's latest snapshot to the cold
// tier, as lifecycle's tiering does: a verified copy under the same key
// in the cold store, then a COMPACT commit that retiers them.
func (h *history) tier() string {
	ctx, tbl := h.ctx, h.f.tbl
	s, err := tbl.Latest(ctx)
	if err != nil || s == nil {
		h.write(tbl)
		return "write"
	}
	files, err := tbl.Meta().Files(ctx, s)
	if err != nil {
		h.t.Fatal(err)
	}
	cold, err := objstore.NewLocal(h.f.coldDir)
	if err != nil {
		h.t.Fatal(err)
	}
	var moves []manifest.Retier
	for _, f := range files {
		if f.Tier != "" || len(moves) == 3 {
			continue
		}
		data, _, err := h.f.store.Get(ctx, testRoot+f.Path)
		if err != nil {
			h.t.Fatal(err)
		}
		if _, err := cold.Put(ctx, testRoot+f.Path, data); err != nil {
			h.t.Fatal(err)
		}
		moves = append(moves, manifest.Retier{Path: f.Path, Tier: table.TierCold})
	}
	if len(moves) == 0 {
		h.write(tbl)
		return "write"
	}
	if _, err := tbl.Meta().Commit(ctx, manifest.Commit{User: "tier", Identifier: "1", Fresh: true,
		Kind: manifest.CommitCompact, SchemaID: s.SchemaID, Retiers: moves}); err != nil {
		h.t.Fatal(err)
	}
	return fmt.Sprintf("tier %d files", len(moves))
}

// evolve adds a column or renames one (the first column too, whose files
// carry no Parquet field id) and reopens the table on the new version.
func (h *history) evolve() string {
	ns := *h.schema
	ns.ID++
	ns.Fields = slices.Clone(h.schema.Fields)
	var what string
	if h.rng.IntN(2) == 0 {
		what = h.evolveNested(&ns)
	} else if h.rng.IntN(2) == 0 && len(ns.Fields) < 11 {
		ns.HighestFieldID++
		name := "c" + strconv.Itoa(h.next())
		ns.Fields = append(ns.Fields, types.Field{ID: ns.HighestFieldID, Name: name, Type: types.TInt})
		what = "add column " + name
	} else {
		var cand []int
		for i, f := range ns.Fields {
			if f.Name != "k" && f.Name != "p" {
				cand = append(cand, i)
			}
		}
		i := cand[h.rng.IntN(len(cand))]
		old := ns.Fields[i].Name
		ns.Fields[i].Name = "r" + strconv.Itoa(h.next())
		what = fmt.Sprintf("rename %s to %s", old, ns.Fields[i].Name)
	}
	h.schema = &ns
	h.f.schemas.add(&ns)
	h.f.open(h.t, &ns)
	h.write(h.f.tbl)
	return what
}

// check compares every Iceberg snapshot of the view with silt's scan of
// the snapshot it names, and the refs with silt's tags and branches.
func (h *history) check(all bool) { h.checkView(all, true) }

// checkView is check; fresh also wants the refs at silt's newest
// snapshots (false: a lagging view must only be complete and right).
func (h *history) checkView(all, fresh bool) {
	t, ctx := h.t, h.ctx
	h.f.checkNoErrors(t)
	it := h.f.iceTable(t, ctx)
	md := it.Metadata()
	bornOf := map[string]int64{}
	for _, b := range h.branches() {
		bornOf[b.Name] = b.CreatedMillis
	}
	mainIDs, err := listIDs(ctx, h.f.store, testRoot, "")
	if err != nil {
		t.Fatal(err)
	}
	tags, err := h.f.tbl.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySilt := map[int64]published{}
	for _, s := range md.Snapshots() {
		d, ok := describe(s)
		if !ok {
			t.Fatalf("iceberg snapshot %d has no silt summary", s.SnapshotID)
		}
		bySilt[s.SnapshotID] = d
		if n := s.Summary.Properties[propNoFieldIDs]; n != "0" {
			t.Fatalf("iceberg snapshot %d: %s = %q, want 0 (every file is of the current format)", s.SnapshotID, propNoFieldIDs, n)
		}
		if d.branch == "" && d.iceID != d.siltID {
			t.Fatalf("main snapshot %d published as iceberg snapshot %d", d.siltID, d.iceID)
		}
		tagged := slices.ContainsFunc(tags, func(tg *manifest.Tag) bool {
			return tg.Snapshot.ID == d.siltID && tg.Snapshot.ManifestList == d.list
		})
		// A branch without published snapshots of its own points at the
		// snapshot it was created from, which it still has.
		branchRef := false
		for n, r := range md.Refs() {
			branchRef = branchRef || (n != icetable.MainBranch && r.SnapshotRefType == icetable.BranchRef && r.SnapshotID == s.SnapshotID)
		}
		if d.branch == "" && !tagged && !branchRef && !slices.Contains(mainIDs, d.siltID) {
			t.Fatalf("view keeps iceberg snapshot %d of expired silt snapshot %d", s.SnapshotID, d.siltID)
		}
		if d.branch != "" && !tagged && bornOf[d.branch] != d.born {
			t.Fatalf("view keeps snapshot %d of dropped branch %s", s.SnapshotID, d.branch)
		}
		if !all && md.CurrentSnapshot() != nil && s.SnapshotID != md.CurrentSnapshot().SnapshotID {
			continue
		}
		h.compare(it, s, d, tagged)
	}
	if all && fresh && freshEngine(h.engine) {
		h.checkComplete(bySilt, mainIDs)
	}
	refs := map[string]icetable.SnapshotRef{}
	for n, r := range md.Refs() {
		refs[n] = r
	}
	latest, err := h.f.tbl.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh && freshEngine(h.engine) {
		if r, ok := refs[icetable.MainBranch]; latest != nil && (!ok || r.SnapshotID != latest.ID) {
			t.Fatalf("main ref %+v, want silt's latest snapshot %d", r, latest.ID)
		}
		for _, b := range h.branches() {
			bv, err := h.f.tbl.Branch(ctx, b.Name)
			if err != nil {
				t.Fatal(err)
			}
			bl, err := bv.Latest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := refs[b.Name]
			if bl != nil && (!ok || r.SnapshotRefType != icetable.BranchRef || bySilt[r.SnapshotID].siltID != bl.ID) {
				t.Fatalf("branch ref %s = %+v, want silt snapshot %d", b.Name, r, bl.ID)
			}
		}
	}
	for _, tg := range tags {
		r, ok := refs[tg.Name]
		if fresh && freshEngine(h.engine) && !ok {
			t.Fatalf("tag %s has no ref", tg.Name)
		}
		if ok && (r.SnapshotRefType != icetable.TagRef || bySilt[r.SnapshotID].siltID != tg.Snapshot.ID) {
			t.Fatalf("tag ref %s = %+v, want silt snapshot %d", tg.Name, r, tg.Snapshot.ID)
		}
	}
}

// checkComplete checks that every retained silt snapshot is in the view:
// each snapshot of main, and each of every branch but its first (the copy
// of the snapshot it was created from, which it shares with its source
// while that is published).
func (h *history) checkComplete(bySilt map[int64]published, mainIDs []int64) {
	t := h.t
	for _, id := range mainIDs {
		if d, ok := bySilt[id]; !ok || d.branch != "" || d.siltID != id {
			t.Fatalf("silt snapshot %d of main is not in the view", id)
		}
	}
	for _, b := range h.branches() {
		ids, err := listIDs(h.ctx, h.f.store, testRoot, b.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids[min(1, len(ids)):] {
			found := false
			for _, d := range bySilt {
				found = found || (d.branch == b.Name && d.born == b.CreatedMillis && d.siltID == id)
			}
			if !found {
				t.Fatalf("silt snapshot %d of branch %s is not in the view", id, b.Name)
			}
		}
	}
}

// compare reads one Iceberg snapshot with iceberg-go and silt's scan of
// the same snapshot (with the schema it was written with).
func (h *history) compare(it *icetable.Table, s icetable.Snapshot, d published, tagged bool) {
	t, ctx := h.t, h.ctx
	var view *table.Table
	var err error
	if d.branch == "" {
		view = h.f.tbl
	} else if view, err = h.f.tbl.Branch(ctx, d.branch); err != nil {
		if !tagged {
			t.Fatal(err)
		}
		return // a tagged snapshot of a dropped branch: read through its tag below
	}
	if _, err := view.Meta().Snapshot(ctx, d.siltID); err != nil {
		return // only a tag keeps it; its ref is checked with the tag
	}
	sv, err := view.AtSchema(ctx, mustSnapshot(t, ctx, view, d.siltID).SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	want := siltRows(t, ctx, sv, d.siltID, "")
	got := iceRows(t, ctx, it, s.SnapshotID, sv.Schema())
	h.checkTiers(it, s.SnapshotID, view, d.siltID)
	if diff := diffRows(want, got); diff != "" {
		t.Fatalf("iceberg snapshot %d (silt snapshot %d of %s): %s", s.SnapshotID, d.siltID, branchLabel(d.branch), diff)
	}
}

// checkTiers checks that the Iceberg snapshot names each file where silt
// has it: in the cold tier's directory for cold files, else in the
// warehouse.
func (h *history) checkTiers(it *icetable.Table, iceID int64, view *table.Table, siltID int64) {
	t, ctx := h.t, h.ctx
	files, err := view.Meta().Files(ctx, mustSnapshot(t, ctx, view, siltID))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range files {
		base := LocalBase(h.f.dir)
		if f.Tier == table.TierCold {
			base = LocalBase(h.f.coldDir)
		}
		want[f.Path] = base + h.f.pub.escape(testRoot+f.Path)
	}
	tasks, err := it.Scan(icetable.WithSnapshotID(iceID)).PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		found := false
		for _, w := range want {
			found = found || task.File.FilePath() == w
		}
		if !found {
			t.Fatalf("iceberg snapshot %d names data file %s, which silt snapshot %d does not have there (silt: %v)", iceID, task.File.FilePath(), siltID, want)
		}
	}
	if len(tasks) != len(want) {
		t.Fatalf("iceberg snapshot %d has %d data files, silt snapshot %d %d", iceID, len(tasks), siltID, len(want))
	}
}

func mustSnapshot(t *testing.T, ctx context.Context, tbl *table.Table, id int64) *manifest.Snapshot {
	t.Helper()
	s, err := tbl.Meta().Snapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runHistory(t *testing.T, engine string, seed uint64, steps int) {
	runHistoryOf(t, &history{engine: engine}, seed, steps)
}

// runHistoryOf runs a random history of h's engine (h's knobs set).
func runHistoryOf(t *testing.T, h *history, seed uint64, steps int) {
	engine := h.engine
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := randomSchema(engine)
	h.t, h.ctx, h.rng = t, ctx, rand.New(rand.NewPCG(seed, 7))
	h.f = newFixture(t, store, dir, s)
	h.f.pub.MaxCatchUp = 1 << 20 // checkComplete wants every snapshot
	h.schema = s
	// Half the histories turn the view on late: its first publication
	// then publishes every retained snapshot, as ALTER TABLE … SET
	// ('metadata.iceberg.enabled' = 'true') does on a table with history.
	late := rand.New(rand.NewPCG(seed, 11))
	enableAt := -1
	if late.IntN(2) == 0 {
		enableAt = 1 + late.IntN(steps-1)
		h.f.off.Store(true)
	}
	h.write(h.f.tbl)
	var log []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("steps: %v", log)
		}
	})
	for i := 0; i < steps; i++ {
		if i == enableAt {
			h.f.off.Store(false)
			if _, err := h.f.pub.Publish(ctx, h.f.tbl); err != nil {
				t.Fatal(err)
			}
			log = append(log, "enable view")
			if _, _, err := Current(ctx, store, testRoot); err == nil {
				h.check(true)
			}
		}
		log = append(log, h.step())
		if !freshEngine(engine) {
			// The view shows fully compacted snapshots only.
			if h.rng.IntN(3) == 0 {
				if _, err := h.f.tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
					t.Fatal(err)
				}
				log = append(log, "compact full")
			}
		}
		if _, _, err := Current(ctx, store, testRoot); err != nil {
			continue // nothing published yet (no compacted snapshot)
		}
		h.check(i%5 == 4 || i == steps-1)
	}
}

// TestPublishRandomHistory publishes random histories of each merge
// engine and reads every published snapshot back with iceberg-go.
func TestPublishRandomHistory(t *testing.T) {
	for _, engine := range []string{"deduplicate", "first-row", "aggregation", "partial-update"} {
		t.Run(engine, func(t *testing.T) {
			for _, seed := range testkit.Seeds(t, 2) {
				t.Run("", func(t *testing.T) {
					testkit.LogSeed(t, seed)
					runHistory(t, engine, seed, 25)
				})
			}
		})
	}
}
