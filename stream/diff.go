package stream

import (
	"context"
	"fmt"
	"sort"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// DiffStats counts what a diff compared.
type DiffStats struct {
	Buckets, BucketsSkipped   int
	Inserts, Updates, Deletes int64
}

// Diff compares the merged state of table t at snapshot from (nil: the
// empty table) with its state at snapshot to, key by key, and calls emit
// for every key whose live row differs: an insert, an update (with the
// before and after rows) or a delete. Both sides are read with the table's
// current schema, so a column added in between reads as its default on
// the older side. Buckets whose live files are the same in both snapshots
// are skipped without reading them; the others are merge-joined in key
// order, so memory stays bounded by one bucket's open files. Events come
// bucket by bucket, in key order within a bucket.
func Diff(ctx context.Context, t *table.Table, from, to *manifest.Snapshot, emit func(Event) error) (DiffStats, error) {
	var st DiffStats
	oldGroups, err := liveGroups(ctx, t, from)
	if err != nil {
		return st, err
	}
	newGroups, err := liveGroups(ctx, t, to)
	if err != nil {
		return st, err
	}
	ids := make([]groupID, 0, len(newGroups))
	for id := range newGroups {
		ids = append(ids, id)
	}
	for id := range oldGroups {
		if _, ok := newGroups[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].partition != ids[j].partition {
			return ids[i].partition < ids[j].partition
		}
		return ids[i].bucket < ids[j].bucket
	})
	var snapID, millis int64
	if to != nil {
		snapID, millis = to.ID, to.TimeMillis
	}
	for _, id := range ids {
		st.Buckets++
		of, nf := oldGroups[id], newGroups[id]
		if samePaths(of, nf) {
			st.BucketsSkipped++
			continue
		}
		err := t.DiffBucket(ctx, of, nf, func(before, after types.Row) error {
			ev := Event{Before: before, After: after, SnapshotID: snapID, TimeMillis: millis}
			switch {
			case before == nil:
				ev.Op = OpInsert
				st.Inserts++
			case after == nil:
				ev.Op = OpDelete
				st.Deletes++
			default:
				ev.Op = OpUpdate
				st.Updates++
			}
			return emit(ev)
		})
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

type groupID struct {
	partition string
	bucket    int
}

// liveGroups returns the live files of a snapshot by (partition, bucket).
func liveGroups(ctx context.Context, t *table.Table, s *manifest.Snapshot) (map[groupID][]manifest.DataFile, error) {
	out := map[groupID][]manifest.DataFile{}
	if s == nil {
		return out, nil
	}
	files, err := t.Meta().Files(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("table %s: snapshot %d: %w", t.Name(), s.ID, err)
	}
	for _, f := range files {
		id := groupID{f.Partition, f.Bucket}
		out[id] = append(out[id], f)
	}
	return out, nil
}

func samePaths(a, b []manifest.DataFile) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]int, len(a))
	for _, f := range a {
		seen[f.Path] = f.Level
	}
	for _, f := range b {
		if l, ok := seen[f.Path]; !ok || l != f.Level {
			return false
		}
	}
	return true
}
