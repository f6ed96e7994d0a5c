package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The text form of nested values is JSON, so that CSV cells and JSON
// documents carry them the same way:
//
//	ARRAY<T>   [1, 2, null]
//	MAP<K,V>   {"k": 1, "l": null}  (keys in their text form; or a list of
//	           {"key": k, "value": v} objects, which also suits non-string keys)
//	ROW<...>   {"a": 1, "b": "x"}   (by field name, case-insensitive; a
//	           missing field is NULL) or [1, "x"] (by position)
//
// Scalars inside are JSON numbers, booleans and strings; a string is read
// with ParseText for the element type, so dates, timestamps, UUIDs, BYTES
// (0x-hex) and even numbers may be quoted. FormatJSON writes this form.

// maxTextNesting bounds the depth of JSON read for a nested value beyond
// the type's own depth (json.Decoder bounds the rest).
const maxTextNesting = 64

// parseNestedText parses the JSON text form of a nested value of type t.
func parseNestedText(s string, t DataType) (Value, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := jsonValue(dec, t, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: bad %s literal %q: %v", ErrInvalid, t, clip(s), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: bad %s literal %q: text after the value", ErrInvalid, t, clip(s))
	}
	if v == nil {
		return nil, fmt.Errorf("%w: bad %s literal %q: null is not a value here (leave the cell empty for NULL)", ErrInvalid, t, clip(s))
	}
	return v, nil
}

// clip shortens text quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// jsonValue reads one JSON value of type t from dec; JSON null is nil.
func jsonValue(dec *json.Decoder, t DataType, depth int) (Value, error) {
	if depth > maxTextNesting {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	if tok == nil {
		return nil, nil
	}
	switch t.Kind {
	case ArrayKind:
		if tok != json.Delim('[') {
			return nil, fmt.Errorf("want a JSON array for %s", t)
		}
		l := List{}
		for dec.More() {
			e, err := jsonValue(dec, t.Elem(), depth+1)
			if err != nil {
				return nil, err
			}
			if e == nil && t.Fields[0].NotNull {
				return nil, errors.New("null element in an array of NOT NULL elements")
			}
			l = append(l, e)
		}
		return l, closeDelim(dec)
	case MapKind:
		switch tok {
		case json.Delim('{'):
			m := Map{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonErr(err)
				}
				ks, _ := kt.(string)
				k, err := ParseText(ks, t.Key())
				if err != nil {
					return nil, fmt.Errorf("map key: %w", err)
				}
				v, err := jsonValue(dec, t.Value(), depth+1)
				if err != nil {
					return nil, err
				}
				if m, err = addEntry(m, k, v, &t.Fields[1]); err != nil {
					return nil, err
				}
			}
			return m, closeDelim(dec)
		case json.Delim('['):
			m := Map{}
			kv := TStruct(Field{Name: KeyFieldName, Type: t.Key(), NotNull: true}, Field{Name: ValueFieldName, Type: t.Value()})
			for dec.More() {
				e, err := jsonValue(dec, kv, depth+1)
				if err != nil {
					return nil, err
				}
				st, _ := e.(Struct)
				if st == nil || st[0] == nil {
					return nil, errors.New("map entry without a key")
				}
				if m, err = addEntry(m, st[0], st[1], &t.Fields[1]); err != nil {
					return nil, err
				}
			}
			return m, closeDelim(dec)
		}
		return nil, fmt.Errorf("want a JSON object for %s", t)
	case StructKind:
		switch tok {
		case json.Delim('{'):
			st := make(Struct, len(t.Fields))
			seen := make([]bool, len(t.Fields))
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonErr(err)
				}
				name, _ := kt.(string)
				i := fieldIndex(t.Fields, name)
				if i < 0 {
					return nil, fmt.Errorf("%s has no field %q", t, name)
				}
				if seen[i] {
					return nil, fmt.Errorf("field %q given twice", name)
				}
				seen[i] = true
				if st[i], err = jsonValue(dec, t.Fields[i].Type, depth+1); err != nil {
					return nil, err
				}
			}
			return st, checkStructNulls(st, t, closeDelim(dec))
		case json.Delim('['):
			st := make(Struct, 0, len(t.Fields))
			for dec.More() {
				if len(st) == len(t.Fields) {
					return nil, fmt.Errorf("more than the %d fields of %s", len(t.Fields), t)
				}
				e, err := jsonValue(dec, t.Fields[len(st)].Type, depth+1)
				if err != nil {
					return nil, err
				}
				st = append(st, e)
			}
			if len(st) != len(t.Fields) {
				return nil, fmt.Errorf("%d values for the %d fields of %s", len(st), len(t.Fields), t)
			}
			return st, checkStructNulls(st, t, closeDelim(dec))
		}
		return nil, fmt.Errorf("want a JSON object for %s", t)
	}
	return jsonScalar(tok, t)
}

func addEntry(m Map, k, v Value, vf *Field) (Map, error) {
	for _, e := range m {
		if Compare(e.Key, k) == 0 {
			return nil, fmt.Errorf("duplicate map key %s", FormatValue(k, DataType{}))
		}
	}
	if v == nil && vf.NotNull {
		return nil, errors.New("null map value for NOT NULL values")
	}
	return append(m, MapEntry{Key: k, Value: v}), nil
}

func checkStructNulls(st Struct, t DataType, err error) error {
	if err != nil {
		return err
	}
	for i, f := range t.Fields {
		if st[i] == nil && f.NotNull {
			return fmt.Errorf("NOT NULL field %q is null or missing", f.Name)
		}
	}
	return nil
}

func fieldIndex(fs []Field, name string) int {
	for i := range fs {
		if strings.EqualFold(fs[i].Name, name) {
			return i
		}
	}
	return -1
}

// closeDelim reads the ']' or '}' that ends the array or object dec.More
// reported finished.
func closeDelim(dec *json.Decoder) error {
	if _, err := dec.Token(); err != nil {
		return jsonErr(err)
	}
	return nil
}

func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("unexpected end of text")
	}
	return err
}

// jsonScalar converts a JSON scalar token to a value of scalar type t.
func jsonScalar(tok json.Token, t DataType) (Value, error) {
	switch x := tok.(type) {
	case string:
		return ParseText(x, t)
	case json.Number:
		switch t.Kind {
		case Int, BigInt, Float, Double, DecimalKind:
			return ParseText(string(x), t)
		}
	case bool:
		if t.Kind == Boolean {
			return x, nil
		}
	case json.Delim:
		return nil, fmt.Errorf("unexpected %q for %s", x.String(), t)
	}
	return nil, fmt.Errorf("cannot read %v as %s", tok, t)
}

// FormatJSON renders v (a value of type t, or nil) in the JSON text form
// that ParseText reads back for nested types. Scalars are JSON numbers,
// booleans or strings (FormatValue's text, quoted); NaN and infinities
// are the strings "NaN", "+Inf" and "-Inf".
func FormatJSON(v Value, t DataType) string {
	var b bytes.Buffer
	appendJSON(&b, v, t)
	return b.String()
}

func appendJSON(b *bytes.Buffer, v Value, t DataType) {
	if v == nil {
		b.WriteString("null")
		return
	}
	switch x := v.(type) {
	case List:
		var et DataType
		if t.Kind == ArrayKind {
			et = t.Elem()
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			appendJSON(b, e, et)
		}
		b.WriteByte(']')
	case Map:
		var kt, vt DataType
		if t.Kind == MapKind {
			kt, vt = t.Key(), t.Value()
		}
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			appendJSONString(b, FormatValue(e.Key, kt))
			b.WriteByte(':')
			appendJSON(b, e.Value, vt)
		}
		b.WriteByte('}')
	case Struct:
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			var ft DataType
			name := "f" + strconv.Itoa(i+1)
			if t.Kind == StructKind && i < len(t.Fields) {
				ft, name = t.Fields[i].Type, t.Fields[i].Name
			}
			appendJSONString(b, name)
			b.WriteByte(':')
			appendJSON(b, e, ft)
		}
		b.WriteByte('}')
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int32, int64, Decimal, Decimal128:
		b.WriteString(FormatValue(v, t))
	case float32:
		appendJSONFloat(b, float64(x), 32)
	case float64:
		appendJSONFloat(b, x, 64)
	default:
		appendJSONString(b, FormatValue(v, t))
	}
}

func appendJSONFloat(b *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		b.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		b.WriteString(`"+Inf"`)
	case math.IsInf(f, -1):
		b.WriteString(`"-Inf"`)
	default:
		b.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	}
}

func appendJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}

// coerceNested converts a loosely typed nested value to t: a List, []any
// (JSON arrays) for ARRAY; a Map, or map[string]any (JSON objects, in key
// order) for MAP; a Struct, []any (by position) or map[string]any (by
// field name) for ROW; the children with Coerce.
func coerceNested(v Value, t DataType) (Value, error) {
	child := func(x Value, f *Field) (Value, error) {
		c, err := Coerce(x, f.Type)
		if err != nil {
			return nil, fmt.Errorf("nested field %q: %w", f.Name, err)
		}
		if c == nil && f.NotNull {
			return nil, fmt.Errorf("%w: NULL in NOT NULL nested field %q", ErrInvalid, f.Name)
		}
		return c, nil
	}
	var elems []Value
	switch x := v.(type) {
	case List:
		elems = x
	case Struct:
		elems = x
	case []any:
		elems = x
	}
	switch t.Kind {
	case ArrayKind:
		if elems == nil {
			break
		}
		out := make(List, len(elems))
		for i, e := range elems {
			var err error
			if out[i], err = child(e, &t.Fields[0]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case MapKind:
		var in Map
		switch x := v.(type) {
		case Map:
			in = x
		case map[string]any:
			for _, k := range sortedKeys(x) {
				in = append(in, MapEntry{Key: k, Value: x[k]})
			}
		default:
			return nil, fmt.Errorf("%w: cannot use %s as %s", ErrInvalid, describe(v), t)
		}
		out := make(Map, 0, len(in))
		for _, e := range in {
			k, err := child(e.Key, &t.Fields[0])
			if err != nil {
				return nil, err
			}
			val, err := child(e.Value, &t.Fields[1])
			if err != nil {
				return nil, err
			}
			if out, err = addEntry(out, k, val, &Field{}); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
		return out, nil
	case StructKind:
		if obj, ok := v.(map[string]any); ok {
			elems = make([]Value, len(t.Fields))
			for name, x := range obj {
				i := fieldIndex(t.Fields, name)
				if i < 0 {
					return nil, fmt.Errorf("%w: %s has no field %q", ErrInvalid, t, name)
				}
				elems[i] = x
			}
		}
		if elems == nil {
			break
		}
		if len(elems) != len(t.Fields) {
			return nil, fmt.Errorf("%w: %d values for the %d fields of %s", ErrInvalid, len(elems), len(t.Fields), t)
		}
		out := make(Struct, len(elems))
		for i, e := range elems {
			var err error
			if out[i], err = child(e, &t.Fields[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: cannot use %s as %s", ErrInvalid, describe(v), t)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
