package query

import (
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// Date and time functions, in UTC: DATE_PART/EXTRACT, YEAR, MONTH, DAY,
// HOUR, MINUTE, SECOND, DATE_TRUNC, DATE_DIFF, STRFTIME and TO_CHAR. As
// in DuckDB, DATE_PART is a BIGINT (epoch: DOUBLE seconds), DATE_TRUNC a
// TIMESTAMP, and DATE_DIFF counts the part's boundaries crossed between
// two values (weeks: whole 7-day spans).

// dateParts are the fields DATE_PART and EXTRACT know.
var dateParts = map[string]string{
	"year": "year", "years": "year", "y": "year", "yr": "year",
	"month": "month", "months": "month", "mon": "month",
	"day": "day", "days": "day", "d": "day",
	"hour": "hour", "hours": "hour", "h": "hour",
	"minute": "minute", "minutes": "minute", "min": "minute", "m": "minute",
	"second": "second", "seconds": "second", "s": "second", "sec": "second",
	"millisecond": "millisecond", "milliseconds": "millisecond", "ms": "millisecond",
	"microsecond": "microsecond", "microseconds": "microsecond", "us": "microsecond",
	"quarter": "quarter", "week": "week", "weeks": "week", "w": "week",
	"dow": "dow", "dayofweek": "dow", "isodow": "isodow", "doy": "doy", "dayofyear": "doy",
	"isoyear": "isoyear", "decade": "decade", "century": "century", "millennium": "millennium",
	"epoch": "epoch",
}

func datePart(f *funcCall, s string) (string, error) {
	p, ok := dateParts[strings.ToLower(s)]
	if !ok {
		return "", errf(types.ErrInvalid, "%s: unknown date part %q (use year, quarter, month, week, day, hour, minute, second, millisecond, microsecond, dow, isodow, doy, isoyear, decade, century, millennium or epoch)", f.name, s)
	}
	return p, nil
}

func bindDateFunc(f *funcCall, args []bexpr) (bexpr, bool, error) {
	switch f.name {
	case "DATE_PART", "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "QUARTER", "DAYOFWEEK", "DAYOFYEAR":
		i := 0
		part := strings.ToLower(f.name)
		if f.name == "DATE_PART" {
			if err := argCount(f, args, 2, 2); err != nil {
				return nil, true, err
			}
			s, err := constStr(f, args, 0, "the part: 'year', 'month', …")
			if err != nil {
				return nil, true, err
			}
			i = 1
			part = s
		} else if err := argCount(f, args, 1, 1); err != nil {
			return nil, true, err
		}
		p, err := datePart(f, part)
		if err != nil {
			return nil, true, err
		}
		if err := adaptDateArg(f, args, i); err != nil {
			return nil, true, err
		}
		if err := timePartArg(f, args[i], p); err != nil {
			return nil, true, err
		} else if args[i].Type().Kind != types.TimeKind {
			if err := dateArg(f, args, i); err != nil {
				return nil, true, err
			}
		}
		x := args[i]
		if x.Type().Kind == types.KindInvalid {
			return &constB{t: types.TBigInt}, true, nil
		}
		if p == "epoch" {
			return &unaryFnB{x: x, t: types.TDouble, u2f: func(us int64) float64 { return float64(us) / 1e6 }}, true, nil
		}
		return &unaryFnB{x: x, t: types.TBigInt, u2i: func(us int64) int64 { return extract(p, us).(int64) }}, true, nil
	case "DATE_TRUNC":
		if err := argCount(f, args, 2, 2); err != nil {
			return nil, true, err
		}
		s, err := constStr(f, args, 0, "the part: 'year', 'month', …")
		if err != nil {
			return nil, true, err
		}
		p, err := datePart(f, s)
		if err != nil {
			return nil, true, err
		}
		if p == "dow" || p == "isodow" || p == "doy" || p == "epoch" || p == "isoyear" {
			return nil, true, errf(types.ErrInvalid, "%s: cannot truncate to %q", f.name, s)
		}
		if err := adaptDateArg(f, args, 1); err != nil {
			return nil, true, err
		}
		if err := dateArg(f, args, 1); err != nil {
			return nil, true, err
		}
		if args[1].Type().Kind == types.KindInvalid {
			return &constB{t: types.TTimestamp}, true, nil
		}
		// TIMESTAMP_LTZ truncates in UTC and stays a TIMESTAMP_LTZ.
		rt := types.TTimestamp
		if args[1].Type().Kind == types.TimestampLTZKind {
			rt = types.TTimestampLTZ
		}
		return &unaryFnB{x: args[1], t: rt, u2u: func(us int64) int64 { return truncTS(p, us) }}, true, nil
	case "DATE_DIFF", "DATEDIFF":
		if err := argCount(f, args, 3, 3); err != nil {
			return nil, true, err
		}
		s, err := constStr(f, args, 0, "the part: 'year', 'month', …")
		if err != nil {
			return nil, true, err
		}
		p, err := datePart(f, s)
		if err != nil {
			return nil, true, err
		}
		switch p {
		case "dow", "isodow", "doy", "epoch", "isoyear":
			return nil, true, errf(types.ErrInvalid, "%s: cannot count %q boundaries", f.name, s)
		}
		for i := 1; i <= 2; i++ {
			if err := adaptDateArg(f, args, i); err != nil {
				return nil, true, err
			}
			if err := dateArg(f, args, i); err != nil {
				return nil, true, err
			}
		}
		return strict(args[1:], types.TBigInt, func(v []types.Value) (types.Value, error) {
			return dateDiff(p, tsOf(v[0]), tsOf(v[1])), nil
		}), true, nil
	case "STRFTIME", "TO_CHAR":
		if err := argCount(f, args, 2, 2); err != nil {
			return nil, true, err
		}
		if f.name == "STRFTIME" && args[0].Type().Kind == types.String && args[1].Type().Kind != types.String {
			args[0], args[1] = args[1], args[0] // STRFTIME(format, x), as DuckDB also accepts
		}
		if err := adaptDateArg(f, args, 0); err != nil {
			return nil, true, err
		}
		if err := dateArg(f, args, 0); err != nil {
			return nil, true, err
		}
		fs, err := constStr(f, args, 1, "the format")
		if err != nil {
			return nil, true, err
		}
		var format func(time.Time) string
		if f.name == "STRFTIME" {
			format, err = compileStrftime(fs)
		} else {
			format = compileToChar(fs)
		}
		if err != nil {
			return nil, true, errf(types.ErrInvalid, "%s: %v", f.name, err)
		}
		return strict(args[:1], types.TString, func(v []types.Value) (types.Value, error) {
			return format(time.UnixMicro(tsOf(v[0])).UTC()), nil
		}), true, nil
	}
	return nil, false, nil
}

func extract(p string, us int64) types.Value {
	t := time.UnixMicro(us).UTC()
	micro := floorMod(us, 60_000_000) // microseconds within the minute
	switch p {
	case "year":
		return int64(t.Year())
	case "month":
		return int64(t.Month())
	case "day":
		return int64(t.Day())
	case "hour":
		return int64(t.Hour())
	case "minute":
		return int64(t.Minute())
	case "second":
		return micro / 1_000_000
	case "millisecond":
		return micro / 1000
	case "microsecond":
		return micro
	case "quarter":
		return int64(t.Month()-1)/3 + 1
	case "week":
		_, w := t.ISOWeek()
		return int64(w)
	case "isoyear":
		y, _ := t.ISOWeek()
		return int64(y)
	case "dow":
		return int64(t.Weekday())
	case "isodow":
		return int64((t.Weekday()+6)%7 + 1)
	case "doy":
		return int64(t.YearDay())
	case "decade":
		return floorDiv(int64(t.Year()), 10)
	case "century":
		y := int64(t.Year())
		if y > 0 {
			return (y-1)/100 + 1
		}
		return -((-y)/100 + 1)
	case "millennium":
		y := int64(t.Year())
		if y > 0 {
			return (y-1)/1000 + 1
		}
		return -((-y)/1000 + 1)
	case "epoch":
		return float64(us) / 1e6
	}
	return nil
}

// truncTS truncates microseconds since the epoch to part p.
func truncTS(p string, us int64) int64 {
	const day = 86_400_000_000
	switch p {
	case "microsecond":
		return us
	case "millisecond":
		return us - floorMod(us, 1000)
	case "second":
		return us - floorMod(us, 1_000_000)
	case "minute":
		return us - floorMod(us, 60_000_000)
	case "hour":
		return us - floorMod(us, 3_600_000_000)
	case "day":
		return us - floorMod(us, day)
	case "week": // back to Monday
		d := floorDiv(us, day)
		return (d - floorMod(d+3, 7)) * day // 1970-01-01 was a Thursday
	}
	t := time.UnixMicro(us).UTC()
	y, m := t.Year(), t.Month()
	switch p {
	case "month":
	case "quarter":
		m = (m-1)/3*3 + 1
	case "year":
		m = 1
	case "decade":
		y, m = int(floorDiv(int64(y), 10)*10), 1
	case "century":
		y, m = int(floorDiv(int64(y), 100)*100), 1
	case "millennium":
		y, m = int(floorDiv(int64(y), 1000)*1000), 1
	}
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

// dateDiff counts the boundaries of part p between a and b.
func dateDiff(p string, a, b int64) int64 {
	const day = 86_400_000_000
	switch p {
	case "week":
		da, db := floorDiv(a, day), floorDiv(b, day)
		return (db - da) / 7
	case "microsecond", "millisecond", "second", "minute", "hour", "day":
		return (truncTS(p, b) - truncTS(p, a)) / map[string]int64{"microsecond": 1, "millisecond": 1000, "second": 1_000_000,
			"minute": 60_000_000, "hour": 3_600_000_000, "day": day}[p]
	}
	ta, tb := time.UnixMicro(a).UTC(), time.UnixMicro(b).UTC()
	ma := int64(ta.Year())*12 + int64(ta.Month()) - 1
	mb := int64(tb.Year())*12 + int64(tb.Month()) - 1
	switch p {
	case "month":
		return mb - ma
	case "quarter":
		return floorDiv(mb, 3) - floorDiv(ma, 3)
	case "year":
		return int64(tb.Year() - ta.Year())
	case "decade":
		return floorDiv(int64(tb.Year()), 10) - floorDiv(int64(ta.Year()), 10)
	case "century":
		return floorDiv(int64(tb.Year()), 100) - floorDiv(int64(ta.Year()), 100)
	case "millennium":
		return floorDiv(int64(tb.Year()), 1000) - floorDiv(int64(ta.Year()), 1000)
	}
	return 0
}
