package types

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestDecimal128TextAndKeyOrder(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	typ := TDecimal(38, 4)
	vals := []Decimal128{Decimal128FromInt64(0), Decimal128FromInt64(-1), Decimal128FromInt64(1),
		Decimal128(decimal128.GetMaxValue(38)), Decimal128(decimal128.GetMaxValue(38).Negate())}
	for range 200 {
		v := Decimal128(decimal128.New(rng.Int64N(1<<40)-1<<39, rng.Uint64()))
		if v.Num().FitsInPrecision(38) {
			vals = append(vals, v)
		}
	}
	for _, a := range vals {
		text := FormatValue(a, typ)
		back, err := ParseText(text, typ)
		if err != nil || Compare(back, a) != 0 {
			t.Fatalf("decimal %s: parsed back %v, %v", text, back, err)
		}
		ka, err := EncodeKey(nil, a)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := DecodeKey(ka)
		if err != nil || len(dec) != 1 || Compare(dec[0], a) != 0 {
			t.Fatalf("decimal %s: key decodes to %v, %v", text, dec, err)
		}
		for _, b := range vals {
			kb, _ := EncodeKey(nil, b)
			if got, want := bytes.Compare(ka, kb), Compare(a, b); got != want {
				t.Fatalf("key order of %s and %s: %d, want %d", text, FormatValue(b, typ), got, want)
			}
		}
	}
	if _, err := ParseText("1"+string(bytes.Repeat([]byte("0"), 35)), typ); err == nil {
		t.Fatal("a 36-digit integer part fits DECIMAL(38,4)")
	}
	if err := CheckValue(Decimal(5), typ); err == nil {
		t.Fatal("a Decimal passed as DECIMAL(38,4)")
	}
	if v, err := Coerce(Decimal(1234), typ); err != nil || FormatValue(v, typ) != "0.1234" {
		t.Fatalf("Coerce(Decimal(1234), %s) = %v, %v", typ, v, err)
	}
}

func TestNewScalarsTextKeyAndCompare(t *testing.T) {
	cases := []struct {
		typ  DataType
		text []string // ascending
	}{
		{TTime, []string{"00:00:00", "00:00:00.000001", "12:30", "23:59:59.999999"}},
		{TTimestampLTZ, []string{"1969-12-31 23:59:59.5+00", "2024-01-01 00:00:00+00", "2024-01-01 01:00:00+00"}},
		{TUUID, []string{"00000000-0000-0000-0000-000000000000", "0fa85f64-5717-4562-b3fc-2c963f66afa6", "ffffffff-ffff-ffff-ffff-ffffffffffff"}},
	}
	for _, tc := range cases {
		var prev []byte
		var prevV Value
		for i, s := range tc.text {
			v, err := ParseText(s, tc.typ)
			if err != nil {
				t.Fatalf("%s %q: %v", tc.typ, s, err)
			}
			if err := CheckValue(v, tc.typ); err != nil {
				t.Fatal(err)
			}
			again, err := ParseText(FormatValue(v, tc.typ), tc.typ)
			if err != nil || Compare(again, v) != 0 {
				t.Fatalf("%s %q: text %q parses to %v, %v", tc.typ, s, FormatValue(v, tc.typ), again, err)
			}
			k, err := EncodeKey(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			if dec, err := DecodeKey(k); err != nil || Compare(dec[0], v) != 0 {
				t.Fatalf("%s %q: key decodes to %v, %v", tc.typ, s, dec, err)
			}
			if i > 0 && (bytes.Compare(prev, k) >= 0 || Compare(prevV, v) >= 0) {
				t.Fatalf("%s: %q does not sort after the previous value", tc.typ, s)
			}
			prev, prevV = k, v
		}
	}
	for _, bad := range []string{"24:00:00", "12:60", "1:00", "12:00:00.1234567890", "12:00.5"} {
		if _, err := ParseTimeOfDay(bad); err == nil {
			t.Errorf("ParseTimeOfDay(%q) accepted", bad)
		}
	}
	if _, err := ParseUUID("0fa85f64-5717-4562-b3fc-2c963f66afa"); err == nil {
		t.Error("a short UUID parsed")
	}
	if u, err := ParseUUID("{0FA85F6457174562B3FC2C963F66AFA6}"); err != nil || u.String() != "0fa85f64-5717-4562-b3fc-2c963f66afa6" {
		t.Errorf("ParseUUID without dashes in braces = %v, %v", u, err)
	}
}

func TestNestedValuesCheckCompareFormat(t *testing.T) {
	row := TStruct(Field{Name: "a", Type: TInt, NotNull: true}, Field{Name: "tags", Type: TArray(TString)})
	m := TMap(TString, TDecimal(10, 2))
	if err := CheckValue(Struct{int32(1), List{"x", nil}}, row); err != nil {
		t.Fatal(err)
	}
	if err := CheckValue(Struct{nil, List{}}, row); err == nil {
		t.Fatal("NULL in a NOT NULL ROW field passed")
	}
	if err := CheckValue(Struct{int32(1)}, row); err == nil {
		t.Fatal("a ROW value with too few fields passed")
	}
	if err := CheckValue(Map{{Key: nil, Value: Decimal(1)}}, m); err == nil {
		t.Fatal("a NULL map key passed")
	}
	if err := CheckValue(List{int32(1)}, TArray(TString)); err == nil {
		t.Fatal("an INT element passed as STRING")
	}
	if got := FormatValue(Struct{int32(1), List{"x", nil}}, row); got != "{'a': 1, 'tags': [x, NULL]}" {
		t.Errorf("FormatValue ROW = %q", got)
	}
	if got := FormatValue(Map{{Key: "k", Value: Decimal(150)}}, m); got != "{k=1.50}" {
		t.Errorf("FormatValue MAP = %q", got)
	}
	if Compare(List{int32(1)}, List{int32(1), int32(0)}) >= 0 || Compare(List{int32(2)}, List{int32(1), int32(9)}) <= 0 {
		t.Error("List order is not element-wise then by length")
	}
	if _, err := EncodeKey(nil, List{int32(1)}); err == nil {
		t.Error("a List encoded as a key")
	}
	next := 10
	typ := TArray(row)
	AssignNestedIDs(&typ, func() int { next++; return next })
	if MaxNestedID(typ) != 14 || typ.Fields[0].ID != 11 || typ.Fields[0].Type.Fields[1].Type.Fields[0].ID != 14 {
		t.Errorf("AssignNestedIDs gave %+v", typ)
	}
	s := &Schema{Fields: []Field{{ID: 0, Name: "id", Type: TInt}, {ID: 1, Name: "v", Type: typ}}, PrimaryKeys: []string{"id"}, HighestFieldID: 13}
	if err := s.Validate(); err == nil {
		t.Error("a nested id above HighestFieldID passed")
	}
	s.HighestFieldID = 14
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	s.PrimaryKeys = []string{"v"}
	if err := s.Validate(); err == nil {
		t.Error("a nested primary key passed")
	}
}
