package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// nestedEnvelope is a Debezium event with the schema envelope whose after
// struct has the key id and one field v of the Connect schema vSchema (a
// JSON object without "field"), and the value v.
func nestedEnvelope(vSchema, v string) string {
	return `{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","optional":true,"fields":[` +
		`{"field":"id","type":"int64"},` + strings.Replace(vSchema, "{", `{"field":"v","optional":true,`, 1) + `]}]},` +
		`"payload":{"op":"c","after":{"id":1,"v":` + v + `}}}`
}

// nestedSchema is a table (id BIGINT key, v col) with nested ids assigned.
func nestedSchema(col types.DataType) *types.Schema {
	s := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true}, {ID: 1, Name: "v", Type: types.CloneType(col)}},
		PrimaryKeys: []string{"id"}, HighestFieldID: 1}
	types.AssignNestedIDs(&s.Fields[1].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	return s
}

func mustType(t testing.TB, s string) types.DataType {
	t.Helper()
	typ, err := types.ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// decodeBoth decodes one record with the row decoder (Decode) and the
// batch decoder (decodeBatch with its fast path) and fails the test when
// they disagree; it returns Decode's changes and error.
func decodeBoth(t *testing.T, f Format, s *types.Schema, key, value []byte) ([]Change, error) {
	t.Helper()
	rows, err := f.Decode(nil, key, value)
	b, berr := newChangeBuilder(s)
	if berr != nil {
		t.Fatal(berr)
	}
	defer b.Release()
	n, bdErr := decodeBatch(f, b, key, value, true)
	if err != nil {
		if bdErr == nil || bdErr.Error() != err.Error() || b.Len() != 0 {
			t.Errorf("%s: the batch decoder gives %d rows, %v; the row decoder %v", value, n, bdErr, err)
		}
		return rows, err
	}
	if bdErr != nil || n != len(rows) {
		t.Errorf("%s: the batch decoder gives %d rows, %v; the row decoder %d", value, n, bdErr, len(rows))
		return rows, err
	}
	rec := b.NewRecord()
	defer rec.Release()
	got := types.RecordRows(rec)
	for i, c := range rows {
		if len(got[i]) != len(c.Row)+1 || fmt.Sprint(got[i][len(c.Row)]) != c.Kind.String() {
			t.Errorf("%s: batch row %d is %v, want kind %s", value, i, got[i], c.Kind)
			continue
		}
		for j := range c.Row {
			if !types.Equal(got[i][j], c.Row[j]) {
				t.Errorf("%s: batch row %d column %d is %v, the row decoder's %v", value, i, j, got[i][j], c.Row[j])
			}
		}
	}
	return rows, err
}

// TestDebeziumNestedTypes: Connect arrays, maps and structs decode into
// ARRAY, MAP and ROW columns (recursively, with the logical types of
// their items, keys, values and fields), through the row and the batch
// decoder alike; a value that does not fit is a wrong-type record error
// whose reason names the path of the field (worked out by hand below).
func TestDebeziumNestedTypes(t *testing.T) {
	for _, tc := range []struct {
		col, schema, val string
		want             types.Value // nil: rejected
		err              string
	}{
		{"ARRAY<INT>", `{"type":"array","items":{"type":"int32","optional":true}}`, `[1,2,null]`, types.List{int32(1), int32(2), nil}, ""},
		{"ARRAY<INT>", `{"type":"array","items":{"type":"int32"}}`, `[]`, types.List{}, ""},
		{"ARRAY<TIMESTAMP>", `{"type":"array","items":{"type":"int64","name":"io.debezium.time.MicroTimestamp"}}`, `[1000,-1]`, types.List{types.Timestamp(1000), types.Timestamp(-1)}, ""},
		{"MAP<STRING, BIGINT>", `{"type":"map","keys":{"type":"string"},"values":{"type":"int64"}}`, `{"a":1,"b":null}`,
			types.Map{{Key: "a", Value: int64(1)}, {Key: "b", Value: nil}}, ""},
		{"MAP<INT, STRING>", `{"type":"map","keys":{"type":"int32"},"values":{"type":"string"}}`, `[[2,"x"],[1,"y"]]`,
			types.Map{{Key: int32(2), Value: "x"}, {Key: int32(1), Value: "y"}}, ""},
		{"MAP<DATE, INT>", `{"type":"map","keys":{"type":"int32","name":"io.debezium.time.Date"},"values":{"type":"int32"}}`, `[{"key":1,"value":7}]`,
			types.Map{{Key: types.Date(1), Value: int32(7)}}, ""},
		{"ROW<a INT, b DECIMAL(10,2)>", `{"type":"struct","fields":[{"field":"a","type":"int32"},{"field":"b","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}]}`,
			`{"a":1,"b":"AQ=="}`, types.Struct{int32(1), types.Decimal(1)}, ""},
		{"ROW<a INT, b STRING>", `{"type":"struct","fields":[{"field":"a","type":"int32"}]}`, `{"A":3}`, types.Struct{int32(3), nil}, ""},
		{"ROW<a INT, b STRING>", `{"type":"struct","fields":[{"field":"a","type":"int32"}]}`, `[3,"x"]`, types.Struct{int32(3), "x"}, ""},
		{"ROW<name STRING, tags ARRAY<STRING>>", `{"type":"struct","fields":[{"field":"name","type":"string"},{"field":"tags","type":"array","items":{"type":"string"}}]}`,
			`{"name":"n","tags":["x","y"],"extra":1}`, types.Struct{"n", types.List{"x", "y"}}, ""},
		{"ARRAY<ROW<x INT, t TIME>>", `{"type":"array","items":{"type":"struct","fields":[{"field":"x","type":"int32"},{"field":"t","type":"int64","name":"io.debezium.time.MicroTime"}]}}`,
			`[{"x":1,"t":5},null]`, types.List{types.Struct{int32(1), types.TimeOfDay(5)}, nil}, ""},
		{"ARRAY<INT>", `{"type":"string","name":"io.debezium.data.Json"}`, `"[1, 2]"`, types.List{int32(1), int32(2)}, ""},
		{"MAP<STRING, ARRAY<INT>>", `{"type":"map","keys":{"type":"string"},"values":{"type":"array","items":{"type":"int32"}}}`, `{"k":[1]}`,
			types.Map{{Key: "k", Value: types.List{int32(1)}}}, ""},

		{"ARRAY<INT>", `{"type":"array","items":{"type":"int32"}}`, `[1,"x"]`, nil, `field v[1]: `},
		{"ARRAY<INT>", `{"type":"array","items":{"type":"int32"}}`, `[1,2147483648]`, nil, `field v[1]: `},
		{"ARRAY<INT>", `{"type":"array","items":{"type":"int32"}}`, `{"a":1}`, nil, `a JSON object cannot be a ARRAY<INT>`},
		{"ARRAY<INT>", `{"type":"array","items":{"type":"int32"}}`, `5`, nil, `a JSON number cannot be a ARRAY<INT>`},
		{"ARRAY<INT NOT NULL>", `{"type":"array","items":{"type":"int32"}}`, `[1,null]`, nil, `field v[1]: invalid: NULL element`},
		{"ROW<a INT, b INT>", `{"type":"struct","fields":[{"field":"a","type":"int32"},{"field":"b","type":"int32"}]}`, `{"a":1,"b":"zz"}`, nil, `field v.b: `},
		{"ROW<a INT, b INT>", `{"type":"struct","fields":[{"field":"a","type":"int32"}]}`, `[1]`, nil, `a JSON array of 1 values for the 2 fields`},
		{"ROW<a INT NOT NULL>", `{"type":"struct","fields":[{"field":"a","type":"int32"}]}`, `{}`, nil, `field v.a: invalid: NOT NULL field "a"`},
		{"MAP<STRING, INT>", `{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}}`, `{"a":1,"a":2}`, nil, `field v["a"]: invalid: map key a appears twice`},
		{"MAP<INT, INT>", `{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}}`, `{"x":1}`, nil, `field v["x"]: map key: `},
		{"MAP<INT, INT>", `{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}}`, `[[1]]`, nil, `field v[0]: invalid: a map entry array has 1 items`},
		{"MAP<INT, INT>", `{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}}`, `[[null,1]]`, nil, `field v[0]: invalid: a map key is NULL`},
		{"ARRAY<ROW<x ARRAY<DATE>>>", `{"type":"array","items":{"type":"struct","fields":[{"field":"x","type":"array","items":{"type":"int32","name":"io.debezium.time.Date"}}]}}`,
			`[{"x":[1]},{"x":[2,"2024-02-30"]}]`, nil, `field v[1].x[1]: `},
	} {
		s := nestedSchema(mustType(t, tc.col))
		value := []byte(nestedEnvelope(tc.schema, tc.val))
		f := mustFormat(t, "debezium-json", s, FormatOptions{})
		what := fmt.Sprintf("%s into %s", tc.val, tc.col)
		rows, err := decodeBoth(t, f, s, nil, value)
		if tc.want == nil {
			var re *RecordError
			if !errors.As(err, &re) || re.Reason != ReasonWrongType || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), `column "v"`) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: got %v, want a one-line %s record error naming column v and %q", what, err, ReasonWrongType, tc.err)
			}
			continue
		}
		if err != nil || len(rows) != 1 || !types.Equal(rows[0].Row[1], tc.want) {
			t.Errorf("%s: got %s %v, want %v", what, fmtChanges(rows), err, tc.want)
		}
	}
}

// TestSchemalessNestedJSON: the json, upsert-json and schemaless
// debezium-json formats take JSON arrays and objects into existing
// nested columns; unknown ROW fields follow unknown-fields.
func TestSchemalessNestedJSON(t *testing.T) {
	s := nestedSchema(mustType(t, "ROW<a INT, tags ARRAY<STRING>, m MAP<STRING, DOUBLE>>"))
	want := types.Struct{int32(1), types.List{"x", nil}, types.Map{{Key: "k", Value: 1.5}}}
	for _, tc := range []struct{ format, key, value string }{
		{"json", "", `{"id":1,"v":{"a":1,"tags":["x",null],"m":{"k":1.5},"zzz":[1]}}`},
		{"upsert-json", "1", `{"v":{"A":1,"TAGS":["x",null],"m":{"k":1.5}}}`},
		{"debezium-json", "", `{"op":"c","after":{"id":1,"v":{"a":1,"tags":["x",null],"m":[["k",1.5]]}}}`},
		{"debezium-json", "", `{"op":"c","after":{"id":1,"v":"{\"a\":1,\"tags\":[\"x\",null],\"m\":{\"k\":1.5}}"}}`},
	} {
		f := mustFormat(t, tc.format, s, FormatOptions{})
		var key []byte
		if tc.key != "" {
			key = []byte(tc.key)
		}
		rows, err := decodeBoth(t, f, s, key, []byte(tc.value))
		if err != nil || len(rows) != 1 || !types.Equal(rows[0].Row[1], want) {
			t.Errorf("%s %s: got %s %v, want %v", tc.format, tc.value, fmtChanges(rows), err, want)
		}
	}
	f := mustFormat(t, "json", s, FormatOptions{UnknownFields: "reject"})
	_, err := decodeBoth(t, f, s, nil, []byte(`{"id":1,"v":{"a":1,"zzz":2}}`))
	var re *RecordError
	if !errors.As(err, &re) || re.Reason != ReasonSchema || re.Rule != RuleUnknownField || re.Column != "v.zzz" {
		t.Errorf("unknown ROW field with unknown-fields=reject: %v (%+v), want schema-incompatible %s v.zzz", err, re, RuleUnknownField)
	}
}

// FuzzNestedValue: any JSON value decodes into an ARRAY, MAP or ROW
// column, with any Connect schema for its children's hints, to a value
// the table accepts, or fails with ErrInvalid (or, for an unknown ROW
// field with unknown-fields reject, a schema-incompatible record error);
// never a panic. An accepted value's JSON text form reads back to it.
func FuzzNestedValue(f *testing.F) {
	for _, v := range []string{`[1,null,2]`, `{"a":{"x":1,"t":[1]}}`, `[[1,"x"],[2,null]]`, `{"a":"1.5","b":[1],"c":{"1":"x"}}`,
		`[{"key":1,"value":"v"}]`, `"[1,2]"`, `{"a":1,"a":2}`, `[{"x":1e400}]`, `[1.5]`, `{"b":["2024-01-01T00:00:00Z"]}`} {
		f.Add([]byte(v), []byte(`{"type":"array","items":{"type":"int64","name":"io.debezium.time.MicroTimestamp"}}`), false)
		f.Add([]byte(v), []byte(`{"type":"struct","fields":[{"field":"a","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}]}`), true)
	}
	cols := []types.DataType{
		types.TArray(types.TInt),
		types.TArray(types.TTimestamp),
		types.TMap(types.TString, types.TStruct(types.Field{Name: "x", Type: types.TBigInt}, types.Field{Name: "t", Type: types.TArray(types.TDate), NotNull: true})),
		types.TMap(types.TInt, types.TString),
		types.TStruct(types.Field{Name: "a", Type: types.TDecimal(10, 2)}, types.Field{Name: "b", Type: types.TArray(types.TTimestampLTZ)},
			types.Field{Name: "c", Type: types.TMap(types.TInt, types.TString)}),
	}
	f.Fuzz(func(t *testing.T, raw, schema []byte, reject bool) {
		if len(raw)+len(schema) > maxFuzzInput || !json.Valid(raw) {
			return
		}
		var cs connectSchema
		var h fieldHint
		if json.Unmarshal(schema, &cs) == nil {
			h = hintOf(cs)
		}
		opts := FormatOptions{}
		if reject {
			opts.UnknownFields = "reject"
		}
		for _, typ := range cols {
			s := nestedSchema(typ)
			c := newRowCodec(s, mustNormalize(t, opts))
			v, err := c.columnValue(raw, 1, h)
			if err != nil {
				if !errors.Is(err, types.ErrInvalid) && ReasonOf(err) != ReasonSchema {
					t.Fatalf("%s %q: error without ErrInvalid: %v", typ, raw, err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("%s %q: error of more than one line: %q", typ, raw, err)
				}
				continue
			}
			if v == nil {
				continue
			}
			ct := s.Fields[1].Type
			if err := types.CheckValue(v, ct); err != nil {
				t.Fatalf("%s %q: decoded %v the table refuses: %v", typ, raw, v, err)
			}
			text := types.FormatJSON(v, ct)
			back, err := types.ParseText(text, ct)
			if err != nil || !types.Equal(back, v) {
				t.Fatalf("%s %q: %v prints as %s, which reads back as %v, %v", typ, raw, v, text, back, err)
			}
		}
	})
}

func mustNormalize(t *testing.T, o FormatOptions) FormatOptions {
	o, err := o.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	return o
}
