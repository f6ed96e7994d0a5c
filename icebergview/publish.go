package icebergview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/iceberg-go"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Publisher publishes the Iceberg view of silt tables: at each call of
// Publish it writes Iceberg snapshots for the silt snapshots not yet
// published, updates the refs, drops snapshots silt expired, writes a new
// metadata file and switches iceberg/CURRENT to it with a conditional put.
// It is safe for concurrent use.
type Publisher struct {
	// Base is the URI of the store's empty key, ending in '/': e.g.
	// "file:///srv/warehouse/" for a local warehouse or
	// "s3://bucket/prefix/" on S3. Table locations are Base + root.
	Base string
	// Default publishes tables that do not set metadata.iceberg.enabled
	// (the warehouse default).
	Default bool
	// Now is the clock (default time.Now); NewID names attempt folders
	// and metadata files (default random UUIDs).
	Now   func() time.Time
	NewID func() string
	// OnError is told of a publication that failed (it never fails the
	// commit that triggered it; the next publication catches up). It must
	// not block. nil: silent.
	OnError func(tableName string, err error)
	// Async makes Hook return at once and publish in the background, one
	// publication at a time per table, changes made meanwhile published
	// together by the next one (Wait waits for them). Otherwise Hook
	// publishes before the commit call returns.
	Async bool
	// MaxCatchUp bounds how many silt snapshots of one branch a single
	// publication adds (the newest ones); older unpublished ones are
	// skipped. The first publication of a table with history adds its
	// retained snapshots within the same bound. Default 64.
	MaxCatchUp int

	published, failed, retries atomic.Int64
	bg                         background
}

// Stats counts publications that wrote a new metadata file, failed
// publications, and attempts redone because a concurrent publication of
// the same table switched the pointer first, since the Publisher was made.
type Stats struct{ Published, Failed, Retries int64 }

// Stats returns the publisher's counters.
func (p *Publisher) Stats() Stats {
	return Stats{Published: p.published.Load(), Failed: p.failed.Load(), Retries: p.retries.Load()}
}

// Enabled reports whether t publishes its Iceberg view: its option
// metadata.iceberg.enabled, else the warehouse default.
func (p *Publisher) Enabled(t *table.Table) bool {
	if o := t.Options().Iceberg; o.Set {
		return o.Enabled
	}
	return p.Default
}

// Hook is the function for table.Env.AfterChange: it publishes tables
// that have the view enabled and reports failures to OnError only.
func (p *Publisher) Hook() func(ctx context.Context, t *table.Table) {
	return func(ctx context.Context, t *table.Table) {
		if !p.Enabled(t) {
			return
		}
		if p.Async {
			p.schedule(ctx, t)
			return
		}
		if _, err := p.Publish(ctx, t); err != nil && p.OnError != nil {
			p.OnError(t.Name(), err)
		}
	}
}

// Result says what one publication did.
type Result struct {
	// Location is the URI of the current metadata file ("" when none).
	Location string
	// Wrote says a new metadata file was published; false when the view
	// was already up to date.
	Wrote bool
	// Added and Removed count Iceberg snapshots added and dropped.
	Added, Removed int
	// Skipped lists silt snapshots left out, with why.
	Skipped []string
}

// maxAttempts bounds the retries of a publication that lost the pointer
// race to a concurrent publisher.
const maxAttempts = 4

// errLostRace: another publisher switched the pointer first.
var errLostRace = errors.New("iceberg pointer changed concurrently")

// Publish brings the Iceberg view of t up to date. It is idempotent: when
// nothing changed it writes nothing. A crash at any point leaves the view
// at its previous metadata.
func (p *Publisher) Publish(ctx context.Context, t *table.Table) (*Result, error) {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var res *Result
		res, err = p.publishOnce(ctx, t)
		if err == nil {
			if res.Wrote {
				p.published.Add(1)
			}
			return res, nil
		}
		if !errors.Is(err, errLostRace) {
			break
		}
		p.retries.Add(1)
	}
	p.failed.Add(1)
	return nil, fmt.Errorf("table %s: publish iceberg view: %w", t.Name(), err)
}

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Publisher) newID() string {
	if p.NewID != nil {
		return p.NewID()
	}
	return uuid.NewString()
}

// location is the table's location URI, ending in '/'.
func (p *Publisher) location(t *table.Table) string {
	base := p.Base
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + p.escape(t.Root())
}

// escape renders a key path for a URI under Base: file:// URIs are URIs
// (readers percent-decode them), so each segment is percent-encoded;
// s3:// locations are taken literally by Iceberg readers (the key is what
// follows the bucket), so they are not.
func (p *Publisher) escape(rel string) string {
	if !strings.HasPrefix(p.Base, "file:") {
		return rel
	}
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// LocalBase is the Base of a local warehouse directory (an absolute
// path): its file:// URI, percent-encoded, ending in '/'.
func LocalBase(dir string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}
	return strings.TrimSuffix(u.String(), "/") + "/"
}

// S3Base is the Base of a warehouse at s3://bucket/prefix.
func S3Base(bucket, prefix string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return "s3://" + bucket + "/"
	}
	return "s3://" + bucket + "/" + prefix + "/"
}

// siltState is what the silt side holds now.
type siltState struct {
	mainIDs  []int64
	branches []*manifest.BranchInfo
	brIDs    map[string][]int64
	tags     []*manifest.Tag
}

func listIDs(ctx context.Context, store objstore.Store, root, branch string) ([]int64, error) {
	dir := root + manifest.BranchSnapshotDir(branch)
	infos, err := store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var ids []int64
	for _, in := range infos {
		if id, ok := manifest.ParseSnapshotPath(manifest.SnapshotDir + strings.TrimPrefix(in.Key, dir)); ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

func readSilt(ctx context.Context, t *table.Table) (*siltState, error) {
	meta := t.Meta().Main()
	st := &siltState{brIDs: map[string][]int64{}}
	var err error
	if st.mainIDs, err = listIDs(ctx, t.Store(), t.Root(), ""); err != nil {
		return nil, err
	}
	if st.branches, err = meta.Branches(ctx); err != nil {
		return nil, err
	}
	for _, b := range st.branches {
		if st.brIDs[b.Name], err = listIDs(ctx, t.Store(), t.Root(), b.Name); err != nil {
			return nil, err
		}
	}
	if st.tags, err = meta.Tags(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// published describes one Iceberg snapshot of the base metadata.
type published struct {
	iceID  int64
	branch string
	born   int64
	siltID int64
	list   string
}

func describe(s icetable.Snapshot) (published, bool) {
	if s.Summary == nil {
		return published{}, false
	}
	id, err := strconv.ParseInt(s.Summary.Properties[propSnapshotID], 10, 64)
	if err != nil {
		return published{}, false
	}
	born, _ := strconv.ParseInt(s.Summary.Properties[propBranchBorn], 10, 64)
	return published{iceID: s.SnapshotID, branch: s.Summary.Properties[propBranch], born: born, siltID: id, list: s.Summary.Properties[propManifestList]}, true
}

// iceIDFor is the Iceberg snapshot id of silt snapshot s of branch ("" =
// main): s.ID on main (silt ids follow the Iceberg ones); on another
// branch a stable hash of the branch, its creation time and the snapshot
// with bit 62 set, so it never meets a main id.
func iceIDFor(branch string, born int64, s *manifest.Snapshot) int64 {
	if branch == "" {
		return s.ID
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s", branch, born, s.ID, s.ManifestList)
	return int64(h.Sum64()&(1<<62-1)) | 1<<62
}

func (p *Publisher) publishOnce(ctx context.Context, t *table.Table) (*Result, error) {
	store, root := t.Store(), t.Root()
	loc := p.location(t)
	ptr, etag, err := readPointer(ctx, store, root)
	if err != nil {
		return nil, err
	}
	var base icetable.Metadata
	version := 0
	if ptr != nil {
		data, _, err := store.Get(ctx, root+ptr.Metadata)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ptr.Metadata, err)
		}
		if base, err = icetable.ParseMetadataBytes(data); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", types.ErrCorruption, ptr.Metadata, err)
		}
		version = metadataVersion(ptr.Metadata)
	}
	silt, err := readSilt(ctx, t)
	if err != nil {
		return nil, err
	}
	schemas, err := schemaHistory(ctx, t)
	if err != nil {
		return nil, err
	}
	current := schemas[len(schemas)-1]

	var b *icetable.MetadataBuilder
	if base == nil {
		if b, err = icetable.NewMetadataBuilder(2); err != nil {
			return nil, err
		}
		if err := b.SetUUID(uuid.NewSHA1(uuid.NameSpaceURL, []byte(loc+p.newID()))); err != nil {
			return nil, err
		}
		if err := b.SetLoc(strings.TrimSuffix(loc, "/")); err != nil {
			return nil, err
		}
	} else if b, err = icetable.MetadataBuilderFromBase(base, ptr.Location); err != nil {
		return nil, err
	}
	changed := base == nil

	// Schemas: every silt version, in id order; iceberg-go reuses the id
	// of an identical earlier schema.
	iceSchemaID := map[int64]int{}
	var known []*iceberg.Schema
	if base != nil {
		known = base.Schemas()
	}
	for _, s := range schemas {
		is, err := icebergSchema(s)
		if err != nil {
			return nil, err
		}
		found := false
		for _, k := range known {
			if k.Equals(is) {
				iceSchemaID[s.ID], found = k.ID, true
				break
			}
		}
		if found {
			continue
		}
		if err := b.AddSchema(is); err != nil {
			return nil, fmt.Errorf("schema %d: %w", s.ID, err)
		}
		iceSchemaID[s.ID] = is.ID
		known = append(known, is)
		changed = true
	}
	curID := iceSchemaID[current.ID]
	if base == nil || base.CurrentSchema().ID != curID {
		if err := b.SetCurrentSchemaID(curID); err != nil {
			return nil, err
		}
		changed = true
	}
	spec, err := partitionSpec(current)
	if err != nil {
		return nil, err
	}
	if base == nil {
		if err := b.AddPartitionSpec(&spec, true); err != nil {
			return nil, err
		}
		if err := b.SetDefaultSpecID(-1); err != nil {
			return nil, err
		}
		if err := b.AddSortOrder(&icetable.UnsortedSortOrder); err != nil {
			return nil, err
		}
		if err := b.SetDefaultSortOrderID(-1); err != nil {
			return nil, err
		}
	}
	boundSpec, err := b.GetSpecByID(0)
	if err != nil {
		return nil, err
	}
	specSchema, err := b.GetSchemaByID(curID)
	if err != nil {
		return nil, err
	}

	// What is published already.
	pubs := map[int64]published{}
	var pubList []published
	if base != nil {
		for _, s := range base.Snapshots() {
			if d, ok := describe(s); ok {
				pubs[d.iceID] = d
				pubList = append(pubList, d)
			}
		}
	}
	lastOf := func(branch string, born int64) int64 {
		var last int64
		for _, d := range pubList {
			if d.branch == branch && d.born == born && d.siltID > last {
				last = d.siltID
			}
		}
		return last
	}

	// Candidates: new snapshots of main and each branch, and tagged
	// snapshots not published yet.
	res := &Result{}
	var cands []candidate
	seen := map[int64]bool{}
	mainCand := map[int64]string{} // silt id → manifest list of main candidates
	addCand := func(branch string, born int64, s *manifest.Snapshot) {
		id := iceIDFor(branch, born, s)
		if branch != "" {
			// A branch's first snapshot is a copy of its source: when that
			// is a main snapshot, published or about to be, the branch
			// shares it.
			if d, ok := pubs[s.ID]; ok && d.branch == "" && d.list == s.ManifestList {
				return
			}
			if l, ok := mainCand[s.ID]; ok && l == s.ManifestList {
				return
			}
		} else {
			mainCand[s.ID] = s.ManifestList
		}
		if _, ok := pubs[id]; ok || seen[id] {
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
		if n := p.maxCatchUp(); len(todo) > n {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%d older snapshots of %s (catch-up limit %d)", len(todo)-n, branchLabel(branch), n))
			todo = todo[len(todo)-n:]
		}
		m := t.Meta().Branch(branch)
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
	if err := newOnBranch("", 0, silt.mainIDs); err != nil {
		return nil, err
	}
	for _, br := range silt.branches {
		if err := newOnBranch(br.Name, br.CreatedMillis, silt.brIDs[br.Name]); err != nil {
			return nil, err
		}
	}
	bornOf := map[string]int64{}
	for _, br := range silt.branches {
		bornOf[br.Name] = br.CreatedMillis
	}
	for _, tg := range silt.tags {
		s := tg.Snapshot
		addCand(tg.Branch, bornOf[tg.Branch], &s)
	}
	sortCandidates(cands)

	// Write the new snapshots.
	w := &snapWriter{store: store, root: root, location: loc, escape: p.escape, coldLocation: func() (string, error) { return p.coldLocation(t) }, t: t, schema: current, spec: *boundSpec, specSch: specSchema}
	attempt := p.newID()
	lastSeq := int64(0)
	if base != nil {
		lastSeq = base.LastSequenceNumber()
	}
	headOf := map[string]int64{} // branch → iceID of its newest published snapshot
	headSilt := map[string]int64{}
	for _, d := range pubList {
		k := d.branch
		if d.branch != "" && d.born != bornOf[d.branch] {
			continue
		}
		if d.siltID >= headSilt[k] && (d.branch == "" || d.list != "") {
			headSilt[k], headOf[k] = d.siltID, d.iceID
		}
	}
	logFloor := int64(0)
	if base != nil {
		logFloor = base.LastUpdatedMillis()
		for e := range base.SnapshotLogs() {
			logFloor = max(logFloor, e.TimestampMs)
		}
	}
	added := map[int64]published{}
	for _, c := range cands {
		seq := lastSeq + 1
		var parent *int64
		if h, ok := headOf[c.branch]; ok && headSilt[c.branch] < c.snap.ID {
			hh := h
			parent = &hh
		}
		// iceberg-go refuses a snapshot more than a minute older than the
		// metadata's last update (which it stamps with the wall clock when
		// only refs change): older silt times are clamped.
		floor := max(b.LastUpdatedMS(), logFloor)
		ts := max(c.snap.TimeMillis, floor-30_000)
		sid, ok := iceSchemaID[c.snap.SchemaID]
		if !ok {
			sid = curID
		}
		folder := fmt.Sprintf("%s%d-%d-%s/", SnapDir, c.iceID, seq, attempt)
		snap, err := w.write(ctx, c, seq, parent, ts, folder, sid)
		if errors.Is(err, errNotCompacted) || errors.Is(err, errColdTier) {
			res.Skipped = append(res.Skipped, fmt.Sprintf("snapshot %d of %s: %v", c.snap.ID, branchLabel(c.branch), err))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot %d of %s: %w", c.snap.ID, branchLabel(c.branch), err)
		}
		if err := b.AddSnapshot(snap); err != nil {
			return nil, fmt.Errorf("snapshot %d of %s: %w", c.snap.ID, branchLabel(c.branch), err)
		}
		lastSeq = seq
		d := published{iceID: c.iceID, branch: c.branch, born: c.born, siltID: c.snap.ID, list: c.snap.ManifestList}
		pubs[c.iceID], added[c.iceID] = d, d
		pubList = append(pubList, d)
		if c.snap.ID >= headSilt[c.branch] || headOf[c.branch] == 0 {
			headSilt[c.branch], headOf[c.branch] = c.snap.ID, c.iceID
		}
		res.Added++
		changed = true
	}

	// Which published snapshots are still alive in silt.
	alive := func(d published) bool {
		for _, tg := range silt.tags {
			if tg.Snapshot.ID == d.siltID && tg.Snapshot.ManifestList == d.list {
				return true
			}
		}
		ids := silt.mainIDs
		if d.branch != "" {
			if bornOf[d.branch] != d.born {
				return false
			}
			ids = silt.brIDs[d.branch]
		}
		i := sort.Search(len(ids), func(i int) bool { return ids[i] >= d.siltID })
		return i < len(ids) && ids[i] == d.siltID
	}

	// Refs. Iceberg refs share one namespace: a silt tag named like a
	// branch is not published.
	want := map[string]struct {
		id  int64
		typ icetable.RefType
	}{}
	if h, ok := headOf[""]; ok && alive(pubs[h]) {
		want[icetable.MainBranch] = struct {
			id  int64
			typ icetable.RefType
		}{h, icetable.BranchRef}
	}
	for _, br := range silt.branches {
		h, ok := headOf[br.Name]
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
			want[br.Name] = struct {
				id  int64
				typ icetable.RefType
			}{h, icetable.BranchRef}
		}
	}
	for _, tg := range silt.tags {
		if _, clash := want[tg.Name]; clash || tg.Name == icetable.MainBranch {
			res.Skipped = append(res.Skipped, fmt.Sprintf("tag %s: a branch has that name", tg.Name))
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
		want[tg.Name] = struct {
			id  int64
			typ icetable.RefType
		}{id, icetable.TagRef}
	}
	var baseRefs map[string]icetable.SnapshotRef
	if base != nil {
		baseRefs = map[string]icetable.SnapshotRef{}
		for n, r := range base.Refs() {
			baseRefs[n] = r
		}
	}
	for n := range baseRefs {
		if _, ok := want[n]; !ok {
			if err := b.RemoveSnapshotRef(n); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := want[n]
		if old, ok := baseRefs[n]; ok && old.SnapshotID == r.id && old.SnapshotRefType == r.typ {
			continue
		}
		if old, ok := baseRefs[n]; ok && old.SnapshotRefType != r.typ {
			if err := b.RemoveSnapshotRef(n); err != nil {
				return nil, err
			}
		}
		if err := b.SetSnapshotRef(n, r.id, r.typ); err != nil {
			return nil, fmt.Errorf("ref %s: %w", n, err)
		}
		changed = true
	}

	// Drop snapshots silt no longer has (expired, dropped branches).
	var drop []int64
	refd := map[int64]bool{}
	for _, r := range want {
		refd[r.id] = true
	}
	for _, d := range pubList {
		if _, isNew := added[d.iceID]; isNew {
			continue
		}
		// A snapshot a ref names stays (a branch created from a main
		// snapshot that main expired since keeps it).
		if !alive(d) && !refd[d.iceID] {
			drop = append(drop, d.iceID)
		}
	}
	if len(drop) > 0 {
		if err := b.RemoveSnapshots(drop, false); err != nil {
			return nil, fmt.Errorf("drop expired snapshots: %w", err)
		}
		res.Removed = len(drop)
		changed = true
	}

	// Properties: the name mapping follows renames.
	nm, err := json.Marshal(nameMapping(schemas))
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
		changed = true
	}

	if !changed {
		res.Location = ptr.Location
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
	rel := fmt.Sprintf("%s%05d-%s.metadata.json", MetadataDir, version+1, p.newID())
	if _, err := store.PutIfAbsent(ctx, root+rel, body); err != nil {
		return nil, fmt.Errorf("write %s: %w", rel, err)
	}
	np := &pointer{Version: pointerVersion, Metadata: rel, Location: loc + p.escape(rel)}
	if h, ok := want[icetable.MainBranch]; ok {
		np.Snapshot = pubs[h.id].siltID
	}
	if err := switchPointer(ctx, store, root, np, etag, ptr != nil); err != nil {
		return nil, err
	}
	res.Location, res.Wrote = np.Location, true
	if res.Removed > 0 || (version+1)%cleanEvery == 0 {
		p.clean(ctx, t, md, rel)
	}
	return res, nil
}

// cleanEvery: a publication that drops no snapshot cleans the view's
// leftovers (clean.go: two listings) only every cleanEvery versions.
const cleanEvery = 16

// previousVersionsMax is how many earlier metadata files the metadata log
// keeps (and cleanup spares).
const previousVersionsMax = 10

func propsContain(have iceberg.Properties, want iceberg.Properties) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func (p *Publisher) maxCatchUp() int {
	if p.MaxCatchUp > 0 {
		return p.MaxCatchUp
	}
	return 64
}

func branchLabel(b string) string {
	if b == "" {
		return "main"
	}
	return "branch " + b
}

// metadataVersion parses the version of a metadata file name
// (iceberg/metadata/00012-<id>.metadata.json → 12); 0 when unparsable.
func metadataVersion(rel string) int {
	name := strings.TrimPrefix(rel, MetadataDir)
	v, _, ok := strings.Cut(name, "-")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
