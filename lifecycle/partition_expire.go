package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// PartitionExpireReport says what one partition expiry did (or would do).
type PartitionExpireReport struct {
	Partitions []string
	Files      int
	Snapshot   int64 // the OVERWRITE snapshot (0: none)
}

// partitionTimer returns a function giving the time of a canonical
// partition path (partition.timestamp-pattern filled with its values,
// parsed with partition.timestamp-formatter, in UTC); ok is false for a
// partition whose text does not parse (it never expires).
func (t *tableGC) partitionTimer() (func(partition string) (time.Time, bool, error), error) {
	l := &t.opts.Lifecycle
	if len(t.partIdx) == 0 {
		return nil, fmt.Errorf("%w: table %s is not partitioned: partition expiry and %s need partition columns", types.ErrInvalid, t.name, table.OptTierPartitionAge)
	}
	layout, err := table.JavaLayout(l.PartitionFormatter)
	if err != nil {
		return nil, fmt.Errorf("%w: table %s: option %s: %v", types.ErrInvalid, t.name, table.OptPartitionTimeFormatter, err)
	}
	pattern := l.PartitionPattern
	if pattern == "" {
		pattern = "$" + t.schema.Fields[t.partIdx[0]].Name
	}
	// Replace longer column names first, so $dt never eats $dt_hour.
	cols := make([]string, len(t.partIdx))
	for i, idx := range t.partIdx {
		cols[i] = t.schema.Fields[idx].Name
	}
	order := append([]string(nil), cols...)
	sort.Slice(order, func(a, b int) bool { return len(order[a]) > len(order[b]) })
	probe := pattern
	for _, c := range order {
		probe = strings.ReplaceAll(probe, "$"+c, "")
	}
	if strings.Contains(probe, "$") {
		return nil, fmt.Errorf("%w: table %s: option %s=%q names a column that is not a partition column (have %s)",
			types.ErrInvalid, t.name, table.OptPartitionTimePattern, pattern, strings.Join(cols, ", "))
	}
	return func(partition string) (time.Time, bool, error) {
		segs := strings.Split(partition, "/")
		if len(segs) != len(cols) {
			return time.Time{}, false, nil
		}
		vals := map[string]string{}
		for i, seg := range segs {
			k, v, ok := strings.Cut(seg, "=")
			if !ok || k != cols[i] {
				return time.Time{}, false, nil
			}
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			vals[k] = v
		}
		text := pattern
		for _, c := range order {
			text = strings.ReplaceAll(text, "$"+c, vals[c])
		}
		ts, err := time.ParseInLocation(layout, text, time.UTC)
		if err != nil {
			return time.Time{}, false, nil
		}
		return ts, true, nil
	}, nil
}

// partitionExpireAttempts bounds re-plans after a concurrent commit
// replaced files of an expiring partition.
const partitionExpireAttempts = 4

// ExpirePartitions drops the partitions whose time is older than
// partition.expiration-time: one OVERWRITE snapshot deletes all their
// files (older snapshots keep them until snapshot expiry).
func ExpirePartitions(ctx context.Context, t *table.Table, dryRun bool) (*PartitionExpireReport, []string, error) {
	return newGC(t).expirePartitions(ctx, dryRun)
}

// expirePartitions implements ExpirePartitions.
func (t *tableGC) expirePartitions(ctx context.Context, dryRun bool) (*PartitionExpireReport, []string, error) {
	rep := &PartitionExpireReport{}
	l := &t.opts.Lifecycle
	if l.PartitionExpiration <= 0 {
		return rep, nil, nil
	}
	pt, err := t.partitionTimer()
	if err != nil {
		return rep, nil, err
	}
	var lastErr error
	for attempt := 0; attempt < partitionExpireAttempts; attempt++ {
		snap, err := t.meta.Latest(ctx)
		if err != nil || snap == nil {
			return rep, nil, err
		}
		files, err := t.meta.Files(ctx, snap)
		if err != nil {
			return rep, nil, fmt.Errorf("table %s: snapshot %d: %w", t.name, snap.ID, err)
		}
		cutoff := t.env.Now().Add(-l.PartitionExpiration)
		old := map[string]bool{}
		var del []manifest.DataFile
		for _, f := range files {
			isOld, seen := old[f.Partition]
			if !seen {
				ts, ok, err := pt(f.Partition)
				if err != nil {
					return rep, nil, err
				}
				isOld = ok && ts.Before(cutoff)
				old[f.Partition] = isOld
			}
			if isOld {
				del = append(del, f)
			}
		}
		var parts []string
		for p, isOld := range old {
			if isOld {
				parts = append(parts, p)
			}
		}
		sort.Strings(parts)
		if len(del) == 0 {
			return rep, nil, nil
		}
		if dryRun {
			return rep, []string{fmt.Sprintf("drop %d expired partitions (%s): %d files", len(parts), abbreviate(parts, 5), len(del))}, nil
		}
		s, err := t.meta.Commit(ctx, manifest.Commit{
			User: "silt-partition-expire-" + t.env.NewID(), Identifier: "1", Fresh: true,
			Kind: manifest.CommitOverwrite, SchemaID: snap.SchemaID, Deleted: del,
		})
		if errors.Is(err, types.ErrConflict) {
			lastErr = err
			continue
		}
		if err != nil {
			return rep, nil, fmt.Errorf("table %s: partition expiry: %w", t.name, err)
		}
		rep.Partitions, rep.Files, rep.Snapshot = parts, len(del), s.ID
		return rep, nil, nil
	}
	return rep, nil, fmt.Errorf("table %s: partition expiry: %w", t.name, lastErr)
}

// abbreviate joins the first n items and says how many more there are.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
