package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/siltdb/silt/types"
)

// Nested fields take part in schema evolution by field id like columns:
// every field of an ARRAY, MAP or ROW column has an id unique in the
// table, assigned from the schema's HighestFieldID when the column is
// created; ADD COLUMN r.f adds a field to the ROW column r (at any depth:
// r.s.f; through an array's elements or a map's values with the path
// components element and value, as Spark and Paimon name them), and data
// files written before it read NULL for it.

// assignNestedIDs gives every nested field of f.Type a new id above the
// schema's HighestFieldID and raises it. f.Type is copied first: it may
// share its fields with the caller's schema.
func assignNestedIDs(s *types.Schema, f *types.Field) {
	f.Type = types.CloneType(f.Type)
	types.AssignNestedIDs(&f.Type, func() int {
		s.HighestFieldID++
		return s.HighestFieldID
	})
}

// nestedParent resolves the dotted path of a nested field ("r.s.f") to
// the ROW type that holds or is to hold its last component, inside a
// column of s (whose fields the caller must have cloned: the returned
// type is modified in place). It returns the ROW type, the column and the
// last path component.
func nestedParent(s *types.Schema, path string) (*types.DataType, *types.Field, string, error) {
	parts := strings.Split(path, ".")
	for _, p := range parts {
		if types.ValidateIdentifier("column", p) != nil {
			// Not a path of names (e.g. "../x"): report the name itself.
			return nil, nil, "", types.ValidateIdentifier("column", path)
		}
	}
	i := s.FieldIndex(parts[0])
	if i < 0 {
		return nil, nil, "", fmt.Errorf("%w: column %q does not exist (in nested field path %q)", types.ErrInvalid, parts[0], path)
	}
	col := &s.Fields[i]
	col.Type = types.CloneType(col.Type)
	t := &col.Type
	for _, p := range parts[1 : len(parts)-1] {
		next := -1
		switch t.Kind {
		case types.StructKind:
			next = nestedIndex(t.Fields, p)
		case types.ArrayKind:
			if strings.EqualFold(p, types.ElementFieldName) {
				next = 0
			}
		case types.MapKind:
			if strings.EqualFold(p, types.ValueFieldName) {
				next = 1
			}
		}
		if next < 0 {
			return nil, nil, "", fmt.Errorf("%w: nested field path %q: %s has no field %q (ROW fields by name, an ARRAY's element, a MAP's value)", types.ErrInvalid, path, t, p)
		}
		t = &t.Fields[next].Type
	}
	if t.Kind != types.StructKind {
		return nil, nil, "", fmt.Errorf("%w: nested field path %q: %s is not a ROW; only ROW types have named fields to add, drop or rename", types.ErrInvalid, path, t)
	}
	return t, col, parts[len(parts)-1], nil
}

func nestedIndex(fs []types.Field, name string) int {
	return slices.IndexFunc(fs, func(f types.Field) bool { return strings.EqualFold(f.Name, name) })
}

// addNestedField adds the field at the dotted path c.Column to its ROW.
func addNestedField(s *types.Schema, c SchemaChange) (bool, error) {
	row, col, name, err := nestedParent(s, c.Column)
	if err != nil {
		return false, err
	}
	if isKey(s, col.Name) {
		return false, fmt.Errorf("%w: column %q is a primary key column", types.ErrInvalid, col.Name)
	}
	if nestedIndex(row.Fields, name) >= 0 {
		if c.IfNotExists {
			return false, nil
		}
		return false, fmt.Errorf("%w: nested field %q already exists", types.ErrInvalid, c.Column)
	}
	if err := types.ValidateIdentifier("column", name); err != nil {
		return false, err
	}
	if err := c.Type.Validate(); err != nil {
		return false, fmt.Errorf("nested field %q: %w", c.Column, err)
	}
	if c.NotNull || c.Default != nil {
		return false, fmt.Errorf("%w: nested field %q: an added nested field is nullable and has no default (rows written before it read NULL)", types.ErrInvalid, c.Column)
	}
	s.HighestFieldID++
	f := types.Field{ID: s.HighestFieldID, Name: name, Type: c.Type, Comment: c.Comment}
	assignNestedIDs(s, &f)
	pos := len(row.Fields)
	switch {
	case c.Position.First:
		pos = 0
	case c.Position.After != "":
		i := nestedIndex(row.Fields, c.Position.After)
		if i < 0 {
			return false, fmt.Errorf("%w: nested field %q: AFTER field %q does not exist in %s", types.ErrInvalid, c.Column, c.Position.After, row)
		}
		pos = i + 1
	}
	row.Fields = slices.Insert(row.Fields, pos, f)
	return true, nil
}

// renameNestedField renames the ROW field at the dotted path c.Column.
func renameNestedField(s *types.Schema, c SchemaChange) (bool, error) {
	row, _, name, err := nestedParent(s, c.Column)
	if err != nil {
		return false, err
	}
	i := nestedIndex(row.Fields, name)
	if i < 0 {
		return false, fmt.Errorf("%w: nested field %q does not exist", types.ErrInvalid, c.Column)
	}
	newName := c.NewName
	if j := strings.LastIndexByte(newName, '.'); j >= 0 { // RENAME COLUMN r.a TO r.b
		newName = newName[j+1:]
	}
	if row.Fields[i].Name == newName {
		return false, nil
	}
	if j := nestedIndex(row.Fields, newName); j >= 0 && j != i {
		return false, fmt.Errorf("%w: cannot rename nested field %q to %q: the field exists", types.ErrInvalid, c.Column, newName)
	}
	if err := types.ValidateIdentifier("column", newName); err != nil {
		return false, err
	}
	row.Fields[i].Name = newName
	return true, nil
}

// dropNestedField drops the ROW field at the dotted path c.Column.
func dropNestedField(s *types.Schema, c SchemaChange) (bool, error) {
	row, col, name, err := nestedParent(s, c.Column)
	if err != nil {
		if c.IfExists {
			return false, nil
		}
		return false, err
	}
	i := nestedIndex(row.Fields, name)
	if i < 0 {
		if c.IfExists {
			return false, nil
		}
		return false, fmt.Errorf("%w: nested field %q does not exist", types.ErrInvalid, c.Column)
	}
	if len(row.Fields) == 1 {
		return false, fmt.Errorf("%w: cannot drop nested field %q: it is the last field of its ROW (drop column %q instead)", types.ErrInvalid, c.Column, col.Name)
	}
	row.Fields = slices.Delete(row.Fields, i, i+1)
	return true, nil
}
