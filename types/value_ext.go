package types

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Go types of the column types added after format version 1. See the
// package documentation for the full table.

// Decimal128 is the unscaled integer of a DECIMAL(p,s) with 18 < p <= 38;
// the scale comes from the column type. It is Arrow's decimal128.Num, so it
// crosses into Arrow arrays without conversion.
type Decimal128 decimal128.Num

// TimeOfDay is a TIME value: microseconds since midnight, in
// [0, 86,400,000,000).
type TimeOfDay int64

// TimestampLTZ is a TIMESTAMP_LTZ value: an instant, in microseconds since
// 1970-01-01 00:00:00 UTC. It is shown in a time zone (UTC unless a caller
// says otherwise); TIMESTAMP is a wall-clock time without a zone.
type TimestampLTZ int64

// UUID is a UUID value, its 16 bytes in network order.
type UUID [16]byte

// List is an ARRAY value: its elements, each a Value of the element type or
// nil. A nil List is NULL like any nil Value; an empty List is [].
type List []Value

// MapEntry is one key and value of a MAP.
type MapEntry struct {
	Key   Value
	Value Value
}

// Map is a MAP value: its entries in their stored order. Keys are never
// NULL and are unique.
type Map []MapEntry

// Struct is a ROW value: one Value per field of the ROW type, in order.
type Struct []Value

// MicrosPerDay is the number of microseconds in a day, the bound of TIME.
const MicrosPerDay = 86_400_000_000

// Num returns d as Arrow's decimal128.Num.
func (d Decimal128) Num() decimal128.Num { return decimal128.Num(d) }

// Add128 is a+b on 128-bit two's complement integers; false when the sum
// leaves 128 bits (decimal128.Num.Add wraps).
func Add128(a, b decimal128.Num) (decimal128.Num, bool) {
	lo, c := bits.Add64(a.LowBits(), b.LowBits(), 0)
	hi, _ := bits.Add64(uint64(a.HighBits()), uint64(b.HighBits()), c)
	ah, bh := a.HighBits(), b.HighBits()
	ok := (ah < 0) != (bh < 0) || (int64(hi) < 0) == (ah < 0)
	return decimal128.New(int64(hi), lo), ok
}

// Decimal128FromInt64 widens an unscaled int64.
func Decimal128FromInt64(v int64) Decimal128 { return Decimal128(decimal128.FromI64(v)) }

// Time converts a TimestampLTZ to time.Time in UTC.
func (t TimestampLTZ) Time() time.Time { return time.UnixMicro(int64(t)).UTC() }

// String renders a UUID in its canonical 8-4-4-4-12 hexadecimal form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// ParseUUID parses the canonical form, with or without dashes, in either
// case, optionally in braces.
func ParseUUID(s string) (UUID, error) {
	str := strings.TrimSpace(s)
	str = strings.TrimSuffix(strings.TrimPrefix(str, "{"), "}")
	if len(str) == 36 && str[8] == '-' && str[13] == '-' && str[18] == '-' && str[23] == '-' {
		str = str[0:8] + str[9:13] + str[14:18] + str[19:23] + str[24:]
	}
	var u UUID
	if len(str) != 32 {
		return u, fmt.Errorf("%w: bad UUID literal %q (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", ErrInvalid, s)
	}
	if _, err := hex.Decode(u[:], []byte(str)); err != nil {
		return UUID{}, fmt.Errorf("%w: bad UUID literal %q (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", ErrInvalid, s)
	}
	return u, nil
}

// FormatTimeOfDay renders a TIME as HH:MM:SS[.ffffff].
func FormatTimeOfDay(t TimeOfDay) string {
	us := int64(t)
	s := fmt.Sprintf("%02d:%02d:%02d", us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
	if f := us % 1_000_000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
	}
	return s
}

// ParseTimeOfDay parses HH:MM[:SS[.ffffff]].
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	str := strings.TrimSpace(s)
	bad := fmt.Errorf("%w: bad TIME literal %q (want HH:MM:SS[.ffffff])", ErrInvalid, s)
	main, frac, hasFrac := strings.Cut(str, ".")
	parts := strings.Split(main, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad
	}
	limits := []int64{23, 59, 59}
	var hms [3]int64
	for i, p := range parts {
		if len(p) != 2 {
			return 0, bad
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || n > limits[i] {
			return 0, bad
		}
		hms[i] = n
	}
	us := hms[0]*3_600_000_000 + hms[1]*60_000_000 + hms[2]*1_000_000
	if hasFrac {
		if len(parts) != 3 || frac == "" || len(frac) > 9 {
			return 0, bad
		}
		for len(frac) < 6 {
			frac += "0"
		}
		f, err := strconv.ParseInt(frac[:6], 10, 64)
		if err != nil || strings.Trim(frac[6:], "0123456789") != "" {
			return 0, bad
		}
		us += f
	}
	return TimeOfDay(us), nil
}

// ParseTimestampLTZ parses an ISO-8601 timestamp; without a zone it is UTC.
func ParseTimestampLTZ(s string) (TimestampLTZ, error) {
	ts, err := ParseTimestamp(s)
	if err != nil {
		return 0, fmt.Errorf("%w: bad TIMESTAMP_LTZ literal %q (want YYYY-MM-DD HH:MM:SS[.ffffff][Z|±hh:mm])", ErrInvalid, s)
	}
	return TimestampLTZ(ts), nil
}

// FormatDecimal128 renders an unscaled 128-bit decimal with the given scale.
func FormatDecimal128(d Decimal128, scale int) string {
	n := d.Num()
	neg := n.Sign() < 0
	if neg {
		n = n.Negate()
	}
	s := n.BigInt().String()
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseDecimal128 parses "12.34" into an unscaled 128-bit value at the
// type's scale, rejecting more fractional digits than the scale or more
// digits than the precision.
func ParseDecimal128(s string, t DataType) (Decimal128, error) {
	digits, neg, err := decimalDigits(s, t)
	if err != nil {
		return Decimal128{}, err
	}
	n, err := decimal128.FromString(digits, int32(t.Precision), 0)
	if err != nil {
		return Decimal128{}, fmt.Errorf("%w: bad DECIMAL literal %q", ErrInvalid, s)
	}
	if neg {
		n = n.Negate()
	}
	return Decimal128(n), nil
}

// decimalDigits validates a decimal literal against t and returns its
// digits scaled to t.Scale (no sign, no point, no leading zeros) and its
// sign.
func decimalDigits(s string, t DataType) (string, bool, error) {
	str := strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(str, "-") || strings.HasPrefix(str, "+") {
		neg = str[0] == '-'
		str = str[1:]
	}
	intPart, frac, _ := strings.Cut(str, ".")
	if intPart == "" && frac == "" {
		return "", false, fmt.Errorf("%w: bad DECIMAL literal %q", ErrInvalid, s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > t.Scale {
		return "", false, fmt.Errorf("%w: DECIMAL literal %q has more than %d fractional digits", ErrInvalid, s, t.Scale)
	}
	for len(frac) < t.Scale {
		frac += "0"
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		digits = "0"
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", false, fmt.Errorf("%w: bad DECIMAL literal %q", ErrInvalid, s)
		}
	}
	if len(digits) > t.Precision {
		return "", false, fmt.Errorf("%w: DECIMAL literal %q does not fit %s", ErrInvalid, s, t)
	}
	return digits, neg, nil
}

// checkNested checks a nested value against its type, recursively.
func checkNested(v Value, t DataType) (bool, error) {
	switch t.Kind {
	case ArrayKind:
		l, ok := v.(List)
		if !ok {
			return false, nil
		}
		for _, e := range l {
			if err := checkChild(e, &t.Fields[0]); err != nil {
				return true, err
			}
		}
	case MapKind:
		m, ok := v.(Map)
		if !ok {
			return false, nil
		}
		for _, e := range m {
			if err := checkChild(e.Key, &t.Fields[0]); err != nil {
				return true, err
			}
			if err := checkChild(e.Value, &t.Fields[1]); err != nil {
				return true, err
			}
		}
	case StructKind:
		st, ok := v.(Struct)
		if !ok {
			return false, nil
		}
		if len(st) != len(t.Fields) {
			return true, fmt.Errorf("%w: ROW value has %d fields, %s has %d", ErrInvalid, len(st), t, len(t.Fields))
		}
		for i, e := range st {
			if err := checkChild(e, &t.Fields[i]); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

func checkChild(v Value, f *Field) error {
	if v == nil {
		if f.NotNull {
			return fmt.Errorf("%w: NULL in NOT NULL nested field %q", ErrInvalid, f.Name)
		}
		return nil
	}
	if err := CheckValue(v, f.Type); err != nil {
		return fmt.Errorf("nested field %q: %w", f.Name, err)
	}
	return nil
}

// compareNested orders two nested values of the same type: element by
// element, then by length (a prefix sorts first). Maps compare entry by
// entry in stored order, key before value.
func compareNested(a, b Value) (int, bool) {
	switch x := a.(type) {
	case List:
		y, ok := b.(List)
		if !ok {
			return 0, false
		}
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := Compare(x[i], y[i]); c != 0 {
				return c, true
			}
		}
		return len(x) - len(y), true
	case Struct:
		y, ok := b.(Struct)
		if !ok {
			return 0, false
		}
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := Compare(x[i], y[i]); c != 0 {
				return c, true
			}
		}
		return len(x) - len(y), true
	case Map:
		y, ok := b.(Map)
		if !ok {
			return 0, false
		}
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := Compare(x[i].Key, y[i].Key); c != 0 {
				return c, true
			}
			if c := Compare(x[i].Value, y[i].Value); c != 0 {
				return c, true
			}
		}
		return len(x) - len(y), true
	}
	return 0, false
}

// formatNested renders nested values as DuckDB prints them: [1, 2],
// {a=1, b=2} for maps, {'f': 1, 'g': x} for ROWs.
func formatNested(v Value, t DataType) (string, bool) {
	var b strings.Builder
	switch x := v.(type) {
	case List:
		var et DataType
		if t.Kind == ArrayKind {
			et = t.Elem()
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(FormatValue(e, et))
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
				b.WriteString(", ")
			}
			b.WriteString(FormatValue(e.Key, kt))
			b.WriteByte('=')
			b.WriteString(FormatValue(e.Value, vt))
		}
		b.WriteByte('}')
	case Struct:
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			var ft DataType
			name := strconv.Itoa(i)
			if t.Kind == StructKind && i < len(t.Fields) {
				ft, name = t.Fields[i].Type, t.Fields[i].Name
			}
			b.WriteString("'" + name + "': ")
			b.WriteString(FormatValue(e, ft))
		}
		b.WriteByte('}')
	default:
		return "", false
	}
	return b.String(), true
}
