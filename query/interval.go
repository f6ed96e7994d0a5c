package query

import (
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// INTERVAL literals and date arithmetic. An interval is not a value type
// of its own: it is a constant that can be added to or subtracted from a
// DATE, TIMESTAMP, TIMESTAMP_LTZ or TIME (DATE + INTERVAL is a TIMESTAMP,
// as in DuckDB; the others keep their type) or passed to DATE_ADD. Months
// are added first (the day clamped to the end of the month: 2024-01-31 +
// 1 month = 2024-02-29), then days, then the time part; a TIMESTAMP_LTZ
// does this in UTC. A TIME takes the time part only and wraps around
// midnight (23:30 + 2 hours = 01:30), as in DuckDB, which also ignores
// the months and days. DATE ± integer adds days (a DATE), DATE - DATE is
// the number of days between them (BIGINT).

// interval is a calendar interval.
type interval struct {
	months int64
	days   int64
	micros int64
}

// intervalLit is INTERVAL '1 day 2 hours', INTERVAL '3' DAY or
// INTERVAL 3 DAY.
type intervalLit struct {
	pos  position
	iv   interval
	text string // canonical: '1 day 2 hours'
}

func (e *intervalLit) exprPos() position { return e.pos }
func (e *intervalLit) String() string    { return "INTERVAL " + quoteString(e.text) }

// maxIntervalPart bounds each number of an interval so that no sum of
// them overflows.
const maxIntervalPart = 1 << 40

var intervalUnits = map[string]string{
	"microsecond": "microsecond", "microseconds": "microsecond", "us": "microsecond",
	"millisecond": "millisecond", "milliseconds": "millisecond", "ms": "millisecond",
	"second": "second", "seconds": "second", "s": "second", "sec": "second", "secs": "second",
	"minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute",
	"hour": "hour", "hours": "hour", "h": "hour",
	"day": "day", "days": "day", "d": "day",
	"week": "week", "weeks": "week", "w": "week",
	"month": "month", "months": "month", "mon": "month", "mons": "month",
	"quarter": "quarter", "quarters": "quarter",
	"year": "year", "years": "year", "y": "year",
	"decade": "decade", "decades": "decade",
	"century": "century", "centuries": "century",
}

// addUnit adds n units to iv.
func (iv *interval) addUnit(n int64, unit string) {
	switch unit {
	case "microsecond":
		iv.micros += n
	case "millisecond":
		iv.micros += n * 1000
	case "second":
		iv.micros += n * 1_000_000
	case "minute":
		iv.micros += n * 60_000_000
	case "hour":
		iv.micros += n * 3_600_000_000
	case "day":
		iv.days += n
	case "week":
		iv.days += 7 * n
	case "month":
		iv.months += n
	case "quarter":
		iv.months += 3 * n
	case "year":
		iv.months += 12 * n
	case "decade":
		iv.months += 120 * n
	case "century":
		iv.months += 1200 * n
	}
}

// parseIntervalText parses "n unit [n unit …]" (unit given separately
// when not "").
func parseIntervalText(s, unit string) (interval, string, error) {
	f := strings.Fields(strings.ToLower(s))
	if unit != "" {
		f = append(f, strings.ToLower(unit))
	}
	var iv interval
	var canon []string
	if len(f) == 0 || len(f)%2 != 0 {
		return iv, "", errf(types.ErrInvalid, "invalid INTERVAL %s: want pairs of a whole number and a unit, like '1 day 2 hours'", quoteString(s))
	}
	for i := 0; i < len(f); i += 2 {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || n > maxIntervalPart || n < -maxIntervalPart {
			return iv, "", errf(types.ErrInvalid, "invalid INTERVAL %s: %q is not a whole number of at most %d", quoteString(s), f[i], int64(maxIntervalPart))
		}
		u, ok := intervalUnits[f[i+1]]
		if !ok {
			return iv, "", errf(types.ErrInvalid, "invalid INTERVAL %s: unknown unit %q (use microsecond, millisecond, second, minute, hour, day, week, month, quarter, year, decade or century)", quoteString(s), f[i+1])
		}
		iv.addUnit(n, u)
		canon = append(canon, strconv.FormatInt(n, 10)+" "+u+ifStr(n != 1 && n != -1, "s"))
	}
	return iv, strings.Join(canon, " "), nil
}

// parseInterval parses INTERVAL 'text' [unit] or INTERVAL n unit.
func (p *parser) parseInterval() (expr, error) {
	t := p.next()
	v := p.next()
	text := v.text
	if v.kind == tOp { // INTERVAL (n) unit
		n := p.next()
		if n.kind != tInt {
			return nil, syntaxErr(n, "INTERVAL (n) needs a whole number constant")
		}
		text = n.text
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	}
	unit := ""
	if u := p.peek(); u.kind == tIdent {
		if _, ok := intervalUnits[strings.ToLower(u.text)]; ok {
			unit = u.text
			p.next()
		}
	}
	if v.kind != tString && unit == "" {
		return nil, syntaxErr(p.peek(), "expected a unit (DAY, HOUR, …) after INTERVAL %s", text)
	}
	iv, canon, err := parseIntervalText(text, unit)
	if err != nil {
		return nil, syntaxErr(v, "%s", errText(err))
	}
	return &intervalLit{pos: t.pos, iv: iv, text: canon}, nil
}

// errIntervalPlace is the error for an INTERVAL anywhere but in date
// arithmetic.
func errIntervalPlace(x *intervalLit) error {
	return errf(types.ErrInvalid, "%s can only be added to or subtracted from a DATE, TIME, TIMESTAMP or TIMESTAMP_LTZ, or passed to DATE_ADD", x)
}

// bindIntervalArith binds d ± INTERVAL and INTERVAL + d; ok is false when
// x has no INTERVAL operand.
func (b *binder) bindIntervalArith(x *binaryExpr) (bexpr, bool, error) {
	li, lok := x.l.(*intervalLit)
	ri, rok := x.r.(*intervalLit)
	if x.op != "+" && x.op != "-" || (!lok && !rok) {
		return nil, false, nil
	}
	if lok && rok {
		return nil, true, errf(types.ErrInvalid, "adding INTERVALs to each other is not supported in %s; add each to the DATE or TIMESTAMP", x)
	}
	if lok && x.op == "-" {
		return nil, true, errf(types.ErrInvalid, "cannot subtract a DATE or TIMESTAMP from an INTERVAL in %s", x)
	}
	other, iv := x.l, ri
	if lok {
		other, iv = x.r, li
	}
	v, err := b.bind(other)
	if err != nil {
		return nil, true, err
	}
	out, err := newAddInterval(v, iv.iv, x.op == "-", x.String())
	return out, true, err
}

func newAddInterval(v bexpr, iv interval, neg bool, what string) (bexpr, error) {
	t := types.TTimestamp
	switch v.Type().Kind {
	case types.DateKind, types.TimestampKind, types.KindInvalid:
	case types.TimeKind, types.TimestampLTZKind:
		t = v.Type()
	case types.String:
		if c, ok := isLit(v); ok && c.lit.kind == litString {
			ts, err := types.ParseTimestamp(c.v.(string))
			if err != nil {
				return nil, errf(types.ErrInvalid, "%s: %s is not a TIMESTAMP", what, c.lit)
			}
			v = &constB{v: ts, t: types.TTimestamp}
			break
		}
		fallthrough
	default:
		return nil, errf(types.ErrInvalid, "an INTERVAL can only be added to a DATE, TIME, TIMESTAMP or TIMESTAMP_LTZ, got %s in %s", typeName(v.Type()), what)
	}
	if neg {
		iv = interval{-iv.months, -iv.days, -iv.micros}
	}
	return &addIntervalB{x: v, iv: iv, t: t, what: what}, nil
}

// addIntervalB is a DATE or TIMESTAMP plus an interval (a TIMESTAMP), or
// a TIME or TIMESTAMP_LTZ plus one (t, the same type).
type addIntervalB struct {
	x    bexpr
	iv   interval
	t    types.DataType
	what string
}

func (e *addIntervalB) Type() types.DataType { return e.t }
func (e *addIntervalB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	switch x := v.(type) {
	case types.TimeOfDay:
		return types.TimeOfDay(floorMod(int64(x)+e.iv.micros%types.MicrosPerDay, types.MicrosPerDay)), nil
	case types.TimestampLTZ:
		ts, err := addInterval(int64(x), e.iv, e.what)
		if err != nil {
			return nil, err
		}
		return types.TimestampLTZ(ts.(types.Timestamp)), nil
	}
	return addInterval(tsOf(v), e.iv, e.what)
}

// tsOf converts a DATE or TIMESTAMP value to microseconds.
func tsOf(v types.Value) int64 {
	switch x := v.(type) {
	case types.Date:
		return int64(x) * 86_400_000_000
	case types.Timestamp:
		return int64(x)
	case types.TimestampLTZ:
		return int64(x)
	case types.TimeOfDay:
		return int64(x)
	}
	return 0
}

// maxTimestamp bounds results to years 0001..9999 (what TIMESTAMP
// literals accept and DuckDB prints).
var minTS, maxTS = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() - 1

func addInterval(us int64, iv interval, what string) (types.Value, error) {
	t := time.UnixMicro(us).UTC()
	if iv.months != 0 {
		t = addMonths(t, iv.months)
	}
	r := t.UnixMicro()
	if iv.days > maxIntervalPart || iv.days < -maxIntervalPart || iv.micros > maxIntervalPart*1_000_000 || iv.micros < -maxIntervalPart*1_000_000 {
		return nil, errf(types.ErrInvalid, "TIMESTAMP out of range in %s", what)
	}
	r += iv.days*86_400_000_000 + iv.micros
	if r < minTS || r > maxTS || t.Year() < 1 || t.Year() > 9999 {
		return nil, errf(types.ErrInvalid, "TIMESTAMP out of range (years 1 to 9999) in %s", what)
	}
	return types.Timestamp(r), nil
}

// addMonths adds n months, clamping the day to the end of the month.
func addMonths(t time.Time, n int64) time.Time {
	if n > 12*20000 || n < -12*20000 {
		return time.Date(100000*int(n/abs64(n)), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + n
	ny, nm := int(floorDiv(total, 12)), time.Month(floorMod(total, 12)+1)
	if last := daysIn(ny, nm); d > last {
		d = last
	}
	return time.Date(ny, nm, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// bindDateArith binds DATE ± integer (a DATE) and DATE - DATE (days, a
// BIGINT); ok is false for other operands.
func bindDateArith(x *binaryExpr, l, r bexpr) (bexpr, bool, error) {
	if x.op != "+" && x.op != "-" {
		return nil, false, nil
	}
	lk, rk := l.Type().Kind, r.Type().Kind
	isInt := func(k types.Kind) bool { return k == types.Int || k == types.BigInt }
	switch {
	case lk == types.DateKind && isInt(rk):
		return &dateArithB{l: l, r: r, op: x.op, t: types.TDate, what: x.String()}, true, nil
	case isInt(lk) && rk == types.DateKind && x.op == "+":
		return &dateArithB{l: r, r: l, op: "+", t: types.TDate, what: x.String()}, true, nil
	case lk == types.DateKind && rk == types.DateKind && x.op == "-":
		return &dateArithB{l: l, r: r, op: "-", t: types.TBigInt, what: x.String()}, true, nil
	case lk == types.TimestampKind && rk == types.TimestampKind && x.op == "-":
		return nil, true, errf(types.ErrInvalid, "TIMESTAMP - TIMESTAMP is not supported in %s; use DATE_DIFF('second', a, b)", x)
	}
	return nil, false, nil
}

// dateArithB is DATE ± days (t DATE) or DATE - DATE (t BIGINT).
type dateArithB struct {
	l, r bexpr
	op   string
	t    types.DataType
	what string
}

func (e *dateArithB) Type() types.DataType { return e.t }
func (e *dateArithB) Eval(row types.Row) (types.Value, error) {
	a, err := e.l.Eval(row)
	if err != nil {
		return nil, err
	}
	b, err := e.r.Eval(row)
	if err != nil || a == nil || b == nil {
		return nil, err
	}
	d := int64(a.(types.Date))
	if e.t.Kind == types.BigInt {
		return d - int64(b.(types.Date)), nil
	}
	n, _ := asInt64(b)
	if e.op == "-" {
		n = -n
	}
	if n > maxIntervalPart || n < -maxIntervalPart {
		return nil, errf(types.ErrInvalid, "DATE out of range in %s", e.what)
	}
	r := d + n
	if r < minTS/86_400_000_000 || r > maxTS/86_400_000_000 {
		return nil, errf(types.ErrInvalid, "DATE out of range (years 1 to 9999) in %s", e.what)
	}
	return types.Date(r), nil
}
