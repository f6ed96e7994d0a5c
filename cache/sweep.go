package cache

import (
	"context"
	"time"

	"github.com/siltdb/silt/objstore"
)

var _ objstore.TempSweeper = (*tierStore)(nil)

// SweepTemp passes through to the origin (a local store's stray temp
// files). Temp files are never objects, so nothing cached changes.
func (s *tierStore) SweepTemp(ctx context.Context, prefix string, olderThan time.Time, dryRun bool) (int, error) {
	return objstore.SweepTemp(ctx, s.inner, prefix, olderThan, dryRun)
}
