package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
)

// leaseSnapshot pins snap (read by id, time or tag, so possibly not the
// latest) against garbage collection for snapshot.lease-ttl. tag is ""
// for a snapshot of the view's branch, or the tag snap came from. It
// fails with an error wrapping types.ErrNotFound when the snapshot
// expired before the lease landed (see manifest.Table.AcquireLease).
//
// Credentials that may read but not write (the store refuses the lease
// with objstore.ErrAccessDenied) read without a lease: leaseSnapshot
// returns a nil lease and tells Env.OnNotice. Such a read is still
// correct or fails: it sees exactly the snapshot's rows, unless expiry
// (by a writer's maintenance) deletes the snapshot's files while it
// reads, which surfaces as a read error, never as wrong rows.
func (t *Table) leaseSnapshot(ctx context.Context, snap *manifest.Snapshot, tag string) (*manifest.Lease, error) {
	ref := ""
	if tag != "" {
		ref = manifest.TagPath(tag)
	}
	l, err := t.meta.AcquireLease(ctx, snap, ref, "scan "+t.name, t.opts.Lifecycle.LeaseTTL)
	if errors.Is(err, objstore.ErrAccessDenied) {
		if t.env.OnNotice != nil {
			t.env.OnNotice(UnleasedNotice(t.name, snap.ID))
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return l, nil
}

// UnleasedNotice is what Env.OnNotice is told when snapshot id of table
// is read without a lease.
func UnleasedNotice(table string, id int64) string {
	return fmt.Sprintf("table %s: reading snapshot %d without a lease: the credentials cannot write; expiry may remove it while it is read", table, id)
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
