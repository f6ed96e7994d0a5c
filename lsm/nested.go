package lsm

import (
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// Nested columns (ARRAY, MAP, ROW) are stored in the standard Parquet
// encodings other engines read as lists, maps and structs:
//
//	ARRAY<T>   <opt> group c (LIST) { repeated group list { <opt> T element } }
//	MAP<K,V>   <opt> group c (MAP)  { repeated group key_value { required K key; <opt> V value } }
//	ROW<a,...> <opt> group c { <opt> a; ... }   (fields in declared order)
//
// Every nested field (element, key, value, ROW field) carries its
// field id as the Parquet field_id; NOT NULL fields are required. A
// nested column is several leaf columns, each with repetition and
// definition levels (Dremel shredding); this file shreds values into
// them and assembles them back. It is the slow path: values go through
// types.Value and parquet.Value one at a time, while flat columns keep
// the typed writers and the in-place page decoder. Files without nested
// columns are written exactly as before.

// nestedParquetNode is parquetNode of an ARRAY, MAP or ROW type.
func nestedParquetNode(t types.DataType) (parquet.Node, error) {
	child := func(f types.Field) (parquet.Node, error) {
		n, err := parquetNode(f.Type)
		if err != nil {
			return nil, fmt.Errorf("nested field %q: %w", f.Name, err)
		}
		if f.NotNull {
			n = parquet.Required(n)
		} else {
			n = parquet.Optional(n)
		}
		return parquet.FieldID(n, f.ID), nil
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	switch t.Kind {
	case types.ArrayKind:
		e, err := child(t.Fields[0])
		if err != nil {
			return nil, err
		}
		return parquet.List(e), nil
	case types.MapKind:
		k, err := child(t.Fields[0])
		if err != nil {
			return nil, err
		}
		v, err := child(t.Fields[1])
		if err != nil {
			return nil, err
		}
		return parquet.Map(k, v), nil
	}
	fields := make(orderedGroup, len(t.Fields))
	for i, f := range t.Fields {
		n, err := child(f)
		if err != nil {
			return nil, err
		}
		fields[i] = namedField{Node: n, name: f.Name}
	}
	return fields, nil
}

// nnode is one node of a nested column's Parquet shape: its type, whether
// it is optional, its definition level when present (not NULL) and, for
// ARRAY and MAP, the repetition level of its entries. Leaves are the
// column's leaf columns lo..hi-1 (in leaf order within the column).
type nnode struct {
	t        types.DataType
	optional bool
	def      int // definition level of a present (non-NULL) value
	rep      int // ARRAY, MAP: repetition level of the second and later entries
	kids     []*nnode
	lo, hi   int
	// conv converts a leaf's stored value (read side only).
	conv func(parquet.Value) types.Value
}

// buildNNode lays out type t (the write side): optional says whether the
// node is optional; def and rep are the parent's levels; leaves counts
// the leaves laid out so far.
func buildNNode(t types.DataType, optional bool, def, rep int, leaves *int) *nnode {
	n := &nnode{t: t, optional: optional, def: def, lo: *leaves}
	if optional {
		n.def++
	}
	switch t.Kind {
	case types.ArrayKind, types.MapKind:
		n.rep = rep + 1
		for _, f := range t.Fields {
			n.kids = append(n.kids, buildNNode(f.Type, !f.NotNull, n.def+1, n.rep, leaves))
		}
	case types.StructKind:
		for _, f := range t.Fields {
			n.kids = append(n.kids, buildNNode(f.Type, !f.NotNull, n.def, rep, leaves))
		}
	default:
		*leaves++
	}
	n.hi = *leaves
	return n
}

// kidOf returns the child of n whose leaves include leaf l.
func (n *nnode) kidOf(l int) (int, *nnode) {
	for i, k := range n.kids {
		if l >= k.lo && l < k.hi {
			return i, k
		}
	}
	return -1, nil
}

// shred appends the values of leaf l (of the column whose file column
// index is col) for value v of n, which starts at repetition level rep
// and whose parent is defined to level def. v was checked against n.t.
func (n *nnode) shred(vals []parquet.Value, v types.Value, l, rep, def, col int) []parquet.Value {
	if v == nil {
		return append(vals, parquet.Value{}.Level(rep, def, col))
	}
	switch n.t.Kind {
	case types.StructKind:
		i, k := n.kidOf(l)
		return k.shred(vals, v.(types.Struct)[i], l, rep, n.def, col)
	case types.ArrayKind:
		list := v.(types.List)
		if len(list) == 0 {
			return append(vals, parquet.Value{}.Level(rep, n.def, col))
		}
		for i, e := range list {
			r := rep
			if i > 0 {
				r = n.rep
			}
			vals = n.kids[0].shred(vals, e, l, r, n.def+1, col)
		}
		return vals
	case types.MapKind:
		m := v.(types.Map)
		if len(m) == 0 {
			return append(vals, parquet.Value{}.Level(rep, n.def, col))
		}
		i, k := n.kidOf(l)
		for j, e := range m {
			r := rep
			if j > 0 {
				r = n.rep
			}
			x := e.Key
			if i == 1 {
				x = e.Value
			}
			vals = k.shred(vals, x, l, r, n.def+1, col)
		}
		return vals
	}
	return append(vals, recordValue(v, n.t).Level(rep, n.def, col))
}

// leafCursor walks the values of one leaf column of a row group.
type leafCursor struct {
	vals []parquet.Value
	pos  int
}

var errLevels = errors.New("repetition and definition levels do not describe a nested value")

func (c *leafCursor) peek() (parquet.Value, error) {
	if c.pos >= len(c.vals) {
		return parquet.Value{}, errLevels
	}
	return c.vals[c.pos], nil
}

// skip consumes one value of every leaf under n: the entry of a NULL or
// empty value.
func (n *nnode) skip(cs []leafCursor) error {
	for l := n.lo; l < n.hi; l++ {
		if cs[l].pos >= len(cs[l].vals) {
			return errLevels
		}
		cs[l].pos++
	}
	return nil
}

// assemble reads the next value of n from the leaf cursors (read side:
// n was built by storedNNode, types are as stored).
func (n *nnode) assemble(cs []leafCursor) (types.Value, error) {
	first, err := cs[n.lo].peek()
	if err != nil {
		return nil, err
	}
	if first.DefinitionLevel() < n.def {
		if !n.optional { // only an optional node can be undefined where its parent is defined
			return nil, errLevels
		}
		return nil, n.skip(cs)
	}
	switch n.t.Kind {
	case types.StructKind:
		st := make(types.Struct, len(n.kids))
		for i, k := range n.kids {
			if st[i], err = k.assemble(cs); err != nil {
				return nil, err
			}
		}
		return st, nil
	case types.ArrayKind, types.MapKind:
		if first.DefinitionLevel() == n.def { // present and empty
			if err := n.skip(cs); err != nil {
				return nil, err
			}
			if n.t.Kind == types.ArrayKind {
				return types.List{}, nil
			}
			return types.Map{}, nil
		}
		var list types.List
		var m types.Map
		for {
			if n.t.Kind == types.ArrayKind {
				e, err := n.kids[0].assemble(cs)
				if err != nil {
					return nil, err
				}
				list = append(list, e)
			} else {
				k, err := n.kids[0].assemble(cs)
				if err != nil {
					return nil, err
				}
				v, err := n.kids[1].assemble(cs)
				if err != nil {
					return nil, err
				}
				if k == nil {
					return nil, errLevels
				}
				m = append(m, types.MapEntry{Key: k, Value: v})
			}
			next := &cs[n.lo]
			if next.pos >= len(next.vals) || next.vals[next.pos].RepetitionLevel() < n.rep {
				break
			}
		}
		if n.t.Kind == types.ArrayKind {
			return list, nil
		}
		return m, nil
	}
	v, err := cs[n.lo].peek()
	if err != nil {
		return nil, err
	}
	cs[n.lo].pos++
	if v.IsNull() || v.DefinitionLevel() != n.def {
		return nil, errLevels
	}
	return n.conv(v), nil
}

// storedNNode lays out the nested file column c (a group) as stored: its
// silt type, with field ids, from the Parquet schema, and the levels
// parquet-go computed. leaves receives the file column index of each
// leaf, in order.
func storedNNode(c *parquet.Column, leaves *[]int) (*nnode, error) {
	n := &nnode{optional: c.Optional(), def: c.MaxDefinitionLevel(), lo: len(*leaves)}
	bad := func(what string) (*nnode, error) {
		return nil, fmt.Errorf("%w: column %s: %s", types.ErrCorruption, c.Name(), what)
	}
	if c.Repeated() {
		return bad("a repeated field outside a LIST or MAP")
	}
	if c.Leaf() {
		t, err := siltType(c.Type())
		if err != nil {
			return nil, err
		}
		n.t, n.conv = t, converter(t, t)
		*leaves = append(*leaves, c.Index())
		n.hi = len(*leaves)
		return n, nil
	}
	kid := func(k *parquet.Column) (*nnode, types.Field, error) {
		kn, err := storedNNode(k, leaves)
		if err != nil {
			return nil, types.Field{}, err
		}
		return kn, types.Field{ID: k.ID(), Name: k.Name(), Type: kn.t, NotNull: !k.Optional()}, nil
	}
	var lt format.LogicalTypeValue
	if l := c.Type().LogicalType(); l != nil {
		lt = l.Value
	}
	switch lt.(type) {
	case *format.ListType, *format.MapType:
		isList := false
		if _, ok := lt.(*format.ListType); ok {
			isList = true
		}
		kids := c.Columns()
		if len(kids) != 1 || !kids[0].Repeated() || kids[0].Leaf() {
			return bad("a LIST or MAP without one repeated group")
		}
		entries := kids[0]
		n.rep = entries.MaxRepetitionLevel()
		fields := entries.Columns()
		if isList && len(fields) != 1 || !isList && len(fields) != 2 {
			return bad("a LIST or MAP with the wrong number of fields")
		}
		var fs []types.Field
		for _, k := range fields {
			kn, f, err := kid(k)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, kn)
			fs = append(fs, f)
		}
		if isList {
			fs[0].Name = types.ElementFieldName
			n.t = types.DataType{Kind: types.ArrayKind, Fields: fs}
		} else {
			fs[0].Name, fs[1].Name = types.KeyFieldName, types.ValueFieldName
			n.t = types.DataType{Kind: types.MapKind, Fields: fs}
		}
	case nil:
		var fs []types.Field
		for _, k := range c.Columns() {
			kn, f, err := kid(k)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, kn)
			fs = append(fs, f)
		}
		n.t = types.DataType{Kind: types.StructKind, Fields: fs}
	default:
		return bad("an unsupported group type")
	}
	if err := n.t.Validate(); err != nil {
		return bad(err.Error())
	}
	n.hi = len(*leaves)
	return n, nil
}

// convertNested converts a value of the stored nested type from to the
// read type to (types.ReadableAs(from, to) holds): nested fields are
// matched by id; a ROW field the stored type lacks is NULL; scalars widen
// as the flat readers do.
func convertNested(v types.Value, from, to types.DataType) types.Value {
	if v == nil {
		return nil
	}
	switch to.Kind {
	case types.ArrayKind:
		l := v.(types.List)
		out := make(types.List, len(l))
		for i, e := range l {
			out[i] = convertNested(e, from.Fields[0].Type, to.Fields[0].Type)
		}
		return out
	case types.MapKind:
		m := v.(types.Map)
		out := make(types.Map, len(m))
		for i, e := range m {
			out[i] = types.MapEntry{Key: convertNested(e.Key, from.Fields[0].Type, to.Fields[0].Type),
				Value: convertNested(e.Value, from.Fields[1].Type, to.Fields[1].Type)}
		}
		return out
	case types.StructKind:
		st := v.(types.Struct)
		out := make(types.Struct, len(to.Fields))
		for i, tf := range to.Fields {
			for j, ff := range from.Fields {
				if ff.ID == tf.ID {
					out[i] = convertNested(st[j], ff.Type, tf.Type)
					break
				}
			}
		}
		return out
	}
	return widen(v, to)
}

// widen converts a scalar stored value to a wider read type.
func widen(v types.Value, to types.DataType) types.Value {
	switch x := v.(type) {
	case int32:
		if to.Kind == types.BigInt {
			return int64(x)
		}
	case float32:
		if to.Kind == types.Double {
			return float64(x)
		}
	}
	return v
}
