package query

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// String functions. Positions and lengths count characters (Unicode code
// points), 1-based, as in DuckDB.

func bindStrFunc(f *funcCall, args []bexpr) (bexpr, bool, error) {
	var out bexpr
	var err error
	switch f.name {
	case "SUBSTRING", "SUBSTR":
		out, err = bindSubstring(f, args)
	case "TRIM", "LTRIM", "RTRIM":
		out, err = bindTrim(f, args)
	case "REPLACE":
		if err = checkArgs(f, args, 3, 3, strArg, strArg, strArg); err == nil {
			out = typedOr(args, strict(args, types.TString, func(v []types.Value) (types.Value, error) {
				return replace(v[0].(string), v[1].(string), v[2].(string)), nil
			}), types.String, func(c []types.Value) *unaryFnB {
				from, to := c[0].(string), c[1].(string)
				return &unaryFnB{t: types.TString, s2s: func(s string) string { return replace(s, from, to) }}
			})
		}
	case "CONCAT":
		if err = argCount(f, args, 1, 1<<30); err == nil {
			// COALESCE(CAST(a AS STRING), '') || …: NULLs are skipped, and
			// the row engine and the kernels share the one definition.
			for i := range args {
				part := &coalesceB{args: []bexpr{toString(args[i]), &constB{v: "", t: types.TString}}, t: types.TString}
				if out == nil {
					out = part
				} else {
					out = &concatB{l: out, r: part}
				}
			}
		}
	case "LEFT", "RIGHT":
		if err = checkArgs(f, args, 2, 2, strArg, intArg); err == nil {
			left := f.name == "LEFT"
			out = typedOr(args, strict(args, types.TString, func(v []types.Value) (types.Value, error) {
				return leftRight(v[0].(string), constInt(v[1]), left), nil
			}), types.String, func(c []types.Value) *unaryFnB {
				n := constInt(c[0])
				return &unaryFnB{t: types.TString, s2s: func(s string) string { return leftRight(s, n, left) }}
			})
		}
	case "STRPOS", "INSTR":
		if err = checkArgs(f, args, 2, 2, strArg, strArg); err == nil {
			out = typedOr(args, strict(args, types.TBigInt, func(v []types.Value) (types.Value, error) {
				return strpos(v[0].(string), v[1].(string)), nil
			}), types.String, func(c []types.Value) *unaryFnB {
				sub := c[0].(string)
				return &unaryFnB{t: types.TBigInt, s2i: func(s string) int64 { return strpos(s, sub) }}
			})
		}
	case "STARTS_WITH":
		if err = checkArgs(f, args, 2, 2, strArg, strArg); err == nil {
			out = typedOr(args, strict(args, types.TBoolean, func(v []types.Value) (types.Value, error) {
				return strings.HasPrefix(v[0].(string), v[1].(string)), nil
			}), types.String, func(c []types.Value) *unaryFnB {
				prefix := c[0].(string)
				return &unaryFnB{t: types.TBoolean, s2b: func(s string) bool { return strings.HasPrefix(s, prefix) }}
			})
		}
	case "SPLIT_PART":
		if err = checkArgs(f, args, 3, 3, strArg, strArg, intArg); err == nil {
			out = typedOr(args, strict(args, types.TString, func(v []types.Value) (types.Value, error) {
				return splitPart(v[0].(string), v[1].(string), constInt(v[2])), nil
			}), types.String, func(c []types.Value) *unaryFnB {
				sep, n := c[0].(string), constInt(c[1])
				return &unaryFnB{t: types.TString, s2s: func(s string) string { return splitPart(s, sep, n) }}
			})
		}
	case "REGEXP_MATCHES":
		out, err = bindRegexp(f, args)
	case "LPAD", "RPAD":
		if err = checkArgs(f, args, 3, 3, strArg, intArg, strArg); err == nil {
			left := f.name == "LPAD"
			out = strict(args, types.TString, func(v []types.Value) (types.Value, error) {
				n, _ := asInt64(v[1])
				return pad(f.name, v[0].(string), n, v[2].(string), left)
			})
		}
	default:
		return nil, false, nil
	}
	return out, true, err
}

// checkArgs checks the number of arguments and each one's type.
func checkArgs(f *funcCall, args []bexpr, lo, hi int, checks ...func(*funcCall, []bexpr, int) error) error {
	if err := argCount(f, args, lo, hi); err != nil {
		return err
	}
	for i := range args {
		if i < len(checks) {
			if err := checks[i](f, args, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func bindSubstring(f *funcCall, args []bexpr) (bexpr, error) {
	if err := checkArgs(f, args, 2, 3, strArg, intArg, intArg); err != nil {
		return nil, err
	}
	length := func(v []types.Value) int64 {
		if len(v) == 2 {
			return int64(1) << 62
		}
		return constInt(v[2])
	}
	return typedOr(args, strict(args, types.TString, func(v []types.Value) (types.Value, error) {
		return substring(v[0].(string), constInt(v[1]), length(v)), nil
	}), types.String, func(c []types.Value) *unaryFnB {
		start, n := constInt(c[0]), length(append([]types.Value{nil}, c...))
		return &unaryFnB{t: types.TString, s2s: func(s string) string { return substring(s, start, n) }}
	}), nil
}

func replace(s, from, to string) string {
	if from == "" {
		return s
	}
	return strings.ReplaceAll(s, from, to)
}

func strpos(s, sub string) int64 {
	i := strings.Index(s, sub)
	if i < 0 {
		return 0
	}
	return int64(utf8.RuneCountInString(s[:i]) + 1)
}

// substring is DuckDB's SUBSTRING: start < 0 counts from the end, start
// 0 is one before the first character, a negative length goes backwards.
func substring(s string, start, length int64) string {
	rs := []rune(s)
	size := int64(len(rs))
	var lo, hi int64
	switch {
	case length == 0:
		return ""
	case start > 0:
		lo = min(size, start-1)
	case start < 0:
		lo = max(size+start, 0)
	default: // one before the first character
		if length <= 1 {
			return ""
		}
		lo = 0
		length--
	}
	if length > 0 {
		hi = min(size, lo+min(length, size))
	} else {
		hi = lo
		lo = max(0, lo+max(length, -size))
	}
	if lo >= hi {
		return ""
	}
	return string(rs[lo:hi])
}

func leftRight(s string, n int64, left bool) string {
	rs := []rune(s)
	size := int64(len(rs))
	if n < 0 {
		n = max(0, size+n)
	}
	n = min(n, size)
	if left {
		return string(rs[:n])
	}
	return string(rs[size-n:])
}

func splitPart(s, sep string, n int64) string {
	var parts []string
	if sep == "" {
		for _, r := range s {
			parts = append(parts, string(r))
		}
	} else {
		parts = strings.Split(s, sep)
	}
	switch {
	case n > 0 && n <= int64(len(parts)):
		return parts[n-1]
	case n < 0 && n >= -int64(len(parts)):
		return parts[int64(len(parts))+n]
	}
	return ""
}

// maxPad bounds the length LPAD and RPAD produce.
const maxPad = 1 << 24

func pad(name, s string, n int64, fill string, left bool) (types.Value, error) {
	if n <= 0 {
		return "", nil
	}
	if n > maxPad {
		return nil, errf(types.ErrInvalid, "%s: length %d is too large (limit %d)", name, n, maxPad)
	}
	rs := []rune(s)
	if int64(len(rs)) >= n {
		return string(rs[:n]), nil
	}
	fr := []rune(fill)
	if len(fr) == 0 {
		return nil, errf(types.ErrInvalid, "%s: the fill string is empty, so %q cannot be padded to %d characters", name, s, n)
	}
	padding := make([]rune, 0, n-int64(len(rs)))
	for i := 0; int64(len(padding)) < n-int64(len(rs)); i++ {
		padding = append(padding, fr[i%len(fr)])
	}
	if left {
		return string(padding) + s, nil
	}
	return s + string(padding), nil
}

func bindTrim(f *funcCall, args []bexpr) (bexpr, error) {
	if err := checkArgs(f, args, 1, 2, strArg, strArg); err != nil {
		return nil, err
	}
	l, r := f.name != "RTRIM", f.name != "LTRIM"
	trim := func(s, cut string) string {
		if l {
			s = strings.TrimLeft(s, cut)
		}
		if r {
			s = strings.TrimRight(s, cut)
		}
		return s
	}
	cutOf := func(v []types.Value) string {
		if len(v) == 0 {
			return " "
		}
		return v[0].(string)
	}
	return typedOr(args, strict(args, types.TString, func(v []types.Value) (types.Value, error) {
		return trim(v[0].(string), cutOf(v[1:])), nil
	}), types.String, func(c []types.Value) *unaryFnB {
		cut := cutOf(c)
		return &unaryFnB{t: types.TString, s2s: func(s string) string { return trim(s, cut) }}
	}), nil
}

// bindRegexp binds REGEXP_MATCHES(s, pattern [, options]): whether the
// pattern matches anywhere in s. Patterns are Go regular expressions
// (RE2 syntax); options: i (ignore case), c (case-sensitive, the
// default), s (. matches a newline), m (^ and $ match at line breaks).
func bindRegexp(f *funcCall, args []bexpr) (bexpr, error) {
	if err := checkArgs(f, args, 2, 3, strArg, strArg, strArg); err != nil {
		return nil, err
	}
	flags := ""
	if len(args) == 3 {
		opts, err := constStr(f, args, 2, "the options")
		if err != nil {
			return nil, err
		}
		for _, o := range opts {
			switch o {
			case 'i':
				flags = strings.ReplaceAll(flags, "i", "") + "i"
			case 'c':
				flags = strings.ReplaceAll(flags, "i", "")
			case 's', 'm':
				flags += string(o)
			default:
				return nil, errf(types.ErrInvalid, "%s: unknown option %q (use i, c, s or m)", f.name, o)
			}
		}
		args = args[:2]
	}
	compile := func(p string) (*regexp.Regexp, error) {
		if flags != "" {
			p = "(?" + flags + ")" + p
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, errf(types.ErrInvalid, "%s: invalid regular expression %q: %v", f.name, p, err)
		}
		return re, nil
	}
	if c, ok := args[1].(*constB); ok {
		p, _ := c.v.(string)
		if c.v == nil {
			return &constB{t: types.TBoolean}, nil
		}
		re, err := compile(p)
		if err != nil {
			return nil, err
		}
		return typedOr(args[:1], strict(args[:1], types.TBoolean, func(v []types.Value) (types.Value, error) {
			return re.MatchString(v[0].(string)), nil
		}), types.String, func([]types.Value) *unaryFnB {
			return &unaryFnB{t: types.TBoolean, s2b: re.MatchString}
		}), nil
	}
	return strict(args, types.TBoolean, func(v []types.Value) (types.Value, error) {
		re, err := compile(v[1].(string))
		if err != nil {
			return nil, err
		}
		return re.MatchString(v[0].(string)), nil
	}), nil
}
