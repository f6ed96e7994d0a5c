package types

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value is a runtime value; see the package doc for the Go type of each
// column type. nil is NULL.
type Value = any

// Row is one row of values in schema field order.
type Row = []Value

// Date is a DATE value: days since 1970-01-01.
type Date int32

// Timestamp is a TIMESTAMP value: microseconds since 1970-01-01 00:00:00 UTC.
type Timestamp int64

// Decimal is a DECIMAL value's unscaled integer; the scale comes from the
// column type.
type Decimal int64

// Time converts a Timestamp to time.Time in UTC.
func (t Timestamp) Time() time.Time { return time.UnixMicro(int64(t)).UTC() }

// TimestampOf converts a time.Time to a Timestamp.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.UnixMicro()) }

// Time converts a Date to midnight UTC.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// DateOf converts a time.Time to the Date containing it (UTC).
func DateOf(t time.Time) Date {
	return Date(math.Floor(float64(t.UTC().Unix()) / 86400))
}

// Compare orders two values of the same column type. NULL sorts first.
// Values of different Go types compare by a fixed type order so that Compare
// is total; callers coerce before comparing.
func Compare(a, b Value) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		default:
			return 1
		}
	}
	switch x := a.(type) {
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			default:
				return 1
			}
		}
	case int32:
		if y, ok := b.(int32); ok {
			return cmp.Compare(x, y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case float32:
		if y, ok := b.(float32); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case Decimal:
		if y, ok := b.(Decimal); ok {
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	case Date:
		if y, ok := b.(Date); ok {
			return cmp.Compare(x, y)
		}
	case Timestamp:
		if y, ok := b.(Timestamp); ok {
			return cmp.Compare(x, y)
		}
	case Decimal128:
		if y, ok := b.(Decimal128); ok {
			return x.Num().Cmp(y.Num())
		}
	case TimeOfDay:
		if y, ok := b.(TimeOfDay); ok {
			return cmp.Compare(x, y)
		}
	case TimestampLTZ:
		if y, ok := b.(TimestampLTZ); ok {
			return cmp.Compare(x, y)
		}
	case UUID:
		if y, ok := b.(UUID); ok {
			return bytes.Compare(x[:], y[:])
		}
	default:
		if c, ok := compareNested(a, b); ok {
			return c
		}
	}
	return cmp.Compare(typeRank(a), typeRank(b))
}

func typeRank(v Value) int {
	switch v.(type) {
	case bool:
		return 1
	case int32:
		return 2
	case int64:
		return 3
	case float32:
		return 4
	case float64:
		return 5
	case Decimal:
		return 6
	case string:
		return 7
	case []byte:
		return 8
	case Date:
		return 9
	case Timestamp:
		return 10
	case Decimal128:
		return 11
	case TimeOfDay:
		return 12
	case TimestampLTZ:
		return 13
	case UUID:
		return 14
	case List:
		return 15
	case Map:
		return 16
	case Struct:
		return 17
	}
	return 18
}

// Equal reports whether two values are equal (NULL equals NULL here; SQL
// three-valued logic lives in the query package).
func Equal(a, b Value) bool { return Compare(a, b) == 0 }

// CheckValue reports whether v has the Go type of t (or is nil).
func CheckValue(v Value, t DataType) error {
	if v == nil {
		return nil
	}
	ok := false
	switch t.Kind {
	case Boolean:
		_, ok = v.(bool)
	case Int:
		_, ok = v.(int32)
	case BigInt:
		_, ok = v.(int64)
	case Float:
		_, ok = v.(float32)
	case Double:
		_, ok = v.(float64)
	case DecimalKind:
		if t.Is128() {
			var d Decimal128
			d, ok = v.(Decimal128)
			if ok && !d.Num().FitsInPrecision(int32(t.Precision)) {
				return fmt.Errorf("%w: value %s does not fit %s", ErrInvalid, FormatValue(v, t), t)
			}
			break
		}
		var d Decimal
		d, ok = v.(Decimal)
		if ok && !decimalFits(int64(d), t.Precision) {
			return fmt.Errorf("%w: value %s does not fit %s", ErrInvalid, FormatValue(v, t), t)
		}
	case String:
		_, ok = v.(string)
	case Bytes:
		_, ok = v.([]byte)
	case DateKind:
		_, ok = v.(Date)
	case TimestampKind:
		_, ok = v.(Timestamp)
	case TimeKind:
		var x TimeOfDay
		x, ok = v.(TimeOfDay)
		if ok && (x < 0 || x >= MicrosPerDay) {
			return fmt.Errorf("%w: TIME value %d µs is outside a day", ErrInvalid, int64(x))
		}
	case TimestampLTZKind:
		_, ok = v.(TimestampLTZ)
	case UUIDKind:
		_, ok = v.(UUID)
	case ArrayKind, MapKind, StructKind:
		var err error
		if ok, err = checkNested(v, t); err != nil {
			return err
		}
	}
	if !ok {
		return fmt.Errorf("%w: value of Go type %T is not a %s", ErrInvalid, v, t)
	}
	return nil
}

func decimalFits(unscaled int64, precision int) bool {
	limit := int64(1)
	for i := 0; i < precision; i++ {
		limit *= 10
	}
	return unscaled > -limit && unscaled < limit
}

// FormatValue renders v as text the way the CLI prints it. NULL is "NULL".
func FormatValue(v Value, t DataType) string {
	if v == nil {
		return "NULL"
	}
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case Decimal:
		return FormatDecimal(int64(x), t.Scale)
	case string:
		return x
	case []byte:
		return "0x" + hex.EncodeToString(x)
	case Date:
		return x.Time().Format("2006-01-02")
	case Timestamp:
		return x.Time().Format("2006-01-02 15:04:05.999999")
	case Decimal128:
		return FormatDecimal128(x, t.Scale)
	case TimeOfDay:
		return FormatTimeOfDay(x)
	case TimestampLTZ:
		return x.Time().Format("2006-01-02 15:04:05.999999") + "+00"
	case UUID:
		return x.String()
	}
	if s, ok := formatNested(v, t); ok {
		return s
	}
	return fmt.Sprint(v)
}

// FormatDecimal renders an unscaled decimal with the given scale.
func FormatDecimal(unscaled int64, scale int) string {
	neg := unscaled < 0
	u := uint64(unscaled)
	if neg {
		u = uint64(-unscaled)
	}
	s := strconv.FormatUint(u, 10)
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

// ParseDecimal parses "12.34" into an unscaled value at the given scale,
// rejecting values with more fractional digits than the scale or more
// digits than the precision.
func ParseDecimal(s string, t DataType) (Decimal, error) {
	digits, neg, err := decimalDigits(s, t)
	if err != nil {
		return 0, err
	}
	u, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad DECIMAL literal %q", ErrInvalid, s)
	}
	if neg {
		u = -u
	}
	return Decimal(u), nil
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	tm, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%w: bad DATE literal %q (want YYYY-MM-DD)", ErrInvalid, s)
	}
	return DateOf(tm), nil
}

var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// Range of the timestamps ParseTimestamp accepts: the years FormatValue
// prints as four digits, so that the text form of every parsed timestamp
// parses back.
var (
	minTextTimestamp = TimestampOf(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))
	maxTextTimestamp = TimestampOf(time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC))
)

// ParseTimestamp parses an ISO-8601 timestamp; without a zone it is UTC. The
// result must lie in 0000-01-01 .. 9999-12-31 UTC.
func ParseTimestamp(s string) (Timestamp, error) {
	str := strings.TrimSpace(s)
	for _, layout := range timestampLayouts {
		if tm, err := time.Parse(layout, str); err == nil {
			ts := TimestampOf(tm)
			if ts < minTextTimestamp || ts > maxTextTimestamp {
				return 0, fmt.Errorf("%w: TIMESTAMP literal %q is outside 0000-01-01 .. 9999-12-31 UTC", ErrInvalid, s)
			}
			return ts, nil
		}
	}
	return 0, fmt.Errorf("%w: bad TIMESTAMP literal %q (want YYYY-MM-DD HH:MM:SS[.ffffff][Z|±hh:mm])", ErrInvalid, s)
}

// ParseText converts the text form of a value (CSV cell, CLI literal) to the
// column type. The empty string is not NULL here; callers decide.
func ParseText(s string, t DataType) (Value, error) {
	switch t.Kind {
	case Boolean:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%w: bad BOOLEAN literal %q", ErrInvalid, s)
		}
		return b, nil
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: bad INT literal %q", ErrInvalid, s)
		}
		return int32(n), nil
	case BigInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad BIGINT literal %q", ErrInvalid, s)
		}
		return n, nil
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
		if err != nil {
			return nil, fmt.Errorf("%w: bad FLOAT literal %q", ErrInvalid, s)
		}
		return float32(f), nil
	case Double:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad DOUBLE literal %q", ErrInvalid, s)
		}
		return f, nil
	case DecimalKind:
		if t.Is128() {
			d, err := ParseDecimal128(s, t)
			if err != nil {
				return nil, err
			}
			return d, nil
		}
		d, err := ParseDecimal(s, t)
		if err != nil {
			return nil, err
		}
		return d, nil
	case String:
		return s, nil
	case Bytes:
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			b, err := hex.DecodeString(s[2:])
			if err != nil {
				return nil, fmt.Errorf("%w: bad BYTES literal %q", ErrInvalid, s)
			}
			return b, nil
		}
		return []byte(s), nil
	case DateKind:
		d, err := ParseDate(s)
		if err != nil {
			return nil, err
		}
		return d, nil
	case TimestampKind:
		ts, err := ParseTimestamp(s)
		if err != nil {
			return nil, err
		}
		return ts, nil
	case TimeKind:
		tm, err := ParseTimeOfDay(s)
		if err != nil {
			return nil, err
		}
		return tm, nil
	case TimestampLTZKind:
		ts, err := ParseTimestampLTZ(s)
		if err != nil {
			return nil, err
		}
		return ts, nil
	case UUIDKind:
		u, err := ParseUUID(s)
		if err != nil {
			return nil, err
		}
		return u, nil
	case ArrayKind, MapKind, StructKind:
		return parseNestedText(s, t)
	}
	return nil, fmt.Errorf("%w: unknown type %s", ErrInvalid, t)
}

// Coerce converts a loosely typed value (from a SQL literal, JSON or a Go
// caller) to the column type. Accepted inputs: the exact Go type; any Go
// integer or float for numeric columns when the conversion is exact; strings
// parsed with ParseText; time.Time for DATE and TIMESTAMP; int64 days/µs.
func Coerce(v Value, t DataType) (Value, error) {
	if v == nil {
		return nil, nil
	}
	if err := CheckValue(v, t); err == nil {
		return v, nil
	}
	if _, ok := v.(string); !ok && t.IsNested() {
		return coerceNested(v, t)
	}
	switch x := v.(type) {
	case string:
		return ParseText(x, t)
	case time.Time:
		switch t.Kind {
		case DateKind:
			return DateOf(x), nil
		case TimestampKind:
			return TimestampOf(x), nil
		case TimestampLTZKind:
			return TimestampLTZ(x.UnixMicro()), nil
		}
	case Decimal:
		if t.Is128() { // an unscaled Decimal at the target's scale (widening)
			return ParseText(FormatDecimal(int64(x), t.Scale), t)
		}
	case bool:
		// only exact
	case []byte:
		if t.Kind == String {
			if !utf8.Valid(x) {
				return nil, fmt.Errorf("%w: cannot use bytes that are not valid UTF-8 as STRING", ErrInvalid)
			}
			return string(x), nil
		}
	default:
		if f, isFloat, ok := asNumber(v); ok {
			return coerceNumber(f, isFloat, v, t)
		}
	}
	return nil, fmt.Errorf("%w: cannot use %s as %s", ErrInvalid, describe(v), t)
}

func describe(v Value) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// asNumber widens Go numeric values. For integers it also returns the exact
// int64 through the original value.
func asNumber(v Value) (f float64, isFloat bool, ok bool) {
	switch x := v.(type) {
	case int:
		return float64(x), false, true
	case int8:
		return float64(x), false, true
	case int16:
		return float64(x), false, true
	case int32:
		return float64(x), false, true
	case int64:
		return float64(x), false, true
	case uint8:
		return float64(x), false, true
	case uint16:
		return float64(x), false, true
	case uint32:
		return float64(x), false, true
	case uint:
		return float64(x), false, true
	case uint64:
		return float64(x), false, true
	case float32:
		return float64(x), true, true
	case float64:
		return x, true, true
	case Decimal:
		return float64(x), false, false
	}
	return 0, false, false
}

func asInt64(v Value) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

func coerceNumber(f float64, isFloat bool, v Value, t DataType) (Value, error) {
	bad := func() (Value, error) {
		return nil, fmt.Errorf("%w: cannot use %s as %s", ErrInvalid, describe(v), t)
	}
	switch t.Kind {
	case Int, BigInt, DateKind, TimestampKind:
		var n int64
		if isFloat {
			if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
				return bad()
			}
			n = int64(f)
		} else {
			var ok bool
			if n, ok = asInt64(v); !ok {
				return bad()
			}
		}
		switch t.Kind {
		case Int:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return nil, fmt.Errorf("%w: %d out of range for INT", ErrInvalid, n)
			}
			return int32(n), nil
		case BigInt:
			return n, nil
		case DateKind:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return bad()
			}
			return Date(n), nil
		default:
			return Timestamp(n), nil
		}
	case Float:
		if math.IsInf(float64(float32(f)), 0) && !math.IsInf(f, 0) {
			return bad() // overflows FLOAT
		}
		return float32(f), nil
	case Double:
		return f, nil
	case DecimalKind:
		var text string
		if !isFloat {
			n, ok := asInt64(v)
			if !ok {
				return bad()
			}
			text = strconv.FormatInt(n, 10)
		} else {
			// Shortest decimal form at the value's own precision, so that
			// float32(0.1) is 0.1 and not 0.10000000149011612.
			bits := 64
			if _, ok := v.(float32); ok {
				bits = 32
			}
			text = strconv.FormatFloat(f, 'f', -1, bits)
		}
		d, err := ParseDecimal(text, t)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return bad()
}
