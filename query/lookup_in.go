package query

import (
	"context"
	"errors"
	"iter"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// maxPushedKeys bounds the keys pushdownKeys lists: a larger IN list
// (or product of IN lists) is read by a scan.
const maxPushedKeys = 100_000

// pushdownKeys returns the full primary keys (in key column order) a
// bound WHERE clause restricts the rows to when its conjuncts constrain
// every key column (at positions keyIdx) by "column = constant" or
// "column IN (constants…)" and at least one by IN; nil otherwise (the
// equalities alone, when they cover the key, are already a point lookup:
// see pushdown). The keys are a superset of the matching rows' keys (a
// NULL in a list matches nothing and is left out); the engine still
// evaluates the whole clause.
func pushdownKeys(where bexpr, keyIdx []int) [][]types.Value {
	if where == nil || len(keyIdx) == 0 {
		return nil
	}
	eq := pushdown(where)
	in := map[int][]types.Value{}
	var rec func(b bexpr)
	rec = func(b bexpr) {
		switch x := b.(type) {
		case *andB:
			rec(x.l)
			rec(x.r)
		case *inB:
			col, ok := x.x.(*colB)
			if !ok || x.not {
				return
			}
			if _, seen := in[col.idx]; seen {
				return
			}
			vals := []types.Value{}
			for _, it := range x.list {
				c, ok := it.(*constB)
				if ok && c.v == nil {
					continue // NULL matches nothing
				}
				if !ok || !c.t.Equal(col.t) {
					return
				}
				vals = append(vals, c.v)
			}
			in[col.idx] = vals
		}
	}
	rec(where)
	keys := [][]types.Value{{}}
	anyIn := false
	for _, i := range keyIdx {
		if v, ok := eq[i]; ok {
			for k := range keys {
				keys[k] = append(keys[k], v)
			}
			continue
		}
		vals, ok := in[i]
		if !ok || len(keys)*len(vals) > maxPushedKeys {
			return nil
		}
		anyIn = true
		next := make([][]types.Value, 0, len(keys)*len(vals))
		for _, k := range keys {
			for _, v := range vals {
				next = append(next, append(k[:len(k):len(k)], v))
			}
		}
		keys = next
	}
	if !anyIn {
		return nil
	}
	return keys
}

// scanKeys reads the rows of spec.Keys by primary key (Table.NewKeyScan)
// instead of scanning; a read in a snapshot's own schema scans.
func (s *siltTable) scanKeys(ctx context.Context, spec ScanSpec) (Scan, error) {
	ks, err := s.t.NewKeyScan(ctx, table.ScanOptions{SnapshotID: spec.SnapshotID, AsOfMillis: spec.AsOfMillis, Tag: spec.Tag}, spec.Keys)
	if errors.Is(err, types.ErrInvalid) { // a key the table cannot place: scan, as without the hint
		spec.Keys = nil
		return s.Scan(ctx, spec)
	}
	if err != nil {
		return nil, err
	}
	return siltKeyScan{ks}, nil
}

type siltKeyScan struct{ s *table.KeyScan }

func (s siltKeyScan) SnapshotID() int64 { return s.s.SnapshotID() }

// Schema reports the schema of the rows (see Table.Scan).
func (s siltKeyScan) Schema() *types.Schema { return s.s.Schema() }

// Rows yields the rows; when the iteration ends the scan is closed (as
// siltScan.Rows).
func (s siltKeyScan) Rows(ctx context.Context) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		defer func() { _ = s.s.Close(context.WithoutCancel(ctx)) }()
		for row, err := range s.s.Rows(ctx) {
			if !yield(row, err) {
				return
			}
		}
	}
}
