package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// STRFTIME formats with DuckDB's specifiers; TO_CHAR with PostgreSQL's
// template patterns (DuckDB has no TO_CHAR).

// compileStrftime turns a strftime format into a formatter; an unknown
// specifier is an error naming it.
func compileStrftime(f string) (func(time.Time) string, error) {
	type step func(*strings.Builder, time.Time)
	var steps []step
	lit := func(s string) step { return func(b *strings.Builder, _ time.Time) { b.WriteString(s) } }
	num := func(width int, get func(time.Time) int) step {
		return func(b *strings.Builder, t time.Time) {
			s := strconv.Itoa(get(t))
			for i := len(s); i < width; i++ {
				b.WriteByte('0')
			}
			b.WriteString(s)
		}
	}
	hour12 := func(t time.Time) int {
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return h
	}
	weekOf := func(t time.Time, first time.Weekday) int {
		// weeks that start on first; days before the year's first such day are week 0
		yd := t.YearDay() - 1
		wd := (int(t.Weekday()) - int(first) + 7) % 7
		return (yd + 7 - wd) / 7
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			j := strings.IndexByte(f[i:], '%')
			if j < 0 {
				j = len(f) - i
			}
			steps = append(steps, lit(f[i:i+j]))
			i += j - 1
			continue
		}
		if i+1 >= len(f) {
			return nil, fmt.Errorf("the format %q ends with a lone %%", f)
		}
		i++
		pad := 2
		if f[i] == '-' && i+1 < len(f) {
			pad = 1
			i++
		}
		var s step
		switch f[i] {
		case 'Y':
			s = num(1, func(t time.Time) int { return t.Year() })
		case 'y':
			s = num(pad, func(t time.Time) int { return t.Year() % 100 })
		case 'm':
			s = num(pad, func(t time.Time) int { return int(t.Month()) })
		case 'd':
			s = num(pad, time.Time.Day)
		case 'H':
			s = num(pad, time.Time.Hour)
		case 'I':
			s = num(pad, hour12)
		case 'M':
			s = num(pad, time.Time.Minute)
		case 'S':
			s = num(pad, time.Time.Second)
		case 'j':
			w := 3
			if pad == 1 {
				w = 1
			}
			s = num(w, time.Time.YearDay)
		case 'f':
			s = num(6, func(t time.Time) int { return t.Nanosecond() / 1000 })
		case 'g':
			s = num(3, func(t time.Time) int { return t.Nanosecond() / 1_000_000 })
		case 'n':
			s = num(9, time.Time.Nanosecond)
		case 'a':
			s = func(b *strings.Builder, t time.Time) { b.WriteString(t.Weekday().String()[:3]) }
		case 'A':
			s = func(b *strings.Builder, t time.Time) { b.WriteString(t.Weekday().String()) }
		case 'b', 'h':
			s = func(b *strings.Builder, t time.Time) { b.WriteString(t.Month().String()[:3]) }
		case 'B':
			s = func(b *strings.Builder, t time.Time) { b.WriteString(t.Month().String()) }
		case 'p':
			s = func(b *strings.Builder, t time.Time) {
				b.WriteString(map[bool]string{true: "AM", false: "PM"}[t.Hour() < 12])
			}
		case 'w':
			s = num(1, func(t time.Time) int { return int(t.Weekday()) })
		case 'u':
			s = num(1, func(t time.Time) int { return (int(t.Weekday())+6)%7 + 1 })
		case 'G':
			s = num(1, func(t time.Time) int { y, _ := t.ISOWeek(); return y })
		case 'V':
			s = num(2, func(t time.Time) int { _, w := t.ISOWeek(); return w })
		case 'U':
			s = num(2, func(t time.Time) int { return weekOf(t, time.Sunday) })
		case 'W':
			s = num(2, func(t time.Time) int { return weekOf(t, time.Monday) })
		case 'c':
			s = func(b *strings.Builder, t time.Time) { b.WriteString(t.Format("2006-01-02 15:04:05")) }
		case 'x':
			s = func(b *strings.Builder, t time.Time) { b.WriteString(t.Format("2006-01-02")) }
		case 'X':
			s = func(b *strings.Builder, t time.Time) { b.WriteString(t.Format("15:04:05")) }
		case 'z':
			s = lit("+00")
		case 'Z':
			s = lit("")
		case '%':
			s = lit("%")
		default:
			return nil, fmt.Errorf("unknown format specifier %%%c in %q (see the list in the SQL reference)", f[i], f)
		}
		steps = append(steps, s)
	}
	return func(t time.Time) string {
		var b strings.Builder
		for _, s := range steps {
			s(&b, t)
		}
		return b.String()
	}, nil
}

// toCharPatterns are TO_CHAR's patterns, longest first.
var toCharPatterns = []struct {
	pat string
	fn  func(time.Time) string
}{
	{"MONTH", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToUpper(t.Month().String())) }},
	{"Month", func(t time.Time) string { return fmt.Sprintf("%-9s", t.Month().String()) }},
	{"month", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToLower(t.Month().String())) }},
	{"HH24", func(t time.Time) string { return fmt.Sprintf("%02d", t.Hour()) }},
	{"HH12", func(t time.Time) string { return fmt.Sprintf("%02d", (t.Hour()+11)%12+1) }},
	{"YYYY", func(t time.Time) string { return fmt.Sprintf("%04d", t.Year()) }},
	{"DAY", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToUpper(t.Weekday().String())) }},
	{"Day", func(t time.Time) string { return fmt.Sprintf("%-9s", t.Weekday().String()) }},
	{"day", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToLower(t.Weekday().String())) }},
	{"MON", func(t time.Time) string { return strings.ToUpper(t.Month().String()[:3]) }},
	{"Mon", func(t time.Time) string { return t.Month().String()[:3] }},
	{"mon", func(t time.Time) string { return strings.ToLower(t.Month().String()[:3]) }},
	{"DDD", func(t time.Time) string { return fmt.Sprintf("%03d", t.YearDay()) }},
	{"YYY", func(t time.Time) string { return fmt.Sprintf("%03d", t.Year()%1000) }},
	{"DY", func(t time.Time) string { return strings.ToUpper(t.Weekday().String()[:3]) }},
	{"Dy", func(t time.Time) string { return t.Weekday().String()[:3] }},
	{"dy", func(t time.Time) string { return strings.ToLower(t.Weekday().String()[:3]) }},
	{"HH", func(t time.Time) string { return fmt.Sprintf("%02d", (t.Hour()+11)%12+1) }},
	{"MI", func(t time.Time) string { return fmt.Sprintf("%02d", t.Minute()) }},
	{"SS", func(t time.Time) string { return fmt.Sprintf("%02d", t.Second()) }},
	{"MS", func(t time.Time) string { return fmt.Sprintf("%03d", t.Nanosecond()/1_000_000) }},
	{"US", func(t time.Time) string { return fmt.Sprintf("%06d", t.Nanosecond()/1000) }},
	{"YY", func(t time.Time) string { return fmt.Sprintf("%02d", t.Year()%100) }},
	{"MM", func(t time.Time) string { return fmt.Sprintf("%02d", int(t.Month())) }},
	{"DD", func(t time.Time) string { return fmt.Sprintf("%02d", t.Day()) }},
	{"IW", func(t time.Time) string { _, w := t.ISOWeek(); return fmt.Sprintf("%02d", w) }},
	{"AM", func(t time.Time) string { return map[bool]string{true: "AM", false: "PM"}[t.Hour() < 12] }},
	{"PM", func(t time.Time) string { return map[bool]string{true: "AM", false: "PM"}[t.Hour() < 12] }},
	{"am", func(t time.Time) string { return map[bool]string{true: "am", false: "pm"}[t.Hour() < 12] }},
	{"pm", func(t time.Time) string { return map[bool]string{true: "am", false: "pm"}[t.Hour() < 12] }},
	{"Q", func(t time.Time) string { return strconv.Itoa(int(t.Month()-1)/3 + 1) }},
	{"D", func(t time.Time) string { return strconv.Itoa(int(t.Weekday()) + 1) }},
}

// compileToChar turns a TO_CHAR template into a formatter. Text between
// double quotes is copied; other characters that start no pattern are
// copied as they are.
func compileToChar(f string) func(time.Time) string {
	type step struct {
		lit string
		fn  func(time.Time) string
	}
	var steps []step
	for i := 0; i < len(f); {
		if f[i] == '"' {
			j := strings.IndexByte(f[i+1:], '"')
			if j < 0 {
				j = len(f) - i - 1
			}
			steps = append(steps, step{lit: f[i+1 : i+1+j]})
			i += j + 2
			continue
		}
		matched := false
		for _, p := range toCharPatterns {
			if strings.HasPrefix(f[i:], p.pat) {
				steps = append(steps, step{fn: p.fn})
				i += len(p.pat)
				matched = true
				break
			}
		}
		if !matched {
			steps = append(steps, step{lit: f[i : i+1]})
			i++
		}
	}
	return func(t time.Time) string {
		var b strings.Builder
		for _, s := range steps {
			if s.fn != nil {
				b.WriteString(s.fn(t))
			} else {
				b.WriteString(s.lit)
			}
		}
		return b.String()
	}
}
