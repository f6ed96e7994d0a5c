package types

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"
)

// sameValue reports whether a and b have the same Go type and compare equal.
func sameValue(a, b Value) bool {
	return reflect.TypeOf(a) == reflect.TypeOf(b) && Compare(a, b) == 0
}

func TestCoerce(t *testing.T) {
	t0 := time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		in   Value
		t    DataType
		want Value
		err  string
	}{
		{in: nil, t: TInt, want: nil},
		{in: nil, t: DataType{}, want: nil},

		// Exact Go types pass through.
		{in: true, t: TBoolean, want: true},
		{in: int32(7), t: TInt, want: int32(7)},
		{in: int64(7), t: TBigInt, want: int64(7)},
		{in: float32(1.5), t: TFloat, want: float32(1.5)},
		{in: 1.5, t: TDouble, want: 1.5},
		{in: Decimal(1234), t: TDecimal(4, 2), want: Decimal(1234)},
		{in: "s", t: TString, want: "s"},
		{in: []byte{1}, t: TBytes, want: []byte{1}},
		{in: Date(3), t: TDate, want: Date(3)},
		{in: Timestamp(3), t: TTimestamp, want: Timestamp(3)},

		// Go integers to INT, with range errors.
		{in: 5, t: TInt, want: int32(5)},
		{in: int8(-5), t: TInt, want: int32(-5)},
		{in: int16(300), t: TInt, want: int32(300)},
		{in: uint8(255), t: TInt, want: int32(255)},
		{in: uint16(65535), t: TInt, want: int32(65535)},
		{in: int64(math.MaxInt32), t: TInt, want: int32(math.MaxInt32)},
		{in: int64(math.MinInt32), t: TInt, want: int32(math.MinInt32)},
		{in: int64(math.MaxInt32 + 1), t: TInt, err: "2147483648 out of range for INT"},
		{in: int64(math.MinInt32 - 1), t: TInt, err: "-2147483649 out of range for INT"},
		{in: uint32(math.MaxUint32), t: TInt, err: "4294967295 out of range for INT"},
		{in: 1e10, t: TInt, err: "10000000000 out of range for INT"},

		// Go integers to BIGINT, including unsigned types.
		{in: -7, t: TBigInt, want: int64(-7)},
		{in: int32(-7), t: TBigInt, want: int64(-7)},
		{in: uint32(math.MaxUint32), t: TBigInt, want: int64(math.MaxUint32)},
		{in: uint(42), t: TBigInt, want: int64(42)},
		{in: uint64(42), t: TBigInt, want: int64(42)},
		{in: uint64(math.MaxInt64), t: TBigInt, want: int64(math.MaxInt64)},
		{in: uint64(math.MaxInt64 + 1), t: TBigInt, err: "cannot use 9223372036854775808 (uint64) as BIGINT"},
		{in: uint64(math.MaxUint64), t: TInt, err: "cannot use 18446744073709551615 (uint64) as INT"},

		// Floats to integer columns only when integral and in range.
		{in: 3.0, t: TBigInt, want: int64(3)},
		{in: -3.0, t: TInt, want: int32(-3)},
		{in: float32(2), t: TBigInt, want: int64(2)},
		{in: -9.223372036854775808e18, t: TBigInt, want: int64(math.MinInt64)},
		{in: 3.5, t: TBigInt, err: "cannot use 3.5 (float64) as BIGINT"},
		{in: float32(0.25), t: TInt, err: "cannot use 0.25 (float32) as INT"},
		{in: 9.223372036854775807e18, t: TBigInt, err: "as BIGINT"}, // rounds to 2^63
		{in: -1e19, t: TBigInt, err: "as BIGINT"},
		{in: math.NaN(), t: TBigInt, err: "cannot use NaN (float64) as BIGINT"},
		{in: math.Inf(1), t: TBigInt, err: "cannot use +Inf (float64) as BIGINT"},
		{in: math.Inf(-1), t: TTimestamp, err: "as TIMESTAMP"},

		// Numbers to FLOAT/DOUBLE.
		{in: 3, t: TDouble, want: 3.0},
		{in: int64(-2), t: TFloat, want: float32(-2)},
		{in: uint64(1 << 40), t: TDouble, want: float64(1 << 40)},
		{in: 0.5, t: TFloat, want: float32(0.5)},
		{in: float32(0.5), t: TDouble, want: 0.5},
		{in: math.Inf(1), t: TFloat, want: float32(math.Inf(1))},
		{in: 1e300, t: TFloat, err: "cannot use 1e+300 (float64) as FLOAT"},

		// Numbers to DECIMAL.
		{in: 5, t: TDecimal(10, 2), want: Decimal(500)},
		{in: int64(-12), t: TDecimal(4, 2), want: Decimal(-1200)},
		{in: 1.25, t: TDecimal(10, 2), want: Decimal(125)},
		{in: float32(0.1), t: TDecimal(10, 2), want: Decimal(10)},
		{in: 1.255, t: TDecimal(10, 2), err: "more than 2 fractional digits"},
		{in: 100, t: TDecimal(4, 2), err: "does not fit DECIMAL(4,2)"},
		{in: Decimal(12345), t: TDecimal(3, 0), err: "cannot use 12345 (types.Decimal) as DECIMAL(3,0)"},
		{in: math.NaN(), t: TDecimal(10, 2), err: "bad DECIMAL literal"},

		// Integers as DATE (days) and TIMESTAMP (µs).
		{in: int64(19782), t: TDate, want: Date(19782)},
		{in: -1, t: TDate, want: Date(-1)},
		{in: int64(math.MaxInt32 + 1), t: TDate, err: "cannot use 2147483648 (int64) as DATE"},
		{in: int64(-5), t: TTimestamp, want: Timestamp(-5)},
		{in: 86400.0, t: TDate, want: Date(86400)},

		// Strings are parsed.
		{in: "2024-02-29", t: TDate, want: Date(19782)},
		{in: "2024-02-29 12:00:00", t: TTimestamp, want: Timestamp(1709208000000000)},
		{in: "2024-02-29T12:00:00+02:00", t: TTimestamp, want: Timestamp(1709200800000000)},
		{in: "12.5", t: TDecimal(10, 2), want: Decimal(1250)},
		{in: " -7 ", t: TInt, want: int32(-7)},
		{in: "TRUE", t: TBoolean, want: true},
		{in: "0xff00", t: TBytes, want: []byte{0xff, 0x00}},
		{in: "raw", t: TBytes, want: []byte("raw")},
		{in: "1.5", t: TDouble, want: 1.5},
		{in: "abc", t: TInt, err: `bad INT literal "abc"`},
		{in: "2147483648", t: TInt, err: `bad INT literal "2147483648"`},
		{in: "2024-02-30", t: TDate, err: `bad DATE literal "2024-02-30"`},
		{in: "yes", t: TBoolean, err: `bad BOOLEAN literal "yes"`},
		{in: "1.234", t: TDecimal(10, 2), err: "more than 2 fractional digits"},
		{in: "0xzz", t: TBytes, err: `bad BYTES literal "0xzz"`},

		// []byte to STRING; time.Time to DATE and TIMESTAMP.
		{in: []byte("hi"), t: TString, want: "hi"},
		{in: t0, t: TDate, want: Date(19782)},
		{in: t0, t: TTimestamp, want: Timestamp(1709208855123456)},
		{in: time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), t: TDate, want: Date(-1)},

		// Bad combinations name the target type.
		{in: true, t: TInt, err: "cannot use true as INT"},
		{in: 1, t: TBoolean, err: "cannot use 1 (int) as BOOLEAN"},
		{in: 1, t: TString, err: "cannot use 1 (int) as STRING"},
		{in: []byte("x"), t: TInt, err: "as INT"},
		{in: t0, t: TString, err: "as STRING"},
		{in: t0, t: TBigInt, err: "as BIGINT"},
		{in: Date(1), t: TTimestamp, err: "cannot use 1 (types.Date) as TIMESTAMP"},
		{in: struct{}{}, t: TInt, err: "cannot use {} (struct {}) as INT"},
		{in: 1, t: DataType{}, err: "as INVALID"},
	} {
		name := fmt.Sprintf("%T(%v)->%v", tc.in, tc.in, tc.t)
		got, err := Coerce(tc.in, tc.t)
		if tc.err != "" {
			t.Run(name, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
			if got != nil {
				t.Errorf("%s: Coerce returned %#v with an error", name, got)
			}
			continue
		}
		if err != nil || !sameValue(got, tc.want) {
			t.Errorf("%s: Coerce = %#v, %v; want %#v", name, got, err, tc.want)
		}
		if err := CheckValue(got, tc.t); err != nil {
			t.Errorf("%s: CheckValue(%#v): %v", name, got, err)
		}
	}
}

func TestCheckValue(t *testing.T) {
	for _, tc := range []struct {
		v   Value
		t   DataType
		err string
	}{
		{nil, TInt, ""},
		{int32(1), TInt, ""},
		{int64(1), TInt, "value of Go type int64 is not a INT"},
		{1, TBigInt, "value of Go type int is not a BIGINT"},
		{1.0, TFloat, "float64 is not a FLOAT"},
		{"x", TBytes, "string is not a BYTES"},
		{[]byte("x"), TString, "[]uint8 is not a STRING"},
		{Timestamp(0), TDate, "types.Timestamp is not a DATE"},
		{Decimal(999), TDecimal(3, 2), ""},
		{Decimal(-999), TDecimal(3, 2), ""},
		{Decimal(1000), TDecimal(3, 2), "value 10.00 does not fit DECIMAL(3,2)"},
		{Decimal(-1000), TDecimal(3, 0), "value -1000 does not fit DECIMAL(3,0)"},
		{Decimal(999999999999999999), TDecimal(18, 0), ""},
		{Decimal(math.MaxInt64), TDecimal(18, 0), "does not fit"},
		{Decimal(math.MinInt64), TDecimal(18, 18), "does not fit"},
		{int64(1), DataType{}, "is not a INVALID"},
	} {
		err := CheckValue(tc.v, tc.t)
		if tc.err == "" {
			if err != nil {
				t.Errorf("CheckValue(%#v, %v) = %v", tc.v, tc.t, err)
			}
			continue
		}
		t.Run(fmt.Sprintf("%T/%v", tc.v, tc.t), func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
	}
}

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		t    DataType
		want Decimal
		err  string
	}{
		{in: "12.34", t: TDecimal(10, 2), want: 1234},
		{in: "12.3", t: TDecimal(10, 2), want: 1230},
		{in: "12", t: TDecimal(10, 2), want: 1200},
		{in: "-12.34", t: TDecimal(10, 2), want: -1234},
		{in: "+1.5", t: TDecimal(5, 1), want: 15},
		{in: " 7 ", t: TDecimal(3, 0), want: 7},
		{in: "0.05", t: TDecimal(2, 2), want: 5},
		{in: "-0.05", t: TDecimal(2, 2), want: -5},
		{in: "1.500", t: TDecimal(5, 1), want: 15}, // trailing zeros beyond the scale are fine
		{in: ".5", t: TDecimal(3, 1), want: 5},
		{in: "5.", t: TDecimal(3, 0), want: 5},
		{in: "-0", t: TDecimal(3, 0), want: 0},
		{in: "0000123", t: TDecimal(3, 0), want: 123},
		{in: "999", t: TDecimal(3, 0), want: 999},
		{in: "9.99", t: TDecimal(3, 2), want: 999},
		{in: "999999999999999999", t: TDecimal(18, 0), want: 999999999999999999},
		{in: "-0.999999999999999999", t: TDecimal(18, 18), want: -999999999999999999},

		{in: "1.234", t: TDecimal(10, 2), err: `DECIMAL literal "1.234" has more than 2 fractional digits`},
		{in: "1.5", t: TDecimal(10, 0), err: "more than 0 fractional digits"},
		{in: "1000", t: TDecimal(3, 0), err: `DECIMAL literal "1000" does not fit DECIMAL(3,0)`},
		{in: "123.4", t: TDecimal(4, 2), err: "does not fit DECIMAL(4,2)"},
		{in: "-10", t: TDecimal(2, 1), err: "does not fit DECIMAL(2,1)"},
		{in: "1000000000000000000", t: TDecimal(18, 0), err: "does not fit DECIMAL(18,0)"},
		{in: "1", t: TDecimal(18, 18), err: "does not fit DECIMAL(18,18)"},
		{in: "", t: TDecimal(10, 2), err: `bad DECIMAL literal ""`},
		{in: "-", t: TDecimal(10, 2), err: `bad DECIMAL literal "-"`},
		{in: ".", t: TDecimal(10, 2), err: `bad DECIMAL literal "."`},
		{in: "--1", t: TDecimal(10, 2), err: "bad DECIMAL literal"},
		{in: "+-1", t: TDecimal(10, 2), err: "bad DECIMAL literal"},
		{in: "1e5", t: TDecimal(10, 2), err: "bad DECIMAL literal"},
		{in: "12a", t: TDecimal(10, 2), err: "bad DECIMAL literal"},
		{in: "1 000", t: TDecimal(10, 2), err: "bad DECIMAL literal"},
		{in: "- 1", t: TDecimal(10, 2), err: "bad DECIMAL literal"},
		{in: "1.2.3", t: TDecimal(10, 3), err: "bad DECIMAL literal"},
		{in: "0x10", t: TDecimal(10, 2), err: "bad DECIMAL literal"},
		{in: "١", t: TDecimal(10, 2), err: "bad DECIMAL literal"}, // Arabic-Indic digit one
	} {
		got, err := ParseDecimal(tc.in, tc.t)
		if tc.err != "" {
			t.Run(tc.in, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDecimal(%q, %v) = %d, %v; want %d", tc.in, tc.t, got, err, tc.want)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	for _, tc := range []struct {
		unscaled int64
		scale    int
		want     string
	}{
		{1234, 2, "12.34"},
		{-1234, 2, "-12.34"},
		{5, 2, "0.05"},
		{-5, 2, "-0.05"},
		{0, 2, "0.00"},
		{0, 0, "0"},
		{7, 3, "0.007"},
		{100, 0, "100"},
		{100, 2, "1.00"},
		{-999999999999999999, 18, "-0.999999999999999999"},
		{999999999999999999, 0, "999999999999999999"},
		{math.MaxInt64, 0, "9223372036854775807"},
		{math.MinInt64, 0, "-9223372036854775808"},
		{math.MinInt64, 3, "-9223372036854775.808"},
	} {
		if got := FormatDecimal(tc.unscaled, tc.scale); got != tc.want {
			t.Errorf("FormatDecimal(%d, %d) = %q, want %q", tc.unscaled, tc.scale, got, tc.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		t    DataType
		want string
	}{
		{nil, TInt, "NULL"},
		{true, TBoolean, "true"},
		{false, TBoolean, "false"},
		{int32(math.MinInt32), TInt, "-2147483648"},
		{int64(math.MaxInt64), TBigInt, "9223372036854775807"},
		{float32(1.5), TFloat, "1.5"},
		{float32(0.1), TFloat, "0.1"},
		{0.1, TDouble, "0.1"},
		{1e21, TDouble, "1e+21"},
		{math.Inf(-1), TDouble, "-Inf"},
		{Decimal(-5), TDecimal(10, 2), "-0.05"},
		{Decimal(12345), TDecimal(10, 0), "12345"},
		{"héllo, \"x\"", TString, "héllo, \"x\""},
		{"", TString, ""},
		{[]byte{0xde, 0xad}, TBytes, "0xdead"},
		{[]byte{}, TBytes, "0x"},
		{Date(0), TDate, "1970-01-01"},
		{Date(-1), TDate, "1969-12-31"},
		{Date(19782), TDate, "2024-02-29"},
		{Date(-719528), TDate, "0000-01-01"},
		{Timestamp(0), TTimestamp, "1970-01-01 00:00:00"},
		{Timestamp(1_500_000), TTimestamp, "1970-01-01 00:00:01.5"},
		{Timestamp(123456), TTimestamp, "1970-01-01 00:00:00.123456"},
		{Timestamp(-1), TTimestamp, "1969-12-31 23:59:59.999999"},
		{Timestamp(1709208855123456), TTimestamp, "2024-02-29 12:14:15.123456"},
	} {
		if got := FormatValue(tc.v, tc.t); got != tc.want {
			t.Errorf("FormatValue(%#v, %v) = %q, want %q", tc.v, tc.t, got, tc.want)
		}
		if tc.v == nil {
			continue
		}
		// Every text form parses back to the value.
		back, err := ParseText(tc.want, tc.t)
		if err != nil || !sameValue(back, tc.v) {
			t.Errorf("ParseText(%q, %v) = %#v, %v; want %#v", tc.want, tc.t, back, err, tc.v)
		}
	}
}

func TestDateOf(t *testing.T) {
	minus5 := time.FixedZone("-05", -5*3600)
	plus2 := time.FixedZone("+02", 2*3600)
	for _, tc := range []struct {
		t    time.Time
		want Date
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1970, 1, 1, 23, 59, 59, 999999999, time.UTC), 0},
		{time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), -1},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), -1},
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), -1},
		{time.Date(1969, 12, 30, 23, 59, 59, 0, time.UTC), -2},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), -25567},
		{time.Date(1900, 1, 1, 12, 0, 0, 0, time.UTC), -25567},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), -719162},
		{time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), 19782},
		// The date is taken in UTC.
		{time.Date(1970, 1, 1, 1, 0, 0, 0, plus2), -1},
		{time.Date(1969, 12, 31, 20, 0, 0, 0, minus5), 0},
		{time.Date(1969, 12, 31, 18, 59, 59, 0, minus5), -1},
	} {
		got := DateOf(tc.t)
		if got != tc.want {
			t.Errorf("DateOf(%v) = %d, want %d", tc.t, got, tc.want)
		}
		// Date.Time is midnight UTC of that day and maps back to it.
		mid := got.Time()
		if mid.Location() != time.UTC || mid.Hour() != 0 || mid.Minute() != 0 || mid.Second() != 0 || DateOf(mid) != got {
			t.Errorf("Date(%d).Time() = %v", got, mid)
		}
		if u := tc.t.UTC(); mid.Year() != u.Year() || mid.YearDay() != u.YearDay() {
			t.Errorf("Date(%d).Time() = %v, not the UTC day of %v", got, mid, tc.t)
		}
	}
	// Every day in a window around the epoch round-trips through text.
	for d := Date(-800); d <= 800; d++ {
		s := FormatValue(d, TDate)
		back, err := ParseDate(s)
		if err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %d, %v; want %d", s, back, err, d)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	const base = 1704164645000000 // 2024-01-02 03:04:05 UTC
	for _, tc := range []struct {
		in   string
		want Timestamp
		err  string
	}{
		{in: "2024-01-02T03:04:05Z", want: base},
		{in: "2024-01-02 03:04:05Z", want: base},
		{in: "2024-01-02 03:04:05", want: base},
		{in: "2024-01-02T03:04:05", want: base},
		{in: "  2024-01-02 03:04:05\n", want: base},
		{in: "2024-01-02T05:04:05+02:00", want: base},
		{in: "2024-01-02 05:04:05+02:00", want: base},
		{in: "2024-01-01T21:34:05-05:30", want: base},
		{in: "2024-01-02T03:04:05.123456Z", want: base + 123456},
		{in: "2024-01-02 04:04:05.123456+01:00", want: base + 123456},
		{in: "2024-01-02 03:04:05.5", want: base + 500000},
		{in: "2024-01-02 03:04:05.1234567", want: base + 123456}, // truncated to µs
		{in: "2024-01-02 03:04", want: base - 5000000},
		{in: "2024-01-02", want: base - (3*3600+4*60+5)*1000000},
		{in: "1970-01-01 00:00:00", want: 0},
		{in: "1970-01-01T01:00:00+01:00", want: 0},
		{in: "1969-12-31 23:59:59.5", want: -500000},
		{in: "1969-12-31 23:59:59.999999", want: -1},
		{in: "1969-12-31T19:00:00-05:00", want: 0},
		{in: "0000-01-01 00:00:00", want: -62167219200000000},
		{in: "0000-01-01T00:00:00-01:00", want: -62167215600000000},
		{in: "9999-12-31 23:59:59.999999", want: 253402300799999999},
		{in: "9999-12-31T23:59:59+01:00", want: 253402297199000000},

		{in: "", err: `bad TIMESTAMP literal ""`},
		{in: "yesterday", err: "bad TIMESTAMP literal"},
		{in: "2024-13-01", err: "bad TIMESTAMP literal"},
		{in: "2024-01-02 25:00:00", err: "bad TIMESTAMP literal"},
		{in: "2024-01-02 03:04:05 +02:00", err: "bad TIMESTAMP literal"},
		{in: "2024-01-02T03:04:05+0200", err: "bad TIMESTAMP literal"},
		{in: "2024-01-02T03:04:05 UTC", err: "bad TIMESTAMP literal"},
		{in: "1704164645", err: "bad TIMESTAMP literal"},
		// Outside the years FormatValue prints as YYYY.
		{in: "0000-01-01T00:00:00+01:00", err: "outside 0000-01-01 .. 9999-12-31 UTC"},
		{in: "9999-12-31T23:59:59-01:00", err: "outside 0000-01-01 .. 9999-12-31 UTC"},
	} {
		got, err := ParseTimestamp(tc.in)
		if tc.err != "" {
			t.Run(tc.in, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTimestamp(%q) = %d (%v), %v; want %d (%v)", tc.in, got, got.Time(), err, tc.want, tc.want.Time())
		}
	}
}

func TestParseText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		t    DataType
		want Value
		err  string
	}{
		{in: "1", t: TBoolean, want: true},
		{in: " f ", t: TBoolean, want: false},
		{in: "+2147483647", t: TInt, want: int32(math.MaxInt32)},
		{in: "-9223372036854775808", t: TBigInt, want: int64(math.MinInt64)},
		{in: "1_000", t: TBigInt, err: "bad BIGINT literal"},
		{in: "0x10", t: TInt, err: "bad INT literal"},
		{in: "1e39", t: TFloat, err: "bad FLOAT literal"},
		{in: "1e309", t: TDouble, err: "bad DOUBLE literal"},
		{in: "-0.25", t: TFloat, want: float32(-0.25)},
		{in: " 1e3 ", t: TDouble, want: 1000.0},
		{in: "", t: TString, want: ""},
		{in: " keep spaces ", t: TString, want: " keep spaces "},
		{in: "", t: TBytes, want: []byte{}},
		{in: "0X0a", t: TBytes, want: []byte{0x0a}},
		{in: "0xabc", t: TBytes, err: "bad BYTES literal"},
		{in: " 2024-02-29 ", t: TDate, want: Date(19782)},
		{in: "2024-2-29", t: TDate, err: "bad DATE literal"},
		{in: "1", t: DataType{}, err: "unknown type INVALID"},
	} {
		got, err := ParseText(tc.in, tc.t)
		if tc.err != "" {
			t.Run(tc.in, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
			if got != nil {
				t.Errorf("ParseText(%q, %v) = %#v with an error", tc.in, tc.t, got)
			}
			continue
		}
		if err != nil || !sameValue(got, tc.want) {
			t.Errorf("ParseText(%q, %v) = %#v, %v; want %#v", tc.in, tc.t, got, err, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	nan := math.NaN()
	// Each group is ascending; NULL first.
	for _, vals := range [][]Value{
		{nil, false, true},
		{nil, int32(math.MinInt32), int32(0), int32(math.MaxInt32)},
		{nil, int64(math.MinInt64), int64(0), int64(math.MaxInt64)},
		{nil, float32(math.Inf(-1)), float32(-0.5), float32(1)},
		{nil, nan, math.Inf(-1), -1.5, 2.0, math.Inf(1)},
		{nil, Decimal(-1), Decimal(1)},
		{nil, "", "A", "a", "a\x00", "ab", "é"},
		{nil, []byte(nil), []byte{0}, []byte{0xff}},
		{nil, Date(-1), Date(0)},
		{nil, Timestamp(-1), Timestamp(0)},
		// Different Go types order by a fixed type rank.
		{true, int32(0), int64(0), float32(0), 0.0, Decimal(0), "", []byte{}, Date(0), Timestamp(0), 0},
	} {
		for i, a := range vals {
			for j, b := range vals {
				want := sign(i - j)
				if got := sign(Compare(a, b)); got != want {
					t.Errorf("Compare(%#v, %#v) = %d, want %d", a, b, got, want)
				}
				if Equal(a, b) != (want == 0) {
					t.Errorf("Equal(%#v, %#v) = %v", a, b, Equal(a, b))
				}
			}
		}
	}
	if !Equal([]byte(nil), []byte{}) || !Equal(nan, nan) || Compare(0.0, math.Copysign(0, -1)) != 0 {
		t.Error("nil/empty bytes, NaN/NaN or 0/-0 are not equal")
	}
}

func TestTimestampTime(t *testing.T) {
	for _, ts := range []Timestamp{0, -1, 1, 1709208855123456, -62167219200000000, 253402300799999999} {
		tm := ts.Time()
		if tm.Location() != time.UTC || TimestampOf(tm) != ts {
			t.Errorf("Timestamp(%d).Time() = %v, maps back to %d", ts, tm, TimestampOf(tm))
		}
	}
	// Sub-microsecond parts truncate toward the past, also before 1970.
	if got := TimestampOf(time.Unix(0, -1)); got != -1 {
		t.Errorf("TimestampOf(-1ns) = %d, want -1", got)
	}
	if got := TimestampOf(time.Unix(0, 1999)); got != 1 {
		t.Errorf("TimestampOf(1999ns) = %d, want 1", got)
	}
}

func TestCoerceBytesToStringNeedsUTF8(t *testing.T) {
	if v, err := Coerce([]byte("é"), TString); err != nil || v != "é" {
		t.Errorf("valid UTF-8: %v, %v", v, err)
	}
	if v, err := Coerce([]byte{'a', 0xff}, TString); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid UTF-8: %q, %v, want ErrInvalid", v, err)
	}
}
