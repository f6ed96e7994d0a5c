package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TempSweeper is an optional capability of a Store that stages writes in
// temporary objects its listings never show: the local store's
// ".silt-tmp-*" files, which a process that crashes mid-write leaves
// behind. Orphan cleanup calls it (through SweepTemp) with its grace
// period.
type TempSweeper interface {
	// SweepTemp deletes (with dryRun: only counts) the temporary objects
	// last modified before olderThan that belong to keys under prefix, and
	// returns how many. A temporary object is under prefix when its
	// folder is: prefix should end in '/' (a folder) or be "" (everything).
	SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) (int, error)
}

// SweepTemp sweeps st's stray temporary objects if st is a TempSweeper;
// other stores (S3, memory) stage nothing and sweep 0.
func SweepTemp(ctx context.Context, st Store, prefix string, olderThan time.Time, dryRun bool) (int, error) {
	if sw, ok := st.(TempSweeper); ok {
		return sw.SweepTemp(ctx, prefix, olderThan, dryRun)
	}
	return 0, ctx.Err()
}

// localTempPrefix starts the names of the local store's temp files.
const localTempPrefix = localReserved + "tmp-"

// SweepTemp removes the ".silt-tmp-*" files that crashed writers left in
// the folders under prefix. A temp file older than olderThan belongs to a
// write that has long failed or finished (a live write renames or links
// its temp file within one call), so removing it loses nothing; the lock
// files under .silt-locks are never touched.
func (l *Local) SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dir, ok := listDir(prefix)
	if !ok {
		return 0, nil // no valid key starts with prefix
	}
	n := 0
	err := filepath.WalkDir(filepath.Join(l.root, filepath.FromSlash(dir)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			switch {
			case strings.HasPrefix(d.Name(), localReserved):
				return filepath.SkipDir // .silt-locks
			case key != "." && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(d.Name(), localTempPrefix) || !d.Type().IsRegular() {
			return nil
		}
		folder := ""
		if i := strings.LastIndexByte(key, '/'); i >= 0 {
			folder = key[:i+1]
		}
		if !strings.HasPrefix(folder, prefix) {
			return nil // a temp file of a key that may lie outside prefix
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // renamed or removed under us
		}
		if err != nil {
			return err
		}
		if !fi.ModTime().Before(olderThan) {
			return nil
		}
		if !dryRun {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("local sweep temp files %q: %w", prefix, err)
	}
	return n, nil
}

// The wrappers pass SweepTemp through to the store they wrap.

func (r *Retry) SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) (n int, err error) {
	err = r.run(ctx, OpList, prefix, func(ctx context.Context) (err error) {
		n, err = SweepTemp(ctx, r.inner, prefix, olderThan, dryRun)
		return err
	})
	return n, err
}

func (p *Prefix) SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) (int, error) {
	return SweepTemp(ctx, p.inner, p.prefix+prefix, olderThan, dryRun)
}

func (f *Fault) SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) (int, error) {
	r := f.pick(OpList, prefix)
	if err := f.before(ctx, r); err != nil {
		return 0, err
	}
	n, err := SweepTemp(ctx, f.inner, prefix, olderThan, dryRun)
	if err = f.after(r, err); err != nil {
		return n, err
	}
	return n, nil
}
