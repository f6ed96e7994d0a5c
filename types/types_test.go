package types

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want DataType
		err  string // substring of the error; "" for success
	}{
		{in: "BOOLEAN", want: TBoolean},
		{in: " bool ", want: TBoolean},
		{in: "INT", want: TInt},
		{in: "integer", want: TInt},
		{in: "Int32", want: TInt},
		{in: "BIGINT", want: TBigInt},
		{in: "long", want: TBigInt},
		{in: "INT64", want: TBigInt},
		{in: "FLOAT", want: TFloat},
		{in: "real", want: TFloat},
		{in: "DOUBLE", want: TDouble},
		{in: "double precision", want: TDouble},
		{in: "STRING", want: TString},
		{in: "varchar", want: TString},
		{in: "VARCHAR(10)", want: TString},
		{in: "text", want: TString},
		{in: "CHAR(1)", want: TString},
		{in: "BYTES", want: TBytes},
		{in: "binary", want: TBytes},
		{in: "VARBINARY(16)", want: TBytes},
		{in: "blob", want: TBytes},
		{in: "DATE", want: TDate},
		{in: "TIMESTAMP", want: TTimestamp},
		{in: "timestamp(6)", want: TTimestamp},
		{in: "DECIMAL", want: TDecimal(10, 0)},
		{in: "numeric", want: TDecimal(10, 0)},
		{in: "decimal(5)", want: TDecimal(5, 0)},
		{in: "decimal(10, 2)", want: TDecimal(10, 2)},
		{in: "DECIMAL ( 10 , 2 )", want: TDecimal(10, 2)},
		{in: "DECIMAL(1,0)", want: TDecimal(1, 0)},
		{in: "DECIMAL(1,1)", want: TDecimal(1, 1)},
		{in: "DECIMAL(18,0)", want: TDecimal(18, 0)},
		{in: "DECIMAL(18,18)", want: TDecimal(18, 18)},

		{in: "DECIMAL(0,0)", err: "DECIMAL precision 0 out of range 1..38"},
		{in: "DECIMAL(39,2)", err: "DECIMAL precision 39 out of range 1..38"},
		{in: "DECIMAL(-1)", err: "DECIMAL precision -1 out of range"},
		{in: "DECIMAL(5,6)", err: "DECIMAL scale 6 out of range 0..5"},
		{in: "DECIMAL(5,-1)", err: "DECIMAL scale -1 out of range 0..5"},
		{in: "DECIMAL(x)", err: `bad DECIMAL precision in "DECIMAL(x)"`},
		{in: "DECIMAL()", err: `bad DECIMAL precision in "DECIMAL()"`},
		{in: "DECIMAL(5,y)", err: `bad DECIMAL scale in "DECIMAL(5,y)"`},
		{in: "DECIMAL(10,)", err: "bad DECIMAL scale"},
		{in: "DECIMAL(1,2,3)", err: `bad type "DECIMAL(1,2,3)"`},
		{in: "DECIMAL(10,2", err: `bad type "DECIMAL(10,2"`},
		{in: "INT(3)", err: "type INT takes no parameters"},
		{in: "INT()", err: "type INT takes no parameters"},
		{in: "DATE(3)", err: "type DATE takes no parameters"},
		{in: "double precision(5)", err: "type DOUBLE PRECISION takes no parameters"},
		{in: "", err: `unknown type ""`},
		{in: "UUIDS", err: `unknown type "UUIDS"`},
		{in: "UUID", want: TUUID},
		{in: "time", want: TTime},
		{in: "TIME(6)", want: TTime},
		{in: "TIMESTAMP_LTZ", want: TTimestampLTZ},
		{in: "timestamp with time zone", want: TTimestampLTZ},
		{in: "TIMESTAMP(3) WITH LOCAL TIME ZONE", want: TTimestampLTZ},
		{in: "timestamptz", want: TTimestampLTZ},
		{in: "TIMESTAMP WITHOUT TIME ZONE", want: TTimestamp},
		{in: "ARRAY<INT>", want: TArray(TInt)},
		{in: "int[]", want: TArray(TInt)},
		{in: "BIGINT[][]", want: TArray(TArray(TBigInt))},
		{in: "list<string>", want: TArray(TString)},
		{in: "ARRAY<INT NOT NULL>", want: func() DataType { a := TArray(TInt); a.Fields[0].NotNull = true; return a }()},
		{in: "MAP<STRING NOT NULL, INT NOT NULL>", want: func() DataType { m := TMap(TString, TInt); m.Fields[1].NotNull = true; return m }()},
		{in: "MAP<STRING, INT NULL>", want: TMap(TString, TInt)},
		{in: "MAP<STRING, DECIMAL(10,2)>", want: TMap(TString, TDecimal(10, 2))},
		{in: "MAP(VARCHAR, INT[])", want: TMap(TString, TArray(TInt))},
		{in: "ROW<a INT NOT NULL, b ARRAY<ROW<c STRING>>>", want: TStruct(Field{Name: "a", Type: TInt, NotNull: true},
			Field{Name: "b", Type: TArray(TStruct(Field{Name: "c", Type: TString}))})},
		{in: "STRUCT<a: INT, b: STRING>", want: TStruct(Field{Name: "a", Type: TInt}, Field{Name: "b", Type: TString})},
		{in: `STRUCT("x" DOUBLE)`, want: TStruct(Field{Name: "x", Type: TDouble})},
		{in: "ARRAY<INT", err: `missing ">"`},
		{in: "MAP<ARRAY<INT>, INT>", err: "MAP key type ARRAY<INT> is nested"},
		{in: "ROW<a INT, A STRING>", err: `duplicate ROW field "A"`},
		{in: "ROW<>", err: "ROW field"},
		{in: "ROW<a-b INT>", err: "unknown type"},
		{in: "ROW<_x INT>", want: TStruct(Field{Name: "_x", Type: TInt})},
		{in: "UUID(3)", err: "type UUID takes no parameters"},
		{in: strings.Repeat("ARRAY<", 40) + "INT" + strings.Repeat(">", 40), err: "nested deeper than"},
		{in: "big int", err: `unknown type "big int"`},
		{in: "(10)", err: `unknown type "(10)"`},
	} {
		got, err := ParseType(tc.in)
		if tc.err != "" {
			t.Run(tc.in, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
			if !got.Equal((DataType{})) {
				t.Errorf("ParseType(%q) = %v with an error, want the zero DataType", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseType(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, err := ParseType(got.String()); err != nil || !again.Equal(got) {
			t.Errorf("ParseType(%q) = %v, %v; want %v", got.String(), again, err, got)
		}
	}
}

func TestDataTypeStringAndValidate(t *testing.T) {
	for _, tc := range []struct {
		t    DataType
		want string
		err  string
	}{
		{TBoolean, "BOOLEAN", ""},
		{TInt, "INT", ""},
		{TBigInt, "BIGINT", ""},
		{TFloat, "FLOAT", ""},
		{TDouble, "DOUBLE", ""},
		{TString, "STRING", ""},
		{TBytes, "BYTES", ""},
		{TDate, "DATE", ""},
		{TTimestamp, "TIMESTAMP", ""},
		{TDecimal(12, 3), "DECIMAL(12,3)", ""},
		{DataType{}, "INVALID", "unknown column type 0"},
		{DataType{Kind: 42}, "Kind(42)", "unknown column type 42"},
		{TDecimal(0, 0), "DECIMAL(0,0)", "precision 0 out of range"},
		{TDecimal(3, 4), "DECIMAL(3,4)", "scale 4 out of range 0..3"},
	} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
		err := tc.t.Validate()
		if tc.err == "" {
			if err != nil {
				t.Errorf("%v.Validate() = %v", tc.t, err)
			}
			continue
		}
		t.Run(tc.want, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
	}
}

func TestRowKind(t *testing.T) {
	for _, tc := range []struct {
		k     RowKind
		s     string
		isAdd bool
	}{
		{Insert, "+I", true},
		{UpdateBefore, "-U", false},
		{UpdateAfter, "+U", true},
		{Delete, "-D", false},
	} {
		if got := tc.k.String(); got != tc.s {
			t.Errorf("%d.String() = %q, want %q", tc.k, got, tc.s)
		}
		if tc.k.IsAdd() != tc.isAdd || !tc.k.Valid() {
			t.Errorf("%v: IsAdd %v Valid %v", tc.k, tc.k.IsAdd(), tc.k.Valid())
		}
		for _, in := range []string{tc.s, string(tc.s[0]) + string(tc.s[1]+'a'-'A')} {
			if got, err := ParseRowKind(in); err != nil || got != tc.k {
				t.Errorf("ParseRowKind(%q) = %v, %v; want %v", in, got, err, tc.k)
			}
		}
	}
	for _, k := range []RowKind{-1, 4, 100} {
		if k.Valid() || k.IsAdd() || k.String() != fmt.Sprintf("RowKind(%d)", int(k)) {
			t.Errorf("RowKind %d: Valid %v IsAdd %v String %q", k, k.Valid(), k.IsAdd(), k.String())
		}
	}
	for _, in := range []string{"", "I", "+", "+X", "++I", " +I"} {
		_, err := ParseRowKind(in)
		t.Run(in, func(t *testing.T) { checkErr(t, err, ErrInvalid, "unknown row kind") })
	}
}
