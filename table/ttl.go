package table

import (
	"github.com/siltdb/silt/types"
)

// expiredRow returns the read-time record TTL predicate of
// record-level.expire-time / record-level.time-field: true for a row whose
// time column is older than now - expire-time. Reads hide such rows
// (compaction drops them later). nil when the table has no TTL. NULL
// never expires.
func (t *Table) expiredRow() func(types.Row) bool {
	c := t.opts.Compaction
	if c.TimeField == "" || c.ExpireTime <= 0 {
		return nil
	}
	i := t.schema.FieldIndex(c.TimeField)
	if i < 0 {
		return nil
	}
	cutoff := t.env.Now().Add(-c.ExpireTime)
	ms, us := cutoff.UnixMilli(), cutoff.UnixMicro()
	return func(r types.Row) bool {
		if i >= len(r) {
			return false
		}
		switch v := r[i].(type) {
		case types.Timestamp:
			return int64(v) < us
		case int64:
			return v < ms
		}
		return false
	}
}
