package types_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// TestNestedArrowRoundTrip: random nested types and values (NULLs at every
// level) survive BuildRecord then RecordRows, also through a slice of the
// batch (arrays with an offset).
func TestNestedArrowRoundTrip(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	for round := range 50 {
		s := &types.Schema{}
		for c := range 1 + r.IntN(3) {
			s.Fields = append(s.Fields, types.Field{ID: c, Name: fmt.Sprintf("c%d", c), Type: nestedgen.Type(r, 3)})
		}
		as, err := types.ArrowSchema(s, false)
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]types.Row, 1+r.IntN(6))
		for i := range rows {
			rows[i] = make(types.Row, len(s.Fields))
			for c, f := range s.Fields {
				if r.IntN(5) > 0 {
					rows[i][c] = nestedgen.Value(r, f.Type)
				}
			}
		}
		rec, err := types.BuildRecord(nil, as, rows)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		got := types.RecordRows(rec)
		checkRows(t, round, s, rows, got)
		if len(rows) > 1 {
			sl := rec.NewSlice(1, int64(len(rows)))
			checkRows(t, round, s, rows[1:], types.RecordRows(sl))
			sl.Release()
		}
		rec.Release()
	}
}

func checkRows(t *testing.T, round int, s *types.Schema, want, got []types.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("round %d: %d rows, want %d", round, len(got), len(want))
	}
	for i := range want {
		for c, f := range s.Fields {
			if types.Compare(got[i][c], want[i][c]) != 0 {
				t.Fatalf("round %d row %d column %s %s: got %s, want %s", round, i, f.Name, f.Type,
					types.FormatValue(got[i][c], f.Type), types.FormatValue(want[i][c], f.Type))
			}
			if err := types.CheckValue(got[i][c], f.Type); err != nil {
				t.Fatalf("round %d row %d column %s: %v", round, i, f.Name, err)
			}
		}
	}
}

// TestNestedTextRoundTrip: FormatJSON then ParseText gives the value back
// for random nested types.
func TestNestedTextRoundTrip(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 2))
	for round := range 300 {
		typ := nestedgen.Type(r, 4)
		if !typ.IsNested() {
			continue
		}
		v := nestedgen.Value(r, typ)
		text := types.FormatJSON(v, typ)
		got, err := types.ParseText(text, typ)
		if err != nil {
			t.Fatalf("round %d: %s: ParseText(%s): %v", round, typ, text, err)
		}
		if types.Compare(got, v) != 0 {
			t.Fatalf("round %d: %s: %s read back as %s", round, typ, text, types.FormatJSON(got, typ))
		}
	}
}

func TestNestedParseText(t *testing.T) {
	row := types.TStruct(types.Field{Name: "a", Type: types.TInt, NotNull: true}, types.Field{Name: "b", Type: types.TArray(types.TString)})
	for _, c := range []struct {
		text string
		typ  types.DataType
		want types.Value
	}{
		{"[1, 2, null]", types.TArray(types.TInt), types.List{int32(1), int32(2), nil}},
		{" [] ", types.TArray(types.TInt), types.List{}},
		{`[[1],[]]`, types.TArray(types.TArray(types.TBigInt)), types.List{types.List{int64(1)}, types.List{}}},
		{`{"k": 1, "a": null}`, types.TMap(types.TString, types.TInt), types.Map{{Key: "k", Value: int32(1)}, {Key: "a", Value: nil}}},
		{`{"2": "x"}`, types.TMap(types.TInt, types.TString), types.Map{{Key: int32(2), Value: "x"}}},
		{`[{"key": 2, "value": "x"}]`, types.TMap(types.TInt, types.TString), types.Map{{Key: int32(2), Value: "x"}}},
		{`{"A": 1}`, row, types.Struct{int32(1), nil}},
		{`[1, ["x"]]`, row, types.Struct{int32(1), types.List{"x"}}},
		{`["2024-01-02", "0x00ff"]`, types.TStruct(types.Field{Name: "d", Type: types.TDate}, types.Field{Name: "y", Type: types.TBytes}),
			types.Struct{types.Date(19724), []byte{0, 255}}},
		{`[1.5, "NaN"]`, types.TArray(types.TDecimal(5, 1)), nil},
		{`{"a": 1.25}`, types.TMap(types.TString, types.TDecimal(5, 2)), types.Map{{Key: "a", Value: types.Decimal(125)}}},
	} {
		got, err := types.ParseText(c.text, c.typ)
		if c.want == nil {
			if !errors.Is(err, types.ErrInvalid) {
				t.Errorf("ParseText(%s, %s) = %v, %v; want an ErrInvalid error", c.text, c.typ, got, err)
			}
			continue
		}
		if err != nil || types.Compare(got, c.want) != 0 {
			t.Errorf("ParseText(%s, %s) = %v, %v; want %v", c.text, c.typ, got, err, c.want)
		}
	}
	for _, c := range []struct {
		text string
		typ  types.DataType
	}{
		{"null", types.TArray(types.TInt)},
		{"[1,", types.TArray(types.TInt)},
		{"[1] x", types.TArray(types.TInt)},
		{"{}", types.TArray(types.TInt)},
		{`[null]`, func() types.DataType { a := types.TArray(types.TInt); a.Fields[0].NotNull = true; return a }()},
		{`{"k":1,"k":2}`, types.TMap(types.TString, types.TInt)},
		{`{"x": 1}`, row},
		{`{"b": []}`, row},
		{`[1]`, row},
		{`[1, [], 3]`, row},
		{`["a"]`, types.TArray(types.TInt)},
		{`[true]`, types.TArray(types.TInt)},
		{`[1]`, types.TArray(types.TBoolean)},
	} {
		if got, err := types.ParseText(c.text, c.typ); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("ParseText(%s, %s) = %v, %v; want an ErrInvalid error", c.text, c.typ, got, err)
		}
	}
}

func TestNestedCoerce(t *testing.T) {
	row := types.TStruct(types.Field{Name: "a", Type: types.TInt, NotNull: true}, types.Field{Name: "b", Type: types.TArray(types.TString)})
	for _, c := range []struct {
		in   types.Value
		typ  types.DataType
		want types.Value
	}{
		{[]any{int64(1), nil, 2.0}, types.TArray(types.TInt), types.List{int32(1), nil, int32(2)}},
		{types.List{int64(1)}, types.TArray(types.TBigInt), types.List{int64(1)}},
		{types.List{int64(1)}, types.TArray(types.TDouble), types.List{1.0}},
		{map[string]any{"b": 1, "a": "2"}, types.TMap(types.TString, types.TInt), types.Map{{Key: "a", Value: int32(2)}, {Key: "b", Value: int32(1)}}},
		{map[string]any{"A": 1, "b": []any{"x"}}, row, types.Struct{int32(1), types.List{"x"}}},
		{[]any{1, nil}, row, types.Struct{int32(1), nil}},
		{`[1,2]`, types.TArray(types.TInt), types.List{int32(1), int32(2)}},
		{map[string]any{"b": nil}, row, nil},
		{[]any{1}, row, nil},
		{[]any{"x"}, types.TArray(types.TInt), nil},
		{int32(1), types.TArray(types.TInt), nil},
	} {
		got, err := types.Coerce(c.in, c.typ)
		if c.want == nil {
			if !errors.Is(err, types.ErrInvalid) {
				t.Errorf("Coerce(%v, %s) = %v, %v; want an ErrInvalid error", c.in, c.typ, got, err)
			}
			continue
		}
		if err != nil || types.Compare(got, c.want) != 0 || types.CheckValue(got, c.typ) != nil {
			t.Errorf("Coerce(%v, %s) = %#v, %v; want %#v", c.in, c.typ, got, err, c.want)
		}
	}
}
