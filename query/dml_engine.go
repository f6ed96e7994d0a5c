package query

import (
	"math"
	"slices"
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
//	                SET columns whose function is sum, last_value,
//	                last_non_null_value, or product on FLOAT/DOUBLE (sum,
//	                product and last_non_null_value: not to NULL; product:
//	                not from 0, whose retraction divides by 0). A SET column
//	                with fields.<col>.ignore-retract=true can only be a
//	                last_value or last_non_null_value one. Other functions,
//	                among them collect, merge_map and listagg, cannot be
//	                undone and are refused. Unchanged columns whose -U and
//	                +U would not cancel (collect, merge_map, listagg,
//	                product, and NULL-skipping functions under
//	                ignore-retract) are NULL in both records: every such
//	                function skips a NULL, so the column keeps its state.
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
	if v, ok := aggColumnOption(s, col, ".aggregate-function"); ok {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return "last_non_null_value"
}

// aggColumnOption is the option fields.<col><suffix> of column col.
func aggColumnOption(s *types.Schema, col int, suffix string) (string, bool) {
	for k, v := range s.Options {
		if !strings.HasPrefix(k, "fields.") || !strings.HasSuffix(k, suffix) {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(k, "fields."), suffix)
		if s.FieldIndex(name) == col {
			return v, true
		}
	}
	return "", false
}

// ignoresRetract reports whether column col sets
// fields.<col>.ignore-retract=true.
func ignoresRetract(s *types.Schema, col int) bool {
	v, _ := aggColumnOption(s, col, ".ignore-retract")
	return strings.EqualFold(strings.TrimSpace(v), "true")
}

// nullInUpdate reports whether an UPDATE that leaves column col unchanged
// writes NULL there in its -U and +U records: for the functions whose -U
// and +U of the same value would not cancel (or whose -U writes refuse),
// all of which skip NULL.
func nullInUpdate(s *types.Schema, col int) bool {
	switch aggFunction(s, col) {
	case "collect", "merge_map", "listagg", "product":
		return true
	case "last_value", "first_value":
		return false
	}
	return ignoresRetract(s, col)
}

// updatePlan turns an UPDATE's old and new rows into changes the merge
// engine folds into the new row.
type updatePlan struct {
	r       *relation
	engine  string
	sets    []int
	notNull map[int]string // SET column → why NULL is refused
	divides []int          // SET product columns: the old value must not be 0
	nulled  []int          // unchanged columns written as NULL (nullInUpdate)
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
		set := map[int]bool{}
		for _, i := range sets {
			set[i] = true
			f := r.schema.Fields[i]
			fn := aggFunction(r.schema, i)
			float := f.Type.Kind == types.Float || f.Type.Kind == types.Double
			switch {
			case fn == "last_value":
			case fn == "last_non_null_value":
				p.notNull[i] = "aggregate function " + fn + " skips NULL; DELETE the row and INSERT it again"
			case (fn == "sum" || fn == "product" && float) && ignoresRetract(r.schema, i):
				return nil, errf(types.ErrInvalid, "cannot UPDATE column %q of %s: its fields.%s.ignore-retract=true drops the retraction of the old value, so %s would fold the new value into it; DELETE the row and INSERT it again",
					f.Name, r, f.Name, fn)
			case fn == "sum" || fn == "product" && float:
				p.notNull[i] = "aggregate function " + fn + " skips NULL; DELETE the row and INSERT it again"
				if fn == "product" {
					p.divides = append(p.divides, i)
				}
			default:
				return nil, errf(types.ErrInvalid, "cannot UPDATE column %q of %s: its %s=%s folds it with %s, which cannot be undone (only sum, last_value, last_non_null_value and FLOAT/DOUBLE product columns can be SET); DELETE the row and INSERT it again",
					f.Name, r, opt, table.EngineAggregation, fn)
			}
		}
		keys := map[int]bool{}
		for _, k := range r.schema.KeyIndexes() {
			keys[k] = true
		}
		for i := range r.schema.Fields {
			if !set[i] && !keys[i] && nullInUpdate(r.schema, i) {
				p.nulled = append(p.nulled, i)
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
		for _, i := range p.divides {
			if x, ok := old[i].(float64); ok && (x == 0 || math.IsInf(x, 0) || math.IsNaN(x)) {
				return nil, p.divideErr(old, i)
			}
			if x, ok := old[i].(float32); ok && (x == 0 || math.IsInf(float64(x), 0) || math.IsNaN(float64(x))) {
				return nil, p.divideErr(old, i)
			}
		}
		// Retract the old row, then add the new one: sum and count
		// columns net out to the new values, others take the new row.
		before, after := old, next
		if len(p.nulled) > 0 {
			before, after = slices.Clone(old), slices.Clone(next)
			for _, i := range p.nulled {
				before[i], after[i] = nil, nil
			}
		}
		return []Change{{Kind: types.UpdateBefore, Row: before}, {Kind: types.UpdateAfter, Row: after}}, nil
	}
	return []Change{{Kind: types.UpdateAfter, Row: next}}, nil
}

// divideErr refuses to SET a product column whose old value is 0, infinite
// or NaN: retracting it divides the product by it.
func (p *updatePlan) divideErr(old types.Row, i int) error {
	return errf(types.ErrInvalid, "cannot UPDATE column %q of %s (row with key %s): its product is %v, and retracting it would divide by it; DELETE the row and INSERT it again",
		p.r.schema.Fields[i].Name, p.r, keyText(p.r.schema, old), old[i])
}
