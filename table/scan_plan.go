package table

import (
	"context"
	"fmt"
)

// ScanPlan says what a planned scan reads out of its snapshot: the
// partitions, buckets (partition, bucket pairs) and files it kept of the
// totals, and whether it is a point lookup. EXPLAIN shows it.
type ScanPlan struct {
	PartitionsTotal, PartitionsPlanned int
	BucketsTotal, BucketsPlanned       int
	FilesTotal, FilesPlanned           int
	// PointLookup: the equalities cover the primary key; Indexed: the
	// lookup index answers it (no file is planned).
	PointLookup, Indexed bool
}

// Plan reports the scan's pruning. It reads the snapshot's manifests (as
// planning did; they are cached), never a data file.
func (s *Scan) Plan(ctx context.Context) (ScanPlan, error) {
	p := ScanPlan{PointLookup: s.point != nil || s.indexed, Indexed: s.indexed}
	if s.snap == nil {
		return p, nil
	}
	files, err := s.t.meta.Files(ctx, s.snap)
	if err != nil {
		return p, fmt.Errorf("table %s: snapshot %d: %w", s.t.name, s.snap.ID, err)
	}
	parts, buckets := map[string]bool{}, map[bucketKey]bool{}
	for _, f := range files {
		parts[f.Partition] = true
		buckets[bucketKey{f.Partition, f.Bucket}] = true
	}
	p.PartitionsTotal, p.BucketsTotal, p.FilesTotal = len(parts), len(buckets), len(files)
	plannedParts := map[string]bool{}
	for _, g := range s.groups {
		plannedParts[g.partition] = true
		p.FilesPlanned += len(g.files)
	}
	p.PartitionsPlanned, p.BucketsPlanned = len(plannedParts), len(s.groups)
	return p, nil
}
