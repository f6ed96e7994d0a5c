package query

import (
	"strings"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// UPDATE and DELETE under the table's merge engine. The engine decides what
// the records of a key merge into, so a statement that writes the row it
// means (deduplicate) can mean something else elsewhere: an aggregation
// table adds an UPDATE's values to its sums, partial-update reads NULL as
// "unchanged", and first-row ignores every later version and deletion. A
// statement is carried out only when the result is what it says; otherwise
// it is refused with the engine named and what to do instead.
//
//	deduplicate     UPDATE and DELETE as written.
//	partial-update  DELETE as written; UPDATE unless it sets a non-NULL
//	                value to NULL (NULL means "no change" to the engine).
//	aggregation     DELETE as written (-D restarts the key's state); UPDATE
//	                writes -U of the old row, then +U of the new one, which
//	                leaves unchanged columns as they were and is exact for
//	                SET columns whose function is sum, last_value or
//	                last_non_null_value (sum and last_non_null_value: not
//	                to NULL). Other functions are refused.
//	first-row       UPDATE and DELETE are refused.

// mergeEngine is the merge engine of r's table.
func mergeEngine(r *relation) string {
	if v, ok := r.schema.Options[table.OptMergeEngine]; ok {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return table.EngineDeduplicate
}

// checkDeleteEngine refuses DELETE where the merge engine ignores it.
func checkDeleteEngine(r *relation) error {
	if mergeEngine(r) == table.EngineFirstRow {
		return errf(types.ErrInvalid, "cannot DELETE from %s: its %s=%s keeps the first row of each key and ignores deletions; copy the rows to keep into a table with %s=%s",
			r, table.OptMergeEngine, table.EngineFirstRow, table.OptMergeEngine, table.EngineDeduplicate)
	}
	return nil
}

// aggFunction is the aggregate function of column col of an aggregation
// table (lower case; default last_non_null_value).
func aggFunction(s *types.Schema, col int) string {
	for k, v := range s.Options {
		if !strings.HasPrefix(k, "fields.") || !strings.HasSuffix(k, ".aggregate-function") {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(k, "fields."), ".aggregate-function")
		if s.FieldIndex(name) == col {
			return strings.ToLower(strings.TrimSpace(v))
		}
	}
	return "last_non_null_value"
}

// updatePlan turns an UPDATE's old and new rows into changes the merge
// engine folds into the new row.
type updatePlan struct {
	r       *relation
	engine  string
	sets    []int
	notNull map[int]string // SET column → why NULL is refused
}

// planUpdate checks that the merge engine of r can carry out an UPDATE of
// the columns sets.
func planUpdate(r *relation, sets []int) (*updatePlan, error) {
	p := &updatePlan{r: r, engine: mergeEngine(r), sets: sets, notNull: map[int]string{}}
	opt := table.OptMergeEngine
	switch p.engine {
	case table.EngineFirstRow:
		return nil, errf(types.ErrInvalid, "cannot UPDATE %s: its %s=%s keeps the first row of each key and ignores later versions; copy the rows into a table with %s=%s to change them",
			r, opt, table.EngineFirstRow, opt, table.EngineDeduplicate)
	case table.EnginePartialUpdate:
		for _, i := range sets {
			p.notNull[i] = opt + "=" + table.EnginePartialUpdate + " reads NULL as \"no change\"; DELETE the row and INSERT it again"
		}
	case table.EngineAggregation:
		for _, i := range sets {
			f := r.schema.Fields[i]
			switch fn := aggFunction(r.schema, i); fn {
			case "last_value":
			case "sum", "last_non_null_value":
				p.notNull[i] = "aggregate function " + fn + " skips NULL; DELETE the row and INSERT it again"
			default:
				return nil, errf(types.ErrInvalid, "cannot UPDATE column %q of %s: its %s=%s folds it with %s, which cannot be undone (only sum, last_value and last_non_null_value columns can be SET); DELETE the row and INSERT it again",
					f.Name, r, opt, table.EngineAggregation, fn)
			}
		}
	}
	return p, nil
}

// changes returns the changes that turn old into next.
func (p *updatePlan) changes(old, next types.Row) ([]Change, error) {
	for _, i := range p.sets {
		why, ok := p.notNull[i]
		if ok && next[i] == nil && old[i] != nil {
			return nil, errf(types.ErrInvalid, "cannot SET column %q of %s to NULL (row with key %s): %s",
				p.r.schema.Fields[i].Name, p.r, keyText(p.r.schema, old), why)
		}
	}
	if p.engine == table.EngineAggregation {
		// Retract the old row, then add the new one: sum and count
		// columns net out to the new values, others take the new row.
		return []Change{{Kind: types.UpdateBefore, Row: old}, {Kind: types.UpdateAfter, Row: next}}, nil
	}
	return []Change{{Kind: types.UpdateAfter, Row: next}}, nil
}
