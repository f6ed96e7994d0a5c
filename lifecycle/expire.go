package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// ExpireReport says what one snapshot expiry did (or would do).
type ExpireReport struct {
	// Resumed counts interrupted runs (journals) finished first.
	Resumed int
	// Snapshots are the expired snapshot ids.
	Snapshots []int64
	// FilesDeleted and BytesDeleted count data and changelog files;
	// MetaDeleted counts manifests and manifest lists.
	FilesDeleted, MetaDeleted int
	BytesDeleted              int64
	// Kept counts candidates that a reference listed after the snapshots
	// were deleted (a lease, a new tag or branch) still needs.
	Kept int
}

// expirable returns how many of the oldest snapshots of snaps (ascending,
// the last one the latest) the retention policy expires at now.
// replacedAt(i) is when snaps[i] stopped being the latest: the publication
// time of snaps[i+1].
func expirable(l *table.LifecycleOptions, snaps []*manifest.Snapshot, now time.Time, replacedAt func(i int) (int64, error)) (int, error) {
	n := len(snaps)
	limit := n - max(l.NumRetainedMin, 1) // never the latest, never below min
	if limit <= 0 {
		return 0, nil
	}
	k := 0
	if l.NumRetainedMax > 0 && n > l.NumRetainedMax {
		k = min(n-l.NumRetainedMax, limit)
	}
	cutoff := now.Add(-l.TimeRetained).UnixMilli()
	for k < limit {
		at, err := replacedAt(k)
		if err != nil {
			return 0, err
		}
		if at >= cutoff {
			break
		}
		k++
	}
	return k, nil
}

// replacedAt is when snaps[i] stopped being the latest snapshot: the
// later of snaps[i+1]'s commit time and the time the store put it (a slow
// committer stamps its snapshot before publishing it, and a reader may
// have resolved snaps[i] as the latest until the put).
func (t *tableGC) replacedAt(ctx context.Context, snaps []*manifest.Snapshot) func(i int) (int64, error) {
	return func(i int) (int64, error) {
		next := snaps[i+1]
		info, err := t.store.Stat(ctx, t.root+manifest.SnapshotPath(next.ID))
		if errors.Is(err, objstore.ErrNotFound) {
			return next.TimeMillis, nil // expired meanwhile by another collector
		}
		if err != nil {
			return 0, fmt.Errorf("table %s: stat snapshot %d: %w", t.name, next.ID, err)
		}
		return max(next.TimeMillis, info.LastModified.UnixMilli()), nil
	}
}

// ExpireSnapshots runs snapshot expiry once (see docs/design.md, "Garbage
// collection"): it finishes interrupted runs, picks the snapshots of main
// the retention options expire (oldest first), journals them with the
// objects only they reference, deletes the snapshots, lists the
// references again (leases last) and deletes the candidates nothing
// references. With dryRun it only plans; next describes the plan.
func ExpireSnapshots(ctx context.Context, t *table.Table, dryRun bool) (rep *ExpireReport, next []string, err error) {
	return newGC(t).expireSnapshots(ctx, dryRun)
}

// expireSnapshots implements ExpireSnapshots.
func (t *tableGC) expireSnapshots(ctx context.Context, dryRun bool) (rep *ExpireReport, next []string, err error) {
	rep = &ExpireReport{}
	journals, err := t.journals(ctx)
	if err != nil {
		return rep, nil, err
	}
	for _, j := range journals {
		if dryRun {
			next = append(next, fmt.Sprintf("resume interrupted expiry %s: %d snapshots, %d candidate files", j.ID, len(j.Snapshots), len(j.Objects)))
			continue
		}
		if err := t.runJournal(ctx, j, rep); err != nil {
			return rep, nil, err
		}
		rep.Resumed++
	}
	snaps, err := t.meta.Main().Snapshots(ctx)
	if err != nil {
		return rep, next, fmt.Errorf("table %s: %w", t.name, err)
	}
	k, err := expirable(&t.opts.Lifecycle, snaps, t.env.Now(), t.replacedAt(ctx, snaps))
	if err != nil {
		return rep, next, err
	}
	if k == 0 {
		return rep, next, nil
	}
	expired, retained := snaps[:k], snaps[k:]

	r := newReacher(t)
	refs, err := t.gcReferencesExcept(ctx, r, expired)
	if err != nil {
		return rep, next, fmt.Errorf("table %s: expire: %w", t.name, err)
	}
	reach := refSet{}
	for _, s := range expired {
		id := s.ID
		err := r.addRef(ctx, reach, s.ManifestList, s.ChangelogManifestList, func() (bool, error) {
			_, err := t.meta.Main().Snapshot(ctx, id)
			return errors.Is(err, types.ErrNotFound), ignoreNotFound(err)
		})
		if err != nil {
			return rep, next, fmt.Errorf("table %s: expire snapshot %d: %w", t.name, id, err)
		}
	}
	j := &expireJournal{Version: manifest.FormatVersion, ID: t.env.NewID(), CreatedMillis: t.env.Now().UnixMilli()}
	for _, s := range expired {
		j.Snapshots = append(j.Snapshots, s.ID)
	}
	for k, size := range reach {
		if _, ok := refs[k]; !ok {
			j.Objects = append(j.Objects, objRef{Tier: k.tier, Path: k.path, Size: size})
		}
	}
	sort.Slice(j.Objects, func(a, b int) bool {
		if j.Objects[a].Tier != j.Objects[b].Tier {
			return j.Objects[a].Tier < j.Objects[b].Tier
		}
		return j.Objects[a].Path < j.Objects[b].Path
	})
	if dryRun {
		files, bytes := 0, int64(0)
		for _, o := range j.Objects {
			if !isMetaPath(o.Path) {
				files++
				bytes += o.Size
			}
		}
		next = append(next, fmt.Sprintf("expire %s (%d of %d; keeping %s): delete %d files (%s) and %d manifests",
			idRange("snapshot", expired[0].ID, expired[k-1].ID), k, len(snaps), idRange("", retained[0].ID, retained[len(retained)-1].ID),
			files, fmtBytes(bytes), len(j.Objects)-files))
		rep.Snapshots = j.Snapshots
		return rep, next, nil
	}
	if err := t.writeJournal(ctx, j); err != nil {
		return rep, nil, err
	}
	if err := t.runJournal(ctx, j, rep); err != nil {
		return rep, nil, err
	}
	return rep, nil, nil
}

// gcReferencesExcept is gcReferences without the snapshots about to
// expire: the candidates of a plan are what they reach and nothing else
// does.
func (t *tableGC) gcReferencesExcept(ctx context.Context, r *reacher, expired []*manifest.Snapshot) (refSet, error) {
	skip := map[int64]bool{}
	for _, s := range expired {
		skip[s.ID] = true
	}
	return t.gcReferencesFiltered(ctx, r, func(id int64) bool { return skip[id] })
}

// runJournal executes steps 3-6 of an expiry: delete the journal's
// snapshots oldest first, list every reference again (leases last), delete
// the candidates none needs, then the journal. Every step is idempotent,
// so a crash anywhere is finished by the next run.
func (t *tableGC) runJournal(ctx context.Context, j *expireJournal, rep *ExpireReport) error {
	for _, id := range j.Snapshots {
		if err := t.store.Delete(ctx, t.root+manifest.SnapshotPath(id)); err != nil {
			return fmt.Errorf("table %s: expire snapshot %d: %w", t.name, id, err)
		}
	}
	// Views beside the table (the Iceberg view) drop the expired snapshots
	// before their files go.
	t.tbl.NotifyChange(ctx)
	refs, err := t.gcReferences(ctx, newReacher(t))
	if err != nil {
		return fmt.Errorf("table %s: expire: list references: %w", t.name, err)
	}
	var del []objRef
	for _, o := range j.Objects {
		if refs.has(o.Tier, o.Path) {
			rep.Kept++
			continue
		}
		del = append(del, o)
	}
	if err := t.deleteObjects(ctx, del); err != nil {
		return err
	}
	for _, o := range del {
		if !isMetaPath(o.Path) {
			rep.FilesDeleted++
			rep.BytesDeleted += o.Size
		} else {
			rep.MetaDeleted++
		}
	}
	rep.Snapshots = append(rep.Snapshots, j.Snapshots...)
	if err := t.store.Delete(ctx, t.root+expireJournalPfx+j.ID); err != nil {
		return fmt.Errorf("table %s: delete expire journal %s: %w", t.name, j.ID, err)
	}
	return nil
}

// gcDeleteParallelism bounds concurrent deletes of one collector.
const gcDeleteParallelism = 8

// deleteObjects deletes objects in their tiers, a few at a time.
func (t *tableGC) deleteObjects(ctx context.Context, objs []objRef) error {
	var cold objstore.Store
	for _, o := range objs {
		if o.Tier == table.TierCold {
			s, err := t.coldStore(ctx)
			if err != nil {
				return err
			}
			cold = s
			break
		}
	}
	sem := make(chan struct{}, gcDeleteParallelism)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, o := range objs {
		st := t.store
		if o.Tier == table.TierCold {
			st = cold
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := st.Delete(ctx, t.root+o.Path); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("table %s: delete %s: %w", t.name, describeRef(o), err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// idRange renders "snapshot 3" or "snapshots 3..7" (what "" = bare ids).
func idRange(what string, lo, hi int64) string {
	switch {
	case what == "" && lo == hi:
		return fmt.Sprint(lo)
	case what == "":
		return fmt.Sprintf("%d..%d", lo, hi)
	case lo == hi:
		return fmt.Sprintf("%s %d", what, lo)
	}
	return fmt.Sprintf("%ss %d..%d", what, lo, hi)
}

// isMetaPath reports whether p is a manifest or manifest list.
func isMetaPath(p string) bool { return strings.HasPrefix(p, manifest.ManifestDir) }

func describeRef(o objRef) string {
	if o.Tier == "" {
		return o.Path
	}
	return o.Tier + ":" + o.Path
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
