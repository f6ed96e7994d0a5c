package manifest

import "context"

// LatestFrom is Latest for a caller that holds a snapshot known of this
// table and branch (e.g. a local cache current at it): snapshot ids are
// contiguous, so probing forward from known finds the newest snapshot
// without reading the LATEST hint. When nothing is newer it costs two
// Stats (known+1 is missing, known still exists) and returns known (with a
// Cache holding that id, the cached copy the Stat just confirmed); when
// known was expired meanwhile (or, with a Cache holding it, was replaced by
// another object of the same id) it is Latest. A nil known is Latest.
func (t *Table) LatestFrom(ctx context.Context, known *Snapshot) (*Snapshot, error) {
	if known == nil {
		return t.Latest(ctx)
	}
	id, err := t.probeForward(ctx, known.ID)
	if err != nil {
		return nil, err
	}
	if id != known.ID {
		return t.Snapshot(ctx, id)
	}
	cur, ok, err := t.stillCurrent(ctx, known)
	if err != nil {
		return nil, err
	}
	if !ok { // expired: ids below the oldest are gone, so probing proved nothing
		return t.Latest(ctx)
	}
	if cur != nil {
		return cur, nil
	}
	return known, nil
}
