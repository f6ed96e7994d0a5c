package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TierReport says what one tiering run did (or would do).
type TierReport struct {
	Files    int
	Bytes    int64
	Snapshot int64 // the COMPACT snapshot recording the moves (0: none)
}

// tierAttempts bounds re-plans after a concurrent commit removed or moved
// a picked file.
const tierAttempts = 4

// tierBatch bounds the files one COMPACT commit moves.
const tierBatch = 1000

// tierPick returns the hot data files of the latest snapshot that a
// tiering rule selects.
func (t *tableGC) tierPick(ctx context.Context) (*manifest.Snapshot, []manifest.DataFile, error) {
	l := &t.opts.Lifecycle
	snap, err := t.meta.Latest(ctx)
	if err != nil || snap == nil {
		return nil, nil, err
	}
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		return nil, nil, fmt.Errorf("table %s: snapshot %d: %w", t.name, snap.ID, err)
	}
	now := t.env.Now()
	var partOld func(string) (bool, error)
	if l.TierPartitionAge > 0 {
		pt, err := t.partitionTimer()
		if err != nil {
			return nil, nil, err
		}
		cutoff := now.Add(-l.TierPartitionAge)
		partOld = func(p string) (bool, error) {
			ts, ok, err := pt(p)
			return ok && ts.Before(cutoff), err
		}
	}
	var out []manifest.DataFile
	for _, f := range files {
		if f.Tier != "" {
			continue
		}
		pick := (l.TierMoveAfter > 0 && time.UnixMilli(f.CreatedMillis).Before(now.Add(-l.TierMoveAfter))) ||
			(l.TierMinLevel >= 0 && f.Level >= l.TierMinLevel)
		if !pick && partOld != nil {
			old, err := partOld(f.Partition)
			if err != nil {
				return nil, nil, err
			}
			pick = old
		}
		if pick {
			out = append(out, f)
		}
	}
	return snap, out, nil
}

// TierFiles moves the hot data files the tiering rules select to the
// cold tier: for each, copy it (same key in the cold store), read the
// copy back and compare, then commit one COMPACT snapshot whose Retiers
// record the new tier. The hot copies stay until no retained snapshot
// references them there (snapshot expiry or orphan cleanup deletes them).
func TierFiles(ctx context.Context, t *table.Table, dryRun bool) (*TierReport, []string, error) {
	return newGC(t).tierFiles(ctx, dryRun)
}

// tierFiles implements TierFiles.
func (t *tableGC) tierFiles(ctx context.Context, dryRun bool) (*TierReport, []string, error) {
	rep := &TierReport{}
	if !t.opts.Lifecycle.Tiering() {
		return rep, nil, nil
	}
	if t.ColdURI() == "" {
		return rep, nil, fmt.Errorf("%w: table %s has tiering rules but no cold tier (set the table option %s or the warehouse's --cold-uri)", types.ErrInvalid, t.name, table.OptTierColdURI)
	}
	var lastErr error
	for attempt := 0; attempt < tierAttempts; attempt++ {
		snap, picked, err := t.tierPick(ctx)
		if err != nil || len(picked) == 0 {
			return rep, nil, err
		}
		if len(picked) > tierBatch {
			picked = picked[:tierBatch]
		}
		if dryRun {
			var n int64
			for _, f := range picked {
				n += f.Size
			}
			return rep, []string{fmt.Sprintf("move %d data files (%s) to the cold tier %s", len(picked), fmtBytes(n), t.ColdURI())}, nil
		}
		cold, err := t.coldStore(ctx)
		if err != nil {
			return rep, nil, err
		}
		var moves []manifest.Retier
		var moved int64
		held := t.env.Now() // before the first cold copy (Commit.HeldSince)
		for _, f := range picked {
			if err := t.copyToCold(ctx, cold, f); err != nil {
				return rep, nil, err
			}
			moves = append(moves, manifest.Retier{Path: f.Path, FromTier: "", Tier: table.TierCold})
			moved += f.Size
		}
		s, err := t.meta.Commit(ctx, manifest.Commit{
			User: "silt-tier-" + t.env.NewID(), Identifier: "1", Fresh: true,
			Kind: manifest.CommitCompact, SchemaID: snap.SchemaID, Retiers: moves, HeldSince: held,
		})
		if errors.Is(err, types.ErrConflict) {
			lastErr = err // a compaction replaced a picked file: plan again
			continue
		}
		if err != nil {
			return rep, nil, fmt.Errorf("table %s: tier commit: %w", t.name, err)
		}
		rep.Files, rep.Bytes, rep.Snapshot = len(moves), moved, s.ID
		return rep, nil, nil
	}
	return rep, nil, fmt.Errorf("table %s: tiering: %w", t.name, lastErr)
}

// copyToCold copies one data file to the cold store and verifies the copy
// byte for byte.
func (t *tableGC) copyToCold(ctx context.Context, cold objstore.Store, f manifest.DataFile) error {
	key := t.root + f.Path
	data, _, err := t.store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("table %s: tier: read %s: %w", t.name, f.Path, err)
	}
	if int64(len(data)) != f.Size {
		return fmt.Errorf("%w: table %s: tier: data file %s has %d bytes, manifest says %d", types.ErrCorruption, t.name, f.Path, len(data), f.Size)
	}
	if _, err := cold.Put(ctx, key, data); err != nil {
		return fmt.Errorf("table %s: tier: copy %s to the cold tier: %w", t.name, f.Path, err)
	}
	back, _, err := cold.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("table %s: tier: verify %s in the cold tier: %w", t.name, f.Path, err)
	}
	if !bytes.Equal(back, data) {
		return fmt.Errorf("%w: table %s: tier: the cold copy of %s differs from the hot one (%d vs %d bytes)", types.ErrCorruption, t.name, f.Path, len(back), len(data))
	}
	return nil
}
