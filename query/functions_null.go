package query

import (
	"github.com/siltdb/silt/types"
)

// NULL handling: NULLIF(a, b) is NULL when a = b, else a; IFNULL(a, b) is
// COALESCE(a, b); GREATEST and LEAST ignore NULLs (NULL only when every
// argument is), as in DuckDB and PostgreSQL.

func bindNullFunc(f *funcCall, args []bexpr) (bexpr, bool, error) {
	switch f.name {
	case "NULLIF":
		if err := argCount(f, args, 2, 2); err != nil {
			return nil, true, err
		}
		t, err := unify(args, f.args, "NULLIF")
		if err != nil {
			return nil, true, err
		}
		// CASE WHEN a = b THEN NULL ELSE a END, its definition in the
		// SQL standard, which runs on the CASE kernel.
		return &caseB{whens: []whenB{{cond: &cmpB{op: "=", l: args[0], r: args[1]}, result: &constB{t: t}}}, els: args[0], t: t}, true, nil
	case "IFNULL":
		if err := argCount(f, args, 2, 2); err != nil {
			return nil, true, err
		}
		t, err := unify(args, f.args, "IFNULL")
		if err != nil {
			return nil, true, err
		}
		return &coalesceB{args: args, t: t}, true, nil
	case "GREATEST", "LEAST":
		if err := argCount(f, args, 1, 1<<30); err != nil {
			return nil, true, err
		}
		t, err := unify(args, f.args, f.name)
		if err != nil {
			return nil, true, err
		}
		if len(args) == 2 {
			// CASE WHEN b IS NULL THEN a WHEN a IS NULL THEN b WHEN b > a
			// THEN b ELSE a END (< for LEAST): what extremeB computes, on
			// the CASE kernel.
			op := ">"
			if f.name == "LEAST" {
				op = "<"
			}
			a, b := args[0], args[1]
			return &caseB{whens: []whenB{
				{cond: &isNullB{x: b}, result: a},
				{cond: &isNullB{x: a}, result: b},
				{cond: &cmpB{op: op, l: b, r: a}, result: b},
			}, els: a, t: t}, true, nil
		}
		return &extremeB{args: args, t: t, greatest: f.name == "GREATEST"}, true, nil
	}
	return nil, false, nil
}

// extremeB is GREATEST or LEAST over arguments unified to t.
type extremeB struct {
	args     []bexpr
	t        types.DataType
	greatest bool
}

func (e *extremeB) Type() types.DataType { return e.t }
func (e *extremeB) Eval(r types.Row) (types.Value, error) {
	var best types.Value
	for _, a := range e.args {
		v, err := a.Eval(r)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		if best == nil {
			best = v
			continue
		}
		c := compareTyped(v, e.t, best, e.t)
		if (e.greatest && c > 0) || (!e.greatest && c < 0) {
			best = v
		}
	}
	return best, nil
}
