package icebergview

import (
	"context"
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
	fieldIDs                   fieldIDCache
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
