package query

import (
	"fmt"
	"strings"

	"github.com/siltdb/silt/types"
)

// nestedConv converts a value of a Parquet file's nested column to the
// table column's type (COPY … FROM, FORMAT parquet).
type nestedConv func(types.Value) (types.Value, error)

// nestedLoadConv returns the conversion from the file's nested type src
// to the table's type dst: the same kinds at every level, ROW fields
// matched by name (case-insensitively, in any order; a table field the
// file lacks loads NULL), and leaf types converting as INSERT converts
// them without CAST.
func nestedLoadConv(src, dst types.DataType) (nestedConv, error) {
	if !src.IsNested() && !dst.IsNested() {
		if !implicitOK(src, dst) {
			return nil, fmt.Errorf("%w: %s in the file cannot load into %s", types.ErrInvalid, src, dst)
		}
		return func(v types.Value) (types.Value, error) {
			if v == nil {
				return nil, nil
			}
			return castValue(v, src, dst, false)
		}, nil
	}
	if src.Kind != dst.Kind {
		return nil, fmt.Errorf("%w: %s in the file cannot load into %s", types.ErrInvalid, src, dst)
	}
	switch dst.Kind {
	case types.ArrayKind:
		ec, err := nestedLoadConv(src.Fields[0].Type, dst.Fields[0].Type)
		if err != nil {
			return nil, err
		}
		return func(v types.Value) (types.Value, error) {
			if v == nil {
				return nil, nil
			}
			in := v.(types.List)
			out := make(types.List, len(in))
			for i, e := range in {
				var err error
				if out[i], err = ec(e); err != nil {
					return nil, err
				}
			}
			return out, nil
		}, nil
	case types.MapKind:
		kc, err := nestedLoadConv(src.Fields[0].Type, dst.Fields[0].Type)
		if err != nil {
			return nil, err
		}
		vc, err := nestedLoadConv(src.Fields[1].Type, dst.Fields[1].Type)
		if err != nil {
			return nil, err
		}
		return func(v types.Value) (types.Value, error) {
			if v == nil {
				return nil, nil
			}
			in := v.(types.Map)
			out := make(types.Map, len(in))
			for i, e := range in {
				k, err := kc(e.Key)
				if err != nil {
					return nil, err
				}
				x, err := vc(e.Value)
				if err != nil {
					return nil, err
				}
				out[i] = types.MapEntry{Key: k, Value: x}
			}
			return out, nil
		}, nil
	}
	// ROW: each file field goes to the table field of its name.
	to := make([]int, len(src.Fields))
	convs := make([]nestedConv, len(src.Fields))
	for j, sf := range src.Fields {
		to[j] = -1
		for i, df := range dst.Fields {
			if strings.EqualFold(sf.Name, df.Name) {
				to[j] = i
				break
			}
		}
		if to[j] < 0 {
			return nil, fmt.Errorf("%w: field %q of the file's %s is not a field of %s", types.ErrInvalid, sf.Name, src, dst)
		}
		c, err := nestedLoadConv(sf.Type, dst.Fields[to[j]].Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", sf.Name, err)
		}
		convs[j] = c
	}
	return func(v types.Value) (types.Value, error) {
		if v == nil {
			return nil, nil
		}
		in := v.(types.Struct)
		out := make(types.Struct, len(dst.Fields))
		for j, x := range in {
			var err error
			if out[to[j]], err = convs[j](x); err != nil {
				return nil, fmt.Errorf("field %q: %w", src.Fields[j].Name, err)
			}
		}
		return out, nil
	}, nil
}
