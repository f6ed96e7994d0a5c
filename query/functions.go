package query

import (
	"strings"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// Scalar functions: COALESCE, UPPER, LOWER, LENGTH (CHAR_LENGTH), ABS,
// CURRENT_DATE, CURRENT_TIMESTAMP and NOW(). All but COALESCE return NULL
// when an argument is NULL.

func (b *binder) bindFunc(f *funcCall) (bexpr, error) {
	if f.star {
		return nil, errf(types.ErrInvalid, "%s(*) is not valid; only COUNT(*) takes *", f.name)
	}
	if f.distinct {
		return nil, errf(types.ErrInvalid, "DISTINCT is only valid in aggregate functions, not in %s", f.name)
	}
	if f.filter != nil || len(f.order) > 0 {
		return nil, errf(types.ErrInvalid, "%s is not an aggregate function: FILTER and ORDER BY inside the call are only valid for aggregates", f.name)
	}
	if out, ok, err := b.bindPreFunc(f); ok {
		return out, err
	}
	args := make([]bexpr, len(f.args))
	for i, a := range f.args {
		v, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	nargs := func(n int) error {
		if len(args) != n {
			return errf(types.ErrInvalid, "%s takes %d argument(s), got %d", f.name, n, len(args))
		}
		return nil
	}
	switch f.name {
	case "COALESCE":
		if len(args) == 0 {
			return nil, errf(types.ErrInvalid, "COALESCE needs at least one argument")
		}
		t, err := unify(args, f.args, "COALESCE")
		if err != nil {
			return nil, err
		}
		return &coalesceB{args: args, t: t}, nil
	case "UPPER", "LOWER":
		if err := nargs(1); err != nil {
			return nil, err
		}
		if err := needType(f, args[0], types.String); err != nil {
			return nil, err
		}
		conv := strings.ToUpper
		if f.name == "LOWER" {
			conv = strings.ToLower
		}
		return &funcB{args: args, t: types.TString, fn: func(v []types.Value) (types.Value, error) {
			s, _ := v[0].(string)
			return conv(s), nil
		}}, nil
	case "LENGTH", "CHAR_LENGTH":
		if err := nargs(1); err != nil {
			return nil, err
		}
		if k := args[0].Type().Kind; k != types.Bytes {
			if err := needType(f, args[0], types.String); err != nil {
				return nil, err
			}
		}
		return &funcB{args: args, t: types.TInt, fn: func(v []types.Value) (types.Value, error) {
			switch x := v[0].(type) {
			case string:
				return int32(utf8.RuneCountInString(x)), nil
			case []byte:
				return int32(len(x)), nil
			}
			return nil, nil
		}}, nil
	case "ABS":
		if err := nargs(1); err != nil {
			return nil, err
		}
		t := args[0].Type()
		if !isNumeric(t.Kind) && t.Kind != types.KindInvalid {
			return nil, errf(types.ErrInvalid, "ABS needs a numeric argument, got %s in %s", t, f)
		}
		return &funcB{args: args, t: t, fn: func(v []types.Value) (types.Value, error) {
			if compareTyped(v[0], t, int32(0), types.TInt) < 0 {
				return negate(v[0], t, f)
			}
			return v[0], nil
		}}, nil
	case "CURRENT_DATE":
		if err := nargs(0); err != nil {
			return nil, err
		}
		return &constB{v: types.DateOf(b.now), t: types.TDate}, nil
	case "CURRENT_TIMESTAMP", "NOW":
		if err := nargs(0); err != nil {
			return nil, err
		}
		return &constB{v: types.TimestampOf(b.now), t: types.TTimestamp}, nil
	}
	return b.bindMoreFunc(f, args)
}

func needType(f *funcCall, v bexpr, k types.Kind) error {
	if t := v.Type(); t.Kind != k && t.Kind != types.KindInvalid {
		return errf(types.ErrInvalid, "%s needs a %s argument, got %s in %s", f.name, k, t, f)
	}
	return nil
}
