package table

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Hidden rows: what a reader of the raw data files must drop to see what a
// scan sees. A table publishes, beside its own metadata, an Iceberg view of
// each snapshot whose data files are silt's own Parquet files; the sorted
// runs of a bucket overlap and keep -U/-D records, so the view carries
// position deletes naming, per data file, the rows the scan's merge does
// not return (hidden_merge.go finds them, hidden_cache.go remembers them
// per bucket, hidden_state.go extends them when a bucket only gained newer
// files, posdelete.go writes them as Iceberg position delete files).
//
// The merge is the scan's: the files of each (partition, bucket) merged by
// (key, seq, file order), each key's records handed to the table's merge
// engine. Only the hidden columns (_key, _seq, _kind) are decoded, plus the
// sequence.field column when the table orders records by one and the
// record TTL's time column when it has record-level.expire-time.
//
// Record TTL makes the answer depend on the clock: a row the scan would
// return now may be expired an hour later. HiddenRows hides the rows that
// are expired at Env.Now() when it is called (the clock a scan started at
// that moment uses); the cache keeps the time values of the visible rows,
// not the verdicts, so a cached bucket is re-judged at every call.

// HiddenRows lists, for each data file of snap that holds rows a plain
// scan (SELECT *) of snap does not return, the 0-based positions of those
// rows in the file, ascending. A reader that reads every data file of snap
// and drops these positions sees exactly the scan's rows: older versions a
// newer record of the same key shadows, -U/-D records, and keys whose last
// record is a delete. The map is keyed by manifest.DataFile.Path.
//
// It is defined for the deduplicate and first-row merge engines only,
// where one stored record is the row; for the others it returns an error
// wrapping types.ErrInvalid.
//
// With record TTL (record-level.expire-time), rows whose time column is
// expired at Env.Now() at the call are hidden too, as a scan started then
// hides them; a later call may hide more. Buckets whose files did not
// change since an earlier call are answered from a bounded in-memory cache
// (only the TTL is re-judged), and buckets that only gained newer files
// (a commit) by reading those files alone. HiddenRows reads snap's files without a
// lease: a caller working on an older snapshot than the latest should pin
// it (a scan of it holds a lease) so that expiry does not delete its files
// meanwhile, which would surface as a read error.
func (t *Table) HiddenRows(ctx context.Context, snap *manifest.Snapshot) (map[string][]int64, error) {
	switch t.merger.(type) {
	case *deduplicate, *firstRow:
	default:
		return nil, fmt.Errorf("%w: table %s: hidden rows need %s=%s or %s (one stored record per row); this table merges with %s",
			types.ErrInvalid, t.name, OptMergeEngine, EngineDeduplicate, EngineFirstRow, t.engineName())
	}
	out := map[string][]int64{}
	if snap == nil {
		return out, nil
	}
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		return nil, fmt.Errorf("table %s: hidden rows of snapshot %d: %w", t.name, snap.ID, err)
	}
	expired := t.expiredRow()
	ttlField := -1
	if expired != nil {
		ttlField = t.schema.FieldIndex(t.opts.Compaction.TimeField)
	}
	cfg := t.hiddenConfig(ttlField)
	groups := groupByBucket(files)
	results, err := t.bucketsHidden(ctx, groups, cfg)
	if err != nil {
		return nil, fmt.Errorf("table %s: hidden rows of snapshot %d: %w", t.name, snap.ID, err)
	}
	var row types.Row // the probe row handed to expired
	for _, b := range results {
		for path, pos := range b.hidden {
			out[path] = slices.Clone(pos)
		}
		if expired == nil {
			continue
		}
		if row == nil {
			row = make(types.Row, len(t.schema.Fields))
		}
		for path, ws := range b.winners {
			var exp []int64
			for _, w := range ws {
				row[ttlField] = w.at
				if expired(row) {
					exp = append(exp, w.pos)
				}
			}
			if len(exp) > 0 {
				out[path] = mergeSorted(out[path], exp)
			}
		}
	}
	return out, nil
}

// maxHiddenBuckets caps the buckets HiddenRows reads at once (each holds
// its files' decoded hidden columns, one row group per file).
const maxHiddenBuckets = 4

// bucketsHidden answers the buckets, up to maxHiddenBuckets at once; the
// first error cancels the others.
func (t *Table) bucketsHidden(ctx context.Context, groups []fileGroup, cfg hiddenConfig) ([]*bucketResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*bucketResult, len(groups))
	errs := make([]error, len(groups))
	sem := make(chan struct{}, maxHiddenBuckets)
	var wg sync.WaitGroup
	for i, g := range groups {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = t.bucketHidden(ctx, g, cfg)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("bucket %d of partition %q: %w", g.bucket, g.partition, errs[i])
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// engineName is the merge engine option's value, for messages.
func (t *Table) engineName() string {
	if v, ok := t.schema.Options[OptMergeEngine]; ok {
		return v
	}
	return EngineDeduplicate
}

// groupByBucket splits files into their (partition, bucket) groups, each
// in the order of files (the order a scan merges them in).
func groupByBucket(files []manifest.DataFile) []fileGroup {
	idx := map[bucketKey]int{}
	var groups []fileGroup
	for _, f := range files {
		k := bucketKey{f.Partition, f.Bucket}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, fileGroup{partition: f.Partition, bucket: f.Bucket})
		}
		groups[i].files = append(groups[i].files, f)
	}
	return groups
}

// mergeSorted merges two ascending position lists (disjoint) into one.
func mergeSorted(a, b []int64) []int64 {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	out := make([]int64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] < b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
