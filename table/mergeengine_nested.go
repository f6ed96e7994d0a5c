package table

import (
	"fmt"
	"sort"
	"strings"

	"github.com/siltdb/silt/types"
)

// The collection aggregate functions of the aggregation merge engine, as
// Apache Paimon defines them (NULL inputs are skipped; a column whose
// inputs were all NULL stays NULL):
//
//	collect    ARRAY: the elements of every input array, in write order;
//	           with fields.<col>.distinct=true each element once, at its
//	           first occurrence. NULL elements are kept (once, if distinct).
//	merge_map  MAP: the union of the input maps; for a key in several (or
//	           twice in one), the later value wins. Keys keep the order they
//	           first appeared in.
//	listagg    STRING: the input strings joined by
//	           fields.<col>.list-agg-delimiter (default ","); blank strings
//	           (empty or white space only) are skipped, like NULL.
//
// All three are associative over contiguous sequence ranges, so a flush's
// pre-merge, a read's merge and a compaction's merge agree exactly. None of
// them can take back what a -U row added within silt's merge (ADR 0045),
// so writes of -U rows with a value in such a column are refused unless
// fields.<col>.ignore-retract=true (mergeengine_retract.go).

// Per-column option suffixes of the aggregation engine besides
// aggregate-function.
const (
	aggDistinctSuffix      = ".distinct"
	aggDelimiterSuffix     = ".list-agg-delimiter"
	aggIgnoreRetractSuffix = ".ignore-retract"
)

// aggParamSuffixes are the per-column option suffixes besides
// aggregate-function.
var aggParamSuffixes = []string{aggDistinctSuffix, aggDelimiterSuffix, aggIgnoreRetractSuffix}

// IsAggregateParamOption reports whether k is fields.<col>.distinct,
// fields.<col>.list-agg-delimiter or fields.<col>.ignore-retract (checked
// against the columns and functions by NewMergeEngine).
func IsAggregateParamOption(k string) bool {
	_, _, ok := splitAggParam(k)
	return ok
}

// splitAggParam splits fields.<col><suffix> for the parameter suffixes.
func splitAggParam(k string) (col, suffix string, ok bool) {
	rest, found := strings.CutPrefix(k, aggOptionPrefix)
	if !found {
		return "", "", false
	}
	for _, s := range aggParamSuffixes {
		if c, found := strings.CutSuffix(rest, s); found && c != "" {
			return c, s, true
		}
	}
	return "", "", false
}

// aggParams are a column's type and per-column options.
type aggParams struct {
	name          string // the column's name
	typ           types.DataType
	distinct      bool   // collect: each element once
	delim         string // listagg: the delimiter
	ignoreRetract bool   // -U values are ignored for this column
}

// parseAggParams reads the per-column options of the aggregation engine
// (funcs from parseAggOptions) into one aggParams per column. Options on
// unknown columns, on primary-key columns, for the wrong function, with
// values other than true/false, or on tables of another engine are errors
// wrapping types.ErrInvalid.
func parseAggParams(schema *types.Schema, funcs map[int]aggFunc, aggregation bool) ([]aggParams, error) {
	params := make([]aggParams, len(schema.Fields))
	for i := range params {
		params[i].delim = ","
	}
	keys := make([]string, 0, len(schema.Options))
	for k := range schema.Options {
		if IsAggregateParamOption(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	isKey := map[int]bool{}
	for _, k := range schema.KeyIndexes() {
		isKey[k] = true
	}
	for _, k := range keys {
		v := schema.Options[k]
		col, suffix, _ := splitAggParam(k)
		if !aggregation {
			return nil, fmt.Errorf("%w: option %s=%q only applies to %s=%s", types.ErrInvalid, k, v, OptMergeEngine, EngineAggregation)
		}
		i := schema.FieldIndex(col)
		if i < 0 {
			return nil, fmt.Errorf("%w: option %s: unknown column %q", types.ErrInvalid, k, col)
		}
		if isKey[i] {
			return nil, fmt.Errorf("%w: option %s: %q is a primary-key column, which is never aggregated", types.ErrInvalid, k, col)
		}
		f := funcs[i]
		switch suffix {
		case aggDelimiterSuffix:
			if f != aggListagg {
				return nil, fmt.Errorf("%w: option %s applies only to columns whose aggregate function is listagg (column %q uses %s)", types.ErrInvalid, k, col, f.name())
			}
			params[i].delim = v
		case aggDistinctSuffix:
			if f != aggCollect {
				return nil, fmt.Errorf("%w: option %s applies only to columns whose aggregate function is collect (column %q uses %s)", types.ErrInvalid, k, col, f.name())
			}
			b, err := parseBoolOption(k, v)
			if err != nil {
				return nil, err
			}
			params[i].distinct = b
		case aggIgnoreRetractSuffix:
			b, err := parseBoolOption(k, v)
			if err != nil {
				return nil, err
			}
			params[i].ignoreRetract = b
		}
	}
	return params, nil
}

func parseBoolOption(k, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: option %s: %q is not true or false", types.ErrInvalid, k, v)
}

// name is the function's option value.
func (f aggFunc) name() string {
	for n, g := range aggFuncByName {
		if g == f {
			return n
		}
	}
	return "last_non_null_value"
}

// addNested folds the value v of a +I/+U record into acc for the
// functions collect, merge_map, listagg and product. Raw and merged values
// fold alike: each function's merged state is its result.
func (a *aggregation) addNested(c int, acc, v types.Value) types.Value {
	p := &a.params[c]
	switch a.funcs[c] {
	case aggCollect:
		return collectAdd(acc, v, p.distinct)
	case aggMergeMap:
		return mergeMapAdd(acc, v)
	case aggListagg:
		return listaggAdd(acc, v, p.delim)
	case aggProduct:
		return productAdd(acc, v, p)
	}
	return acc
}

// collectAdd appends the elements of v to acc (each once when distinct).
func collectAdd(acc, v types.Value, distinct bool) types.Value {
	in, ok := v.(types.List)
	if !ok {
		return acc
	}
	old, ok := acc.(types.List)
	if !ok {
		if !distinct {
			return in
		}
		old = types.List{}
	}
	out := make(types.List, len(old), len(old)+len(in))
	copy(out, old)
	if !distinct {
		return append(out, in...)
	}
	seen := newValueSet(len(old) + len(in))
	for _, e := range old {
		seen.add(e)
	}
	for _, e := range in {
		if seen.add(e) {
			out = append(out, e)
		}
	}
	return out
}

// mergeMapAdd puts the entries of v into acc: a key already in acc takes
// v's value in place, new keys follow in v's order.
func mergeMapAdd(acc, v types.Value) types.Value {
	in, ok := v.(types.Map)
	if !ok {
		return acc
	}
	// A first map is folded into an empty one too: a map written with a
	// key twice (the API does not refuse it) keeps the later value, as it
	// would merged with an earlier map.
	old, _ := acc.(types.Map)
	out := make(types.Map, len(old), len(old)+len(in))
	copy(out, old)
	pos := newValueIndex(len(old) + len(in))
	for i, e := range old {
		pos.put(e.Key, i)
	}
	for _, e := range in {
		if i, ok := pos.get(e.Key); ok {
			out[i].Value = e.Value
			continue
		}
		pos.put(e.Key, len(out))
		out = append(out, e)
	}
	return out
}

// listaggAdd joins v to acc with delim; NULL and blank strings are skipped.
func listaggAdd(acc, v types.Value, delim string) types.Value {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return acc
	}
	old, ok := acc.(string)
	if !ok || strings.TrimSpace(old) == "" {
		return s
	}
	return old + delim + s
}

// valueSet and valueIndex find values by equality (types.Equal): a Go map
// for comparable scalar values, a list for the rest (nested values, bytes).
type valueIndex struct {
	scalar map[types.Value]int
	other  []types.MapEntry // Key: the value, Value: int position
}

func newValueIndex(n int) *valueIndex { return &valueIndex{scalar: make(map[types.Value]int, n)} }

// hashable reports whether v can key a Go map with types.Equal's meaning:
// floats cannot (NaN is never == NaN in Go, but Equal to itself).
func hashable(v types.Value) bool {
	switch v.(type) {
	case nil, bool, int32, int64, types.Decimal, string, types.Date, types.Timestamp,
		types.Decimal128, types.TimeOfDay, types.TimestampLTZ, types.UUID:
		return true
	}
	return false
}

func (x *valueIndex) get(v types.Value) (int, bool) {
	if hashable(v) {
		i, ok := x.scalar[v]
		return i, ok
	}
	for _, e := range x.other {
		if types.Equal(e.Key, v) {
			return e.Value.(int), true
		}
	}
	return 0, false
}

func (x *valueIndex) put(v types.Value, i int) {
	if hashable(v) {
		x.scalar[v] = i
		return
	}
	x.other = append(x.other, types.MapEntry{Key: v, Value: i})
}

type valueSet struct{ idx *valueIndex }

func newValueSet(n int) valueSet { return valueSet{newValueIndex(n)} }

// add adds v and reports whether it was new.
func (s valueSet) add(v types.Value) bool {
	if _, ok := s.idx.get(v); ok {
		return false
	}
	s.idx.put(v, 0)
	return true
}
