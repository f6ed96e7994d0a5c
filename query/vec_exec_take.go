package query

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// Selection and reordering of batches: takeRecord builds a batch of the
// chosen rows with typed loops over each column (WHERE keeps rows, ORDER
// BY reorders them).

// takeRecord returns the batch of the rows idx of b, in idx order.
func takeRecord(b arrow.Record, idx []int32) arrow.Record {
	cols := make([]arrow.Array, b.NumCols())
	for c := range cols {
		cols[c] = takeArray(b.Column(c), idx)
	}
	rec := array.NewRecord(b.Schema(), cols, int64(len(idx)))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// takeArray returns the values idx of a (one of the array types
// types.ArrowType gives), in idx order.
func takeArray(a arrow.Array, idx []int32) arrow.Array {
	mem := memory.DefaultAllocator
	if a.NullN() == a.Len() {
		return array.MakeArrayOfNull(mem, a.DataType(), len(idx))
	}
	switch x := a.(type) {
	case *array.Boolean:
		return takeEach[bool](array.NewBooleanBuilder(mem), x, idx)
	case *array.Int32:
		return takeFixed(array.NewInt32Builder(mem), x, x.Int32Values(), idx)
	case *array.Int64:
		return takeFixed(array.NewInt64Builder(mem), x, x.Int64Values(), idx)
	case *array.Float32:
		return takeFixed(array.NewFloat32Builder(mem), x, x.Float32Values(), idx)
	case *array.Float64:
		return takeFixed(array.NewFloat64Builder(mem), x, x.Float64Values(), idx)
	case *array.Date32:
		return takeFixed(array.NewDate32Builder(mem), x, x.Date32Values(), idx)
	case *array.Timestamp:
		return takeFixed(array.NewTimestampBuilder(mem, x.DataType().(*arrow.TimestampType)), x, x.TimestampValues(), idx)
	case *array.Time64:
		return takeFixed(array.NewTime64Builder(mem, x.DataType().(*arrow.Time64Type)), x, x.Time64Values(), idx)
	case *array.FixedSizeBinary:
		return takeEach[[]byte](array.NewFixedSizeBinaryBuilder(mem, x.DataType().(*arrow.FixedSizeBinaryType)), x, idx)
	case *array.Decimal128:
		return takeEach[decimal128.Num](array.NewDecimal128Builder(mem, x.DataType().(*arrow.Decimal128Type)), x, idx)
	case *array.String:
		return takeEach[string](array.NewStringBuilder(mem), x, idx)
	case *array.Binary:
		return takeEach[[]byte](array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary), x, idx)
	}
	// ARRAY, MAP and ROW: value by value, exactly (a round trip through
	// the values' JSON text would turn large BIGINTs into doubles).
	b := array.NewBuilder(mem, a.DataType())
	defer b.Release()
	b.Reserve(len(idx))
	for _, i := range idx {
		if err := types.AppendValue(b, types.ValueAt(a, int(i))); err != nil {
			b.AppendNull() // cannot happen: the value comes from an array of the type
		}
	}
	return b.NewArray()
}

// valueArray and appendBuilder are the parts of an Arrow array and its
// builder that takeEach uses.
type valueArray[T any] interface {
	IsNull(i int) bool
	Value(i int) T
}

type appendBuilder[T any] interface {
	array.Builder
	Append(T)
}

// takeEach is takeFixed for arrays without a flat values slice (booleans,
// decimals, strings, bytes): one Value call per taken row.
func takeEach[T any](b appendBuilder[T], x valueArray[T], idx []int32) arrow.Array {
	defer b.Release()
	b.Reserve(len(idx))
	for _, i := range idx {
		if x.IsNull(int(i)) {
			b.AppendNull()
		} else {
			b.Append(x.Value(int(i)))
		}
	}
	return b.NewArray()
}

// fixedBuilder is the part of a fixed-width Arrow builder takeFixed uses.
type fixedBuilder[T any] interface {
	array.Builder
	UnsafeAppend(T)
}

func takeFixed[T any](b fixedBuilder[T], a arrow.Array, vals []T, idx []int32) arrow.Array {
	defer b.Release()
	b.Reserve(len(idx))
	if a.NullN() == 0 {
		for _, i := range idx {
			b.UnsafeAppend(vals[i])
		}
		return b.NewArray()
	}
	for _, i := range idx {
		if a.IsNull(int(i)) {
			b.UnsafeAppendBoolToBitmap(false)
		} else {
			b.UnsafeAppend(vals[i])
		}
	}
	return b.NewArray()
}
