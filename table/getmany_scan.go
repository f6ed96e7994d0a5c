package table

import (
	"context"
	"iter"

	"github.com/siltdb/silt/types"
)

// KeyScan is a read of given primary keys at one snapshot: the rows a
// scan with those keys' equalities would yield, without listing any
// other file. It is what SQL plans for WHERE pk IN (…).
type KeyScan struct {
	r      *keyRead
	probes []keyProbe
}

// NewKeyScan plans a read of the rows with the given primary keys (each
// in key column order, as Get takes it; duplicates allowed) at the
// snapshot o selects (o.SnapshotID, o.AsOfMillis or o.Tag; the latest
// snapshot is resolved in the store, as a scan does: no staleness bound
// applies). A read of an older snapshot holds a lease until Close. Rows
// yields each live row once, in the order a scan would: by partition,
// bucket and key. o's other fields are ignored; every column is read.
func (t *Table) NewKeyScan(ctx context.Context, o ScanOptions, keys [][]types.Value) (*KeyScan, error) {
	probes, _, err := t.keyProbes(keys)
	if err != nil {
		return nil, err
	}
	r, err := t.openRef(ctx, Ref{SnapshotID: o.SnapshotID, AsOfMillis: o.AsOfMillis, Tag: o.Tag})
	if err != nil {
		return nil, err
	}
	return &KeyScan{r: r, probes: probes}, nil
}

// SnapshotID is the id of the snapshot being read, 0 for an empty table.
func (s *KeyScan) SnapshotID() int64 { return s.r.SnapshotID() }

// Schema is the schema of the rows: the table's.
func (s *KeyScan) Schema() *types.Schema { return s.r.Schema() }

// Close releases the lease of a read of an older snapshot.
func (s *KeyScan) Close(ctx context.Context) error { return s.r.Close(ctx) }

// Rows yields the live rows of the keys.
func (s *KeyScan) Rows(ctx context.Context) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		var st GetManyStats
		if err := s.r.records(ctx, s.probes, &st); err != nil {
			yield(nil, err)
			return
		}
		expired := s.r.t.expiredRow()
		for i := range s.probes {
			p := &s.probes[i]
			if !p.exists || !p.rec.Kind.IsAdd() || (expired != nil && expired(p.rec.Row)) {
				continue
			}
			if !yield(p.rec.Row, nil) {
				return
			}
		}
	}
}
