package table

import (
	"context"
	"fmt"

	"github.com/siltdb/silt/manifest"
)

// leaseSnapshot pins snap (read by id, time or tag, so possibly not the
// latest) against garbage collection for snapshot.lease-ttl. tag is ""
// for a snapshot of the view's branch, or the tag snap came from. It
// fails with an error wrapping types.ErrNotFound when the snapshot
// expired before the lease landed (see manifest.Table.AcquireLease).
func (t *Table) leaseSnapshot(ctx context.Context, snap *manifest.Snapshot, tag string) (*manifest.Lease, error) {
	ref := ""
	if tag != "" {
		ref = manifest.TagPath(tag)
	}
	l, err := t.meta.AcquireLease(ctx, snap, ref, "scan "+t.name, t.opts.Lifecycle.LeaseTTL)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return l, nil
}

// Close ends the scan: it releases the lease a scan of an older snapshot
// holds (a scan of the latest snapshot holds none; time-retained protects
// it). Rows must not be called after Close. Closing twice is harmless.
func (s *Scan) Close(ctx context.Context) error {
	if s == nil || s.lease == nil {
		return nil
	}
	l := s.lease
	s.lease = nil
	if err := s.t.meta.ReleaseLease(ctx, l); err != nil {
		return fmt.Errorf("table %s: %w", s.t.name, err)
	}
	return nil
}

// Lease is the lease the scan holds, nil when it holds none.
func (s *Scan) Lease() *manifest.Lease { return s.lease }

// keepAlive renews the scan's lease when less than half of its TTL is
// left, so a long read of an older snapshot stays pinned. A failed renewal
// is ignored: the read continues, and a file a collector deleted meanwhile
// surfaces as a read error, never as wrong rows.
func (s *Scan) keepAlive(ctx context.Context) {
	l := s.lease
	if l == nil {
		return
	}
	ttl := s.t.opts.Lifecycle.LeaseTTL
	if s.t.env.Now().Add(ttl/2).UnixMilli() < l.ExpiresMillis {
		return
	}
	_ = s.t.meta.RenewLease(ctx, l, ttl)
}
