package icebergview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// One publication attempt, stage by stage: load the base metadata and
// silt's state, the schemas and partition spec, the candidate snapshots,
// write them, the refs, drop snapshots silt no longer has, then the
// properties, the metadata file and the pointer switch. publication holds
// what the stages share.
type publication struct {
	p    *Publisher
	t    *table.Table
	loc  string // table location URI, ending in '/'
	ptr  *pointer
	etag string
	base icetable.Metadata // nil before the first publication
	b    *icetable.MetadataBuilder
	silt *siltState
	res  *Result
	// changed: the new metadata differs from base.
	changed bool

	schemas     []*types.Schema // every silt version, the current one last
	iceSchemaID map[int64]int   // silt schema id → Iceberg schema id
	curID       int             // Iceberg id of the current schema
	spec        iceberg.PartitionSpec
	specSch     *iceberg.Schema

	pubs     map[int64]published // by Iceberg id: base's and added ones
	pubList  []published
	added    map[int64]published
	bornOf   map[string]int64 // branch → CreatedMillis
	headOf   map[string]int64 // branch → iceID of its newest published snapshot
	headSilt map[string]int64 // branch → silt id of that snapshot
	want     map[string]wantRef
}

// wantRef is one ref the new metadata has.
type wantRef struct {
	id  int64
	typ icetable.RefType
}

func (p *Publisher) publishOnce(ctx context.Context, t *table.Table) (*Result, error) {
	pb := &publication{p: p, t: t, loc: p.location(t), res: &Result{}}
	if err := pb.load(ctx); err != nil {
		return nil, err
	}
	if err := pb.addSchemas(); err != nil {
		return nil, err
	}
	cands, err := pb.candidates(ctx)
	if err != nil {
		return nil, err
	}
	if err := pb.writeSnapshots(ctx, cands); err != nil {
		return nil, err
	}
	if err := pb.setRefs(); err != nil {
		return nil, err
	}
	if err := pb.dropGone(); err != nil {
		return nil, err
	}
	return pb.finish(ctx)
}

// load reads the pointer, the base metadata it names and silt's state,
// and starts the metadata builder.
func (pb *publication) load(ctx context.Context) error {
	store, root := pb.t.Store(), pb.t.Root()
	var err error
	if pb.ptr, pb.etag, err = readPointer(ctx, store, root); err != nil {
		return err
	}
	if pb.ptr != nil {
		data, _, err := store.Get(ctx, root+pb.ptr.Metadata)
		if err != nil {
			return fmt.Errorf("read %s: %w", pb.ptr.Metadata, err)
		}
		if pb.base, err = icetable.ParseMetadataBytes(data); err != nil {
			return fmt.Errorf("%w: %s: %v", types.ErrCorruption, pb.ptr.Metadata, err)
		}
	}
	if pb.silt, err = readSilt(ctx, pb.t); err != nil {
		return err
	}
	if pb.schemas, err = schemaHistory(ctx, pb.t); err != nil {
		return err
	}
	if pb.base == nil {
		if pb.b, err = icetable.NewMetadataBuilder(2); err != nil {
			return err
		}
		if err := pb.b.SetUUID(uuid.NewSHA1(uuid.NameSpaceURL, []byte(pb.loc+pb.p.newID()))); err != nil {
			return err
		}
		if err := pb.b.SetLoc(strings.TrimSuffix(pb.loc, "/")); err != nil {
			return err
		}
	} else if pb.b, err = icetable.MetadataBuilderFromBase(pb.base, pb.ptr.Location); err != nil {
		return err
	}
	pb.changed = pb.base == nil
	return nil
}

// addSchemas adds every silt schema version, in id order (iceberg-go
// reuses the id of an identical earlier schema), sets the current one
// and, on the first publication, the partition spec and sort order.
func (pb *publication) addSchemas() error {
	b, base := pb.b, pb.base
	current := pb.schemas[len(pb.schemas)-1]
	pb.iceSchemaID = map[int64]int{}
	var known []*iceberg.Schema
	if base != nil {
		known = base.Schemas()
	}
	for _, s := range pb.schemas {
		is, err := icebergSchema(s)
		if err != nil {
			return err
		}
		found := false
		for _, k := range known {
			if k.Equals(is) {
				pb.iceSchemaID[s.ID], found = k.ID, true
				break
			}
		}
		if found {
			continue
		}
		if err := b.AddSchema(is); err != nil {
			return fmt.Errorf("schema %d: %w", s.ID, err)
		}
		pb.iceSchemaID[s.ID] = is.ID
		known = append(known, is)
		pb.changed = true
	}
	pb.curID = pb.iceSchemaID[current.ID]
	if base == nil || base.CurrentSchema().ID != pb.curID {
		if err := b.SetCurrentSchemaID(pb.curID); err != nil {
			return err
		}
		pb.changed = true
	}
	spec, err := partitionSpec(current)
	if err != nil {
		return err
	}
	if base == nil {
		if err := b.AddPartitionSpec(&spec, true); err != nil {
			return err
		}
		if err := b.SetDefaultSpecID(-1); err != nil {
			return err
		}
		if err := b.AddSortOrder(&icetable.UnsortedSortOrder); err != nil {
			return err
		}
		if err := b.SetDefaultSortOrderID(-1); err != nil {
			return err
		}
	}
	boundSpec, err := b.GetSpecByID(0)
	if err != nil {
		return err
	}
	pb.spec = *boundSpec
	pb.specSch, err = b.GetSchemaByID(pb.curID)
	return err
}

// candidates lists what is published already and returns the silt
// snapshots to publish: new snapshots of main and each branch (the
// newest MaxCatchUp of each; on the first publication every retained
// one within that bound), and tagged snapshots not published yet, in
// the order their sequence numbers are assigned.
func (pb *publication) candidates(ctx context.Context) ([]candidate, error) {
	pb.pubs = map[int64]published{}
	if pb.base != nil {
		for _, s := range pb.base.Snapshots() {
			if d, ok := describe(s); ok {
				pb.pubs[d.iceID] = d
				pb.pubList = append(pb.pubList, d)
			}
		}
	}
	lastOf := func(branch string, born int64) int64 {
		var last int64
		for _, d := range pb.pubList {
			if d.branch == branch && d.born == born && d.siltID > last {
				last = d.siltID
			}
		}
		return last
	}
	var cands []candidate
	seen := map[int64]bool{}
	mainCand := map[int64]string{} // silt id → manifest list of main candidates
	addCand := func(branch string, born int64, s *manifest.Snapshot) {
		id := iceIDFor(branch, born, s)
		if branch != "" {
			// A branch's first snapshot is a copy of its source: when that
			// is a main snapshot, published or about to be, the branch
			// shares it.
			if d, ok := pb.pubs[s.ID]; ok && d.branch == "" && d.list == s.ManifestList {
				return
			}
			if l, ok := mainCand[s.ID]; ok && l == s.ManifestList {
				return
			}
		} else {
			mainCand[s.ID] = s.ManifestList
		}
		if _, ok := pb.pubs[id]; ok || seen[id] {
			return
		}
		seen[id] = true
		cands = append(cands, candidate{branch: branch, born: born, snap: s, iceID: id})
	}
	newOnBranch := func(branch string, born int64, ids []int64) error {
		last := lastOf(branch, born)
		var todo []int64
		for _, id := range ids {
			if id > last {
				todo = append(todo, id)
			}
		}
		if n := pb.p.maxCatchUp(); len(todo) > n {
			pb.res.Skipped = append(pb.res.Skipped, fmt.Sprintf("%d older snapshots of %s (catch-up limit %d)", len(todo)-n, branchLabel(branch), n))
			todo = todo[len(todo)-n:]
		}
		m := pb.t.Meta().Branch(branch)
		for _, id := range todo {
			s, err := m.Snapshot(ctx, id)
			if errors.Is(err, types.ErrNotFound) {
				continue // expired meanwhile
			}
			if err != nil {
				return err
			}
			addCand(branch, born, s)
		}
		return nil
	}
	if err := newOnBranch("", 0, pb.silt.mainIDs); err != nil {
		return nil, err
	}
	for _, br := range pb.silt.branches {
		if err := newOnBranch(br.Name, br.CreatedMillis, pb.silt.brIDs[br.Name]); err != nil {
			return nil, err
		}
	}
	pb.bornOf = map[string]int64{}
	for _, br := range pb.silt.branches {
		pb.bornOf[br.Name] = br.CreatedMillis
	}
	for _, tg := range pb.silt.tags {
		s := tg.Snapshot
		addCand(tg.Branch, pb.bornOf[tg.Branch], &s)
	}
	sortCandidates(cands)
	return cands, nil
}

// writeSnapshots writes the candidates' objects and adds them to the
// builder, each with the next sequence number and its branch's newest
// snapshot as parent; candidates that cannot be published are skipped.
func (pb *publication) writeSnapshots(ctx context.Context, cands []candidate) error {
	b, base := pb.b, pb.base
	current := pb.schemas[len(pb.schemas)-1]
	w := &snapWriter{store: pb.t.Store(), root: pb.t.Root(), location: pb.loc, escape: pb.p.escape,
		coldLocation: func() (string, error) { return pb.p.coldLocation(pb.t) },
		lacksFieldIDs: func(ctx context.Context, f manifest.DataFile) (bool, error) {
			store := pb.t.Store()
			if f.Tier != "" {
				var err error
				if store, err = pb.t.ColdStore(ctx); err != nil {
					return false, err
				}
			}
			return pb.p.lacksFieldIDs(ctx, store, pb.t.Root(), f)
		},
		t: pb.t, schema: current, spec: pb.spec, specSch: pb.specSch}
	attempt := pb.p.newID()
	lastSeq := int64(0)
	if base != nil {
		lastSeq = base.LastSequenceNumber()
	}
	pb.headOf, pb.headSilt = map[string]int64{}, map[string]int64{}
	for _, d := range pb.pubList {
		k := d.branch
		if d.branch != "" && d.born != pb.bornOf[d.branch] {
			continue
		}
		if d.siltID >= pb.headSilt[k] && (d.branch == "" || d.list != "") {
			pb.headSilt[k], pb.headOf[k] = d.siltID, d.iceID
		}
	}
	logFloor := int64(0)
	if base != nil {
		logFloor = base.LastUpdatedMillis()
		for e := range base.SnapshotLogs() {
			logFloor = max(logFloor, e.TimestampMs)
		}
	}
	pb.added = map[int64]published{}
	for _, c := range cands {
		seq := lastSeq + 1
		var parent *int64
		if h, ok := pb.headOf[c.branch]; ok && pb.headSilt[c.branch] < c.snap.ID {
			hh := h
			parent = &hh
		}
		// iceberg-go refuses a snapshot more than a minute older than the
		// metadata's last update (which it stamps with the wall clock when
		// only refs change): older silt times are clamped.
		floor := max(b.LastUpdatedMS(), logFloor)
		ts := max(c.snap.TimeMillis, floor-30_000)
		sid, ok := pb.iceSchemaID[c.snap.SchemaID]
		if !ok {
			sid = pb.curID
		}
		folder := fmt.Sprintf("%s%d-%d-%s/", SnapDir, c.iceID, seq, attempt)
		snap, err := w.write(ctx, c, seq, parent, ts, folder, sid)
		if errors.Is(err, errNotCompacted) || errors.Is(err, errColdTier) {
			pb.res.Skipped = append(pb.res.Skipped, fmt.Sprintf("snapshot %d of %s: %v", c.snap.ID, branchLabel(c.branch), err))
			continue
		}
		if err != nil {
			return fmt.Errorf("snapshot %d of %s: %w", c.snap.ID, branchLabel(c.branch), err)
		}
		if err := b.AddSnapshot(snap); err != nil {
			return fmt.Errorf("snapshot %d of %s: %w", c.snap.ID, branchLabel(c.branch), err)
		}
		lastSeq = seq
		d := published{iceID: c.iceID, branch: c.branch, born: c.born, siltID: c.snap.ID, list: c.snap.ManifestList}
		pb.pubs[c.iceID], pb.added[c.iceID] = d, d
		pb.pubList = append(pb.pubList, d)
		if c.snap.ID >= pb.headSilt[c.branch] || pb.headOf[c.branch] == 0 {
			pb.headSilt[c.branch], pb.headOf[c.branch] = c.snap.ID, c.iceID
		}
		pb.res.Added++
		pb.changed = true
	}
	return nil
}

// alive reports whether the silt snapshot a published one shows still
// exists (on its branch, or through a tag).
func (pb *publication) alive(d published) bool {
	for _, tg := range pb.silt.tags {
		if tg.Snapshot.ID == d.siltID && tg.Snapshot.ManifestList == d.list {
			return true
		}
	}
	ids := pb.silt.mainIDs
	if d.branch != "" {
		if pb.bornOf[d.branch] != d.born {
			return false
		}
		ids = pb.silt.brIDs[d.branch]
	}
	i := sort.Search(len(ids), func(i int) bool { return ids[i] >= d.siltID })
	return i < len(ids) && ids[i] == d.siltID
}

// setRefs sets main, one branch ref per silt branch and one tag ref per
// silt tag, and removes the refs silt no longer has. Iceberg refs share
// one namespace: a silt tag named like a branch is not published.
func (pb *publication) setRefs() error {
	b, pubs, bornOf := pb.b, pb.pubs, pb.bornOf
	want := map[string]wantRef{}
	if h, ok := pb.headOf[""]; ok && pb.alive(pubs[h]) {
		want[icetable.MainBranch] = wantRef{h, icetable.BranchRef}
	}
	for _, br := range pb.silt.branches {
		h, ok := pb.headOf[br.Name]
		if ok && pubs[h].born != br.CreatedMillis {
			ok = false
		}
		if !ok {
			// No published snapshot of its own (no commits yet: its first
			// snapshot is a copy of its source): the snapshot it was
			// created from, as published on its source branch.
			h, ok = fromOf(br, pubs, bornOf)
		}
		if ok {
			want[br.Name] = wantRef{h, icetable.BranchRef}
		}
	}
	for _, tg := range pb.silt.tags {
		if _, clash := want[tg.Name]; clash || tg.Name == icetable.MainBranch {
			pb.res.Skipped = append(pb.res.Skipped, fmt.Sprintf("tag %s: a branch has that name", tg.Name))
			continue
		}
		id := iceIDFor(tg.Branch, bornOf[tg.Branch], &tg.Snapshot)
		if _, ok := pubs[id]; !ok {
			if d, ok := pubs[tg.Snapshot.ID]; ok && d.list == tg.Snapshot.ManifestList {
				id = d.iceID
			} else {
				continue // not publishable (skipped above)
			}
		}
		want[tg.Name] = wantRef{id, icetable.TagRef}
	}
	pb.want = want
	var baseRefs map[string]icetable.SnapshotRef
	if pb.base != nil {
		baseRefs = map[string]icetable.SnapshotRef{}
		for n, r := range pb.base.Refs() {
			baseRefs[n] = r
		}
	}
	for n := range baseRefs {
		if _, ok := want[n]; !ok {
			if err := b.RemoveSnapshotRef(n); err != nil {
				return err
			}
			pb.changed = true
		}
	}
	// main last: iceberg-go stamps the metadata's last update with the
	// time of the snapshot each ref names and main's with the snapshot
	// log, and wants the last update within a minute of the log's last
	// entry; a tag of an older snapshot set after main would break that.
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == icetable.MainBranch) != (names[j] == icetable.MainBranch) {
			return names[j] == icetable.MainBranch
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		r := want[n]
		if old, ok := baseRefs[n]; ok && old.SnapshotID == r.id && old.SnapshotRefType == r.typ {
			continue
		}
		if old, ok := baseRefs[n]; ok && old.SnapshotRefType != r.typ {
			if err := b.RemoveSnapshotRef(n); err != nil {
				return err
			}
		}
		if err := b.SetSnapshotRef(n, r.id, r.typ); err != nil {
			return fmt.Errorf("ref %s: %w", n, err)
		}
		pb.changed = true
	}
	return nil
}

// dropGone removes the Iceberg snapshots whose silt snapshot is gone
// (expired, dropped branches) and no ref names.
func (pb *publication) dropGone() error {
	var drop []int64
	refd := map[int64]bool{}
	for _, r := range pb.want {
		refd[r.id] = true
	}
	for _, d := range pb.pubList {
		if _, isNew := pb.added[d.iceID]; isNew {
			continue
		}
		// A snapshot a ref names stays (a branch created from a main
		// snapshot that main expired since keeps it).
		if !pb.alive(d) && !refd[d.iceID] {
			drop = append(drop, d.iceID)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	if err := pb.b.RemoveSnapshots(drop, false); err != nil {
		return fmt.Errorf("drop expired snapshots: %w", err)
	}
	pb.res.Removed = len(drop)
	pb.changed = true
	return nil
}

// finish sets the properties (the name mapping follows renames), and
// when anything changed writes the metadata file, switches the pointer
// to it and cleans up now and then.
func (pb *publication) finish(ctx context.Context) (*Result, error) {
	t, b, base, res := pb.t, pb.b, pb.base, pb.res
	nm, err := json.Marshal(nameMapping(pb.schemas))
	if err != nil {
		return nil, err
	}
	props := iceberg.Properties{
		icetable.DefaultNameMappingKey:          string(nm),
		icetable.MetadataPreviousVersionsMaxKey: strconv.Itoa(previousVersionsMax),
		"silt.table":                            t.Name(),
		"silt.merge-engine":                     t.Options().MergeEngine,
	}
	if base == nil || !propsContain(base.Properties(), props) {
		if err := b.SetProperties(props); err != nil {
			return nil, err
		}
		pb.changed = true
	}
	if !pb.changed {
		res.Location = pb.ptr.Location
		return res, nil
	}
	md, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build metadata: %w", err)
	}
	body, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	version := 0
	if pb.ptr != nil {
		version = metadataVersion(pb.ptr.Metadata)
	}
	store, root := t.Store(), t.Root()
	rel := fmt.Sprintf("%s%05d-%s.metadata.json", MetadataDir, version+1, pb.p.newID())
	if _, err := store.PutIfAbsent(ctx, root+rel, body); err != nil {
		return nil, fmt.Errorf("write %s: %w", rel, err)
	}
	np := &pointer{Version: pointerVersion, Metadata: rel, Location: pb.loc + pb.p.escape(rel)}
	if h, ok := pb.want[icetable.MainBranch]; ok {
		np.Snapshot = pb.pubs[h.id].siltID
	}
	if err := switchPointer(ctx, store, root, np, pb.etag, pb.ptr != nil); err != nil {
		return nil, err
	}
	res.Location, res.Wrote = np.Location, true
	if res.Removed > 0 || (version+1)%cleanEvery == 0 {
		pb.p.clean(ctx, t, md, rel)
	}
	return res, nil
}
