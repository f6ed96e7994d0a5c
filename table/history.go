package table

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// History: tags, branches, rollback and fast-forward on top of the
// manifest layer (manifest/tag.go, branch.go, lease.go). A branch is a
// Table whose metadata handle commits to branch/<name>/snapshot/; it shares
// the schema, manifests and data files with the rest of the table, so
// writers, scans, Changes and compaction work on it unchanged. Rollback
// and fast-forward are REPLACE commits: the new snapshot publishes the
// source snapshot's manifest list and properties, under a lease on the
// source so garbage collection cannot delete its files first.

// PropReplaceSource is the snapshot property a REPLACE commit records:
// "snapshot:<id>", "tag:<name>" or "branch:<name>@<id>".
const PropReplaceSource = "silt.replace.source"

// historyLeaseTTL bounds how long a rollback, fast-forward or branch
// creation pins its source snapshot; the lease is released right after.
const historyLeaseTTL = 10 * time.Minute

// historyUser commits rollbacks and fast-forwards (each with a fresh
// identifier).
const historyUser = "silt-history"

// Ref names a snapshot of the table's history: a snapshot id (> 0), a tag,
// or a time (the latest snapshot committed at or before AsOfMillis). A tag
// excludes the others (an id wins over a time, as in Resolve); the zero Ref
// is the latest snapshot.
type Ref struct {
	SnapshotID int64
	Tag        string
	AsOfMillis int64
}

// IsZero reports whether r names the latest snapshot.
func (r Ref) IsZero() bool { return r.SnapshotID == 0 && r.Tag == "" && r.AsOfMillis == 0 }

// String renders r for messages and snapshot properties.
func (r Ref) String() string {
	switch {
	case r.Tag != "":
		return "tag:" + r.Tag
	case r.SnapshotID != 0:
		return "snapshot:" + strconv.FormatInt(r.SnapshotID, 10)
	case r.AsOfMillis != 0:
		return "time:" + time.UnixMilli(r.AsOfMillis).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return "latest"
}

func (r Ref) validate() error {
	if r.Tag != "" && (r.SnapshotID != 0 || r.AsOfMillis != 0) {
		return fmt.Errorf("%w: give a tag or a snapshot (id or time), not both", types.ErrInvalid)
	}
	if r.SnapshotID < 0 {
		return fmt.Errorf("%w: snapshot id %d must be positive", types.ErrInvalid, r.SnapshotID)
	}
	return nil
}

// ResolveRef returns the snapshot r names on the table's branch (a tag
// names its snapshot whatever branch it was taken on): nil for the latest
// snapshot of an empty table. An unknown snapshot or tag, or a time before
// the earliest retained snapshot, is an error wrapping types.ErrNotFound.
// A tag's snapshot stays readable after expiry removed the snapshot object.
func (t *Table) ResolveRef(ctx context.Context, r Ref) (*manifest.Snapshot, error) {
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	if r.Tag != "" {
		tag, err := t.meta.Tag(ctx, r.Tag)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		s := tag.Snapshot
		return &s, nil
	}
	return t.Resolve(ctx, r.SnapshotID, r.AsOfMillis)
}

// BranchName is the branch this view of the table reads and writes: "" for
// main.
func (t *Table) BranchName() string { return t.meta.BranchName() }

// Branch returns a view of the table on an existing branch ("" or "main":
// the main branch); an unknown branch is an error wrapping
// types.ErrNotFound. Writers, scans, Changes and compaction of the view
// work on the branch; tags are shared by all branches.
func (t *Table) Branch(ctx context.Context, name string) (*Table, error) {
	b, err := t.meta.OpenBranch(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	v := *t
	v.meta = b
	return &v, nil
}

// pin leases snapshot s, read through ref, for the duration of a history
// operation. The lease must be released with unpin.
func (t *Table) pin(ctx context.Context, meta *manifest.Table, s *manifest.Snapshot, r Ref) (*manifest.Lease, error) {
	leaseRef := ""
	if r.Tag != "" {
		leaseRef = manifest.TagPath(r.Tag)
	}
	l, err := meta.AcquireLease(ctx, s, leaseRef, historyUser, historyLeaseTTL)
	if err != nil {
		return nil, fmt.Errorf("table %s: pin %s: %w", t.name, r, err)
	}
	return l, nil
}

func (t *Table) unpin(meta *manifest.Table, l *manifest.Lease) {
	// Release even when the operation's ctx was cancelled; a lease left
	// behind only delays garbage collection until it expires.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = meta.ReleaseLease(ctx, l)
}

// CreateTag tags the snapshot from names (the zero Ref: the latest) as
// name. The tag keeps the snapshot readable, and its files, after the
// snapshot expires. An existing tag wraps types.ErrConflict.
func (t *Table) CreateTag(ctx context.Context, name string, from Ref) (*manifest.Tag, error) {
	if err := manifest.ValidateRefName("tag", name); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	s, err := t.ResolveRef(ctx, from)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: table %s: cannot create tag %s: the table has no snapshot yet", types.ErrInvalid, t.name, name)
	}
	meta := t.meta
	if from.Tag != "" {
		// A tag of a tag: check the snapshot on the branch it came from.
		src, err := t.meta.Tag(ctx, from.Tag)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		meta = t.meta.Branch(src.Branch)
	}
	tag, err := meta.CreateTag(ctx, name, s, false)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	t.afterChange(ctx)
	return tag, nil
}

// Tag returns one tag; an unknown tag wraps types.ErrNotFound.
func (t *Table) Tag(ctx context.Context, name string) (*manifest.Tag, error) {
	tag, err := t.meta.Tag(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return tag, nil
}

// Tags lists the table's tags by name.
func (t *Table) Tags(ctx context.Context) ([]*manifest.Tag, error) {
	tags, err := t.meta.Tags(ctx)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return tags, nil
}

// DeleteTag deletes a tag; an unknown tag wraps types.ErrNotFound. Its
// snapshot's files go with the next garbage collection unless something
// else references them.
func (t *Table) DeleteTag(ctx context.Context, name string) error {
	if err := t.meta.DeleteTag(ctx, name); err != nil {
		return fmt.Errorf("table %s: %w", t.name, err)
	}
	t.afterChange(ctx)
	return nil
}

// Rollback publishes, on the table's branch, a new snapshot whose content
// (files, schema id, properties such as stream offsets) is that of the
// snapshot to names; the history in between is kept. The new snapshot's
// property silt.replace.source records the source.
func (t *Table) Rollback(ctx context.Context, to Ref) (*manifest.Snapshot, error) {
	if to.IsZero() {
		return nil, fmt.Errorf("%w: table %s: rollback needs a snapshot id, a tag or a time", types.ErrInvalid, t.name)
	}
	src, err := t.ResolveRef(ctx, to)
	if err != nil {
		return nil, err
	}
	label := "snapshot:" + strconv.FormatInt(src.ID, 10)
	if to.Tag != "" {
		label = "tag:" + to.Tag
	}
	return t.replaceWith(ctx, t.meta, src, to, label)
}

// FastForward publishes, on the table's branch (normally main), the latest
// snapshot of branch as a new snapshot: readers switch from the old content
// to the branch's in one atomic commit. Commits made on the target since
// the branch was created are replaced (they stay in its history).
func (t *Table) FastForward(ctx context.Context, branch string) (*manifest.Snapshot, error) {
	if branch == "" || branch == manifest.MainBranch || branch == t.meta.BranchName() {
		return nil, fmt.Errorf("%w: table %s: cannot fast-forward a branch to itself", types.ErrInvalid, t.name)
	}
	b, err := t.meta.OpenBranch(ctx, branch)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	src, err := b.Latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("table %s: branch %s: %w", t.name, branch, err)
	}
	if src == nil {
		return nil, fmt.Errorf("%w: table %s: branch %s has no snapshot to fast-forward to", types.ErrInvalid, t.name, branch)
	}
	return t.replaceWith(ctx, b, src, Ref{}, fmt.Sprintf("branch:%s@%d", branch, src.ID))
}

// replaceWith commits src (read through srcMeta and r) as the next
// snapshot of the table's branch, holding a lease on it meanwhile.
func (t *Table) replaceWith(ctx context.Context, srcMeta *manifest.Table, src *manifest.Snapshot, r Ref, label string) (*manifest.Snapshot, error) {
	l, err := t.pin(ctx, srcMeta, src, r)
	if err != nil {
		return nil, err
	}
	defer t.unpin(srcMeta, l)
	s, err := t.meta.Commit(ctx, manifest.Commit{
		User: historyUser, Identifier: t.env.NewID(), Fresh: true,
		Kind: manifest.CommitReplace, Source: src,
		Properties: map[string]string{PropReplaceSource: label},
	})
	if err != nil {
		return nil, fmt.Errorf("table %s: replace with %s: %w", t.name, label, err)
	}
	return s, nil
}

// CreateBranch creates branch name starting at the snapshot from names on
// the table's branch (the zero Ref: its latest; an empty table gives an
// empty branch) and returns a view of the table on it. The branch's first
// snapshot is a copy of the source with the same id; it shares every file.
// An existing branch wraps types.ErrConflict.
func (t *Table) CreateBranch(ctx context.Context, name string, from Ref) (*Table, error) {
	if name == manifest.MainBranch {
		return nil, fmt.Errorf("%w: table %s: branch name %q is reserved", types.ErrInvalid, t.name, name)
	}
	if err := manifest.ValidateRefName("branch", name); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	src, err := t.ResolveRef(ctx, from)
	if err != nil {
		return nil, err
	}
	if src != nil {
		srcMeta := t.meta
		if from.Tag != "" {
			srcMeta = t.meta.Main()
		}
		l, err := t.pin(ctx, srcMeta, src, from)
		if err != nil {
			return nil, err
		}
		defer t.unpin(srcMeta, l)
	}
	b, err := t.meta.CreateBranch(ctx, name, src, t.meta.BranchName(), from.Tag)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	t.afterChange(ctx) // the Iceberg view's branch ref follows at once
	v := *t
	v.meta = b
	return &v, nil
}

// Branches lists the table's branches (main not included) by name.
func (t *Table) Branches(ctx context.Context) ([]*manifest.BranchInfo, error) {
	bs, err := t.meta.Branches(ctx)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return bs, nil
}

// DropBranch deletes a branch and its snapshots; files only it used become
// orphans for orphan cleanup. An unknown branch wraps types.ErrNotFound.
func (t *Table) DropBranch(ctx context.Context, name string) error {
	if name == "" || name == manifest.MainBranch {
		return fmt.Errorf("%w: table %s: the main branch cannot be dropped", types.ErrInvalid, t.name)
	}
	if err := t.meta.DropBranch(ctx, name); err != nil {
		return fmt.Errorf("table %s: %w", t.name, err)
	}
	t.afterChange(ctx)
	return nil
}
