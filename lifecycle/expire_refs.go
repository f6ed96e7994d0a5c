package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// objRef names one object garbage collection may delete: a path relative
// to the table root in a tier ("" = the hot store, TierCold = the cold
// store). Snapshot, manifest-list and manifest objects are always hot.
type objRef struct {
	Tier string `json:"tier,omitempty"`
	Path string `json:"path"`
	// Size is informational (0 for metadata objects); it is not part of
	// the identity: use key().
	Size int64 `json:"size,omitempty"`
}

type refKey struct{ tier, path string }

func (o objRef) key() refKey { return refKey{o.Tier, o.Path} }

// refSet is a set of objects, keyed by (tier, path), with the sizes seen.
type refSet map[refKey]int64

func (s refSet) add(o objRef) { s[o.key()] = max(s[o.key()], o.Size) }

func (s refSet) has(tier, path string) bool {
	_, ok := s[refKey{tier, path}]
	return ok
}

// reacher lists what snapshots need. Manifests and manifest lists are
// immutable, so one run of a collector memoizes them.
type reacher struct {
	t     *tableGC
	mu    sync.Mutex
	lists map[string][]manifest.ManifestMeta
	mans  map[string][]manifest.Entry
}

func newReacher(t *tableGC) *reacher {
	return &reacher{t: t, lists: map[string][]manifest.ManifestMeta{}, mans: map[string][]manifest.Entry{}}
}

func (r *reacher) list(ctx context.Context, path string) ([]manifest.ManifestMeta, error) {
	r.mu.Lock()
	l, ok := r.lists[path]
	r.mu.Unlock()
	if ok {
		return l, nil
	}
	l, err := r.t.meta.ReadManifestList(ctx, path)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.lists[path] = l
	r.mu.Unlock()
	return l, nil
}

func (r *reacher) manifest(ctx context.Context, path string) ([]manifest.Entry, error) {
	r.mu.Lock()
	m, ok := r.mans[path]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	m, err := r.t.meta.ReadManifest(ctx, path)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.mans[path] = m
	r.mu.Unlock()
	return m, nil
}

// add puts into set everything a snapshot with these manifest lists needs
// (the semantics of manifest.Table.ReachableFrom): the lists, their
// manifests, the live data files in their tiers and the changelog files.
func (r *reacher) add(ctx context.Context, set refSet, manifestList, changelogList string) error {
	for _, l := range []string{manifestList, changelogList} {
		if l == "" {
			continue
		}
		metas, err := r.list(ctx, l)
		if err != nil {
			return err
		}
		set.add(objRef{Path: l})
		live := map[string]manifest.DataFile{}
		for _, m := range metas {
			set.add(objRef{Path: m.Path})
			entries, err := r.manifest(ctx, m.Path)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if l == changelogList {
					if e.Kind == manifest.Add {
						set.add(objRef{Tier: e.File.Tier, Path: e.File.Path, Size: e.File.Size})
					}
					continue
				}
				_, ok := live[e.File.Path]
				switch {
				case e.Kind == manifest.Add && ok:
					return fmt.Errorf("%w: manifest %s adds %s which is already live", types.ErrCorruption, m.Path, e.File.Path)
				case e.Kind == manifest.Add:
					live[e.File.Path] = e.File
				case !ok:
					return fmt.Errorf("%w: manifest %s deletes %s which is not live", types.ErrCorruption, m.Path, e.File.Path)
				default:
					delete(live, e.File.Path)
				}
			}
		}
		for _, f := range live {
			set.add(objRef{Tier: f.Tier, Path: f.Path, Size: f.Size})
		}
	}
	return nil
}

// addRef is add for a reference whose object may vanish meanwhile (a
// snapshot expired by another collector, a deleted tag, a released
// lease): a missing manifest list or manifest is ignored when gone()
// confirms the reference itself is gone, and is an error otherwise (a
// collector never guesses what a live reference needs).
func (r *reacher) addRef(ctx context.Context, set refSet, manifestList, changelogList string, gone func() (bool, error)) error {
	tmp := refSet{}
	err := r.add(ctx, tmp, manifestList, changelogList)
	if errors.Is(err, types.ErrNotFound) {
		g, gerr := gone()
		if gerr != nil {
			return gerr
		}
		if g {
			return nil
		}
	}
	if err != nil {
		return err
	}
	for k, v := range tmp {
		set[k] = max(set[k], v)
	}
	return nil
}

// gcReferences returns every object a reference of the table needs: every
// snapshot of main, every tag, every snapshot under every branch folder
// (and a branch's source snapshot), and every unexpired lease. Leases are
// listed last, after the references they pin (see manifest/lease.go).
func (t *tableGC) gcReferences(ctx context.Context, r *reacher) (refSet, error) {
	return t.gcReferencesFiltered(ctx, r, nil)
}

// gcReferencesFiltered is gcReferences leaving out the main snapshots for
// which skip returns true.
func (t *tableGC) gcReferencesFiltered(ctx context.Context, r *reacher, skip func(id int64) bool) (refSet, error) {
	set := refSet{}
	if err := t.addBranchRefs(ctx, r, set, t.meta.Main(), skip); err != nil {
		return nil, err
	}
	tags, err := t.meta.Tags(ctx)
	if err != nil {
		return nil, err
	}
	for _, tag := range tags {
		name := tag.Name
		err := r.addRef(ctx, set, tag.Snapshot.ManifestList, tag.Snapshot.ChangelogManifestList, func() (bool, error) {
			_, err := t.meta.Tag(ctx, name)
			return errors.Is(err, types.ErrNotFound), ignoreNotFound(err)
		})
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", name, err)
		}
	}
	folders, err := t.meta.BranchFolders(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range folders {
		if manifest.ValidateRefName("branch", name) != nil {
			continue
		}
		info, err := t.meta.BranchInfo(ctx, name)
		switch {
		case err == nil && info.From != nil:
			from := info.From
			err := r.addRef(ctx, set, from.ManifestList, from.ChangelogManifestList, func() (bool, error) {
				_, err := t.meta.BranchInfo(ctx, name)
				return errors.Is(err, types.ErrNotFound), ignoreNotFound(err)
			})
			if err != nil {
				return nil, fmt.Errorf("branch %s: %w", name, err)
			}
		case err != nil && !errors.Is(err, types.ErrNotFound):
			return nil, err
		}
		if err := t.addBranchRefs(ctx, r, set, t.meta.Branch(name), nil); err != nil {
			return nil, fmt.Errorf("branch %s: %w", name, err)
		}
	}
	if err := t.addLeaseRefs(ctx, r, set); err != nil {
		return nil, err
	}
	return set, nil
}

// addBranchRefs adds every snapshot of one branch (main included).
func (t *tableGC) addBranchRefs(ctx context.Context, r *reacher, set refSet, b *manifest.Table, skip func(int64) bool) error {
	snaps, err := b.Snapshots(ctx)
	if err != nil {
		return err
	}
	for _, s := range snaps {
		id := s.ID
		if skip != nil && skip(id) {
			continue
		}
		err := r.addRef(ctx, set, s.ManifestList, s.ChangelogManifestList, func() (bool, error) {
			_, err := b.Snapshot(ctx, id)
			return errors.Is(err, types.ErrNotFound), ignoreNotFound(err)
		})
		if err != nil {
			return fmt.Errorf("snapshot %d: %w", id, err)
		}
	}
	return nil
}

// addLeaseRefs adds what every unexpired lease pins. A lease whose
// manifest list is already gone was refused by AcquireLease (its reference
// was deleted first), so it pins nothing.
func (t *tableGC) addLeaseRefs(ctx context.Context, r *reacher, set refSet) error {
	leases, err := t.meta.Leases(ctx)
	if err != nil {
		return err
	}
	now := t.env.Now()
	for _, l := range leases {
		if l.Expired(now) {
			continue
		}
		if err := r.addRef(ctx, set, l.ManifestList, l.ChangelogManifestList, func() (bool, error) { return true, nil }); err != nil {
			return fmt.Errorf("lease %s: %w", l.ID, err)
		}
	}
	return nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, types.ErrNotFound) {
		return nil
	}
	return err
}
