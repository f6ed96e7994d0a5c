package types

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// appendNested appends a non-NULL List, Map or Struct to a list, map or
// struct builder (of the Arrow type ArrowType gives), recursively.
func appendNested(b array.Builder, v Value) error {
	switch bb := b.(type) {
	case *array.MapBuilder:
		m, ok := v.(Map)
		if !ok {
			break
		}
		bb.Append(true)
		kb, ib := bb.KeyBuilder(), bb.ItemBuilder()
		for i, e := range m {
			if e.Key == nil {
				return fmt.Errorf("%w: MAP entry %d has a NULL key", ErrInvalid, i)
			}
			if err := AppendValue(kb, e.Key); err != nil {
				return fmt.Errorf("MAP key %d: %w", i, err)
			}
			if err := AppendValue(ib, e.Value); err != nil {
				return fmt.Errorf("MAP value %d: %w", i, err)
			}
		}
		return nil
	case *array.ListBuilder:
		l, ok := v.(List)
		if !ok {
			break
		}
		bb.Append(true)
		eb := bb.ValueBuilder()
		for i, e := range l {
			if err := AppendValue(eb, e); err != nil {
				return fmt.Errorf("ARRAY element %d: %w", i+1, err)
			}
		}
		return nil
	case *array.StructBuilder:
		st, ok := v.(Struct)
		if !ok {
			break
		}
		if len(st) != bb.NumField() {
			return fmt.Errorf("%w: ROW value has %d fields, the column %d", ErrInvalid, len(st), bb.NumField())
		}
		bb.Append(true)
		for i, e := range st {
			if err := AppendValue(bb.FieldBuilder(i), e); err != nil {
				return fmt.Errorf("ROW field %d: %w", i+1, err)
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: value of Go type %T: unsupported Arrow builder %T", ErrInvalid, v, b)
	}
	return fmt.Errorf("%w: value of Go type %T does not match the column type", ErrInvalid, v)
}

// nestedValueAt returns non-NULL row i of a list, map or struct array as a
// List, Map or Struct, its elements converted with ValueAt.
func nestedValueAt(a arrow.Array, i int) Value {
	switch x := a.(type) {
	case *array.Map:
		start, end := x.ValueOffsets(i)
		keys, items := x.Keys(), x.Items()
		m := make(Map, 0, end-start)
		for j := int(start); j < int(end); j++ {
			m = append(m, MapEntry{Key: ValueAt(keys, j), Value: ValueAt(items, j)})
		}
		return m
	case *array.List:
		start, end := x.ValueOffsets(i)
		elems := x.ListValues()
		l := make(List, 0, end-start)
		for j := int(start); j < int(end); j++ {
			l = append(l, ValueAt(elems, j))
		}
		return l
	case *array.Struct:
		st := make(Struct, x.NumField())
		for k := range st {
			st[k] = ValueAt(x.Field(k), i)
		}
		return st
	}
	panic(fmt.Sprintf("types.ValueAt: unsupported nested Arrow array %T", a))
}
