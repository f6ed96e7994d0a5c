package table

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// CompactOptions configure (*Table).Compact.
type CompactOptions struct {
	// Full compacts every selected bucket into one sorted run at the last
	// level, dropping deletes and expired rows; otherwise the universal
	// picker decides which buckets need compaction.
	Full bool
	// Rewrite, with Full, rewrites every file, also of buckets already in
	// one sorted run: older files come out in the current data-file format
	// (field ids), file.compression codec and schema.
	Rewrite bool
	// Partition selects partitions: "" selects all, else a spec such as
	// "dt=2024-01-01,region=eu" (see ParsePartitionSpec).
	Partition string
	// User is the commit user of the COMPACT snapshots; default
	// "compactor-<uuid>".
	User string
	// Parallelism is the number of buckets compacted at once; default the
	// table's compaction.max-concurrent.
	Parallelism int
	// Progress receives progress events (see compaction.Compactor).
	Progress func(compaction.Event)
}

// NewCompactor returns a compactor of the table with its options, schema
// and merge engine. user may be "" (a fresh compactor user).
func (t *Table) NewCompactor(user string) (*compaction.Compactor, error) {
	opts := t.compactionOptions()
	if err := opts.Validate(t.schema); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	exec := &compaction.Executor{
		Store:   t.readStore(), // reads cold-tier inputs too (tier_store.go)
		Root:    t.root,
		Schema:  t.schema,
		Merger:  t.merger,
		Options: opts,
		Now:     t.env.Now,
		NewID:   t.env.NewID,
	}
	if t.env.Schemas != nil {
		// Files written after an ALTER TABLE by other writers are merged
		// with their newer schema, never narrowed to this table's.
		exec.ForSchema = func(ctx context.Context, id int64) (*types.Schema, lsm.Merger, error) {
			v, err := t.AtSchema(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			return v.schema, v.merger, nil
		}
	}
	return &compaction.Compactor{Meta: t.meta, Exec: exec, Picker: compaction.NewUniversal(opts), User: user}, nil
}

// Compact compacts the table once: every selected bucket the picker finds
// worth compacting (or, with Full, every selected bucket) is merged and the
// results are committed as COMPACT snapshots. Concurrent writers are not
// disturbed; a bucket whose inputs another compaction replaced first is
// reported as a conflict and the error wraps types.ErrConflict. Input files
// stay in the store for older snapshots.
func (t *Table) Compact(ctx context.Context, o CompactOptions) (*compaction.Report, error) {
	if o.Rewrite && !o.Full {
		return nil, fmt.Errorf("%w: table %s: a rewrite is a full compaction: set Full with Rewrite", types.ErrInvalid, t.name)
	}
	c, err := t.NewCompactor(o.User)
	if err != nil {
		return nil, err
	}
	if o.Parallelism > 0 {
		c.Exec.Options.Parallelism = o.Parallelism
	}
	c.Progress = o.Progress
	req := compaction.Request{Full: o.Full, Rewrite: o.Rewrite}
	if o.Partition != "" {
		match, err := t.ParsePartitionSpec(o.Partition)
		if err != nil {
			return nil, err
		}
		req.Filter = func(b compaction.BucketID) bool { return match(b.Partition) }
	}
	rep, err := c.Run(ctx, req)
	if err != nil {
		return rep, fmt.Errorf("table %s: %w", t.name, err)
	}
	return rep, nil
}

// ParsePartitionSpec parses "col=value,col2=value" (partition columns,
// values as SQL literals are written without quotes, e.g. dt=2024-01-01)
// into a predicate on canonical partition paths. Columns not given match
// any value.
func (t *Table) ParsePartitionSpec(spec string) (func(partition string) bool, error) {
	if len(t.partIdx) == 0 {
		return nil, fmt.Errorf("%w: table %s is not partitioned", types.ErrInvalid, t.name)
	}
	want := map[int]string{} // position in partIdx -> path segment
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%w: partition spec %q: want col=value[,col=value…]", types.ErrInvalid, spec)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		pos := -1
		for i, idx := range t.partIdx {
			if strings.EqualFold(t.schema.Fields[idx].Name, k) {
				pos = i
			}
		}
		if pos < 0 {
			return nil, fmt.Errorf("%w: partition spec %q: %q is not a partition column of %s", types.ErrInvalid, spec, k, t.name)
		}
		f := t.schema.Fields[t.partIdx[pos]]
		val, err := types.ParseText(v, f.Type)
		if err != nil {
			return nil, fmt.Errorf("partition spec %q: column %s: %w", spec, f.Name, err)
		}
		want[pos] = f.Name + "=" + url.PathEscape(types.FormatValue(val, f.Type))
	}
	return func(partition string) bool {
		segs := strings.Split(partition, "/")
		if len(segs) != len(t.partIdx) {
			return false
		}
		for pos, seg := range want {
			if segs[pos] != seg {
				return false
			}
		}
		return true
	}, nil
}

// BucketStats describes one bucket's merge tree.
type BucketStats struct {
	Partition string
	Bucket    int
	Files     int
	Records   int64
	Bytes     int64
	// SortedRuns counts level-0 files plus non-empty levels >= 1.
	SortedRuns int
	// FilesPerLevel[i] is the number of files at level i.
	FilesPerLevel []int
	// UntilStall is num-sorted-run.stop-trigger minus SortedRuns: how many
	// more sorted runs writers may add before they stall (<= 0: stalled).
	UntilStall int
	// NeedsCompaction: SortedRuns reached num-sorted-run.compaction-trigger.
	NeedsCompaction bool
}

// BucketStats returns the shape of every bucket at the latest snapshot, in
// (partition, bucket) order.
func (t *Table) BucketStats(ctx context.Context) ([]BucketStats, error) {
	snap, err := t.meta.Latest(ctx)
	if err != nil || snap == nil {
		return nil, err
	}
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		return nil, fmt.Errorf("table %s: snapshot %d: %w", t.name, snap.ID, err)
	}
	return t.bucketStats(files), nil
}

func (t *Table) bucketStats(files []manifest.DataFile) []BucketStats {
	runs := compaction.CountRuns(files)
	co := t.opts.Compaction
	var out []BucketStats
	for _, b := range compaction.GroupBuckets(files) {
		s := BucketStats{Partition: b.Partition, Bucket: b.Bucket, Files: len(b.Files), SortedRuns: runs[b.BucketID]}
		for _, f := range b.Files {
			s.Records += f.RowCount
			s.Bytes += f.Size
			for len(s.FilesPerLevel) <= f.Level {
				s.FilesPerLevel = append(s.FilesPerLevel, 0)
			}
			s.FilesPerLevel[f.Level]++
		}
		s.UntilStall = co.StopTrigger - s.SortedRuns
		s.NeedsCompaction = s.SortedRuns >= co.Trigger
		out = append(out, s)
	}
	return out
}

// DataFiles returns the snapshot chosen as by Resolve (nil for an empty
// table) and its live data files, sorted by partition, bucket, level and
// path.
func (t *Table) DataFiles(ctx context.Context, snapshotID, asOfMillis int64) (*manifest.Snapshot, []manifest.DataFile, error) {
	snap, err := t.Resolve(ctx, snapshotID, asOfMillis)
	if err != nil || snap == nil {
		return snap, nil, err
	}
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		return nil, nil, fmt.Errorf("table %s: snapshot %d: %w", t.name, snap.ID, err)
	}
	return snap, files, nil
}

// FormatKey renders a canonical key encoding (a data file's MinKey or
// MaxKey) as text: the primary-key values in key order, e.g. "[eu, 42]".
// An encoding that does not decode is shown in hex.
func (t *Table) FormatKey(enc []byte) string {
	vals, err := types.DecodeKey(enc)
	if err != nil || len(vals) != len(t.keyIdx) {
		return fmt.Sprintf("0x%x", enc)
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = types.FormatValue(v, t.schema.Fields[t.keyIdx[i]].Type)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
