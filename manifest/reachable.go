package manifest

import (
	"context"
	"fmt"

	"github.com/siltdb/silt/types"
)

// ChangelogFiles returns the changelog files of snapshot s (nil when its
// commit wrote none), with absolute sequence numbers.
func (t *Table) ChangelogFiles(ctx context.Context, s *Snapshot) ([]DataFile, error) {
	if s == nil || s.ChangelogManifestList == "" {
		return nil, nil
	}
	metas, err := t.ReadManifestList(ctx, s.ChangelogManifestList)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: changelog: %w", s.ID, err)
	}
	entries, err := t.readManifests(ctx, metas)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: changelog: %w", s.ID, err)
	}
	var out []DataFile
	for _, es := range entries {
		for _, e := range es {
			if e.Kind == Add {
				out = append(out, e.File)
			}
		}
	}
	return out, nil
}

// Reachable is every object one snapshot (or lease) needs, with paths
// relative to the table root.
type Reachable struct {
	// ManifestLists are the data and changelog manifest lists.
	ManifestLists []string
	Manifests     []string
	// DataFiles are the live data files and the changelog files, each with
	// the tier it lives in.
	DataFiles []DataFile
}

// ReachableFrom lists what a snapshot with the given manifest lists needs
// (changelogList may be ""): the lists, their manifests, and the files
// their ADD entries name. A DELETE entry's file is not needed by this
// snapshot (it is reachable from an older one, or not at all), except that
// a tier move (DELETE hot + ADD cold of one path) keeps only the ADD's tier.
func (t *Table) ReachableFrom(ctx context.Context, manifestList, changelogList string) (*Reachable, error) {
	r := &Reachable{}
	for _, list := range []string{manifestList, changelogList} {
		if list == "" {
			continue
		}
		metas, err := t.ReadManifestList(ctx, list)
		if err != nil {
			return nil, err
		}
		r.ManifestLists = append(r.ManifestLists, list)
		entries, err := t.readManifests(ctx, metas)
		if err != nil {
			return nil, err
		}
		live := map[string]DataFile{}
		for i, es := range entries {
			r.Manifests = append(r.Manifests, metas[i].Path)
			if list == changelogList {
				for _, e := range es {
					if e.Kind == Add {
						r.DataFiles = append(r.DataFiles, e.File)
					}
				}
				continue
			}
			if err := replay(live, es); err != nil {
				return nil, fmt.Errorf("%w: manifest list %s: manifest %s: %v", types.ErrCorruption, list, metas[i].Path, err)
			}
		}
		for _, f := range sortedFiles(live) {
			r.DataFiles = append(r.DataFiles, f)
		}
	}
	return r, nil
}
