package lifecycle

import (
	"context"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// tableGC is the view of one table the lifecycle policies work on, built
// from the table's exported accessors (see table/gc.go).
type tableGC struct {
	tbl     *table.Table
	name    string
	root    string // key prefix of the table, ending in '/'
	store   objstore.Store
	meta    *manifest.Table
	schema  *types.Schema
	opts    table.Options
	partIdx []int
	env     gcEnv
}

// gcEnv is the table's injected clock and id generator.
type gcEnv struct {
	Now   func() time.Time
	NewID func() string
}

func newGC(t *table.Table) *tableGC {
	return &tableGC{
		tbl:     t,
		name:    t.Name(),
		root:    t.Root(),
		store:   t.Store(),
		meta:    t.Meta(),
		schema:  t.Schema(),
		opts:    t.Options(),
		partIdx: t.Schema().PartitionIndexes(),
		env:     gcEnv{Now: t.Now, NewID: t.NewID},
	}
}

// ColdURI is the table's cold tier URI ("" = none).
func (t *tableGC) ColdURI() string { return t.tbl.ColdURI() }

func (t *tableGC) hasColdStore() bool { return t.tbl.HasColdStore() }

func (t *tableGC) coldStore(ctx context.Context) (objstore.Store, error) {
	return t.tbl.ColdStore(ctx)
}
