package table

import (
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// The merge engines implement compaction.Dropper: which merged records
// without a row a compaction may drop when its output holds the oldest
// records of every key in it (a full compaction, or one that merges every
// run of a bucket). A record may go only if merging it first with any later
// records of the key reads the same as the later records alone.

// CanDrop: a tombstone only decides against later records through
// sequence.field, so it may go unless it carries a sequence.field value (a
// later record with a smaller value must stay hidden).
func (e *deduplicate) CanDrop(r *lsm.Record) bool {
	return !r.Kind.IsAdd() && seqValue(r, e.seqField) == nil
}

// CanDrop: first-row ignores deletes, so a record without a row hides
// nothing.
func (e *firstRow) CanDrop(r *lsm.Record) bool { return !r.Kind.IsAdd() }

// CanDrop: a -D restarts the row and a lone -U carries nothing, so neither
// changes what later records build.
func (e *partialUpdate) CanDrop(r *lsm.Record) bool { return !r.Kind.IsAdd() }

// CanDrop: a -D restarts the row; a -U result holds retractions that still
// apply to later rows' sum and count, so it stays.
func (a *aggregation) CanDrop(r *lsm.Record) bool { return r.Kind == types.Delete }
