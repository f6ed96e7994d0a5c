package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Change is one row-level change between two snapshots: a changelog row
// (+I, -U, +U, -D) and the snapshot whose commit made it.
type Change struct {
	SnapshotID int64
	Kind       types.RowKind
	Row        types.Row
}

// changesLookupKeys: a bucket whose commit touched at most this many keys
// is diffed by point lookups of those keys; a bigger one by merging both
// sides of the whole bucket.
const changesLookupKeys = 256

// errChangesStopped ends a walk when the consumer stops iterating.
var errChangesStopped = errors.New("changes: consumer stopped")

// Changes yields the changes that lead from the table's state at snapshot
// from (nil: the empty table) to its state at snapshot to (nil yields
// nothing), both of this table's branch, commit by commit in id order
// (from.ID, to.ID]:
//   - a commit with changelog files (written by a changelog producer)
//     yields their rows as written;
//   - a COMPACT commit yields nothing (it does not change content);
//   - any other commit is diffed against its parent, bucket by bucket, for
//     buckets whose files differ: when the commit only added files, only
//     the keys those files hold are compared. A key present only after
//     yields +I, only before -D, in both with different rows -U then +U.
//
// When a snapshot in between has expired, one diff of from against to is
// yielded instead (all with to's id). Rows are read with the table's
// current schema. Order: by snapshot, then partition, bucket and key.
// Applying the changes to the state at from yields the state at to.
func (t *Table) Changes(ctx context.Context, from, to *manifest.Snapshot) iter.Seq2[Change, error] {
	return t.changes(ctx, from, to, changesLookupKeys)
}

func (t *Table) changes(ctx context.Context, from, to *manifest.Snapshot, lookupKeys int) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		emit := func(c Change) error {
			if !yield(c, nil) {
				return errChangesStopped
			}
			return nil
		}
		err := t.walkChanges(ctx, from, to, lookupKeys, emit)
		if err != nil && !errors.Is(err, errChangesStopped) {
			yield(Change{}, fmt.Errorf("table %s: changes: %w", t.name, err))
		}
	}
}

func (t *Table) walkChanges(ctx context.Context, from, to *manifest.Snapshot, lookupKeys int, emit func(Change) error) error {
	var fromID int64
	if from != nil {
		fromID = from.ID
	}
	if to == nil {
		if from != nil {
			return fmt.Errorf("%w: from snapshot %d but no to snapshot", types.ErrInvalid, from.ID)
		}
		return nil
	}
	if fromID > to.ID {
		return fmt.Errorf("%w: from snapshot %d is after to snapshot %d", types.ErrInvalid, fromID, to.ID)
	}
	steps, complete, err := t.changeSteps(ctx, fromID, to)
	if err != nil {
		return err
	}
	d := &differ{t: t, lookupKeys: lookupKeys, emit: emit}
	if !complete {
		return d.diff(ctx, from, to, to.ID)
	}
	parent := from
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.step(ctx, parent, s); err != nil {
			return err
		}
		parent = s
	}
	return nil
}

// changeSteps loads the snapshots (fromID, to.ID]; complete is false when
// one of them is missing (expired, or older than a branch's first
// snapshot).
func (t *Table) changeSteps(ctx context.Context, fromID int64, to *manifest.Snapshot) ([]*manifest.Snapshot, bool, error) {
	var steps []*manifest.Snapshot
	for id := fromID + 1; id < to.ID; id++ {
		s, err := t.meta.Snapshot(ctx, id)
		if errors.Is(err, types.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		steps = append(steps, s)
	}
	if fromID < to.ID {
		steps = append(steps, to)
	}
	return steps, true, nil
}

// differ emits the changes of commits and of snapshot pairs.
type differ struct {
	t          *Table
	lookupKeys int
	emit       func(Change) error
}

// step emits the changes of commit s on top of parent.
func (d *differ) step(ctx context.Context, parent, s *manifest.Snapshot) error {
	if s.CommitKind == manifest.CommitCompact {
		return nil
	}
	cl, err := d.t.meta.ChangelogFiles(ctx, s)
	if err != nil {
		return err
	}
	if len(cl) > 0 {
		return d.changelog(ctx, s.ID, cl)
	}
	return d.diff(ctx, parent, s, s.ID)
}

// changelog emits the rows of a commit's changelog files as written,
// ordered by partition, bucket, key and sequence.
func (d *differ) changelog(ctx context.Context, id int64, files []manifest.DataFile) error {
	groups := changeGroups(files)
	for _, g := range sortedGroupIDs(groups) {
		var recs []lsm.Record
		for _, f := range groups[g] {
			fr, err := d.t.openFile(ctx, f)
			if err != nil {
				return err
			}
			for rec, err := range fr.All(ctx) {
				if err != nil {
					return fmt.Errorf("changelog file %s: %w", f.Path, err)
				}
				recs = append(recs, rec)
			}
		}
		slices.SortStableFunc(recs, func(a, b lsm.Record) int {
			if c := bytes.Compare(a.Key, b.Key); c != 0 {
				return c
			}
			return changeCmpSeq(a.Seq, b.Seq)
		})
		for _, r := range recs {
			if err := d.emit(Change{SnapshotID: id, Kind: r.Kind, Row: r.Row}); err != nil {
				return err
			}
		}
	}
	return nil
}

func changeCmpSeq(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// diff emits the changes from the state at old (nil: empty) to the state
// at cur, labelled with snapshot id.
func (d *differ) diff(ctx context.Context, old, cur *manifest.Snapshot, id int64) error {
	oldFiles, err := d.t.meta.Files(ctx, old)
	if err != nil {
		return err
	}
	curFiles, err := d.t.meta.Files(ctx, cur)
	if err != nil {
		return err
	}
	og, cg := changeGroups(oldFiles), changeGroups(curFiles)
	ids := sortedGroupIDs(og, cg)
	for _, g := range ids {
		of, cf := og[g], cg[g]
		added, additive := changeAddedFiles(of, cf)
		if additive && len(added) == 0 {
			continue // same files: same content
		}
		if !additive {
			if err := d.joinBuckets(ctx, of, cf, nil, id); err != nil {
				return err
			}
			continue
		}
		keys, err := d.keysOf(ctx, added)
		if err != nil {
			return err
		}
		if len(keys) <= d.lookupKeys {
			err = d.lookupKeysDiff(ctx, of, cf, keys, id)
		} else {
			err = d.joinBuckets(ctx, of, cf, keys, id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// changeAddedFiles returns the files of cur that old does not hold; additive is
// false when old holds a file cur does not (then any key may have changed).
func changeAddedFiles(old, cur []manifest.DataFile) (added []manifest.DataFile, additive bool) {
	in := make(map[string]bool, len(cur))
	for _, f := range cur {
		in[f.Path] = true
	}
	for _, f := range old {
		if !in[f.Path] {
			return nil, false
		}
	}
	was := make(map[string]bool, len(old))
	for _, f := range old {
		was[f.Path] = true
	}
	for _, f := range cur {
		if !was[f.Path] {
			added = append(added, f)
		}
	}
	return added, true
}

// keysOf returns the distinct keys the files hold, sorted.
func (d *differ) keysOf(ctx context.Context, files []manifest.DataFile) ([][]byte, error) {
	var keys [][]byte
	for _, f := range files {
		fr, err := d.t.openFile(ctx, f)
		if err != nil {
			return nil, err
		}
		for rec, err := range fr.All(ctx) {
			if err != nil {
				return nil, fmt.Errorf("data file %s: %w", f.Path, err)
			}
			if n := len(keys); n == 0 || !bytes.Equal(keys[n-1], rec.Key) {
				keys = append(keys, rec.Key)
			}
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	return slices.CompactFunc(keys, bytes.Equal), nil
}

// lookupKeysDiff compares the given keys by point lookups in the old and
// new files of one bucket (each file opened at most once).
func (d *differ) lookupKeysDiff(ctx context.Context, of, cf []manifest.DataFile, keys [][]byte, id int64) error {
	open := map[string]*lsm.FileReader{}
	sources := func(files []manifest.DataFile) []lsm.FileSource {
		srcs := make([]lsm.FileSource, len(files))
		for i, f := range files {
			srcs[i] = lsm.FileSource{Meta: f, Open: func(ctx context.Context) (*lsm.FileReader, error) {
				if fr := open[f.Path]; fr != nil {
					return fr, nil
				}
				fr, err := d.t.openFile(ctx, f)
				if err != nil {
					return nil, err
				}
				open[f.Path] = fr
				return fr, nil
			}}
		}
		return srcs
	}
	osrc, csrc := sources(of), sources(cf)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		before, bok, _, err := lsm.Lookup(ctx, osrc, k, d.t.merger)
		if err != nil {
			return err
		}
		after, aok, _, err := lsm.Lookup(ctx, csrc, k, d.t.merger)
		if err != nil {
			return err
		}
		var b, a types.Row
		if bok {
			b = before.Row
		}
		if aok {
			a = after.Row
		}
		if err := d.pair(b, a, id); err != nil {
			return err
		}
	}
	return nil
}

// pair emits the change of one key from before to after (nil: absent).
func (d *differ) pair(before, after types.Row, id int64) error {
	switch {
	case before == nil && after == nil:
		return nil
	case before == nil:
		return d.emit(Change{SnapshotID: id, Kind: types.Insert, Row: after})
	case after == nil:
		return d.emit(Change{SnapshotID: id, Kind: types.Delete, Row: before})
	case RowsEqual(before, after):
		return nil
	}
	if err := d.emit(Change{SnapshotID: id, Kind: types.UpdateBefore, Row: before}); err != nil {
		return err
	}
	return d.emit(Change{SnapshotID: id, Kind: types.UpdateAfter, Row: after})
}

// joinBuckets merge-joins the live records of the old and new files of one
// bucket in key order; keys, when not nil, restricts the comparison to
// those (sorted) keys.
func (d *differ) joinBuckets(ctx context.Context, of, cf []manifest.DataFile, keys [][]byte, id int64) error {
	return d.t.joinGroups(ctx, of, cf, keys, func(before, after types.Row) error { return d.pair(before, after, id) })
}

// DiffBucket merge-joins the live records of two file sets of one
// (partition, bucket) — the same bucket at two snapshots — in key order
// and calls emit(before, after) for every key whose live row differs:
// before nil for an insert, after nil for a delete. Memory stays bounded
// by the open files of the bucket.
func (t *Table) DiffBucket(ctx context.Context, oldFiles, curFiles []manifest.DataFile, emit func(before, after types.Row) error) error {
	return t.joinGroups(ctx, oldFiles, curFiles, nil, emit)
}

// joinGroups is DiffBucket restricted to keys (sorted; nil: all keys).
func (t *Table) joinGroups(ctx context.Context, of, cf []manifest.DataFile, keys [][]byte, emit func(before, after types.Row) error) error {
	wanted := func(k []byte) bool {
		if keys == nil {
			return true
		}
		_, ok := slices.BinarySearchFunc(keys, k, bytes.Compare)
		return ok
	}
	nextOld, stopOld := iter.Pull2(t.readGroup(ctx, of, false))
	defer stopOld()
	nextCur, stopCur := iter.Pull2(t.readGroup(ctx, cf, false))
	defer stopCur()
	pull := func(next func() (lsm.Record, error, bool)) (*lsm.Record, error) {
		r, err, ok := next()
		if err != nil || !ok {
			return nil, err
		}
		return &r, nil
	}
	o, err := pull(nextOld)
	if err != nil {
		return err
	}
	c, err := pull(nextCur)
	if err != nil {
		return err
	}
	for o != nil || c != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		cmp := 0
		switch {
		case o == nil:
			cmp = 1
		case c == nil:
			cmp = -1
		default:
			cmp = bytes.Compare(o.Key, c.Key)
		}
		var b, a types.Row
		var key []byte
		if cmp <= 0 {
			b, key = o.Row, o.Key
		}
		if cmp >= 0 {
			a, key = c.Row, c.Key
		}
		if wanted(key) && (b == nil || a == nil || !RowsEqual(b, a)) {
			if err := emit(b, a); err != nil {
				return err
			}
		}
		if cmp <= 0 {
			if o, err = pull(nextOld); err != nil {
				return err
			}
		}
		if cmp >= 0 {
			if c, err = pull(nextCur); err != nil {
				return err
			}
		}
	}
	return nil
}

// RowsEqual reports whether two rows hold equal values (NaN equals NaN).
func RowsEqual(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if types.Compare(a[i], b[i]) != 0 && !(changeIsNaN(a[i]) && changeIsNaN(b[i])) {
			return false
		}
	}
	return true
}

func changeIsNaN(v types.Value) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case float32:
		return math.IsNaN(float64(x))
	}
	return false
}

// changeGroups groups files by (partition, bucket).
func changeGroups(files []manifest.DataFile) map[bucketKey][]manifest.DataFile {
	out := map[bucketKey][]manifest.DataFile{}
	for _, f := range files {
		k := bucketKey{f.Partition, f.Bucket}
		out[k] = append(out[k], f)
	}
	return out
}

// sortedGroupIDs returns the union of the groups' ids by partition, bucket.
func sortedGroupIDs(groups ...map[bucketKey][]manifest.DataFile) []bucketKey {
	seen := map[bucketKey]bool{}
	var ids []bucketKey
	for _, g := range groups {
		for k := range g {
			if !seen[k] {
				seen[k] = true
				ids = append(ids, k)
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].partition != ids[j].partition {
			return ids[i].partition < ids[j].partition
		}
		return ids[i].bucket < ids[j].bucket
	})
	return ids
}
