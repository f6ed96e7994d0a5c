package table

import (
	"context"
	"fmt"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// HiddenRows lists, for each data file of snap that holds rows a plain
// scan (SELECT *) of snap does not return, the 0-based positions of those
// rows in the file, ascending. A reader that reads every data file of snap
// and drops these positions sees exactly the scan's rows: older versions a
// newer record of the same key shadows, -U/-D records, and keys whose last
// record is a delete. The map is keyed by manifest.DataFile.Path.
//
// It is defined for the deduplicate and first-row merge engines only,
// where one stored record is the row; for the others it returns an error
// wrapping types.ErrInvalid.
func (t *Table) HiddenRows(ctx context.Context, snap *manifest.Snapshot) (map[string][]int64, error) {
	return nil, fmt.Errorf("table %s: hidden rows: not implemented yet: %w", t.name, types.ErrInvalid)
}
