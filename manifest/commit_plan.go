package manifest

import (
	"context"
	"fmt"
	"maps"

	"github.com/siltdb/silt/types"
)

// commitPlan is what one commit attempt publishes on top of its parent.
type commitPlan struct {
	parent          *Snapshot
	parentManifests []ManifestMeta
	// parentLive is the parent's live files, loaded only when the commit
	// deletes files (or when manifests are merged).
	parentLive map[string]DataFile
	added      []DataFile // with absolute sequence numbers
	deleted    []DataFile // the parent's copies
	upgraded   []DataFile // the parent's copies of upgraded files
	delta      []Entry    // ADD entries, then DELETE entries, then upgrades and retiers (DELETE, ADD)
	changelog  []Entry    // ADD entries of changelog files, sequences shifted
	snapshot   *Snapshot  // everything but ManifestList (set for REPLACE)
}

// plan computes snapshot id of c on top of parent: parent.ID+1 (1 without
// a parent) except for a REPLACE commit past a lost snapshot. Errors wrap
// types.ErrConflict when a deleted file is not live in parent, and
// types.ErrInvalid when c does not fit parent.
func (t *Table) plan(ctx context.Context, c *Commit, parent *Snapshot, id int64) (*commitPlan, error) {
	p := &commitPlan{parent: parent}
	next := &Snapshot{
		Version:          FormatVersion,
		ID:               id,
		SchemaID:         c.SchemaID,
		CommitUser:       c.User,
		CommitIdentifier: c.Identifier,
		CommitKind:       c.Kind,
		TimeMillis:       t.opts.Now().UnixMilli(),
	}
	if c.Source != nil {
		return t.planReplace(ctx, c, parent, next)
	}
	var parentProps map[string]string
	if parent != nil {
		next.ParentID = parent.ID
		next.TimeMillis = max(next.TimeMillis, parent.TimeMillis)
		next.TotalRecordCount = parent.TotalRecordCount
		next.NextSequence = parent.NextSequence
		parentProps = parent.Properties
		metas, err := t.ReadManifestList(ctx, parent.ManifestList)
		if err != nil {
			return nil, fmt.Errorf("commit %s/%s: snapshot %d: %w", c.User, c.Identifier, parent.ID, err)
		}
		p.parentManifests = metas
	}
	next.Properties = overlay(parentProps, c.Properties)

	if len(c.Deleted) > 0 || len(c.Upgrades) > 0 || len(c.Retiers) > 0 {
		live, err := t.replayList(ctx, parent, p.parentManifests)
		if err != nil {
			return nil, fmt.Errorf("commit %s/%s: %w", c.User, c.Identifier, err)
		}
		p.parentLive = live
		for _, d := range c.Deleted {
			f, ok := live[d.Path]
			if !ok {
				return nil, fmt.Errorf("%w: commit %s/%s: file %s is not live in snapshot %d (removed by another commit?)",
					types.ErrConflict, c.User, c.Identifier, d.Path, next.ID-1)
			}
			if c.Kind == CommitCompact && f.Level != d.Level {
				return nil, fmt.Errorf("%w: commit %s/%s: file %s is at level %d in snapshot %d, not %d (moved by another compaction)",
					types.ErrConflict, c.User, c.Identifier, d.Path, f.Level, next.ID-1, d.Level)
			}
			p.deleted = append(p.deleted, f)
			next.TotalRecordCount -= f.RowCount
		}
		for _, u := range c.Upgrades {
			f, ok := live[u.Path]
			switch {
			case !ok:
				return nil, fmt.Errorf("%w: commit %s/%s: upgraded file %s is not live in snapshot %d (removed by another commit?)",
					types.ErrConflict, c.User, c.Identifier, u.Path, next.ID-1)
			case f.Level != u.FromLevel:
				return nil, fmt.Errorf("%w: commit %s/%s: upgraded file %s is at level %d in snapshot %d, not %d (moved by another compaction)",
					types.ErrConflict, c.User, c.Identifier, u.Path, f.Level, next.ID-1, u.FromLevel)
			}
			p.upgraded = append(p.upgraded, f)
		}
		for _, r := range c.Retiers {
			f, ok := live[r.Path]
			switch {
			case !ok:
				return nil, fmt.Errorf("%w: commit %s/%s: file %s moved to tier %q is not live in snapshot %d (removed by another commit?)",
					types.ErrConflict, c.User, c.Identifier, r.Path, r.Tier, next.ID-1)
			case f.Tier != r.FromTier:
				return nil, fmt.Errorf("%w: commit %s/%s: file %s is in tier %q in snapshot %d, not %q (moved by another commit)",
					types.ErrConflict, c.User, c.Identifier, r.Path, f.Tier, next.ID-1, r.FromTier)
			}
		}
		for _, a := range c.Added {
			if _, ok := live[a.Path]; ok {
				return nil, fmt.Errorf("%w: commit %s/%s: added file %s is already live in snapshot %d",
					types.ErrInvalid, c.User, c.Identifier, a.Path, next.ID-1)
			}
		}
	}

	base := next.NextSequence
	for _, a := range c.Added {
		f := a
		if c.Kind == CommitCompact {
			if f.MaxSeq >= base {
				return nil, fmt.Errorf("%w: commit %s/%s: compacted file %s has sequence %d, not below the parent's next sequence %d",
					types.ErrInvalid, c.User, c.Identifier, f.Path, f.MaxSeq, base)
			}
		} else {
			f.SeqBase = base
			f.MinSeq += base
			f.MaxSeq += base
		}
		p.added = append(p.added, f)
		next.TotalRecordCount += f.RowCount
		next.DeltaRecordCount += f.RowCount
	}
	for _, f := range c.Changelog {
		f.SeqBase = base
		f.MinSeq += base
		f.MaxSeq += base
		p.changelog = append(p.changelog, Entry{Kind: Add, File: f})
	}
	next.NextSequence = base + c.SeqCount

	for _, f := range p.added {
		p.delta = append(p.delta, Entry{Kind: Add, File: f})
	}
	for _, f := range p.deleted {
		p.delta = append(p.delta, Entry{Kind: Delete, File: f})
	}
	for i, f := range p.upgraded {
		up := f
		up.Level = c.Upgrades[i].Level
		p.delta = append(p.delta, Entry{Kind: Delete, File: f}, Entry{Kind: Add, File: up})
	}
	for _, r := range c.Retiers {
		f := p.parentLive[r.Path]
		moved := f
		moved.Tier = r.Tier
		p.delta = append(p.delta, Entry{Kind: Delete, File: f}, Entry{Kind: Add, File: moved})
	}
	p.snapshot = next
	return p, nil
}

// planReplace plans a REPLACE commit: the new snapshot reuses Source's
// manifest list, so its content is exactly Source's.
func (t *Table) planReplace(ctx context.Context, c *Commit, parent, next *Snapshot) (*commitPlan, error) {
	src := c.Source
	if _, err := t.ReadManifestList(ctx, src.ManifestList); err != nil {
		return nil, fmt.Errorf("commit %s/%s: content of snapshot %d: %w", c.User, c.Identifier, src.ID, err)
	}
	next.SchemaID = src.SchemaID
	next.ManifestList = src.ManifestList
	next.TotalRecordCount = src.TotalRecordCount
	next.NextSequence = src.NextSequence
	if parent != nil {
		next.ParentID = parent.ID
		next.TimeMillis = max(next.TimeMillis, parent.TimeMillis)
		next.NextSequence = max(parent.NextSequence, src.NextSequence)
	}
	next.Properties = overlay(src.Properties, c.Properties)
	return &commitPlan{parent: parent, snapshot: next}, nil
}

// overlay returns parent's properties with over applied ("" deletes a
// key), or nil when none remain.
func overlay(parent, over map[string]string) map[string]string {
	out := maps.Clone(parent)
	for k, v := range over {
		if out == nil {
			out = map[string]string{}
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// replayList returns the live files of s given its manifest list.
func (t *Table) replayList(ctx context.Context, s *Snapshot, metas []ManifestMeta) (map[string]DataFile, error) {
	live := map[string]DataFile{}
	if s == nil {
		return live, nil
	}
	manifests, err := t.readManifests(ctx, metas)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", s.ID, err)
	}
	for i, entries := range manifests {
		if err := replay(live, entries); err != nil {
			return nil, fmt.Errorf("%w: snapshot %d: manifest %s: %v", types.ErrCorruption, s.ID, metas[i].Path, err)
		}
	}
	return live, nil
}

// mergeManifests writes the live files after p as one manifest of ADD
// entries and returns the new manifest list (empty when no file is live).
func (t *Table) mergeManifests(ctx context.Context, p *commitPlan, schemaID int64) ([]ManifestMeta, error) {
	live := p.parentLive
	if live == nil {
		var err error
		if live, err = t.replayList(ctx, p.parent, p.parentManifests); err != nil {
			return nil, err
		}
	}
	live = maps.Clone(live)
	if err := replay(live, p.delta); err != nil {
		return nil, fmt.Errorf("%w: %v", types.ErrInvalid, err)
	}
	if len(live) == 0 {
		return nil, nil
	}
	files := sortedFiles(live)
	entries := make([]Entry, len(files))
	for i, f := range files {
		entries[i] = Entry{Kind: Add, File: f}
	}
	m, err := t.writeManifest(ctx, entries, schemaID)
	if err != nil {
		return nil, err
	}
	return []ManifestMeta{m}, nil
}

// writeManifest writes entries under a fresh name (put-if-absent, so a
// colliding NewID can never overwrite a published manifest).
func (t *Table) writeManifest(ctx context.Context, entries []Entry, schemaID int64) (ManifestMeta, error) {
	m, b, err := t.encodeManifest(entries, schemaID)
	if err != nil {
		return ManifestMeta{}, err
	}
	if _, err := t.store.PutIfAbsent(ctx, t.key(m.Path), b); err != nil {
		return ManifestMeta{}, err
	}
	return m, nil
}

// encodeManifest encodes a manifest of entries under a fresh name and
// returns its meta and bytes.
func (t *Table) encodeManifest(entries []Entry, schemaID int64) (ManifestMeta, []byte, error) {
	b, err := EncodeManifest(&Manifest{Entries: entries})
	if err != nil {
		return ManifestMeta{}, nil, err
	}
	m := ManifestMeta{Path: manifestPrefix + t.opts.NewID(), Size: int64(len(b)), SchemaID: schemaID}
	for _, e := range entries {
		if e.Kind == Add {
			m.NumAdded++
		} else {
			m.NumDeleted++
		}
	}
	return m, b, nil
}
