package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

func loadSchema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "amount", Type: types.TDecimal(10, 2)},
			{ID: 3, Name: "day", Type: types.TDate},
			{ID: 4, Name: "ok", Type: types.TBoolean},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 4,
	}
}

// loadNestedSchema has ARRAY, MAP and ROW columns, for the nested inputs.
func loadNestedSchema() *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "a", Type: types.TArray(types.TInt)},
			{ID: 2, Name: "m", Type: types.TMap(types.TDate, types.TStruct(types.Field{Name: "x", Type: types.TDecimal(10, 2)},
				types.Field{Name: "b", Type: types.TBytes, NotNull: true}))},
			{ID: 3, Name: "r", Type: types.TStruct(types.Field{Name: "s", Type: types.TArray(types.TString)},
				types.Field{Name: "f", Type: types.TMap(types.TDouble, types.TTimestamp)})},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 3,
	}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	return s
}

// The fuzz targets parse inputs of at most fuzzLoadMaxInput bytes with a
// record limit of fuzzLoadMaxRecord, so that the too-long paths are reached.
const (
	fuzzLoadMaxInput  = 64 << 10
	fuzzLoadMaxRecord = 256
)

// FuzzLoadCSV: any input gives rows that fit the schema or a clear error,
// never a panic.
func FuzzLoadCSV(f *testing.F) {
	f.Add([]byte("id,name,amount,day,ok\n1,a,1.50,2026-01-02,true\n"))
	f.Add([]byte("id,amount\n1,1e5\n"))
	f.Add([]byte("id,id\n1,2\n"))
	f.Add([]byte("nope\n1\n"))
	f.Add([]byte("id,name\n\"1,\"x\n"))
	f.Add([]byte("\xef\xbb\xbfid,name\n1,\"a\r\nb\"\r\n2,\"\"\r\n"))
	f.Add([]byte("id,name,ok\n1,\"x\"\"y\",\" true\"\n"))
	f.Add([]byte("id,name\n1,\xff\n"))
	f.Add([]byte("id,name\n1,\"" + strings.Repeat("long ", 80) + "\n"))
	s := loadSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzLoadMaxInput {
			return
		}
		err := loadCSV(bytes.NewReader(data), s, fuzzLoadMaxRecord, func(r types.Row) error {
			for i, fld := range s.Fields {
				if err := types.CheckValue(r[i], fld.Type); err != nil {
					t.Fatalf("row %v: column %s: %v", r, fld.Name, err)
				}
				if str, ok := r[i].(string); ok && !utf8.ValidString(str) {
					t.Fatalf("row %v: column %s: invalid UTF-8 accepted", r, fld.Name)
				}
			}
			return nil
		})
		if err != nil && (err.Error() == "" || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error message is not one line: %q", err)
		}
	})
}

// FuzzLoadJSONL: likewise for JSON lines.
func FuzzLoadJSONL(f *testing.F) {
	f.Add([]byte(`{"id": 1, "name": "a", "amount": "1.50", "day": "2026-01-02", "ok": true}` + "\n"))
	f.Add([]byte(`{"id": 1.5}`))
	f.Add([]byte(`{"id": {"x": 1}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"unknown": 1}`))
	f.Add([]byte("\xef\xbb\xbf{\"id\": 1}\n\n  \n{\"id\": 2}{\"id\": 3}\n"))
	f.Add([]byte(`{"id": 1, "id": 2}`))
	f.Add([]byte(`{"id": 1} x`))
	f.Add([]byte(`{"id": " 1"}`))
	f.Add([]byte("{\"id\": 1, \"name\": \"\xff\"}"))
	f.Add([]byte(`{"id": 1, "name": "` + strings.Repeat("long ", 80) + `"}`))
	f.Add([]byte(`{"id": 1, "a": [1, null], "m": {"2026-01-02": {"x": "1.5", "b": "AP8="}}, "r": {"s": ["x"], "f": {"NaN": "2026-01-02T03:04:05Z"}}}`))
	f.Add([]byte(`{"id": 1, "a": [[1]], "m": [{"key": "1970-01-01", "value": {"b": ""}}], "r": [null, {"-0": null, "0": null}]}`))
	f.Add([]byte(`{"id": 1, "a": "[1, 2]", "m": {"x": null}, "r": {"S": [], "s": []}}`))
	f.Add([]byte(`{"id": 1, "a": {"x": 1}, "m": {"2026-01-02": {"b": null}}, "r": {"zz": 1}}`))
	schemas := []*types.Schema{loadSchema(), loadNestedSchema()}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzLoadMaxInput {
			return
		}
		s := schemas[0]
		if bytes.Contains(data, []byte(`"a"`)) || bytes.Contains(data, []byte(`"r"`)) {
			s = schemas[1] // nested input
		}
		err := loadJSONL(bytes.NewReader(data), s, fuzzLoadMaxRecord, func(r types.Row) error {
			for i, fld := range s.Fields {
				if err := types.CheckValue(r[i], fld.Type); err != nil {
					t.Fatalf("row %v: column %s: %v", r, fld.Name, err)
				}
				if str, ok := r[i].(string); ok && !utf8.ValidString(str) {
					t.Fatalf("row %v: column %s: invalid UTF-8 accepted", r, fld.Name)
				}
			}
			return nil
		})
		if err != nil && (err.Error() == "" || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error message is not one line: %q", err)
		}
	})
}

func TestLoadJSONLErrorsNameTheProblem(t *testing.T) {
	s := loadSchema()
	for in, want := range map[string]error{
		`{"id": 1, "zz": 2}`:       types.ErrInvalid,
		`{"id": {"a": 1}}`:         types.ErrInvalid,
		`{"id": 1, "amount": "x"}`: types.ErrInvalid,
		`{"id": 1, "ID": 2}`:       types.ErrInvalid,
		`{"id": 1, "": 2}`:         types.ErrInvalid,
	} {
		err := loadJSONL(bytes.NewReader([]byte(in)), s, maxLoadRecord, func(types.Row) error { return nil })
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", in, err, want)
		}
	}
}
