package types

import (
	"bytes"
	"errors"
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Fuzz targets for every decoder and parser in the package. Run one with
//
//	go test -run='^$' -fuzz='^FuzzDecodeKey$' -fuzztime=20s ./types
//
// Crashers the fuzzer finds go to testdata/fuzz/<Target>/ and then run as
// regression cases with plain go test.

// maxFuzzInput caps the inputs of this package's fuzz targets (see the
// fuzzing rule: every target caps its input, every decoder bounds its
// work by the sizes its input declares).
const maxFuzzInput = 64 << 10

func FuzzDecodeKey(f *testing.F) {
	for _, vals := range [][]Value{
		{int64(1)},
		{int32(-1), "a\x00b"},
		{true, Date(0), Timestamp(-1)},
		{Decimal(-12345), []byte{0x00, 0xff, 0x01}, ""},
		{"", "\xff", []byte(nil)},
	} {
		enc, err := EncodeKey(nil, vals...)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Add([]byte{0x07, 0x00})
	f.Add([]byte{0x01, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		vals, err := DecodeKey(data)
		if err != nil {
			if !errors.Is(err, ErrCorruption) {
				t.Fatalf("DecodeKey(%x): error %v is not ErrCorruption", data, err)
			}
			if vals != nil {
				t.Fatalf("DecodeKey(%x) = %v with error %v", data, vals, err)
			}
			return
		}
		enc, err := EncodeKey(nil, vals...)
		if err != nil {
			t.Fatalf("DecodeKey(%x) = %s, which does not re-encode: %v", data, fmtTuple(vals), err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("DecodeKey(%x) = %s, re-encoded as %x", data, fmtTuple(vals), enc)
		}
	})
}

func FuzzParseType(f *testing.F) {
	for _, s := range []string{"BIGINT", "decimal(10, 2)", "NUMERIC(18,18)", "VARCHAR(10)", "double precision",
		"TIMESTAMP(6)", "DECIMAL(", "INT()", "DECIMAL(1,2,3)", " bool ", "DECIMAL(+5,-0)",
		"ARRAY<INT>", "int[][]", "MAP(STRING, ROW<a INT NOT NULL, b DECIMAL(38,2)>)", "STRUCT<\"x\": DATE>",
		"TIMESTAMP WITH LOCAL TIME ZONE", "TIME(3)", "UUID", "ROW<a INT COMMENT 'c''d'>", "ARRAY<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzInput {
			return
		}
		typ, err := ParseType(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseType(%q): error %v is not ErrInvalid", s, err)
			}
			if !typ.Equal(DataType{}) {
				t.Fatalf("ParseType(%q) = %v with error %v", s, typ, err)
			}
			return
		}
		if err := typ.Validate(); err != nil {
			t.Fatalf("ParseType(%q) = %v, which does not validate: %v", s, typ, err)
		}
		again, err := ParseType(typ.String())
		if err != nil || !again.Equal(typ) {
			t.Fatalf("ParseType(%q) = %v, but ParseType(%q) = %v, %v", s, typ, typ.String(), again, err)
		}
	})
}

// parseTextTypes are the types FuzzParseText tries every input against.
var parseTextTypes = []DataType{
	TBoolean, TInt, TBigInt, TFloat, TDouble, TDecimal(1, 0), TDecimal(10, 2), TDecimal(18, 0), TDecimal(18, 18),
	TString, TBytes, TDate, TTimestamp,
	TDecimal(19, 0), TDecimal(38, 10), TDecimal(38, 38), TTime, TTimestampLTZ, TUUID,
}

func FuzzParseText(f *testing.F) {
	for _, s := range []string{"", "0", "-1", "+7", "2147483648", "true", "T", "1.5", "-0.05", "NaN", "-Inf",
		"1e39", "0x", "0xdead", "0Xzz", "2024-02-29", "1969-12-31 23:59:59.999999", "2024-01-02T03:04:05+05:30",
		"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", " 12.340 ", "héllo\x00",
		"99999999999999999999999999999999999999", "-0.00000000000000000000000000000000000001", "23:59:59.999999",
		"12:00", "0fa85f64-5717-4562-b3fc-2c963f66afa6", "2024-01-01 00:00:00+00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzInput {
			return
		}
		for _, typ := range parseTextTypes {
			v, err := ParseText(s, typ)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseText(%q, %v): error %v is not ErrInvalid", s, typ, err)
				}
				if v != nil {
					t.Fatalf("ParseText(%q, %v) = %#v with error %v", s, typ, v, err)
				}
				continue
			}
			if err := CheckValue(v, typ); err != nil || v == nil {
				t.Fatalf("ParseText(%q, %v) = %#v, CheckValue: %v", s, typ, v, err)
			}
			// FormatValue is the text form of every type: parsing it back
			// gives the same value (NaN equals NaN under Compare).
			text := FormatValue(v, typ)
			again, err := ParseText(text, typ)
			if err != nil {
				t.Fatalf("ParseText(%q, %v) = %#v, formatted %q, which does not parse: %v", s, typ, v, text, err)
			}
			if reflect.TypeOf(again) != reflect.TypeOf(v) || Compare(again, v) != 0 {
				t.Fatalf("ParseText(%q, %v) = %#v, formatted %q, parsed back as %#v", s, typ, v, text, again)
			}
			// Coerce of a string is ParseText.
			c, err := Coerce(s, typ)
			if err != nil || Compare(c, v) != 0 {
				t.Fatalf("Coerce(%q, %v) = %#v, %v; ParseText gave %#v", s, typ, c, err, v)
			}
		}
	})
}

// plainDecimal is the decimal literal syntax ParseDecimal must accept when
// the value fits.
var plainDecimal = regexp.MustCompile(`^[ \t\n\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[ \t\n\r]*$`)

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"12.34", "-0.05", "+1.500", ".5", "5.", "-", ".", "1e5", "999999999999999999",
		"1000000000000000000", "0000000000000000000001", "1.2.3", " 7 "} {
		f.Add(s, uint8(10), uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, p, sc uint8) {
		if len(s) > maxFuzzInput {
			return
		}
		typ := TDecimal(1+int(p)%MaxDecimalPrecision, 0)
		typ.Scale = int(sc) % (typ.Precision + 1)
		d, err := ParseDecimal(s, typ)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseDecimal(%q, %v): error %v is not ErrInvalid", s, typ, err)
			}
			// Oracle: a plain literal with at most Scale fractional digits
			// and at most Precision digits must parse.
			if plainDecimal.MatchString(s) {
				r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
				if ok && fitsDecimal(r, typ) {
					t.Fatalf("ParseDecimal(%q, %v) rejected a value that fits: %v", s, typ, err)
				}
			}
			return
		}
		if err := CheckValue(d, typ); err != nil {
			t.Fatalf("ParseDecimal(%q, %v) = %d, CheckValue: %v", s, typ, d, err)
		}
		// The value is the literal's exact value.
		if r, ok := new(big.Rat).SetString(strings.TrimSpace(s)); ok {
			want := new(big.Rat).SetFrac(big.NewInt(int64(d)), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Scale)), nil))
			if r.Cmp(want) != 0 {
				t.Fatalf("ParseDecimal(%q, %v) = %d (%s), want %s", s, typ, d, FormatDecimal(int64(d), typ.Scale), r.FloatString(typ.Scale))
			}
		} else if plainDecimal.MatchString(s) {
			t.Fatalf("big.Rat does not parse %q", s)
		}
		text := FormatDecimal(int64(d), typ.Scale)
		if again, err := ParseDecimal(text, typ); err != nil || again != d {
			t.Fatalf("ParseDecimal(%q, %v) = %d, formatted %q, parsed back as %d, %v", s, typ, d, text, again, err)
		}
	})
}

// fitsDecimal reports whether r is exactly representable in typ.
func fitsDecimal(r *big.Rat, typ DataType) bool {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Scale)), nil)))
	if !scaled.IsInt() {
		return false
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Precision)), nil)
	return new(big.Int).Abs(scaled.Num()).Cmp(limit) < 0
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456789+05:30", "2024-01-02 03:04:05-07:00",
		"2024-01-02 03:04:05", "2024-01-02T03:04:05.5", "2024-01-02 03:04", "2024-01-02", "1969-12-31 23:59:59.999999",
		"0000-01-01 00:00:00", "9999-12-31 23:59:59.999999", "0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01",
		"2024-13-01", "now"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzInput {
			return
		}
		ts, err := ParseTimestamp(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseTimestamp(%q): error %v is not ErrInvalid", s, err)
			}
			return
		}
		if y := ts.Time().Year(); y < 0 || y > 9999 {
			t.Fatalf("ParseTimestamp(%q) = %d, year %d outside 0000..9999", s, ts, y)
		}
		text := FormatValue(ts, TTimestamp)
		if again, err := ParseTimestamp(text); err != nil || again != ts {
			t.Fatalf("ParseTimestamp(%q) = %d, formatted %q, parsed back as %d, %v", s, ts, text, again, err)
		}
		if TimestampOf(ts.Time()) != ts {
			t.Fatalf("TimestampOf(%d.Time()) != %d", ts, ts)
		}
	})
}

func FuzzValidateIdentifier(f *testing.F) {
	for _, s := range []string{"orders", "_x", "a-b", "../x", "a/b", "a$b", "1abc", "a.b", "a\\b", "a\x00b", "é",
		"\u0661x", "x\u0661", strings.Repeat("a", 129)} {
		f.Add(uint8(0), s)
	}
	whats := []string{"column", "table", "database"}
	f.Fuzz(func(t *testing.T, w uint8, name string) {
		if len(name) > maxFuzzInput {
			return
		}
		what := whats[int(w)%len(whats)]
		err := ValidateIdentifier(what, name)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ValidateIdentifier(%q, %q): error %v is not ErrInvalid", what, name, err)
			}
			if !strings.Contains(err.Error(), what) {
				t.Fatalf("ValidateIdentifier(%q, %q): error %q does not say %q", what, name, err, what)
			}
			return
		}
		if len(name) == 0 || len(name) > 128 {
			t.Fatalf("ValidateIdentifier(%q, %q) accepted a name of %d bytes", what, name, len(name))
		}
		if strings.ContainsAny(name, "/.$\\\x00 ") {
			t.Fatalf("ValidateIdentifier(%q, %q) accepted a path-unsafe name", what, name)
		}
		if name[0] >= '0' && name[0] <= '9' {
			t.Fatalf("ValidateIdentifier(%q, %q) accepted a name starting with a digit", what, name)
		}
		for _, r := range name {
			if unicode.IsControl(r) || r >= 0x80 || r == unicode.ReplacementChar {
				t.Fatalf("ValidateIdentifier(%q, %q) accepted rune %q", what, name, r)
			}
			if r == '-' && what == "column" {
				t.Fatalf("ValidateIdentifier(%q, %q) accepted '-' in a column name", what, name)
			}
		}
	})
}

func FuzzParseRowKind(f *testing.F) {
	for _, s := range []string{"+I", "-u", "+U", "-D", "+X", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzInput {
			return
		}
		k, err := ParseRowKind(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRowKind(%q): error %v is not ErrInvalid", s, err)
			}
			return
		}
		if !k.Valid() {
			t.Fatalf("ParseRowKind(%q) = invalid %v", s, k)
		}
		if again, err := ParseRowKind(k.String()); err != nil || again != k {
			t.Fatalf("ParseRowKind(%q) = %v, ParseRowKind(%q) = %v, %v", s, k, k.String(), again, err)
		}
	})
}

// nestedTextTypes are the types FuzzParseNestedText reads every input as.
var nestedTextTypes = []string{
	"ARRAY<INT>", "ARRAY<ARRAY<STRING NOT NULL>>", "MAP<STRING, DOUBLE>", "MAP<INT, ROW<a BOOLEAN, b BYTES>>",
	"ROW<a INT NOT NULL, b ARRAY<DATE>, c MAP<BYTES, DECIMAL(10,2)>>", "ARRAY<ROW<x FLOAT, y TIMESTAMP>>",
	"MAP<TIMESTAMP, ARRAY<BIGINT>>", "ARRAY<DECIMAL(18,5)>", "ARRAY<UUID>",
}

func FuzzParseNestedText(f *testing.F) {
	for _, s := range []string{"[]", "[1, 2, null]", `[["a"], []]`, `{"k": 1.5, "l": null}`, `{"1": {"a": true, "b": "0x00"}}`,
		`{"a": 1, "b": ["2024-01-01"], "c": {"0x01": 1.25}}`, `[1, ["1970-01-01"], {}]`, `[{"x": 1e3, "y": "2024-01-02 03:04:05"}]`,
		`[{"key": 3, "value": {"a": false}}]`, `{"2024-01-01": [1, 2]}`, `["1.5", 2]`, `{"a":`, `[[[[[[`, `"x"`, `null`,
		`["0fa85f64-5717-4562-b3fc-2c963f66afa6"]`, `["NaN", "-Inf"]`} {
		f.Add(s)
	}
	typs := make([]DataType, len(nestedTextTypes))
	for i, s := range nestedTextTypes {
		var err error
		if typs[i], err = ParseType(s); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzInput {
			return
		}
		for _, typ := range typs {
			v, err := ParseText(s, typ)
			if err != nil {
				if !errors.Is(err, ErrInvalid) || v != nil {
					t.Fatalf("ParseText(%q, %v) = %#v, %v; want nil and an ErrInvalid error", s, typ, v, err)
				}
				continue
			}
			if err := CheckValue(v, typ); err != nil || v == nil {
				t.Fatalf("ParseText(%q, %v) = %#v, CheckValue: %v", s, typ, v, err)
			}
			// FormatJSON is the text form of nested values: it parses back.
			text := FormatJSON(v, typ)
			again, err := ParseText(text, typ)
			if err != nil {
				t.Fatalf("ParseText(%q, %v) = %#v, formatted %s, which does not parse: %v", s, typ, v, text, err)
			}
			if Compare(again, v) != 0 {
				t.Fatalf("ParseText(%q, %v) = %s, parsed back as %s", s, typ, text, FormatJSON(again, typ))
			}
		}
	})
}
