package table

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/types"
)

// Retraction (-U) under the aggregation merge engine. sum and count
// subtract, product on FLOAT and DOUBLE divides, and the other functions
// that predate collect, merge_map, listagg and product ignore -U values.
// collect, merge_map, listagg, and product on INT, BIGINT and DECIMAL
// cannot take back a value within silt's merge (ADR 0045: a pre-merged
// record has no room for the retractions it could not apply yet), so a
// write of a -U row carrying a non-NULL value in such a column is refused
// with an error naming the column and its function, unless the column
// sets fields.<col>.ignore-retract=true, which makes every function ignore
// the column's -U values. A -U row whose value there is NULL retracts
// nothing from it and is accepted. -D deletes the row under every function.

// canRetract reports whether function f retracts -U values of type t
// exactly, or ignores them as it always has.
func canRetract(f aggFunc, t types.DataType) bool {
	switch f {
	case aggCollect, aggMergeMap, aggListagg:
		return false
	case aggProduct:
		return t.Kind == types.Float || t.Kind == types.Double
	}
	return true
}

// refusesRetraction lists the columns whose -U values writes refuse (nil
// when there are none).
func (a *aggregation) refusesRetraction(s *types.Schema) []bool {
	var out []bool
	for c, f := range a.funcs {
		if a.isKey[c] || a.params[c].ignoreRetract || canRetract(f, s.Fields[c].Type) {
			continue
		}
		if out == nil {
			out = make([]bool, len(a.funcs))
		}
		out[c] = true
	}
	return out
}

// retractionError is the error of a -U value in column c, which cannot
// retract.
func (a *aggregation) retractionError(s *types.Schema, c int) error {
	name := s.Fields[c].Name
	return fmt.Errorf("%w: column %q: aggregate function %s on %s cannot retract a -U value; write NULL there, -D to restart the row, or set fields.%s.ignore-retract=true to ignore its retractions",
		types.ErrInvalid, name, a.funcs[c].name(), s.Fields[c].Type, name)
}

// checkRetraction refuses a -U row with a value in a column whose
// aggregate function cannot retract it.
func (t *Table) checkRetraction(kind types.RowKind, row types.Row) error {
	a, ok := t.merger.(*aggregation)
	if !ok || kind != types.UpdateBefore || a.noRetract == nil {
		return nil
	}
	for c, refused := range a.noRetract {
		if refused && c < len(row) && row[c] != nil {
			return a.retractionError(t.schema, c)
		}
	}
	return nil
}

// firstRefusedRetraction is the first row before bad of a change batch
// that checkRetraction refuses, or bad.
func (t *Table) firstRefusedRetraction(cols []arrow.Array, kinds []int8, bad int) int {
	a, ok := t.merger.(*aggregation)
	if !ok || a.noRetract == nil {
		return bad
	}
	for c, refused := range a.noRetract {
		if !refused || c >= len(cols) || cols[c].NullN() == cols[c].Len() {
			continue
		}
		for r := 0; r < bad; r++ {
			if types.RowKind(kinds[r]) == types.UpdateBefore && cols[c].IsValid(r) {
				bad = r
				break
			}
		}
	}
	return bad
}
