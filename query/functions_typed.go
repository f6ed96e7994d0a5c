package query

import (
	"github.com/siltdb/silt/types"
)

// unaryFnB is a strict function of one value (its other arguments are
// constants, folded into the Go function), with one typed form that both
// the row engine and the kernel (vec_expr_fn.go) call: s2* over a STRING,
// f2f over a DOUBLE, u2* over a DATE or TIMESTAMP as microseconds.
type unaryFnB struct {
	x   bexpr
	t   types.DataType
	s2s func(string) string
	s2b func(string) bool
	s2i func(string) int64
	f2f func(float64) float64
	u2i func(int64) int64   // to BIGINT
	u2f func(int64) float64 // to DOUBLE
	u2u func(int64) int64   // to TIMESTAMP (TIMESTAMP_LTZ when t is)
}

func (e *unaryFnB) Type() types.DataType { return e.t }
func (e *unaryFnB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	switch {
	case e.s2s != nil:
		return e.s2s(v.(string)), nil
	case e.s2b != nil:
		return e.s2b(v.(string)), nil
	case e.s2i != nil:
		return e.s2i(v.(string)), nil
	case e.f2f != nil:
		return e.f2f(v.(float64)), nil
	case e.u2i != nil:
		return e.u2i(tsOf(v)), nil
	case e.u2f != nil:
		return e.u2f(tsOf(v)), nil
	case e.u2u != nil:
		if e.t.Kind == types.TimestampLTZKind {
			return types.TimestampLTZ(e.u2u(tsOf(v))), nil
		}
		return types.Timestamp(e.u2u(tsOf(v))), nil
	}
	return nil, errf(types.ErrInvalid, "internal: a function without a form")
}

// typedOr returns the typed form build makes from the constant values of
// args[1:], or fallback when they are not all non-NULL constants or
// args[0] has not the type the form reads (want).
func typedOr(args []bexpr, fallback bexpr, want types.Kind, build func(consts []types.Value) *unaryFnB) bexpr {
	k := args[0].Type().Kind
	if k != want && !(want == types.DateKind && k == types.TimestampKind) {
		return fallback
	}
	consts := make([]types.Value, 0, len(args)-1)
	for _, a := range args[1:] {
		c, ok := a.(*constB)
		if !ok || c.v == nil {
			return fallback
		}
		consts = append(consts, c.v)
	}
	u := build(consts)
	if u == nil {
		return fallback
	}
	u.x = args[0]
	return u
}

func constInt(v types.Value) int64 {
	n, _ := asInt64(v)
	return n
}
