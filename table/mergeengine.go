package table

import (
	"fmt"
	"sort"
	"strings"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// Merge engines decide what the records of one primary key merge into. Each
// implements lsm.Merger: Merge gets a key's records in ascending sequence
// order and must be associative over contiguous sequence ranges, because a
// flush pre-merges a write buffer and reads merge the pre-merged records
// again (see lsm.Merger). Records produced by a merge carry Merged, and
// Reset when their state already includes a deletion of the key.
//
//	deduplicate     the last record wins; a last -U/-D deletes the key.
//	partial-update  each non-NULL column of +I/+U overwrites; -D deletes the
//	                row (later +I/+U build a new row from scratch); -U is
//	                ignored.
//	aggregation     per-column functions (fields.<col>.aggregate-function);
//	                see mergeengine_agg.go.
//	first-row       the first +I/+U wins; -U/-D are ignored.
//
// sequence.field orders a key's records by a column's value (NULL first,
// ties by write order) instead of write order alone. It is supported by
// deduplicate and first-row, whose results are the maximum or minimum of a
// total order and so merge exactly in any grouping. partial-update and
// aggregation fold records in order, and a pre-merged record cannot carry
// the per-column positions a later out-of-order record would need, so they
// reject sequence.field rather than give answers that depend on flush
// timing.
const (
	EngineDeduplicate   = "deduplicate"
	EnginePartialUpdate = "partial-update"
	EngineAggregation   = "aggregation"
	EngineFirstRow      = "first-row"
)

const (
	aggOptionPrefix = "fields."
	aggOptionSuffix = ".aggregate-function"
)

// NewMergeEngine returns the merge engine configured by the options
// merge-engine (default deduplicate), sequence.field and, for aggregation,
// fields.<col>.aggregate-function. Unknown engines, unknown columns, and
// functions that do not fit their column's type are errors wrapping
// types.ErrInvalid that name the option and its value. It also checks the
// column of record-level.time-field (the rows compaction expires), the
// other option that names a column.
func NewMergeEngine(schema *types.Schema) (lsm.Merger, error) {
	if schema == nil {
		return nil, fmt.Errorf("%w: nil schema", types.ErrInvalid)
	}
	opts := schema.Options
	engine := EngineDeduplicate
	if v, ok := opts[OptMergeEngine]; ok {
		engine = v
	}
	switch engine {
	case EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow:
	default:
		return nil, fmt.Errorf("%w: option %s: unknown merge engine %q (want %s, %s, %s or %s)",
			types.ErrInvalid, OptMergeEngine, engine, EngineDeduplicate, EnginePartialUpdate, EngineAggregation, EngineFirstRow)
	}
	seqField := -1
	if v, ok := opts[OptSequenceField]; ok {
		if seqField = schema.FieldIndex(v); seqField < 0 {
			return nil, fmt.Errorf("%w: option %s: unknown column %q", types.ErrInvalid, OptSequenceField, v)
		}
		if engine == EnginePartialUpdate || engine == EngineAggregation {
			return nil, fmt.Errorf("%w: option %s=%q is not supported with %s=%s (only %s and %s order records by a column)",
				types.ErrInvalid, OptSequenceField, v, OptMergeEngine, engine, EngineDeduplicate, EngineFirstRow)
		}
	}
	funcs, err := parseAggOptions(schema, engine == EngineAggregation)
	if err != nil {
		return nil, err
	}
	params, err := parseAggParams(schema, funcs, engine == EngineAggregation)
	if err != nil {
		return nil, err
	}
	if err := checkTimeField(schema); err != nil {
		return nil, err
	}
	switch engine {
	case EnginePartialUpdate:
		return &partialUpdate{}, nil
	case EngineAggregation:
		return newAggregation(schema, funcs, params), nil
	case EngineFirstRow:
		return &firstRow{seqField: seqField}, nil
	}
	return &deduplicate{seqField: seqField}, nil
}

// parseAggOptions reads fields.<col>.aggregate-function into a function per
// column position (unset columns are absent from the map).
func parseAggOptions(schema *types.Schema, aggregation bool) (map[int]aggFunc, error) {
	keys := make([]string, 0, len(schema.Options))
	for k := range schema.Options {
		if strings.HasPrefix(k, aggOptionPrefix) && strings.HasSuffix(k, aggOptionSuffix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	funcs := map[int]aggFunc{}
	isKey := map[int]bool{}
	for _, k := range schema.KeyIndexes() {
		isKey[k] = true
	}
	for _, k := range keys {
		v := schema.Options[k]
		if !aggregation {
			return nil, fmt.Errorf("%w: option %s=%q only applies to %s=%s", types.ErrInvalid, k, v, OptMergeEngine, EngineAggregation)
		}
		col := strings.TrimSuffix(strings.TrimPrefix(k, aggOptionPrefix), aggOptionSuffix)
		i := schema.FieldIndex(col)
		if i < 0 {
			return nil, fmt.Errorf("%w: option %s: unknown column %q", types.ErrInvalid, k, col)
		}
		if isKey[i] {
			return nil, fmt.Errorf("%w: option %s: %q is a primary-key column, which is never aggregated", types.ErrInvalid, k, col)
		}
		f, ok := aggFuncByName[strings.ToLower(strings.TrimSpace(v))]
		if !ok {
			return nil, fmt.Errorf("%w: option %s: unknown aggregate function %q (want one of %s)", types.ErrInvalid, k, v, aggFuncNames())
		}
		if !f.fits(schema.Fields[i].Type) {
			return nil, fmt.Errorf("%w: option %s: aggregate function %s does not apply to column %q of type %s", types.ErrInvalid, k, v, col, schema.Fields[i].Type)
		}
		funcs[i] = f
	}
	return funcs, nil
}

// seqValue is the sequence.field value of a record (NULL when absent).
func seqValue(r *lsm.Record, field int) types.Value {
	if field < 0 || field >= len(r.Row) {
		return nil
	}
	return r.Row[field]
}

// before reports whether a precedes b: by the sequence field when set
// (NULL first), then by Seq.
func before(a, b *lsm.Record, field int) bool {
	if field >= 0 {
		if c := types.Compare(seqValue(a, field), seqValue(b, field)); c != 0 {
			return c < 0
		}
	}
	return a.Seq < b.Seq
}

// deduplicate keeps the last record; a last -U/-D makes a tombstone.
type deduplicate struct{ seqField int }

func (e *deduplicate) Merge(recs []lsm.Record) lsm.Record {
	w := len(recs) - 1
	if e.seqField >= 0 {
		for i := range recs {
			if !before(&recs[i], &recs[w], e.seqField) {
				w = i // ties: the later record wins
			}
		}
	}
	r := recs[w]
	if !r.Kind.IsAdd() {
		r.Kind = types.Delete
	}
	r.Reset = false
	return r
}

// LastWriteWins tells write buffers that a merge is the last record (see
// lsm.LastWriteWins), unless a sequence field orders the records.
func (e *deduplicate) LastWriteWins() bool { return e.seqField < 0 }

// firstRow keeps the first +I/+U; retractions never remove it.
type firstRow struct{ seqField int }

func (e *firstRow) Merge(recs []lsm.Record) lsm.Record {
	w := -1
	for i := range recs {
		if !recs[i].Kind.IsAdd() {
			continue
		}
		if w < 0 || (e.seqField >= 0 && before(&recs[i], &recs[w], e.seqField)) {
			w = i
		}
	}
	if w < 0 {
		// No row yet: a tombstone, which hides nothing, because first-row
		// ignores deletes when merging again.
		r := recs[len(recs)-1]
		r.Kind, r.Reset = types.Delete, false
		return r
	}
	r := recs[w]
	r.Reset = false
	return r
}

// partialUpdate overlays the non-NULL columns of each +I/+U.
type partialUpdate struct{}

func (e *partialUpdate) Merge(recs []lsm.Record) lsm.Record {
	var row types.Row
	kind := types.UpdateBefore
	reset := false
	for i := range recs {
		r := &recs[i]
		if r.Kind == types.Delete || r.Reset {
			row, reset, kind = nil, true, types.Delete
			if r.Kind == types.Delete {
				continue
			}
		}
		if !r.Kind.IsAdd() {
			continue // -U carries nothing a partial update keeps
		}
		if row == nil {
			row = make(types.Row, len(r.Row))
		}
		for c, v := range r.Row {
			if v != nil && c < len(row) {
				row[c] = v
			}
		}
		kind = r.Kind
	}
	last := recs[len(recs)-1]
	switch {
	case row != nil:
		return lsm.Record{Key: last.Key, Seq: last.Seq, Kind: kind, Row: row, Reset: reset}
	case reset:
		return lsm.Record{Key: last.Key, Seq: last.Seq, Kind: types.Delete, Row: last.Row}
	}
	// Only -U records: nothing to apply, kept as a no-op.
	return lsm.Record{Key: last.Key, Seq: last.Seq, Kind: types.UpdateBefore, Row: last.Row}
}
