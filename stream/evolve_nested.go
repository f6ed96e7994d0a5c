package stream

import (
	"fmt"

	"github.com/siltdb/silt/types"
)

// Schema evolution of nested columns (add-columns). A Connect array, map
// or struct field the table lacks becomes an ARRAY, MAP or ROW column:
//
//	array  (items)         → ARRAY<items>
//	map    (keys, values)  → MAP<keys, values>   (keys must map to a scalar)
//	struct (fields)        → ROW<fields...>
//
// recursively, every nested field nullable (as added columns are: rows
// written before, and later records, may lack them), the catalog assigning
// the nested field ids. A struct field that gains a field the ROW column
// lacks (at any depth, also inside an array's elements or a map's values)
// becomes an ADD COLUMN of the dotted path (col.f, col.element.f,
// col.value.f), which the catalog adds to the ROW with a new field id.

// maxConnectDepth bounds the nesting of a Connect schema mapped to a
// column type (the depth SQL accepts for a type).
const maxConnectDepth = 32

// connectTypeNested is connectType for arrays, maps and structs; handled
// is false for other fields.
func connectTypeNested(fld connectSchema, depth int) (t types.DataType, handled bool, err error) {
	switch fld.Type {
	case "array", "map", "struct":
	default:
		return types.DataType{}, false, nil
	}
	if depth >= maxConnectDepth {
		return types.DataType{}, true, fmt.Errorf("%w: Connect schema nested more than %d levels deep", types.ErrInvalid, maxConnectDepth)
	}
	child := func(what string, c *connectSchema) (types.DataType, error) {
		if c == nil {
			return types.DataType{}, fmt.Errorf("%w: Connect %s without %s", types.ErrInvalid, fld.Type, what)
		}
		ct, err := connectTypeAt(*c, depth+1)
		if err != nil {
			return types.DataType{}, fmt.Errorf("%s %s: %w", fld.Type, what, err)
		}
		return ct, nil
	}
	switch fld.Type {
	case "array":
		et, err := child("items", fld.Items)
		if err != nil {
			return types.DataType{}, true, err
		}
		return types.TArray(et), true, nil
	case "map":
		kt, err := child("keys", fld.Keys)
		if err != nil {
			return types.DataType{}, true, err
		}
		if kt.IsNested() {
			return types.DataType{}, true, fmt.Errorf("%w: Connect map keys of type %s: a MAP key must be a scalar", types.ErrInvalid, kt)
		}
		vt, err := child("values", fld.Values)
		if err != nil {
			return types.DataType{}, true, err
		}
		return types.TMap(kt, vt), true, nil
	}
	if len(fld.Fields) == 0 {
		return types.DataType{}, true, fmt.Errorf("%w: Connect struct without fields has no ROW type", types.ErrInvalid)
	}
	fields := make([]types.Field, 0, len(fld.Fields))
	for i := range fld.Fields {
		f := &fld.Fields[i]
		if err := types.ValidateIdentifier("column", f.Field); err != nil {
			return types.DataType{}, true, fmt.Errorf("struct field %q cannot be a ROW field: %w", f.Field, err)
		}
		if nestedFieldIndex(fields, f.Field) >= 0 {
			return types.DataType{}, true, fmt.Errorf("%w: struct field %q appears twice (ROW field names are case-insensitive)", types.ErrInvalid, f.Field)
		}
		ft, err := connectTypeAt(*f, depth+1)
		if err != nil {
			return types.DataType{}, true, fmt.Errorf("struct field %q: %w", f.Field, err)
		}
		fields = append(fields, types.Field{Name: f.Field, Type: ft})
	}
	return types.TStruct(fields...), true, nil
}

// holdsNested is holds for ARRAY, MAP and ROW columns: the same kind, and
// children that hold the source's children. A source struct field the ROW
// lacks is not a mismatch (evolution adds it, see nestedAdds; without
// evolution it is ignored); a ROW field the source lacks reads NULL. A
// string (io.debezium.data.Json) is the value's JSON text form.
func holdsNested(col, src types.DataType) bool {
	if col.IsNested() && src.Kind == types.String {
		return true // the value's JSON text (io.debezium.data.Json)
	}
	if col.Kind != src.Kind {
		return false
	}
	switch col.Kind {
	case types.ArrayKind:
		return holds(col.Elem(), src.Elem())
	case types.MapKind:
		return holds(col.Key(), src.Key()) && holds(col.Value(), src.Value())
	}
	for _, sf := range src.Fields {
		if i := nestedFieldIndex(col.Fields, sf.Name); i >= 0 && !holds(col.Fields[i].Type, sf.Type) {
			return false
		}
	}
	return true
}

// nestedAdds lists the fields of src (the type a Connect field maps to)
// that the ROW types of col (a column's type, at path) lack, as columns
// to add by dotted path; descends where both have the same nested kind.
func nestedAdds(col, src types.DataType, path string, out []NewColumn) []NewColumn {
	if col.Kind != src.Kind {
		return out
	}
	switch col.Kind {
	case types.ArrayKind:
		return nestedAdds(col.Elem(), src.Elem(), path+"."+types.ElementFieldName, out)
	case types.MapKind:
		return nestedAdds(col.Value(), src.Value(), path+"."+types.ValueFieldName, out)
	case types.StructKind:
		for _, sf := range src.Fields {
			i := nestedFieldIndex(col.Fields, sf.Name)
			if i < 0 {
				out = append(out, NewColumn{Name: path + "." + sf.Name, Type: sf.Type})
				continue
			}
			out = nestedAdds(col.Fields[i].Type, sf.Type, path+"."+col.Fields[i].Name, out)
		}
	}
	return out
}
