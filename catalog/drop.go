package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// DropResult says what DropTableResult did beyond deleting the table's
// objects in the warehouse.
type DropResult struct {
	// ColdDeleted counts the objects deleted from the table's cold tier.
	ColdDeleted int
	// Warning, when not empty, says why copies of the table's files may
	// remain in a cold tier (which this process could not open, or does
	// not know); they must then be removed by hand.
	Warning string
}

// DropTableResult deletes a table and all its files. When the table has a
// cold tier (tier.cold.uri, else the warehouse's Env.ColdURI) that this
// process can open, the table's objects there are deleted first; if
// deleting them fails, the table is left in place (drop it again). When
// the cold tier cannot be opened, or the table's latest snapshot has cold
// files but no cold tier is configured here, the table is dropped anyway
// and Warning says that its cold copies remain.
func (c *Catalog) DropTableResult(ctx context.Context, db, name string, ifExists bool) (DropResult, error) {
	var res DropResult
	if err := types.ValidateIdentifier("database", db); err != nil {
		return res, err
	}
	if err := types.ValidateIdentifier("table", name); err != nil {
		return res, err
	}
	root := c.tableRoot(db, name)
	if _, err := c.store.Stat(ctx, root+schemaFile0); err != nil {
		if errors.Is(err, objstore.ErrNotFound) {
			if ifExists {
				return res, nil
			}
			return res, fmt.Errorf("%w: table %s.%s does not exist", types.ErrNotFound, db, name)
		}
		return res, fmt.Errorf("table %s.%s: %w", db, name, err)
	}
	n, warning, err := c.dropColdTier(ctx, db, name)
	res.ColdDeleted, res.Warning = n, warning
	if err != nil {
		return res, err
	}
	return res, c.deletePrefix(ctx, root)
}

// dropColdTier deletes the table's objects in its cold tier. A cold tier
// that cannot be opened (or is unknown while the table has cold files) is
// a warning; a failure to list or delete there is an error.
func (c *Catalog) dropColdTier(ctx context.Context, db, name string) (int, string, error) {
	qualified := db + "." + name
	t, err := c.LoadTable(ctx, db, name)
	if err != nil {
		return 0, fmt.Sprintf("table %s: its cold tier was not checked (%v); copies of its files may remain there", qualified, err), nil
	}
	uri := t.ColdURI()
	if uri == "" {
		if _, files, err := t.DataFiles(ctx, 0, 0); err == nil {
			for _, f := range files {
				if f.Tier == table.TierCold {
					return 0, fmt.Sprintf("table %s has files in a cold tier, but this process knows no cold tier (set %s on the table, or the warehouse's cold tier: silt --cold-uri, SILT_COLD_URI): their cold copies under %s remain", qualified, table.OptTierColdURI, t.Root()), nil
				}
			}
		}
		return 0, "", nil
	}
	if c.env.OpenStore == nil {
		return 0, fmt.Sprintf("table %s: this process cannot open its cold tier %s: copies of its files remain under %s there", qualified, uri, t.Root()), nil
	}
	cold, err := c.env.OpenStore(ctx, uri)
	if err != nil {
		return 0, fmt.Sprintf("table %s: cold tier %s: %v: copies of its files remain under %s there", qualified, uri, err, t.Root()), nil
	}
	objs, err := cold.List(ctx, t.Root())
	if err != nil {
		return 0, "", fmt.Errorf("table %s: cold tier %s: list %s (the table was not dropped; drop it again): %w", qualified, uri, t.Root(), err)
	}
	for i, o := range objs {
		if err := cold.Delete(ctx, o.Key); err != nil {
			return i, "", fmt.Errorf("table %s: cold tier %s: delete %s (the table was not dropped; drop it again): %w", qualified, uri, o.Key, err)
		}
	}
	return len(objs), "", nil
}
