package table

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

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

// expiredBatch is expiredRow for a merged batch of the table's schema: it
// returns, per row, whether the row is hidden, or nil when none is. nil
// when the table has no TTL.
func (t *Table) expiredBatch() func(arrow.Record) []bool {
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
	return func(rec arrow.Record) []bool {
		if i >= int(rec.NumCols()) {
			return nil
		}
		var drop []bool
		mark := func(r int) {
			if drop == nil {
				drop = make([]bool, rec.NumRows())
			}
			drop[r] = true
		}
		switch a := rec.Column(i).(type) {
		case *array.Timestamp:
			for r, v := range a.Values() {
				if int64(v) < us && a.IsValid(r) {
					mark(r)
				}
			}
		case *array.Int64:
			for r, v := range a.Values() {
				if v < ms && a.IsValid(r) {
					mark(r)
				}
			}
		}
		return drop
	}
}
