package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Automatic tags (tag.automatic-creation = process-time) name periods of
// the clock (Env.Now, in UTC): daily tags "2026-11-22", hourly and
// two-hour tags "2026-11-22T13" (the hour the period starts; two-hour
// periods start at even hours). Once a period has ended and
// tag.creation-delay has passed, AutoTag tags the latest snapshot
// committed by then (end + delay) with the period's name, unless a tag of
// that name exists: running it again in the same period creates nothing.
// Only the most recent completed period is tagged; periods missed while
// nothing ran are not backfilled. Automatic tags are marked Auto, and only
// they are deleted to enforce tag.num-retained-max (the oldest by name,
// which sorts by period) and tag.default-time-retained (by creation
// time).

// AutoTag runs the table's automatic tag creation policy once: it creates
// the tags that are due and deletes automatic tags beyond the retention
// count, and returns their names.
func AutoTag(ctx context.Context, t *table.Table) (created, deleted []string, err error) {
	return newGC(t).autoTag(ctx, false)
}

// AutoTagPlan returns what AutoTag would create and delete now, changing
// nothing (for dry runs).
func AutoTagPlan(ctx context.Context, t *table.Table) (create, del []string, err error) {
	return newGC(t).autoTag(ctx, true)
}

func (t *tableGC) autoTag(ctx context.Context, dryRun bool) (created, deleted []string, err error) {
	h := t.opts.History
	if h.TagCreation == table.TagCreationNone && h.TagRetainedMax == 0 && h.TagTimeRetained == 0 {
		return nil, nil, nil
	}
	now := t.env.Now().UTC()
	tags, err := t.meta.Tags(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("table %s: auto tags: %w", t.name, err)
	}
	have := make(map[string]bool, len(tags))
	var autos []*manifest.Tag
	for _, tg := range tags {
		have[tg.Name] = true
		if tg.Auto {
			autos = append(autos, tg)
		}
	}
	if h.TagCreation == table.TagCreationProcessTime {
		name, cutoff := dueTag(now, h.TagPeriod, h.TagDelay)
		if !have[name] {
			tag, err := t.createAutoTag(ctx, name, cutoff, dryRun)
			if err != nil {
				return nil, nil, err
			}
			if tag != nil {
				created = append(created, name)
				autos = append(autos, tag)
			}
		}
	}
	sort.Slice(autos, func(i, j int) bool { return autos[i].Name < autos[j].Name })
	drop := map[string]bool{}
	if h.TagTimeRetained > 0 {
		for _, tg := range autos {
			if now.Sub(time.UnixMilli(tg.CreatedMillis)) > h.TagTimeRetained {
				drop[tg.Name] = true
			}
		}
	}
	if n := len(autos) - h.TagRetainedMax; h.TagRetainedMax > 0 && n > 0 {
		for _, tg := range autos[:n] {
			drop[tg.Name] = true
		}
	}
	for _, tg := range autos {
		if !drop[tg.Name] {
			continue
		}
		if !dryRun {
			if err := t.meta.DeleteTag(ctx, tg.Name); err != nil && !errors.Is(err, types.ErrNotFound) {
				return created, deleted, fmt.Errorf("table %s: auto tags: %w", t.name, err)
			}
		}
		deleted = append(deleted, tg.Name)
	}
	if !dryRun && len(created)+len(deleted) > 0 {
		t.tbl.NotifyChange(ctx) // the Iceberg view's tag refs follow
	}
	return created, deleted, nil
}

// createAutoTag tags the latest snapshot committed at or before cutoff as
// name; it returns nil when there is none (or another process created the
// tag first).
func (t *tableGC) createAutoTag(ctx context.Context, name string, cutoff time.Time, dryRun bool) (*manifest.Tag, error) {
	s, err := t.meta.SnapshotAsOf(ctx, cutoff.UnixMilli())
	if errors.Is(err, types.ErrNotFound) {
		return nil, nil // nothing committed by then (or it expired)
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: auto tag %s: %w", t.name, name, err)
	}
	if s == nil {
		return nil, nil
	}
	if dryRun {
		return &manifest.Tag{Name: name, Snapshot: *s, CreatedMillis: t.env.Now().UnixMilli(), Auto: true}, nil
	}
	tag, err := t.meta.CreateTag(ctx, name, s, true)
	switch {
	case errors.Is(err, types.ErrConflict):
		return nil, nil // a concurrent run created it
	case errors.Is(err, types.ErrNotFound):
		return nil, nil // the snapshot expired meanwhile
	case err != nil:
		return nil, fmt.Errorf("table %s: auto tag %s: %w", t.name, name, err)
	}
	return tag, nil
}

// dueTag returns the name of the most recent period that ended at least
// delay before now, and the end of that period plus delay (the time whose
// latest snapshot the tag names).
func dueTag(now time.Time, period string, delay time.Duration) (string, time.Time) {
	ref := now.Add(-delay)
	var start time.Time
	var length time.Duration
	switch period {
	case table.TagPeriodHourly:
		length = time.Hour
		start = ref.Truncate(time.Hour)
	case table.TagPeriodTwoHours:
		length = 2 * time.Hour
		h := ref.Truncate(time.Hour)
		start = h.Add(-time.Duration(h.Hour()%2) * time.Hour)
	default:
		length = 24 * time.Hour
		start = time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, time.UTC)
	}
	// start is the period in progress at ref; the one before it is the
	// most recent completed one.
	done := start.Add(-length)
	if period == table.TagPeriodDaily || period == "" {
		return done.Format("2006-01-02"), start.Add(delay)
	}
	return done.Format("2006-01-02T15"), start.Add(delay)
}
