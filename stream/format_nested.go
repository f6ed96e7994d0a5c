package stream

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Nested values in the JSON formats. An ARRAY, MAP or ROW column takes:
//
//	ARRAY<T>   a JSON array (Connect type array), each element as a T
//	MAP<K,V>   a JSON object, its keys as text of K (Connect's encoding of
//	           a map with string keys); or a JSON array of [key, value]
//	           pairs (Connect's encoding of other key types) or of
//	           {"key": k, "value": v} objects
//	ROW<...>   a JSON object by field name, case-insensitive (Connect type
//	           struct); a missing field is NULL, an unknown one is ignored
//	           or rejected as unknown-fields says; or a JSON array of the
//	           fields by position
//	any        a JSON string holding the value's JSON text form (what
//	           io.debezium.data.Json carries; see types.ParseText)
//
// The scalars inside convert as in a top-level column of their type, with
// the logical types the envelope's items, keys, values and fields name.
// A value that does not fit (a wrong JSON kind, an element that does not
// convert, NULL in a NOT NULL field, a repeated map key) makes the record
// wrong-type; the reason names the field's path: col[2].f, col["k"].

// nestedHint is what a Connect schema says about the children of an
// array, map or struct field.
type nestedHint struct {
	items, keys, values fieldHint
	fields              map[string]fieldHint // by lower-case field name
}

func (h fieldHint) items() fieldHint {
	if h.sub == nil {
		return fieldHint{}
	}
	return h.sub.items
}

func (h fieldHint) field(name string) fieldHint {
	if h.sub == nil {
		return fieldHint{}
	}
	return h.sub.fields[strings.ToLower(name)]
}

// hintOf is what a Connect field schema says about its values: logical
// type, decimal scale and, for arrays, maps and structs, their children.
func hintOf(fld connectSchema) fieldHint {
	h := fieldHint{logical: fld.Name}
	if sc, ok := fld.Parameters["scale"]; ok {
		if n, err := strconv.Atoi(sc); err == nil {
			h.scale = n
		}
	}
	var sub nestedHint
	switch fld.Type {
	case "array":
		if fld.Items != nil {
			sub.items = hintOf(*fld.Items)
		}
	case "map":
		if fld.Keys != nil {
			sub.keys = hintOf(*fld.Keys)
		}
		if fld.Values != nil {
			sub.values = hintOf(*fld.Values)
		}
	case "struct":
		for _, f := range fld.Fields {
			if fh := hintOf(f); fh != (fieldHint{}) {
				if sub.fields == nil {
					sub.fields = map[string]fieldHint{}
				}
				sub.fields[strings.ToLower(f.Field)] = fh
			}
		}
	default:
		return h
	}
	if sub.items != (fieldHint{}) || sub.keys != (fieldHint{}) || sub.values != (fieldHint{}) || sub.fields != nil {
		h.sub = &sub
	}
	return h
}

// nestedFieldError is a nested value that does not fit, at a path below
// its column. The path is built while the error unwinds (each container
// puts its step in front), so decoding that succeeds builds no paths.
type nestedFieldError struct {
	path    string
	err     error
	unknown bool // a ROW field unknown-fields=reject refuses
}

func (e *nestedFieldError) Error() string { return "field " + e.path + ": " + e.err.Error() }
func (e *nestedFieldError) Unwrap() error { return e.err }

// here marks err as the error of the value depth levels below its column
// (a top-level error stays as it is: the column names it).
func here(depth int, err error) error {
	if err == nil || depth == 0 {
		return err
	}
	if _, ok := err.(*nestedFieldError); ok {
		return err
	}
	return &nestedFieldError{err: err}
}

// below puts the step to a child (".f", "[2]", "[\"k\"]") in front of the
// path of the child's error.
func below(step string, err error) error {
	if ne, ok := err.(*nestedFieldError); ok {
		ne.path = step + ne.path
	}
	return err
}

// columnValue converts the JSON value of column idx (its name starts the
// path of a nested field in errors).
func (c *rowCodec) columnValue(raw []byte, idx int, h fieldHint) (types.Value, error) {
	f := &c.schema.Fields[idx]
	if !f.Type.IsNested() {
		return c.value(raw, f.Type, h)
	}
	return c.nestedValue(raw, f.Type, h, f.Name)
}

// nestedValue converts a nested value of the column called name.
func (c *rowCodec) nestedValue(raw []byte, t types.DataType, h fieldHint, name string) (types.Value, error) {
	v, err := c.valueAt(raw, t, h, 0)
	ne, ok := err.(*nestedFieldError)
	if !ok {
		return v, err
	}
	ne.path = name + ne.path
	if ne.unknown {
		return nil, schemaRecordError(ne.path, RuleUnknownField, "%v (column path %s)", ne.err, ne.path)
	}
	return nil, ne
}

// valueAt is value for a value depth levels below its column. The
// recursion follows the type, so it is as deep as the type.
func (c *rowCodec) valueAt(raw []byte, t types.DataType, h fieldHint, depth int) (types.Value, error) {
	raw = bytes.TrimSpace(raw)
	if !t.IsNested() || len(raw) == 0 || (raw[0] != '[' && raw[0] != '{') {
		v, err := c.value(raw, t, h)
		return v, here(depth, err)
	}
	switch t.Kind {
	case types.ArrayKind:
		if raw[0] != '[' {
			return nil, here(depth, fmt.Errorf("%w: a JSON object cannot be a %s (want a JSON array)", types.ErrInvalid, t))
		}
		l := types.List{}
		ef := &t.Fields[0]
		err := eachElem(raw, func(i int, e []byte) error {
			v, err := c.valueAt(e, ef.Type, h.items(), depth+1)
			if err == nil && v == nil && ef.NotNull {
				err = here(depth+1, fmt.Errorf("%w: NULL element in %s, whose elements are NOT NULL", types.ErrInvalid, t))
			}
			if err != nil {
				return below("["+strconv.Itoa(i)+"]", err)
			}
			l = append(l, v)
			return nil
		})
		return l, err
	case types.MapKind:
		return c.mapValue(raw, t, h, depth)
	}
	return c.structValue(raw, t, h, depth)
}

// mapValue reads a MAP from a JSON object (keys as text) or an array of
// [key, value] pairs or {"key", "value"} objects.
func (c *rowCodec) mapValue(raw []byte, t types.DataType, h fieldHint, depth int) (types.Value, error) {
	var kh, vh fieldHint
	if h.sub != nil {
		kh, vh = h.sub.keys, h.sub.values
	}
	m := types.Map{}
	seen := types.MapKeySet{}
	add := func(k, v types.Value) error {
		if k == nil {
			return here(depth+1, fmt.Errorf("%w: a map key is NULL", types.ErrInvalid))
		}
		if v == nil && t.Fields[1].NotNull {
			return here(depth+1, fmt.Errorf("%w: NULL value in %s, whose values are NOT NULL", types.ErrInvalid, t))
		}
		if seen.Seen(k, t.Key()) {
			return here(depth+1, fmt.Errorf("%w: map key %s appears twice", types.ErrInvalid, types.FormatValue(k, t.Key())))
		}
		m = append(m, types.MapEntry{Key: k, Value: v})
		return nil
	}
	if raw[0] == '{' {
		err := eachMember(raw, func(name string, val []byte) error {
			k, err := c.fromString(name, t.Key(), kh)
			if err != nil {
				err = here(depth+1, fmt.Errorf("map key: %w", err))
			} else {
				var v types.Value
				if v, err = c.valueAt(val, t.Value(), vh, depth+1); err == nil {
					err = add(k, v)
				}
			}
			if err != nil {
				return below("["+strconv.Quote(name)+"]", err)
			}
			return nil
		})
		return m, err
	}
	err := eachElem(raw, func(i int, e []byte) error {
		if err := c.mapEntry(e, t, kh, vh, depth, add); err != nil {
			return below("["+strconv.Itoa(i)+"]", err)
		}
		return nil
	})
	return m, err
}

// mapEntry reads one entry of a map given as an array: a [key, value]
// pair or a {"key", "value"} object, and adds it.
func (c *rowCodec) mapEntry(e []byte, t types.DataType, kh, vh fieldHint, depth int, add func(k, v types.Value) error) error {
	var kraw, vraw []byte
	switch {
	case len(e) > 0 && e[0] == '[':
		n := 0
		if err := eachElem(e, func(j int, x []byte) error {
			n++
			switch j {
			case 0:
				kraw = x
			case 1:
				vraw = x
			}
			return nil
		}); err != nil {
			return err
		}
		if n != 2 {
			return here(depth+1, fmt.Errorf("%w: a map entry array has %d items, want [key, value]", types.ErrInvalid, n))
		}
	case len(e) > 0 && e[0] == '{':
		if err := eachMember(e, func(name string, x []byte) error {
			switch strings.ToLower(name) {
			case types.KeyFieldName:
				kraw = x
			case types.ValueFieldName:
				vraw = x
			default:
				return here(depth+1, fmt.Errorf("%w: a map entry object has member %q, want only \"key\" and \"value\"", types.ErrInvalid, name))
			}
			return nil
		}); err != nil {
			return err
		}
	default:
		return here(depth+1, fmt.Errorf("%w: a map entry must be a [key, value] array or a {\"key\", \"value\"} object", types.ErrInvalid))
	}
	k, err := c.valueAt(kraw, t.Key(), kh, depth+2)
	if err != nil {
		return below(".key", err)
	}
	v, err := c.valueAt(vraw, t.Value(), vh, depth+2)
	if err != nil {
		return below(".value", err)
	}
	return add(k, v)
}

// structValue reads a ROW from a JSON object by field name or a JSON
// array by position.
func (c *rowCodec) structValue(raw []byte, t types.DataType, h fieldHint, depth int) (types.Value, error) {
	st := make(types.Struct, len(t.Fields))
	if raw[0] == '[' {
		n := 0
		err := eachElem(raw, func(i int, e []byte) error {
			n++
			if i >= len(t.Fields) {
				return nil
			}
			f := &t.Fields[i]
			v, err := c.valueAt(e, f.Type, h.field(f.Name), depth+1)
			st[i] = v
			return below("."+f.Name, err)
		})
		if err != nil {
			return nil, err
		}
		if n != len(t.Fields) {
			return nil, here(depth, fmt.Errorf("%w: a JSON array of %d values for the %d fields of %s", types.ErrInvalid, n, len(t.Fields), t))
		}
	} else {
		err := eachMember(raw, func(name string, val []byte) error {
			i := nestedFieldIndex(t.Fields, name)
			if i < 0 {
				if c.opts.UnknownFields == "reject" {
					return &nestedFieldError{path: "." + name, unknown: true, err: fmt.Errorf("field %q is not a field of %s", name, t)}
				}
				return nil
			}
			f := &t.Fields[i]
			v, err := c.valueAt(val, f.Type, h.field(f.Name), depth+1)
			st[i] = v // a repeated name keeps its last value, as for columns
			return below("."+f.Name, err)
		})
		if err != nil {
			return nil, err
		}
	}
	for i := range t.Fields {
		if f := &t.Fields[i]; st[i] == nil && f.NotNull {
			return nil, below("."+f.Name, here(depth+1, fmt.Errorf("%w: NOT NULL field %q of %s is null or missing", types.ErrInvalid, f.Name, t)))
		}
	}
	return st, nil
}

func nestedFieldIndex(fs []types.Field, name string) int {
	for i := range fs {
		if strings.EqualFold(fs[i].Name, name) {
			return i
		}
	}
	return -1
}

// errBadNested is a JSON array or object the scanner rejects (never, for
// the validated records the formats pass).
var errBadNested = fmt.Errorf("%w: bad JSON array or object", types.ErrInvalid)

// eachElem calls fn with each element of the JSON array raw (already
// validated) in order.
func eachElem(raw []byte, fn func(i int, elem []byte) error) error {
	s := jsonScan{data: raw}
	if s.enter() != nil {
		return errBadNested
	}
	for i := 0; ; i++ {
		s.ws()
		if i == 0 && s.pos < len(s.data) && s.data[s.pos] == ']' {
			return nil
		}
		start := s.pos
		if s.value() != nil {
			return errBadNested
		}
		if err := fn(i, s.data[start:s.pos]); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) {
			return errBadNested
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			return nil
		default:
			return errBadNested
		}
	}
}

// eachMember calls fn with each member of the JSON object raw (already
// validated) in order, its key decoded.
func eachMember(raw []byte, fn func(name string, val []byte) error) error {
	s := jsonScan{data: raw}
	if s.open() != nil {
		return errBadNested
	}
	key, esc, val, ok, err := s.member(true)
	for ; ok && err == nil; key, esc, val, ok, err = s.next() {
		name := string(key)
		if esc {
			name = unquoteKey(key)
		}
		if ferr := fn(name, val); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		return errBadNested
	}
	return nil
}
