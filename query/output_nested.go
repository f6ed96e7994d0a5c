package query

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Output of nested values: the table format prints them as DuckDB does
// (types.FormatValue); CSV writes their JSON text form, which silt load
// and CAST read back (types.ParseText); JSON output nests them as arrays
// and objects, their scalars as jsonValue writes top-level values.

// csvText is the CSV field of a non-NULL value.
func csvText(v types.Value, t types.DataType) string {
	if t.IsNested() {
		return types.FormatJSON(v, t)
	}
	return types.FormatValue(v, t)
}

// nestedJSON renders a List, Map or Struct as JSON: arrays, objects keyed
// by the map keys' text, and objects keyed by field name.
func nestedJSON(v types.Value, t types.DataType) string {
	var b strings.Builder
	key := func(s string) {
		k, _ := json.Marshal(s)
		b.Write(k)
		b.WriteByte(':')
	}
	switch x := v.(type) {
	case types.List:
		var et types.DataType
		if t.Kind == types.ArrayKind {
			et = t.Elem()
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonValue(e, et))
		}
		b.WriteByte(']')
	case types.Map:
		var kt, vt types.DataType
		if t.Kind == types.MapKind {
			kt, vt = t.Key(), t.Value()
		}
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			key(types.FormatValue(e.Key, kt))
			b.WriteString(jsonValue(e.Value, vt))
		}
		b.WriteByte('}')
	case types.Struct:
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			var ft types.DataType
			name := "f" + strconv.Itoa(i+1)
			if t.Kind == types.StructKind && i < len(t.Fields) {
				ft, name = t.Fields[i].Type, t.Fields[i].Name
			}
			key(name)
			b.WriteString(jsonValue(e, ft))
		}
		b.WriteByte('}')
	}
	return b.String()
}
