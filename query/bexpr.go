package query

import (
	"github.com/siltdb/silt/types"
)

// Bound expressions: type-checked trees evaluated against one row. Every
// node returns values of the Go type of its static Type() (or nil = NULL),
// so operators never see a value of an unexpected type. Logic follows SQL's
// three-valued rules: NULL is "unknown".

type bexpr interface {
	Type() types.DataType
	Eval(row types.Row) (types.Value, error)
}

// constB is a constant. lit is set when it was written as a literal in the
// statement, which lets comparisons and assignments convert it flexibly.
type constB struct {
	v   types.Value
	t   types.DataType
	lit *literal
}

func (e *constB) Type() types.DataType                { return e.t }
func (e *constB) Eval(types.Row) (types.Value, error) { return e.v, nil }

// colB reads position idx of the row.
type colB struct {
	idx  int
	t    types.DataType
	name string
}

func (e *colB) Type() types.DataType { return e.t }
func (e *colB) Eval(r types.Row) (types.Value, error) {
	if e.idx >= len(r) {
		return nil, errf(types.ErrInvalid, "internal: column %s out of range", e.name)
	}
	return r[e.idx], nil
}

type castB struct {
	x        bexpr
	to       types.DataType
	explicit bool
}

func (e *castB) Type() types.DataType { return e.to }
func (e *castB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	return castValue(v, e.x.Type(), e.to, e.explicit)
}

type arithB struct {
	op   string
	l, r bexpr
	t    types.DataType
	src  expr // printed only in error messages
}

func (e *arithB) Type() types.DataType { return e.t }
func (e *arithB) Eval(r types.Row) (types.Value, error) {
	a, err := e.l.Eval(r)
	if err != nil {
		return nil, err
	}
	b, err := e.r.Eval(r)
	if err != nil || a == nil || b == nil {
		return nil, err
	}
	return evalArith(e.op, a, e.l.Type(), b, e.r.Type(), e.t, e.src)
}

type negB struct {
	x   bexpr
	src expr // printed only in error messages
}

func (e *negB) Type() types.DataType { return e.x.Type() }
func (e *negB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	return negate(v, e.x.Type(), e.src)
}

// concatB is l || r over strings (operands are cast to STRING when bound).
type concatB struct{ l, r bexpr }

func (e *concatB) Type() types.DataType { return types.TString }
func (e *concatB) Eval(r types.Row) (types.Value, error) {
	a, err := e.l.Eval(r)
	if err != nil {
		return nil, err
	}
	b, err := e.r.Eval(r)
	if err != nil || a == nil || b == nil {
		return nil, err
	}
	x, _ := a.(string)
	y, _ := b.(string)
	return x + y, nil
}

// cmpB compares two values of comparable types.
type cmpB struct {
	op   string
	l, r bexpr
}

func (e *cmpB) Type() types.DataType { return types.TBoolean }
func (e *cmpB) Eval(r types.Row) (types.Value, error) {
	a, err := e.l.Eval(r)
	if err != nil {
		return nil, err
	}
	b, err := e.r.Eval(r)
	if err != nil || a == nil || b == nil {
		return nil, err
	}
	c := compareTyped(a, e.l.Type(), b, e.r.Type())
	switch e.op {
	case "=":
		return c == 0, nil
	case "<>":
		return c != 0, nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

// truth converts a BOOLEAN value to three-valued logic.
func truth(v types.Value) (val, known bool) {
	b, ok := v.(bool)
	return b, ok
}

type andB struct{ l, r bexpr }

func (e *andB) Type() types.DataType { return types.TBoolean }
func (e *andB) Eval(r types.Row) (types.Value, error) {
	a, err := e.l.Eval(r)
	if err != nil {
		return nil, err
	}
	av, ak := truth(a)
	if ak && !av {
		return false, nil
	}
	b, err := e.r.Eval(r)
	if err != nil {
		return nil, err
	}
	bv, bk := truth(b)
	switch {
	case bk && !bv:
		return false, nil
	case ak && bk:
		return true, nil
	}
	return nil, nil
}

type orB struct{ l, r bexpr }

func (e *orB) Type() types.DataType { return types.TBoolean }
func (e *orB) Eval(r types.Row) (types.Value, error) {
	a, err := e.l.Eval(r)
	if err != nil {
		return nil, err
	}
	av, ak := truth(a)
	if ak && av {
		return true, nil
	}
	b, err := e.r.Eval(r)
	if err != nil {
		return nil, err
	}
	bv, bk := truth(b)
	switch {
	case bk && bv:
		return true, nil
	case ak && bk:
		return false, nil
	}
	return nil, nil
}

type notB struct{ x bexpr }

func (e *notB) Type() types.DataType { return types.TBoolean }
func (e *notB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil {
		return nil, err
	}
	if b, ok := truth(v); ok {
		return !b, nil
	}
	return nil, nil
}

type isNullB struct {
	x   bexpr
	not bool
}

func (e *isNullB) Type() types.DataType { return types.TBoolean }
func (e *isNullB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil {
		return nil, err
	}
	return (v == nil) != e.not, nil
}

// inB is x [NOT] IN (list): TRUE on a match, else NULL if x or any item is
// NULL, else FALSE (negated for NOT IN).
type inB struct {
	x    bexpr
	list []bexpr
	not  bool
}

func (e *inB) Type() types.DataType { return types.TBoolean }
func (e *inB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	sawNull := false
	for _, it := range e.list {
		w, err := it.Eval(r)
		if err != nil {
			return nil, err
		}
		if w == nil {
			sawNull = true
			continue
		}
		if compareTyped(v, e.x.Type(), w, it.Type()) == 0 {
			return !e.not, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return e.not, nil
}

// likeB is x [NOT] LIKE pattern; pat is precompiled for constant patterns.
type likeB struct {
	x, pattern bexpr
	not        bool
	pat        []likeTok
}

func (e *likeB) Type() types.DataType { return types.TBoolean }
func (e *likeB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	pat := e.pat
	if pat == nil {
		p, err := e.pattern.Eval(r)
		if err != nil || p == nil {
			return nil, err
		}
		ps, _ := p.(string)
		pat = compileLike(ps)
	}
	s, _ := v.(string)
	return likeMatch([]rune(s), pat) != e.not, nil
}

// likeTok is one element of a LIKE pattern: a literal rune, '_' or '%'.
type likeTok struct {
	r         rune
	one, many bool
}

// compileLike parses a LIKE pattern: % matches any run, _ one character,
// and a backslash makes the next character literal.
func compileLike(p string) []likeTok {
	out := []likeTok{}
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; {
		case c == '\\' && i+1 < len(rs):
			i++
			out = append(out, likeTok{r: rs[i]})
		case c == '%':
			if n := len(out); n == 0 || !out[n-1].many {
				out = append(out, likeTok{many: true})
			}
		case c == '_':
			out = append(out, likeTok{one: true})
		default:
			out = append(out, likeTok{r: c})
		}
	}
	return out
}

// likeMatch is the classic wildcard match with single-star backtracking:
// O(len(s)·len(p)) worst case, no recursion.
func likeMatch(s []rune, p []likeTok) bool {
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && !p[pi].many && (p[pi].one || p[pi].r == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi].many:
			starP, starS = pi, si
			pi++
		case starP >= 0:
			starS++
			si, pi = starS, starP+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].many {
		pi++
	}
	return pi == len(p)
}

// coalesceB returns its first non-NULL argument (arguments are cast to t).
type coalesceB struct {
	args []bexpr
	t    types.DataType
}

func (e *coalesceB) Type() types.DataType { return e.t }
func (e *coalesceB) Eval(r types.Row) (types.Value, error) {
	for _, a := range e.args {
		v, err := a.Eval(r)
		if err != nil || v != nil {
			return v, err
		}
	}
	return nil, nil
}

type whenB struct{ cond, result bexpr }

// caseB is a CASE expression. With an operand, each WHEN value is compared
// with it; otherwise each WHEN is a condition.
type caseB struct {
	operand bexpr
	whens   []whenB
	els     bexpr
	t       types.DataType
}

func (e *caseB) Type() types.DataType { return e.t }
func (e *caseB) Eval(r types.Row) (types.Value, error) {
	var op types.Value
	if e.operand != nil {
		var err error
		if op, err = e.operand.Eval(r); err != nil {
			return nil, err
		}
	}
	for _, w := range e.whens {
		c, err := w.cond.Eval(r)
		if err != nil {
			return nil, err
		}
		hit := false
		if e.operand != nil {
			hit = op != nil && c != nil && compareTyped(op, e.operand.Type(), c, w.cond.Type()) == 0
		} else {
			hit, _ = truth(c)
		}
		if hit {
			return w.result.Eval(r)
		}
	}
	if e.els != nil {
		return e.els.Eval(r)
	}
	return nil, nil
}

// funcB is a scalar function over its evaluated arguments; fn is called
// only when no argument is NULL (every scalar function here is strict).
type funcB struct {
	args []bexpr
	t    types.DataType
	fn   func(args []types.Value) (types.Value, error)
}

func (e *funcB) Type() types.DataType { return e.t }
func (e *funcB) Eval(r types.Row) (types.Value, error) {
	vals := make([]types.Value, len(e.args))
	for i, a := range e.args {
		v, err := a.Eval(r)
		if err != nil || v == nil {
			return nil, err
		}
		vals[i] = v
	}
	return e.fn(vals)
}
