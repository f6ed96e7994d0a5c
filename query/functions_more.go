package query

import (
	"github.com/siltdb/silt/types"
)

// Dispatch of the scalar functions beyond functions.go: strings
// (functions_str.go), math (functions_math.go), dates and times
// (functions_date.go) and NULL handling (functions_null.go). Argument
// errors name the function and what was wrong.

// bindPreFunc binds the functions whose arguments are not all plain
// values (DATE_ADD's INTERVAL); ok is false for the others.
func (b *binder) bindPreFunc(f *funcCall) (bexpr, bool, error) {
	if out, ok, err := b.bindNestedFunc(f); ok {
		return out, true, err
	}
	switch f.name {
	case "DATE_ADD":
		if len(f.args) != 2 {
			return nil, true, errf(types.ErrInvalid, "DATE_ADD takes 2 arguments (a DATE or TIMESTAMP and an INTERVAL), got %d", len(f.args))
		}
		iv, ok := f.args[1].(*intervalLit)
		if !ok {
			return nil, true, errf(types.ErrInvalid, "DATE_ADD needs an INTERVAL literal as its second argument (like INTERVAL 1 DAY), got %s", f.args[1])
		}
		v, err := b.bind(f.args[0])
		if err != nil {
			return nil, true, err
		}
		out, err := newAddInterval(v, iv.iv, false, f.String())
		return out, true, err
	case "ROW_NUMBER", "RANK", "DENSE_RANK", "LAG", "LEAD", "FIRST_VALUE", "LAST_VALUE":
		if f.over == nil {
			return nil, true, errf(types.ErrInvalid, "window function %s needs an OVER clause: %s OVER (ORDER BY …)", f.name, f)
		}
		return nil, true, errWindowPlace(f, b.clause)
	}
	return nil, false, nil
}

func (b *binder) bindMoreFunc(f *funcCall, args []bexpr) (bexpr, error) {
	if out, ok, err := bindStrFunc(f, args); ok {
		return out, err
	}
	if out, ok, err := bindMathFunc(b, f, args); ok {
		return out, err
	}
	if out, ok, err := bindDateFunc(f, args); ok {
		return out, err
	}
	if out, ok, err := bindNullFunc(f, args); ok {
		return out, err
	}
	if out, ok, err := b.bindUUIDFunc(f, args); ok {
		return out, err
	}
	return nil, errf(types.ErrInvalid, "unknown function %s", f.name)
}

// argCount checks that f has between lo and hi arguments.
func argCount(f *funcCall, args []bexpr, lo, hi int) error {
	if len(args) >= lo && len(args) <= hi {
		return nil
	}
	switch {
	case lo == hi:
		return errf(types.ErrInvalid, "%s takes %d argument(s), got %d in %s", f.name, lo, len(args), f)
	case hi > 1000:
		return errf(types.ErrInvalid, "%s takes at least %d argument(s), got %d in %s", f.name, lo, len(args), f)
	}
	return errf(types.ErrInvalid, "%s takes %d to %d arguments, got %d in %s", f.name, lo, hi, len(args), f)
}

// argKinds checks argument i against the kinds it may have (the untyped
// NULL always passes); what describes them for the message.
func argKinds(f *funcCall, args []bexpr, i int, what string, kinds ...types.Kind) error {
	k := args[i].Type().Kind
	if k == types.KindInvalid {
		return nil
	}
	for _, w := range kinds {
		if k == w {
			return nil
		}
	}
	return errf(types.ErrInvalid, "%s: argument %d must be %s, got %s (%s)", f.name, i+1, what, typeName(args[i].Type()), f.args[i])
}

func strArg(f *funcCall, args []bexpr, i int) error {
	return argKinds(f, args, i, "a STRING", types.String)
}

func intArg(f *funcCall, args []bexpr, i int) error {
	return argKinds(f, args, i, "an integer", types.Int, types.BigInt)
}

func numArg(f *funcCall, args []bexpr, i int) error {
	return argKinds(f, args, i, "a number", types.Int, types.BigInt, types.Float, types.Double, types.DecimalKind)
}

func dateArg(f *funcCall, args []bexpr, i int) error {
	return argKinds(f, args, i, "a DATE or TIMESTAMP", types.DateKind, types.TimestampKind, types.TimestampLTZKind)
}

// constStr returns the value of a constant STRING argument.
func constStr(f *funcCall, args []bexpr, i int, what string) (string, error) {
	var s string
	c, ok := args[i].(*constB)
	if ok {
		s, ok = c.v.(string)
	}
	if !ok {
		return "", errf(types.ErrInvalid, "%s: argument %d must be a constant string (%s), got %s", f.name, i+1, what, f.args[i])
	}
	return s, nil
}

// adaptDateArg turns a string literal argument into a TIMESTAMP (or
// DATE) constant, as literals adapt elsewhere.
func adaptDateArg(f *funcCall, args []bexpr, i int) error {
	c, ok := isLit(args[i])
	if !ok || c.lit.kind != litString {
		return nil
	}
	s := c.v.(string)
	if d, err := types.ParseDate(s); err == nil && len(s) <= 10 {
		args[i] = &constB{v: d, t: types.TDate}
		return nil
	}
	ts, err := types.ParseTimestamp(s)
	if err != nil {
		return errf(types.ErrInvalid, "%s: argument %d %s is not a DATE or TIMESTAMP", f.name, i+1, c.lit)
	}
	args[i] = &constB{v: ts, t: types.TTimestamp}
	return nil
}

// strict is a funcB: NULL when any argument is NULL.
func strict(args []bexpr, t types.DataType, fn func(v []types.Value) (types.Value, error)) bexpr {
	return &funcB{args: args, t: t, fn: fn}
}
