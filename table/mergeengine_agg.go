package table

import (
	"sort"
	"strings"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// The aggregation merge engine keeps primary-key columns and folds every
// other column with its function (fields.<col>.aggregate-function, default
// last_non_null_value) over the key's records in sequence order:
//
//	sum                   INT, BIGINT, FLOAT, DOUBLE, DECIMAL; NULLs skipped.
//	count                 INT, BIGINT: the number of +I/+U rows whose value
//	                      is not NULL (0 once a row exists).
//	min, max              any type; NULLs skipped.
//	last_value            the value of the last +I/+U (NULL included).
//	last_non_null_value   the last non-NULL value.
//	first_value           the value of the first +I/+U (NULL included).
//	first_non_null_value  the first non-NULL value.
//	bool_and, bool_or     BOOLEAN; NULLs skipped.
//	product               INT, BIGINT, FLOAT, DOUBLE, DECIMAL; NULLs skipped
//	                      (mergeengine_product.go).
//	collect, merge_map,   ARRAY, MAP, STRING; NULLs skipped
//	listagg               (mergeengine_nested.go).
//
// -D deletes the row: the state restarts empty, so later +I/+U build a new
// row. -U retracts its values from sum (subtracts), count (one less per
// non-NULL value) and FLOAT/DOUBLE product (divides), and is an error-free
// no-op for min, max, the last/first functions and bool_and/bool_or, which
// cannot be undone. Writes refuse -U values in collect, merge_map, listagg
// and integer/DECIMAL product columns (mergeengine_retract.go), which the
// merge ignores; fields.<col>.ignore-retract=true makes a column ignore -U
// values whatever its function. A key whose records since its last -D are
// only -U is not a row (reads drop it), but its retractions still apply to
// later rows.
//
// Arithmetic is exact and wraps in two's complement on overflow (INT in 32
// bits, BIGINT and DECIMAL's unscaled value in 64 bits): Merge cannot fail,
// and wrapping, unlike saturation, keeps sums exact under any grouping. A
// DECIMAL sum may exceed the column's declared precision. FLOAT and DOUBLE
// sums round, so their last bits can depend on how records were grouped by
// flushes.
//
// A merged record keeps partial state: a partial sum or count for +I/+U, and
// for a record holding only retractions (Kind -U) the total retracted from
// sum and count columns and the divisor of FLOAT/DOUBLE product columns. count reads a raw row's value as "one if not NULL"
// but a merged row's value as a partial count, which is why lsm marks merged
// records.

// aggFunc is an aggregate function.
type aggFunc uint8

const (
	aggLastNonNull aggFunc = iota // default
	aggSum
	aggCount
	aggMin
	aggMax
	aggLastValue
	aggFirstValue
	aggFirstNonNull
	aggBoolAnd
	aggBoolOr
	aggCollect  // mergeengine_nested.go
	aggMergeMap // mergeengine_nested.go
	aggListagg  // mergeengine_nested.go
	aggProduct  // mergeengine_product.go
)

var aggFuncByName = map[string]aggFunc{
	"sum":                  aggSum,
	"count":                aggCount,
	"min":                  aggMin,
	"max":                  aggMax,
	"last_value":           aggLastValue,
	"last_non_null_value":  aggLastNonNull,
	"first_value":          aggFirstValue,
	"first_non_null_value": aggFirstNonNull,
	"bool_and":             aggBoolAnd,
	"bool_or":              aggBoolOr,
	"collect":              aggCollect,
	"merge_map":            aggMergeMap,
	"listagg":              aggListagg,
	"product":              aggProduct,
}

func aggFuncNames() string {
	names := make([]string, 0, len(aggFuncByName))
	for n := range aggFuncByName {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// fits reports whether f applies to a column of type t.
func (f aggFunc) fits(t types.DataType) bool {
	switch f {
	case aggSum:
		switch t.Kind {
		case types.Int, types.BigInt, types.Float, types.Double, types.DecimalKind:
			return true
		}
		return false
	case aggCount:
		return t.Kind == types.Int || t.Kind == types.BigInt
	case aggBoolAnd, aggBoolOr:
		return t.Kind == types.Boolean
	case aggCollect:
		return t.Kind == types.ArrayKind
	case aggMergeMap:
		return t.Kind == types.MapKind
	case aggListagg:
		return t.Kind == types.String
	case aggProduct:
		switch t.Kind {
		case types.Int, types.BigInt, types.Float, types.Double, types.DecimalKind:
			return true
		}
		return false
	}
	return true
}

type aggregation struct {
	funcs  []aggFunc // per column
	isKey  []bool
	kinds  []types.Kind
	params []aggParams // per column: type and per-column options
	// noRetract says which columns refuse -U values (see
	// mergeengine_retract.go); nil when every column accepts them.
	noRetract []bool
}

func newAggregation(s *types.Schema, funcs map[int]aggFunc, params []aggParams) *aggregation {
	a := &aggregation{funcs: make([]aggFunc, len(s.Fields)), isKey: make([]bool, len(s.Fields)), kinds: make([]types.Kind, len(s.Fields)), params: params}
	for i, f := range s.Fields {
		a.kinds[i] = f.Type.Kind
	}
	if a.params == nil {
		a.params = make([]aggParams, len(s.Fields))
	}
	for i, f := range s.Fields {
		a.params[i].name, a.params[i].typ = f.Name, f.Type
	}
	for i, f := range funcs {
		a.funcs[i] = f
	}
	for _, k := range s.KeyIndexes() {
		a.isKey[k] = true
	}
	a.noRetract = a.refusesRetraction(s)
	return a
}

func (a *aggregation) Merge(recs []lsm.Record) lsm.Record {
	n := len(a.funcs)
	acc := make(types.Row, n)
	var lastAdd *lsm.Record
	retracted, reset := false, false
	for i := range recs {
		r := &recs[i]
		if r.Kind == types.Delete || r.Reset {
			clear(acc)
			lastAdd, retracted, reset = nil, false, true
			if r.Kind == types.Delete {
				continue
			}
		}
		switch {
		case r.Kind.IsAdd():
			for c := 0; c < n && c < len(r.Row); c++ {
				switch {
				case a.isKey[c]:
				case a.funcs[c] >= aggCollect:
					acc[c] = a.addNested(c, acc[c], r.Row[c])
				case a.funcs[c] == aggSum && a.kinds[c] == types.DecimalKind:
					acc[c] = decimalSumAdd(acc[c], r.Row[c], &a.params[c])
				default:
					acc[c] = add(a.funcs[c], a.kinds[c], acc[c], r.Row[c], r.Merged, lastAdd != nil)
				}
			}
			lastAdd = r
		case r.Kind == types.UpdateBefore:
			for c := 0; c < n && c < len(r.Row); c++ {
				switch {
				case a.isKey[c] || a.params[c].ignoreRetract:
				case a.funcs[c] == aggProduct:
					acc[c] = a.retractProduct(c, acc[c], r.Row[c])
				case a.funcs[c] == aggSum && a.kinds[c] == types.DecimalKind:
					acc[c] = decimalRetract(acc[c], r.Row[c], &a.params[c])
				default:
					acc[c] = retract(a.funcs[c], a.kinds[c], acc[c], r.Row[c], r.Merged)
				}
			}
			retracted = true
		}
	}
	last := &recs[len(recs)-1]
	out := lsm.Record{Key: last.Key, Seq: last.Seq, Row: acc, Reset: reset}
	keyRow := last.Row
	switch {
	case lastAdd != nil:
		out.Kind, keyRow = lastAdd.Kind, lastAdd.Row
		for c, f := range a.funcs {
			if f == aggCount && !a.isKey[c] && acc[c] == nil {
				acc[c] = zeroOf(a.kinds[c])
			}
		}
	case retracted:
		// Only retractions: store what sum and count must subtract.
		out.Kind = types.UpdateBefore
		for c, f := range a.funcs {
			switch {
			case f == aggSum || f == aggCount:
				acc[c] = negate(acc[c])
			case f == aggProduct && acc[c] != nil:
				acc[c] = a.productDivisor(c, acc[c])
			case !a.isKey[c]:
				acc[c] = nil
			}
		}
	default:
		return lsm.Record{Key: last.Key, Seq: last.Seq, Kind: types.Delete, Row: last.Row}
	}
	for c := range acc {
		if a.isKey[c] && c < len(keyRow) {
			acc[c] = keyRow[c]
		}
	}
	return out
}

// add folds the value v of a +I/+U record into acc. merged says v is a
// merged record's partial state; seen says an add was already folded.
func add(f aggFunc, k types.Kind, acc, v types.Value, merged, seen bool) types.Value {
	switch f {
	case aggSum:
		if v == nil {
			return acc
		}
		if acc == nil {
			return v
		}
		return plus(acc, v)
	case aggCount:
		if !merged {
			if v == nil {
				return acc
			}
			v = oneOf(k)
		}
		if acc == nil {
			return v
		}
		return plus(acc, v)
	case aggMin, aggMax:
		if v == nil {
			return acc
		}
		if acc == nil {
			return v
		}
		c := types.Compare(v, acc)
		if (f == aggMin && c < 0) || (f == aggMax && c > 0) {
			return v
		}
		return acc
	case aggLastValue:
		return v
	case aggFirstValue:
		if seen {
			return acc
		}
		return v
	case aggFirstNonNull:
		if acc != nil {
			return acc
		}
		return v
	case aggBoolAnd, aggBoolOr:
		b, ok := v.(bool)
		if !ok {
			return acc
		}
		x, ok := acc.(bool)
		if !ok {
			return b
		}
		if f == aggBoolAnd {
			return x && b
		}
		return x || b
	}
	// last_non_null_value
	if v == nil {
		return acc
	}
	return v
}

// retract folds the value v of a -U record into acc: sum subtracts it, count
// subtracts one per non-NULL raw value or a merged record's retracted count;
// other functions ignore retractions.
func retract(f aggFunc, k types.Kind, acc, v types.Value, merged bool) types.Value {
	if v == nil || (f != aggSum && f != aggCount) {
		return acc
	}
	if f == aggCount && !merged {
		v = oneOf(k)
	}
	if acc == nil {
		return negate(v) // 0 - v, in v's Go type (a Decimal128 column's zero is not Decimal(0))
	}
	return plus(acc, negate(v))
}

// plus adds two values of the same numeric Go type, wrapping on overflow.
// Mismatched types (a caller bug) keep acc.
func plus(acc, v types.Value) types.Value {
	switch x := acc.(type) {
	case int32:
		if y, ok := v.(int32); ok {
			return x + y
		}
	case int64:
		if y, ok := v.(int64); ok {
			return x + y
		}
	case float32:
		if y, ok := v.(float32); ok {
			return x + y
		}
	case float64:
		if y, ok := v.(float64); ok {
			return x + y
		}
	case types.Decimal:
		if y, ok := v.(types.Decimal); ok {
			return x + y
		}
	case types.Decimal128:
		if y, ok := v.(types.Decimal128); ok {
			return types.Decimal128(x.Num().Add(y.Num()))
		}
	}
	return acc
}

func negate(v types.Value) types.Value {
	switch x := v.(type) {
	case int32:
		return -x
	case int64:
		return -x
	case float32:
		return -x
	case float64:
		return -x
	case types.Decimal:
		return -x
	case types.Decimal128:
		return types.Decimal128(x.Num().Negate())
	}
	return v
}

// oneOf is 1 of a count column's kind.
func oneOf(k types.Kind) types.Value {
	if k == types.Int {
		return int32(1)
	}
	return int64(1)
}

// zeroOf is 0 of a numeric column kind.
func zeroOf(k types.Kind) types.Value {
	switch k {
	case types.Int:
		return int32(0)
	case types.Float:
		return float32(0)
	case types.Double:
		return float64(0)
	case types.DecimalKind:
		return types.Decimal(0)
	}
	return int64(0)
}
