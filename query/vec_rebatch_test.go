package query

import (
	"context"
	"iter"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
)

// A catalog whose scans cut their batches into random small pieces, so
// that the differential test's small tables exercise what happens across
// batches (groups, top-k, OFFSET/LIMIT, a failing batch after good ones).

type rebatchCatalog struct {
	*SiltCatalog
	rng *rand.Rand
}

func (c rebatchCatalog) LoadTable(ctx context.Context, db, name string) (Table, error) {
	t, err := c.SiltCatalog.LoadTable(ctx, db, name)
	if err != nil {
		return nil, err
	}
	return &rebatchTable{siltTable: t.(*siltTable), rng: c.rng}, nil
}

type rebatchTable struct {
	*siltTable
	rng *rand.Rand
}

func (t *rebatchTable) Scan(ctx context.Context, spec ScanSpec) (Scan, error) {
	sc, err := t.siltTable.Scan(ctx, spec)
	if err != nil {
		return nil, err
	}
	return rebatchScan{siltScan: sc.(siltScan), rng: t.rng}, nil
}

type rebatchScan struct {
	siltScan
	rng *rand.Rand
}

func (s rebatchScan) Batches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		for b, err := range s.siltScan.Batches(ctx) {
			if err != nil {
				yield(nil, err)
				return
			}
			for lo := int64(0); lo < b.NumRows(); {
				hi := min(b.NumRows(), lo+1+s.rng.Int64N(8))
				part := b.NewSlice(lo, hi)
				ok := yield(part, nil)
				part.Release()
				if !ok {
					return
				}
				lo = hi
			}
		}
	}
}
