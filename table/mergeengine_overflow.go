package table

import (
	"fmt"

	"github.com/siltdb/silt/types"
)

// aggOverflow is the value a merge puts in an aggregated column whose
// result does not fit the column's type (a DECIMAL product or sum with
// more digits than the precision). Merge cannot fail (lsm.Merger), so the
// overflow travels as the column's value: it stays an overflow through
// later merges, and it is an error, which reads, lookups, flushes and
// compactions return instead of the row (lsm.MergeError).
type aggOverflow struct {
	fn  aggFunc
	col string
	typ types.DataType
}

func (o aggOverflow) Error() string {
	return fmt.Sprintf("%v: column %q: aggregate function %s overflows %s (more than %d digits); widen the column's precision with ALTER TABLE ... ALTER COLUMN %s TYPE, or write -D to restart the row",
		types.ErrInvalid, o.col, o.fn.name(), o.typ, o.typ.Precision, o.col)
}

func (o aggOverflow) Unwrap() error { return types.ErrInvalid }

// MergeFailed marks aggOverflow as a merge's error value (lsm.MergeError).
func (o aggOverflow) MergeFailed() {}

// MergeCanFail reports whether a merge can put an aggOverflow into a row:
// only a DECIMAL product or sum column can overflow (lsm.FallibleMerger).
func (a *aggregation) MergeCanFail() bool {
	for c, f := range a.funcs {
		if (f == aggProduct || f == aggSum) && !a.isKey[c] && a.kinds[c] == types.DecimalKind {
			return true
		}
	}
	return false
}
