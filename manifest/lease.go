package manifest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Leases protect what a long reader (or a rollback/fast-forward publisher)
// uses from garbage collection: lease/lease-<id> names the reference the
// reader started from (a snapshot object of a branch, or a tag object) and
// the manifest lists it reads, until ExpiresMillis.
//
// The protocol (docs/design.md, "Garbage collection"):
//   - A reader puts its lease, then checks that its reference object still
//     exists (AcquireLease). If it does, the lease landed before any
//     deletion of that reference.
//   - Expiry deletes reference objects (snapshots) first, then lists
//     leases, and keeps every file reachable from an unexpired lease's
//     manifest lists. Orphan cleanup lists leases before deciding too.
//
// So a lease that AcquireLease returned is always seen by every collector
// that could delete its files.
const (
	LeaseDir    = "lease/"
	leasePrefix = "lease/lease-"
)

// Lease pins the files of one snapshot.
type Lease struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Owner   string `json:"owner"`
	// Ref is the object whose existence the lease was checked against,
	// relative to the table root: a snapshot path (of main or a branch) or
	// a tag path.
	Ref                   string `json:"ref"`
	SnapshotID            int64  `json:"snapshotId"`
	ManifestList          string `json:"manifestList"`
	ChangelogManifestList string `json:"changelogManifestList,omitempty"`
	CreatedMillis         int64  `json:"createdMillis"`
	ExpiresMillis         int64  `json:"expiresMillis"`
}

// LeasePath returns the path of a lease relative to the table root.
func LeasePath(id string) string { return leasePrefix + id }

// Expired reports whether the lease has run out at now.
func (l *Lease) Expired(now time.Time) bool { return now.UnixMilli() >= l.ExpiresMillis }

func (l *Lease) validate() error {
	switch {
	case l.Version < 1 || l.Version > FormatVersion:
		return fmt.Errorf("unsupported lease version %d", l.Version)
	case l.ID == "" || strings.ContainsAny(l.ID, "/\\\x00"):
		return fmt.Errorf("bad lease id %q", l.ID)
	case l.SnapshotID < 1:
		return fmt.Errorf("lease %s: snapshot id %d < 1", l.ID, l.SnapshotID)
	}
	if err := validRelPath(l.Ref); err != nil {
		return fmt.Errorf("lease %s: ref: %v", l.ID, err)
	}
	if err := validRelPath(l.ManifestList); err != nil {
		return fmt.Errorf("lease %s: manifest list: %v", l.ID, err)
	}
	if l.ChangelogManifestList != "" {
		if err := validRelPath(l.ChangelogManifestList); err != nil {
			return fmt.Errorf("lease %s: changelog manifest list: %v", l.ID, err)
		}
	}
	return nil
}

// EncodeLease returns the checksummed encoding of l.
func EncodeLease(l *Lease) ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("%w: lease: %v", types.ErrInvalid, err)
	}
	return EncodeObject(KindLease, l)
}

// DecodeLease decodes and validates a lease.
func DecodeLease(data []byte) (*Lease, error) {
	var l Lease
	if err := DecodeObject(KindLease, data, &l); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("%w: lease: %v", types.ErrCorruption, err)
	}
	return &l, nil
}

// AcquireLease pins snapshot s of this branch for ttl (ref "" = the
// branch's snapshot object; or pass TagPath(name) when s came from a tag).
// It fails with an error wrapping types.ErrNotFound when the reference is
// gone after the lease landed: the snapshot expired (or the tag was
// deleted) first, and its files may already be going.
func (t *Table) AcquireLease(ctx context.Context, s *Snapshot, ref, owner string, ttl time.Duration) (*Lease, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: lease: no snapshot", types.ErrInvalid)
	}
	if ref == "" {
		ref = strings.TrimPrefix(t.skey(SnapshotPath(s.ID)), t.root)
	}
	now := t.opts.Now()
	l := &Lease{Version: FormatVersion, ID: t.opts.NewID(), Owner: owner, Ref: ref, SnapshotID: s.ID,
		ManifestList: s.ManifestList, ChangelogManifestList: s.ChangelogManifestList,
		CreatedMillis: now.UnixMilli(), ExpiresMillis: now.Add(ttl).UnixMilli()}
	if err := t.putLease(ctx, l, true); err != nil {
		return nil, err
	}
	_, err := t.store.Stat(ctx, t.key(ref))
	if err == nil {
		return l, nil
	}
	_ = t.store.Delete(ctx, t.key(LeasePath(l.ID)))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: snapshot %d of %s is no longer retained (%s is gone)", types.ErrNotFound, s.ID, t.where(), ref)
	}
	return nil, fmt.Errorf("lease snapshot %d of %s: %w", s.ID, t.where(), err)
}

func (t *Table) putLease(ctx context.Context, l *Lease, create bool) error {
	data, err := EncodeLease(l)
	if err != nil {
		return err
	}
	if create {
		_, err = t.store.PutIfAbsent(ctx, t.key(LeasePath(l.ID)), data)
	} else {
		_, err = t.store.Put(ctx, t.key(LeasePath(l.ID)), data)
	}
	if err != nil {
		return fmt.Errorf("write lease %s of %q: %w", l.ID, t.root, err)
	}
	return nil
}

// RenewLease extends a lease to now+ttl. Renewing a lease that already
// expired is an error wrapping types.ErrNotFound: a collector may have
// ignored it, so the reader must start over.
func (t *Table) RenewLease(ctx context.Context, l *Lease, ttl time.Duration) error {
	now := t.opts.Now()
	if l.Expired(now) {
		return fmt.Errorf("%w: lease %s expired at %d", types.ErrNotFound, l.ID, l.ExpiresMillis)
	}
	n := *l
	n.ExpiresMillis = now.Add(ttl).UnixMilli()
	if err := t.putLease(ctx, &n, false); err != nil {
		return err
	}
	l.ExpiresMillis = n.ExpiresMillis
	return nil
}

// ReleaseLease deletes a lease.
func (t *Table) ReleaseLease(ctx context.Context, l *Lease) error {
	if err := t.store.Delete(ctx, t.key(LeasePath(l.ID))); err != nil {
		return fmt.Errorf("release lease %s of %q: %w", l.ID, t.root, err)
	}
	return nil
}

// Leases lists every lease of the table (expired ones included; see
// Lease.Expired), sorted by id. Unreadable lease objects are returned as
// an error: a collector must not guess what they protect.
func (t *Table) Leases(ctx context.Context) ([]*Lease, error) {
	infos, err := t.store.List(ctx, t.key(leasePrefix))
	if err != nil {
		return nil, fmt.Errorf("list leases of %q: %w", t.root, err)
	}
	var out []*Lease
	for _, in := range infos {
		data, _, err := t.store.Get(ctx, in.Key)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read lease %s: %w", in.Key, err)
		}
		l, err := DecodeLease(data)
		if err != nil {
			return nil, fmt.Errorf("lease %s: %w", in.Key, err)
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DeleteLease removes a lease object by id (collectors remove expired
// leases).
func (t *Table) DeleteLease(ctx context.Context, id string) error {
	if err := t.store.Delete(ctx, t.key(LeasePath(id))); err != nil {
		return fmt.Errorf("delete lease %s of %q: %w", id, t.root, err)
	}
	return nil
}
