package table

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// OverwriteScope chooses the live files an overwrite commit replaces.
// The zero value replaces every file of the table.
type OverwriteScope struct {
	// Static, when not empty, maps positions of partition columns to
	// values: every partition agreeing with them is replaced (a subset of
	// the partition columns replaces all partitions below it), whether or
	// not the commit writes rows to it.
	Static map[int]types.Value
	// Dynamic replaces only the partitions the commit writes rows to (a
	// commit without rows then changes nothing). Ignored with Static.
	Dynamic bool
}

// overwriteAttempts bounds how often an overwrite recomputes the files it
// replaces after another commit landed first.
const overwriteAttempts = 8

// errOverwriteMoved: another commit landed between choosing the files an
// overwrite replaces and publishing it.
var errOverwriteMoved = fmt.Errorf("%w: the table changed while overwriting it", types.ErrConflict)

// CommitOverwrite flushes what the writer holds and publishes it as one
// OVERWRITE snapshot that also removes the live files scope selects, so
// readers see the old rows of those partitions or the new rows, never a
// mix. The snapshot's parent must be the snapshot the removed files were
// chosen from: when another commit lands first the files are chosen
// again (at most overwriteAttempts times). No changelog files are
// published (changes of the commit are diffed from the snapshots). It
// returns nil when there was nothing to replace and nothing written.
func (w *Writer) CommitOverwrite(ctx context.Context, req CommitRequest, scope OverwriteScope) (*manifest.Snapshot, error) {
	if req.Identifier == "" {
		return nil, fmt.Errorf("%w: table %s: empty commit identifier", types.ErrInvalid, w.t.name)
	}
	for i := range scope.Static {
		if !slices.Contains(w.t.partIdx, i) {
			return nil, fmt.Errorf("%w: table %s: overwrite scope names column %d, which is not a partition column", types.ErrInvalid, w.t.name, i)
		}
	}
	if err := w.resolveUnsure(ctx, req.Identifier); err != nil {
		return nil, err
	}
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	// An OVERWRITE commit carries no changelog files.
	w.t.deleteFiles(context.WithoutCancel(ctx), w.cl.files)
	w.cl.files = nil
	written := map[string]bool{}
	for _, f := range w.pending {
		written[f.Partition] = true
	}
	replaced := func(partition string) bool {
		switch {
		case len(scope.Static) > 0:
			return w.t.partitionMatches(partition, scope.Static)
		case scope.Dynamic && len(w.t.partIdx) > 0:
			return written[partition]
		}
		return true
	}
	if len(w.pending) > 0 {
		if err := w.t.checkWriter(ctx); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for range overwriteAttempts {
		base, err := w.t.meta.Latest(ctx)
		if err != nil {
			return nil, err
		}
		var deleted []manifest.DataFile
		if base != nil {
			files, err := w.t.meta.Files(ctx, base)
			if err != nil {
				return nil, fmt.Errorf("table %s: snapshot %d: %w", w.t.name, base.ID, err)
			}
			for _, f := range files {
				if replaced(f.Partition) {
					deleted = append(deleted, f)
				}
			}
		}
		if len(deleted) == 0 && len(w.pending) == 0 && !req.AllowEmpty && len(req.Properties) == 0 {
			return nil, nil
		}
		userCheck := req.Check
		snap, err := w.t.meta.Commit(ctx, manifest.Commit{
			User: w.user, Identifier: req.Identifier, Kind: manifest.CommitOverwrite,
			SchemaID: w.t.schema.ID, Added: w.pending, Deleted: deleted, SeqCount: w.seq,
			Properties: req.Properties, Fresh: req.Fresh, HeldSince: w.heldSince,
			Check: func(parent *manifest.Snapshot) error {
				if userCheck != nil {
					if err := userCheck(parent); err != nil {
						return err
					}
				}
				if (parent == nil) != (base == nil) || (parent != nil && parent.ID != base.ID) {
					return errOverwriteMoved
				}
				return nil
			},
		})
		if err == nil {
			w.pending, w.seq, w.unsure, w.heldSince = nil, 0, false, time.Time{}
			w.stats.Commits++
			return snap, nil
		}
		if errors.Is(err, errOverwriteMoved) && !errors.Is(err, objstore.ErrAmbiguous) && ctx.Err() == nil {
			lastErr = err
			continue
		}
		if errors.Is(err, manifest.ErrHeldTooLong) && !errors.Is(err, objstore.ErrAmbiguous) && !w.unsure {
			_ = w.Abort(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("table %s: overwrite %s: %w; its rows were dropped, write them again", w.t.name, req.Identifier, err)
		}
		if !errors.Is(err, types.ErrConflict) && !errors.Is(err, types.ErrFenced) && !errors.Is(err, types.ErrInvalid) {
			w.unsure, w.unsureIdent, w.unsureFiles = true, req.Identifier, len(w.pending)
			w.cl.unsureFiles = 0
		}
		return nil, fmt.Errorf("table %s: overwrite %s: %w", w.t.name, req.Identifier, err)
	}
	return nil, fmt.Errorf("table %s: overwrite %s: %w (tried %d times; retry the statement)", w.t.name, req.Identifier, lastErr, overwriteAttempts)
}
