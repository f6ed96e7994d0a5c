package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Nested values in JSONL input (silt load, COPY … FROM): the inverse of
// the json output's nestedJSON, element by element with the rules of
// top-level values (loadJSONValue). The recursion follows the column's
// type, so it is as deep as the type; a value nested deeper than its type
// meets a scalar and fails.

// errNotNested says a token is not a JSON array or object.
var errNotNested = errors.New("not an array or object")

// loadJSONField reads the next JSON value of dec as a value of f (a column
// or a nested field at path, depth levels below its column).
func loadJSONField(dec *json.Decoder, f *types.Field, path string, depth int) (types.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", types.ErrInvalid, err)
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim || !f.Type.IsNested() {
		v, err := loadJSONValue(tok, *f)
		return v, atPath(path, depth, err)
	}
	var v types.Value
	switch f.Type.Kind {
	case types.ArrayKind:
		v, err = loadJSONArray(dec, d, f.Type, path, depth)
	case types.MapKind:
		v, err = loadJSONMap(dec, d, f.Type, path, depth)
	default:
		v, err = loadJSONRow(dec, d, f.Type, path, depth)
	}
	if errors.Is(err, errNotNested) {
		return nil, atPath(path, depth, fmt.Errorf("%w: a JSON %s cannot be a %s", types.ErrInvalid, delimKind(d), f.Type))
	}
	return v, err
}

func delimKind(d json.Delim) string {
	if d == '[' {
		return "array"
	}
	return "object"
}

// atPath names the nested field a value error is about (once: the
// innermost path wins).
func atPath(path string, depth int, err error) error {
	if err == nil || depth == 0 || strings.HasPrefix(err.Error(), "field ") {
		return err
	}
	return fmt.Errorf("field %s: %w", path, err)
}

func loadJSONArray(dec *json.Decoder, d json.Delim, t types.DataType, path string, depth int) (types.Value, error) {
	if d != '[' {
		return nil, errNotNested
	}
	l := types.List{}
	for i := 0; dec.More(); i++ {
		p := path + "[" + strconv.Itoa(i) + "]"
		e, err := loadJSONField(dec, &t.Fields[0], p, depth+1)
		if err != nil {
			return nil, err
		}
		if e == nil && t.Fields[0].NotNull {
			return nil, atPath(p, depth+1, fmt.Errorf("%w: NULL element in %s, whose elements are NOT NULL", types.ErrInvalid, t))
		}
		l = append(l, e)
	}
	return l, closeJSON(dec)
}

func loadJSONMap(dec *json.Decoder, d json.Delim, t types.DataType, path string, depth int) (types.Value, error) {
	m := types.Map{}
	seen := types.MapKeySet{}
	add := func(k, v types.Value, p string) error {
		if seen.Seen(k, t.Key()) {
			return atPath(p, depth+1, fmt.Errorf("%w: map key %s appears twice", types.ErrInvalid, types.FormatValue(k, t.Key())))
		}
		if v == nil && t.Fields[1].NotNull {
			return atPath(p, depth+1, fmt.Errorf("%w: NULL value in %s, whose values are NOT NULL", types.ErrInvalid, t))
		}
		m = append(m, types.MapEntry{Key: k, Value: v})
		return nil
	}
	if d == '{' {
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%w: not a JSON object: %v", types.ErrInvalid, err)
			}
			ks, _ := kt.(string)
			p := path + "[" + strconv.Quote(ks) + "]"
			k, err := mapKeyText(ks, t.Key())
			if err != nil {
				return nil, atPath(p, depth+1, fmt.Errorf("map key: %w", err))
			}
			v, err := loadJSONField(dec, &t.Fields[1], p, depth+1)
			if err != nil {
				return nil, err
			}
			if err := add(k, v, p); err != nil {
				return nil, err
			}
		}
		return m, closeJSON(dec)
	}
	// An array of {"key": k, "value": v} entries.
	entry := types.TStruct(types.Field{Name: types.KeyFieldName, Type: t.Key(), NotNull: true}, types.Field{Name: types.ValueFieldName, Type: t.Value()})
	entry.Fields[1].NotNull = t.Fields[1].NotNull
	for i := 0; dec.More(); i++ {
		p := path + "[" + strconv.Itoa(i) + "]"
		e, err := loadJSONField(dec, &types.Field{Name: "entry", Type: entry}, p, depth+1)
		if err != nil {
			return nil, err
		}
		st, _ := e.(types.Struct)
		if st == nil {
			return nil, atPath(p, depth+1, fmt.Errorf("%w: a map entry is null", types.ErrInvalid))
		}
		if err := add(st[0], st[1], p); err != nil {
			return nil, err
		}
	}
	return m, closeJSON(dec)
}

// mapKeyText reads a map key from its text (as the json output writes
// it: types.FormatValue).
func mapKeyText(s string, t types.DataType) (types.Value, error) {
	if t.Kind == types.String {
		return s, nil
	}
	return types.ParseText(s, t)
}

func loadJSONRow(dec *json.Decoder, d json.Delim, t types.DataType, path string, depth int) (types.Value, error) {
	st := make(types.Struct, len(t.Fields))
	if d == '[' {
		n := 0
		for ; dec.More(); n++ {
			if n == len(t.Fields) {
				return nil, atPath(path, depth, fmt.Errorf("%w: more than the %d fields of %s", types.ErrInvalid, len(t.Fields), t))
			}
			f := &t.Fields[n]
			v, err := loadJSONField(dec, f, path+"."+f.Name, depth+1)
			if err != nil {
				return nil, err
			}
			st[n] = v
		}
		if n != len(t.Fields) {
			return nil, atPath(path, depth, fmt.Errorf("%w: %d values for the %d fields of %s", types.ErrInvalid, n, len(t.Fields), t))
		}
	} else {
		seen := make([]bool, len(t.Fields))
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%w: not a JSON object: %v", types.ErrInvalid, err)
			}
			name, _ := kt.(string)
			i := -1
			for j := range t.Fields {
				if strings.EqualFold(t.Fields[j].Name, name) {
					i = j
					break
				}
			}
			if i < 0 {
				return nil, atPath(path+"."+name, depth+1, fmt.Errorf("%w: %s has no field %q", types.ErrInvalid, t, name))
			}
			if seen[i] {
				return nil, atPath(path+"."+name, depth+1, fmt.Errorf("%w: field %q given twice", types.ErrInvalid, name))
			}
			seen[i] = true
			f := &t.Fields[i]
			if st[i], err = loadJSONField(dec, f, path+"."+f.Name, depth+1); err != nil {
				return nil, err
			}
		}
		if err := closeJSON(dec); err != nil {
			return nil, err
		}
	}
	for i := range t.Fields {
		if f := &t.Fields[i]; st[i] == nil && f.NotNull {
			return nil, atPath(path+"."+f.Name, depth+1, fmt.Errorf("%w: NOT NULL field %q of %s is null or missing", types.ErrInvalid, f.Name, t))
		}
	}
	return st, nil
}

// closeJSON reads the ']' or '}' that dec.More reported.
func closeJSON(dec *json.Decoder) error {
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: not a JSON object: %v", types.ErrInvalid, err)
	}
	return nil
}
