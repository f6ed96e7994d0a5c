package table

import (
	"context"
	"fmt"
	"strings"

	"github.com/siltdb/silt/objstore"
)

// OrphanReport says what one orphan cleanup did (or would do).
type OrphanReport struct {
	// Deleted and Bytes count unreferenced objects older than the grace
	// period that were deleted; Young counts those kept because they are
	// younger (possibly a commit in flight).
	Deleted int
	Bytes   int64
	Young   int
	// TempFiles counts the stray temporary files of crashed writes
	// (a local store's ".silt-tmp-*", which listings never show) older
	// than the grace period that were deleted (or, dry, would be).
	TempFiles int
}

// CleanOrphans deletes the objects under data/, manifest/ and changelog/
// (hot and cold tier) that no reference needs and that are older than
// orphan.grace-period: files of crashed writers, failed commits,
// abandoned tier copies, and anything an expiry left behind. It also
// sweeps the temp files crashed writes left anywhere under the table in
// stores that have them (objstore.TempSweeper: the local store). The
// references (snapshots, tags, branches, then leases) are computed before
// the store is listed, so every object a snapshot published later needs
// is either in them or newer than the grace period.
func (t *Table) CleanOrphans(ctx context.Context, dryRun bool) (*OrphanReport, []string, error) {
	rep := &OrphanReport{}
	refs, err := t.gcReferences(ctx, newReacher(t))
	if err != nil {
		return rep, nil, fmt.Errorf("table %s: orphan cleanup: list references: %w", t.name, err)
	}
	cutoff := t.env.Now().Add(-t.opts.Lifecycle.OrphanGracePeriod)
	var del []objRef
	collect := func(st objstore.Store, tier string) error {
		for _, dir := range gcDataDirs {
			infos, err := st.List(ctx, t.root+dir)
			if err != nil {
				return fmt.Errorf("table %s: orphan cleanup: list %s%s: %w", t.name, tierPrefix(tier), dir, err)
			}
			for _, in := range infos {
				rel, ok := strings.CutPrefix(in.Key, t.root)
				if !ok || validGCPath(rel) != nil || refs.has(tier, rel) {
					continue
				}
				if tier == "" && isMetaPath(rel) && !isManifestObject(rel) {
					continue // not ours (e.g. another tool's file next to the manifests)
				}
				if !in.LastModified.Before(cutoff) {
					rep.Young++
					continue
				}
				del = append(del, objRef{Tier: tier, Path: rel, Size: in.Size})
			}
		}
		return nil
	}
	// sweep removes the temp files of crashed writes anywhere under the
	// table (stores that stage writes in hidden temp files only).
	sweep := func(st objstore.Store, tier string) error {
		n, err := objstore.SweepTemp(ctx, st, t.root, cutoff, dryRun)
		rep.TempFiles += n
		if err != nil {
			return fmt.Errorf("table %s: orphan cleanup: %stemp files: %w", t.name, tierPrefix(tier), err)
		}
		return nil
	}
	if err := collect(t.store, ""); err != nil {
		return rep, nil, err
	}
	if err := sweep(t.store, ""); err != nil {
		return rep, nil, err
	}
	if t.ColdURI() != "" && t.env.OpenStore != nil {
		cold, err := t.coldStore(ctx)
		if err != nil {
			return rep, nil, err
		}
		if err := collect(cold, TierCold); err != nil {
			return rep, nil, err
		}
		if err := sweep(cold, TierCold); err != nil {
			return rep, nil, err
		}
	}
	for _, o := range del {
		rep.Bytes += o.Size
	}
	if dryRun {
		var next []string
		if len(del) > 0 {
			next = append(next, fmt.Sprintf("delete %d orphan files (%s) older than %s", len(del), fmtBytes(rep.Bytes), t.opts.Lifecycle.OrphanGracePeriod))
		}
		if rep.TempFiles > 0 {
			next = append(next, fmt.Sprintf("delete %d temp files of crashed writes older than %s", rep.TempFiles, t.opts.Lifecycle.OrphanGracePeriod))
		}
		rep.Deleted = len(del)
		return rep, next, nil
	}
	if err := t.deleteObjects(ctx, del); err != nil {
		return rep, nil, err
	}
	rep.Deleted = len(del)
	return rep, nil, nil
}

func tierPrefix(tier string) string {
	if tier == "" {
		return ""
	}
	return tier + ":"
}

// isManifestObject reports whether a path under manifest/ is a manifest
// or manifest list.
func isManifestObject(p string) bool {
	return strings.HasPrefix(p, "manifest/manifest-")
}

// CleanLeases deletes expired leases (they pin nothing any more) and
// returns how many it deleted (or, with dryRun, would delete).
func (t *Table) CleanLeases(ctx context.Context, dryRun bool) (int, error) {
	leases, err := t.meta.Leases(ctx)
	if err != nil {
		return 0, fmt.Errorf("table %s: %w", t.name, err)
	}
	now, n := t.env.Now(), 0
	for _, l := range leases {
		if !l.Expired(now) {
			continue
		}
		n++
		if dryRun {
			continue
		}
		if err := t.meta.DeleteLease(ctx, l.ID); err != nil {
			return n - 1, fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	return n, nil
}
