package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// fuzzSchema covers every column type.
func fuzzSchema() *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString, NotNull: true},
			{ID: 2, Name: "i", Type: types.TInt},
			{ID: 3, Name: "f", Type: types.TFloat},
			{ID: 4, Name: "d", Type: types.TDouble},
			{ID: 5, Name: "amount", Type: types.TDecimal(10, 2)},
			{ID: 6, Name: "b", Type: types.TBytes},
			{ID: 7, Name: "day", Type: types.TDate},
			{ID: 8, Name: "ts", Type: types.TTimestamp},
			{ID: 9, Name: "ok", Type: types.TBoolean},
			{ID: 10, Name: "tm", Type: types.TTime},
			{ID: 11, Name: "tz", Type: types.TTimestampLTZ},
			{ID: 12, Name: "u", Type: types.TUUID},
			{ID: 13, Name: "arr", Type: types.TArray(types.TInt)},
			{ID: 14, Name: "m", Type: types.TMap(types.TString, types.TStruct(
				types.Field{Name: "x", Type: types.TBigInt}, types.Field{Name: "t", Type: types.TArray(types.TDate), NotNull: true}))},
			{ID: 15, Name: "r", Type: types.TStruct(types.Field{Name: "a", Type: types.TDecimal(10, 2)},
				types.Field{Name: "b", Type: types.TArray(types.TTimestamp)}, types.Field{Name: "c", Type: types.TMap(types.TInt, types.TString)})},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 15,
	}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	return s
}

// nestedFuzzSeeds are records with values of fuzzSchema's nested columns
// arr, m and r, fitting and not, with and without the schema envelope.
var nestedFuzzSeeds = []string{
	`{"id":1,"name":"a","arr":[1,null,3],"m":{"k":{"x":1,"t":[1,2]}},"r":{"a":"1.25","b":[1000],"c":[[1,"x"]]}}`,
	`{"id":1,"name":"a","arr":[1,"x"],"m":{"k":{"t":[null]}},"r":[1,null,{"1":"y"}]}`,
	`{"id":1,"name":"a","arr":"[1, 2]","m":[{"key":"k","value":{"t":[]}}],"r":{"A":1,"zz":2,"c":{"7":"s"}}}`,
	`{"id":1,"name":"a","m":{"k":{"t":[]},"k":{"t":[1]}},"r":{"c":[[1,"a"],[1,"b"]]}}`,
	`{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","fields":[{"field":"r","type":"struct","fields":[` +
		`{"field":"a","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},` +
		`{"field":"b","type":"array","items":{"type":"int64","name":"io.debezium.time.MicroTimestamp"}},` +
		`{"field":"c","type":"map","keys":{"type":"int32"},"values":{"type":"string"}}]}]}]},` +
		`"payload":{"op":"c","after":{"id":1,"name":"a","r":{"a":"AQ==","b":[1,-1],"c":[[2,"z"]]}}}}`,
}

// fuzzDecode checks one decoder on arbitrary bytes: it never panics, every
// error is a *RecordError with a reason and a message, every decoded row is
// one the table writer accepts, and the one-pass decoder accepts exactly
// what the map-based reference accepts, with the same changes.
func fuzzDecode(t *testing.T, name string, opts FormatOptions, key, value []byte, nullValue bool) {
	s := fuzzSchema()
	f, err := NewFormat(name, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if nullValue {
		value = nil
	}
	changes, err := f.Decode(nil, key, value)
	checkAgainstReference(t, name, opts, key, value, false)
	if err != nil {
		var re *RecordError
		if !errors.As(err, &re) || re.Reason == "" || err.Error() == "" || !errors.Is(err, ErrBadRecord) {
			t.Fatalf("error %v is not a bad-record error with a reason", err)
		}
		if len(changes) != 0 {
			t.Fatalf("error %v with %d changes", err, len(changes))
		}
		return
	}
	for _, c := range changes {
		if err := validateChange(s, c); err != nil {
			t.Fatalf("decoded %s %v that the writer would reject: %v", c.Kind, c.Row, err)
		}
	}
}

// validateChange mirrors Sink.validate for one change.
func validateChange(s *types.Schema, c Change) error {
	if !c.Kind.Valid() {
		return errors.New("bad kind")
	}
	if c.Kind.IsAdd() {
		return s.CheckRow(c.Row)
	}
	if len(c.Row) != len(s.Fields) {
		return errors.New("bad arity")
	}
	for i, f := range s.Fields {
		if err := types.CheckValue(c.Row[i], f.Type); err != nil {
			return err
		}
	}
	for _, k := range s.KeyIndexes() {
		if c.Row[k] == nil {
			return errors.New("null key")
		}
	}
	return nil
}

// maxFuzzInput caps the inputs of this package's fuzz targets (see the
// fuzzing rule: every target caps its input, every decoder bounds its
// work by the sizes its input declares).
const maxFuzzInput = 64 << 10

func FuzzDebeziumJSON(f *testing.F) {
	for _, cs := range dlqCases() {
		f.Add([]byte(nil), []byte(cs.value), cs.value == "", false)
	}
	f.Add([]byte(nil), []byte(`{"schema":{"fields":[{"field":"after","fields":[{"field":"amount","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}]}]},"payload":{"op":"c","after":{"id":1,"name":"a","amount":"AQ=="}}}`), false, true)
	f.Add([]byte(nil), []byte(`{"op":"u","before":{"id":1},"after":{"id":1,"name":"x","ts":-1,"day":-99999999999}}`), false, false)
	for i, v := range nestedFuzzSeeds {
		if !strings.HasPrefix(v, `{"schema"`) {
			v = `{"op":"c","after":` + v + `}`
		}
		f.Add([]byte(nil), []byte(v), false, i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, key, value []byte, null, reject bool) {
		if len(key)+len(value) > maxFuzzInput {
			return
		}
		opts := FormatOptions{}
		if reject {
			opts.UnknownFields = "reject"
		}
		fuzzDecode(t, "debezium-json", opts, key, value, null)
	})
}

func FuzzUpsertJSON(f *testing.F) {
	f.Add([]byte(`{"id":1}`), []byte(`{"name":"a","amount":"1.5","b":"AAE=","ok":true}`), false)
	f.Add([]byte(`1`), []byte(nil), true)
	f.Add([]byte(`{"schema":{},"payload":{"id":"9"}}`), []byte(`{"id":9,"name":"n","f":3.4e38,"d":1e308}`), false)
	f.Add([]byte(`"x"`), []byte(`{`), false)
	for _, v := range nestedFuzzSeeds[:4] {
		f.Add([]byte(`1`), []byte(v), false)
	}
	f.Fuzz(func(t *testing.T, key, value []byte, null bool) {
		if len(key)+len(value) > maxFuzzInput {
			return
		}
		fuzzDecode(t, "upsert-json", FormatOptions{}, key, value, null)
	})
}

func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte(`{"id":1,"name":"a","i":2147483647,"day":"2026-01-02","ts":"2026-01-02T03:04:05Z"}`), false)
	f.Add([]byte(`{"id":1e2,"name":"a","ts":9223372036854775807}`), false)
	f.Add([]byte(`{"id":1,"name":"a","amount":-0.001}`), true)
	f.Add([]byte(`null`), false)
	for _, v := range nestedFuzzSeeds[:4] {
		f.Add([]byte(v), true)
	}
	f.Fuzz(func(t *testing.T, value []byte, us bool) {
		if len(value) > maxFuzzInput {
			return
		}
		opts := FormatOptions{}
		if us {
			opts.TimestampUnit = "us"
		}
		fuzzDecode(t, "json", opts, nil, value, false)
	})
}

// FuzzJSONScan: the scanner the formats walk records with accepts exactly
// the objects encoding/json accepts, less those that are not valid UTF-8
// (encoding/json would silently replace the bad bytes), and never panics.
func FuzzJSONScan(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":1,"b":[true,false,null,{"c":"\u00e9"}]}`, `{"a":1,}`, `{"a":01}`, `{"a":-}`, `{"a":1.e5}`,
		`{"a":"\x"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":[1,]}`, `{"a" 1}`, `{"a":1} x`, ` {"a":1e+5} `, `{"a":"\ud800"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := validObject("the value", data)
		trimmed := bytes.TrimSpace(data)
		want := len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) && utf8.Valid(data)
		if (err == nil) != want {
			t.Fatalf("%q: scanner error %v, encoding/json valid object %v", data, err, want)
		}
		if err != nil && ReasonOf(err) != ReasonUnparseable {
			t.Fatalf("%q: reason %q", data, ReasonOf(err))
		}
	})
}

// validObject is objectScan followed by a validating walk of the whole
// object; it returns a scanner at the start again.
func validObject(what string, data []byte) (jsonScan, error) {
	s, err := objectScan(what, data)
	if err != nil {
		return s, err
	}
	if err := s.value(); err != nil {
		return jsonScan{}, syntaxError(what, s.data, err)
	}
	if err := s.end(); err != nil {
		return jsonScan{}, syntaxError(what, s.data, err)
	}
	return jsonScan{data: s.data}, nil
}
