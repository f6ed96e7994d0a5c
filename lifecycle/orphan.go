package lifecycle

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
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
	// Foreign counts objects under the cleaned folders whose names silt
	// never gives (see siltCreated): they are never deleted.
	Foreign int
}

// CleanOrphans deletes the objects under data/, manifest/ and changelog/
// (hot and cold tier) that no reference needs and that are older than
// orphan.grace-period: files of crashed writers, failed commits,
// abandoned tier copies, and anything an expiry left behind. It also
// sweeps the temp files crashed writes left anywhere under the table in
// stores that have them (objstore.TempSweeper: the local store).
//
// The store is listed first and the references (snapshots, tags,
// branches, then leases) are read after, so a snapshot published before
// the references were read is in them, and one published later can only
// need a listed object that was already older than the grace period when
// the listing started: a commit that held its files that long. Commits
// refuse to publish once they held their files for half the grace period
// (manifest.ErrHeldTooLong), which keeps this safe while the clocks of
// cleaner and store differ by less than the other half (docs/adr/0017).
func CleanOrphans(ctx context.Context, t *table.Table, dryRun bool) (*OrphanReport, []string, error) {
	return newGC(t).cleanOrphans(ctx, dryRun)
}

// cleanOrphans implements CleanOrphans.
func (t *tableGC) cleanOrphans(ctx context.Context, dryRun bool) (*OrphanReport, []string, error) {
	rep := &OrphanReport{}
	cutoff := t.env.Now().Add(-t.opts.Lifecycle.OrphanGracePeriod)
	var cands []objRef
	collect := func(st objstore.Store, tier string) error {
		for _, dir := range gcDataDirs {
			infos, err := st.List(ctx, t.root+dir)
			if err != nil {
				return fmt.Errorf("table %s: orphan cleanup: list %s%s: %w", t.name, tierPrefix(tier), dir, err)
			}
			for _, in := range infos {
				rel, ok := strings.CutPrefix(in.Key, t.root)
				if !ok || validGCPath(rel) != nil {
					continue
				}
				if !siltCreated(rel) {
					rep.Foreign++ // not a name silt writes: never ours to delete
					continue
				}
				if !in.LastModified.Before(cutoff) {
					rep.Young++ // possibly a commit in flight; referenced ones are subtracted below
					cands = append(cands, objRef{Tier: tier, Path: rel, Size: -1})
					continue
				}
				cands = append(cands, objRef{Tier: tier, Path: rel, Size: in.Size})
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
	var cold objstore.Store
	if t.hasColdStore() {
		var err error
		if cold, err = t.coldStore(ctx); err != nil {
			return rep, nil, err
		}
		if err := collect(cold, table.TierCold); err != nil {
			return rep, nil, err
		}
	}
	refs, err := t.gcReferences(ctx, newReacher(t))
	if err != nil {
		return rep, nil, fmt.Errorf("table %s: orphan cleanup: list references: %w", t.name, err)
	}
	var del []objRef
	for _, o := range cands {
		switch {
		case refs.has(o.Tier, o.Path):
			if o.Size < 0 {
				rep.Young--
			}
		case o.Size >= 0:
			del = append(del, o)
		}
	}
	if err := sweep(t.store, ""); err != nil {
		return rep, nil, err
	}
	if cold != nil {
		if err := sweep(cold, table.TierCold); err != nil {
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

// siltCreated says whether p (relative to the table root) has the form of
// a name silt itself gives the objects orphan cleanup may delete: a
// manifest or manifest list directly under manifest/, or a data or
// changelog file "data-<id>.parquet" / "changelog-<id>.parquet" directly
// in a "bucket-<n>" folder under data/ (hot or cold tier). Anything else
// under those folders — an operator's notes, another tool's output, a
// renamed copy — is left alone, however old and unreferenced.
func siltCreated(p string) bool {
	if rest, ok := strings.CutPrefix(p, "manifest/manifest-"); ok {
		return rest != "" && !strings.Contains(rest, "/")
	}
	if !strings.HasPrefix(p, "data/") {
		return false
	}
	dir, base := path.Split(p)
	bucket := path.Base(strings.TrimSuffix(dir, "/"))
	n, ok := strings.CutPrefix(bucket, "bucket-")
	if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return false
	}
	id, ok := strings.CutSuffix(base, ".parquet")
	if !ok {
		return false
	}
	for _, kind := range []string{"data-", "changelog-"} {
		if rest, ok := strings.CutPrefix(id, kind); ok {
			return rest != "" && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
		}
	}
	return false
}

// CleanLeases deletes expired leases (they pin nothing any more) and
// returns how many it deleted (or, with dryRun, would delete).
func CleanLeases(ctx context.Context, t *table.Table, dryRun bool) (int, error) {
	return newGC(t).cleanLeases(ctx, dryRun)
}

// cleanLeases implements CleanLeases.
func (t *tableGC) cleanLeases(ctx context.Context, dryRun bool) (int, error) {
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
