package query

import (
	"context"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// Binding turns syntax-tree expressions into type-checked bound
// expressions over a scope of columns, reporting unknown columns and type
// mismatches with the offending expression's text.

type scopeCol struct {
	name string
	t    types.DataType
}

// scope is the set of columns an expression can refer to.
type scope struct {
	cols  []scopeCol
	quals []string // names columns may be qualified with (table, alias)
	// where names the column source in messages: "in table db.t".
	where string
	// ext, in a scope of several relations (relscope.go), qualifies each
	// column; nil for one table.
	ext []colExt
	// star lists the columns * expands to, in order; nil means all.
	star []int
}

func (s *scope) lookup(name string) int {
	i, _ := s.find("", name)
	return i
}

// binder binds expressions in one clause of a statement. Binding is linear
// in the size of the expression: nothing is printed unless it goes into an
// error message.
type binder struct {
	// ctx, when set, is checked every checkEvery nodes, so that a canceled
	// statement stops binding.
	ctx   context.Context
	nodes int // nodes bound so far
	sc    *scope
	now   time.Time
	// rand is the engine's random source (gen_random_uuid); nil where a
	// clause takes no volatile functions.
	rand   io.Reader
	clause string // "WHERE", "VALUES", … for messages
	// hook, when set, is offered every node before the default binding; it
	// binds aggregates and GROUP BY expressions in aggregate queries.
	hook func(e expr) (bexpr, bool, error)
}

// tick counts one node and checks the context now and then.
func (b *binder) tick() error {
	b.nodes++
	if b.nodes%checkEvery == 0 && b.ctx != nil {
		return b.ctx.Err()
	}
	return nil
}

func (b *binder) resolve(c *columnRef) (int, error) {
	if c.qual != "" {
		known := false
		for _, q := range b.sc.quals {
			if q == c.qual {
				known = true
			}
		}
		if !known {
			return -1, errf(types.ErrInvalid, "unknown table or alias %q in %s", c.qual, c)
		}
	}
	i, err := b.sc.find(c.qual, c.name)
	if err != nil {
		return -1, err
	}
	if i < 0 {
		return -1, errf(types.ErrInvalid, "unknown column %q %s%s", c.name, b.sc.where, b.sc.columnHint(c.name))
	}
	return i, nil
}

func (b *binder) bind(e expr) (bexpr, error) {
	if err := b.tick(); err != nil {
		return nil, err
	}
	if b.hook != nil {
		if be, ok, err := b.hook(e); ok || err != nil {
			return be, err
		}
	}
	switch x := e.(type) {
	case *literal:
		return &constB{v: x.val, t: x.typ, lit: x}, nil
	case *columnRef:
		i, err := b.resolve(x)
		if err != nil {
			if fb, ok, ferr := b.bindFieldRef(x); ok { // r.f of a ROW column
				return fb, ferr
			}
			return nil, err
		}
		return &colB{idx: i, t: b.sc.cols[i].t, name: b.sc.cols[i].name}, nil
	case *unaryExpr:
		v, err := b.bind(x.x)
		if err != nil {
			return nil, err
		}
		if x.op == "NOT" {
			if err := needBool(v, "NOT", x.x); err != nil {
				return nil, err
			}
			return &notB{x: v}, nil
		}
		if t := v.Type(); !isNumeric(t.Kind) && t.Kind != types.KindInvalid {
			return nil, errf(types.ErrInvalid, "operator %s needs a numeric operand, got %s in %s", x.op, t, x)
		}
		if x.op == "+" {
			return v, nil
		}
		return &negB{x: v, src: x}, nil
	case *binaryExpr:
		return b.bindBinary(x)
	case *inExpr:
		v, err := b.bind(x.x)
		if err != nil {
			return nil, err
		}
		out := &inB{x: v, not: x.not}
		for _, it := range x.list {
			w, err := b.bind(it)
			if err != nil {
				return nil, err
			}
			if w, err = matchOperand(v, x.x, w, it); err != nil {
				return nil, err
			}
			out.list = append(out.list, w)
		}
		return out, nil
	case *betweenExpr:
		v, err := b.bind(x.x)
		if err != nil {
			return nil, err
		}
		lo, err := b.bindCompare(">=", v, x.x, x.lo)
		if err != nil {
			return nil, err
		}
		hi, err := b.bindCompare("<=", v, x.x, x.hi)
		if err != nil {
			return nil, err
		}
		var out bexpr = &andB{l: lo, r: hi}
		if x.not {
			out = &notB{x: out}
		}
		return out, nil
	case *isNullExpr:
		v, err := b.bind(x.x)
		if err != nil {
			return nil, err
		}
		return &isNullB{x: v, not: x.not}, nil
	case *likeExpr:
		return b.bindLike(x)
	case *castExpr:
		v, err := b.bind(x.x)
		if err != nil {
			return nil, err
		}
		if !castable(v.Type(), x.typ) {
			return nil, errf(types.ErrInvalid, "cannot CAST %s AS %s in %s", v.Type(), x.typ, x)
		}
		out := &castB{x: v, to: x.typ, explicit: true}
		if _, ok := v.(*constB); ok { // fold, so bad literals fail before any work
			cv, err := out.Eval(nil)
			if err != nil {
				return nil, err
			}
			return &constB{v: cv, t: x.typ}, nil
		}
		if v.Type().Equal(x.typ) {
			return v, nil
		}
		return out, nil
	case *funcCall:
		if x.over != nil {
			return nil, errWindowPlace(x, b.clause)
		}
		if isAggregate(x.name) {
			return nil, errf(types.ErrInvalid, "aggregate function %s is not allowed in %s", x.name, b.clause)
		}
		return b.bindFunc(x)
	case *caseExpr:
		return b.bindCase(x)
	case *subqueryExpr:
		return b.bindSubquery(x)
	case *scopeColRef:
		return &colB{idx: x.idx, t: b.sc.cols[x.idx].t, name: b.sc.cols[x.idx].name}, nil
	case *intervalLit:
		return nil, errIntervalPlace(x)
	}
	return nil, errf(types.ErrInvalid, "internal: cannot bind %T", e)
}

func needBool(v bexpr, what string, e expr) error {
	if t := v.Type(); t.Kind != types.Boolean && t.Kind != types.KindInvalid {
		return errf(types.ErrInvalid, "%s needs a BOOLEAN operand, got %s in %s", what, t, e)
	}
	return nil
}

func (b *binder) bindBinary(x *binaryExpr) (bexpr, error) {
	if out, ok, err := b.bindIntervalArith(x); ok {
		return out, err
	}
	l, err := b.bind(x.l)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "=", "<>", "<", "<=", ">", ">=":
		return b.bindCompare(x.op, l, x.l, x.r)
	}
	r, err := b.bind(x.r)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "AND", "OR":
		if err := needBool(l, x.op, x.l); err != nil {
			return nil, err
		}
		if err := needBool(r, x.op, x.r); err != nil {
			return nil, err
		}
		if x.op == "AND" {
			return &andB{l: l, r: r}, nil
		}
		return &orB{l: l, r: r}, nil
	case "||":
		return &concatB{l: toString(l), r: toString(r)}, nil
	}
	if out, ok, err := bindDateArith(x, l, r); ok {
		return out, err
	}
	t, ok := arithType(x.op, l.Type(), r.Type())
	if !ok {
		return nil, errf(types.ErrInvalid, "operator %s needs numeric operands, got %s and %s in %s",
			x.op, typeName(l.Type()), typeName(r.Type()), x)
	}
	return &arithB{op: x.op, l: l, r: r, t: t, src: x}, nil
}

func toString(v bexpr) bexpr {
	if v.Type().Kind == types.String {
		return v
	}
	if c, ok := v.(*constB); ok && c.v == nil {
		return &constB{t: types.TString}
	}
	return &castB{x: v, to: types.TString, explicit: true}
}

// bindCompare binds "l op r" where l is already bound.
func (b *binder) bindCompare(op string, l bexpr, le expr, re expr) (bexpr, error) {
	r, err := b.bind(re)
	if err != nil {
		return nil, err
	}
	if r, err = coerceOperand(l, le, r, re); err != nil {
		return nil, err
	}
	if l, err = coerceOperand(r, re, l, le); err != nil {
		return nil, err
	}
	if err := checkComparable(l, le, r, re); err != nil {
		return nil, err
	}
	return &cmpB{op: op, l: l, r: r}, nil
}

// isLit reports whether v is a literal written in the statement.
func isLit(v bexpr) (*constB, bool) {
	c, ok := v.(*constB)
	return c, ok && c.lit != nil && c.lit.kind != litNull
}

// coerceOperand prepares w for comparison with v: a literal w is converted
// to v's type by the literal rules (a string literal must parse; a number
// that does not fit is left to numeric promotion).
func coerceOperand(v bexpr, ve expr, w bexpr, we expr) (bexpr, error) {
	t := v.Type()
	c, ok := isLit(w)
	if !ok || t.Kind == types.KindInvalid || c.t.Equal(t) {
		return w, nil
	}
	if _, vLit := isLit(v); vLit && c.lit.kind != litString {
		return w, nil
	}
	cv, err := coerceLiteral(c.lit, t)
	switch {
	case err == nil:
		return &constB{v: cv, t: t, lit: c.lit}, nil
	case c.lit.kind == litString:
		return nil, errf(types.ErrInvalid, "type mismatch: cannot compare %s (%s) with %s: not a valid %s", ve, t, we, t)
	}
	return w, nil
}

func checkComparable(v bexpr, ve expr, w bexpr, we expr) error {
	if !canCompare(v.Type(), w.Type()) {
		return errf(types.ErrInvalid, "type mismatch: cannot compare %s (%s) with %s (%s)", ve, typeName(v.Type()), we, typeName(w.Type()))
	}
	return nil
}

// matchOperand coerces w to v and checks that they can be compared.
func matchOperand(v bexpr, ve expr, w bexpr, we expr) (bexpr, error) {
	w, err := coerceOperand(v, ve, w, we)
	if err != nil {
		return nil, err
	}
	return w, checkComparable(v, ve, w, we)
}

func (b *binder) bindLike(x *likeExpr) (bexpr, error) {
	v, err := b.bind(x.x)
	if err != nil {
		return nil, err
	}
	p, err := b.bind(x.pattern)
	if err != nil {
		return nil, err
	}
	for _, o := range []struct {
		v bexpr
		e expr
	}{{v, x.x}, {p, x.pattern}} {
		if t := o.v.Type(); t.Kind != types.String && t.Kind != types.KindInvalid {
			return nil, errf(types.ErrInvalid, "LIKE needs STRING operands, got %s for %s", t, o.e)
		}
	}
	out := &likeB{x: v, pattern: p, not: x.not}
	if c, ok := p.(*constB); ok {
		if s, ok := c.v.(string); ok {
			out.pat = compileLike(s)
		}
	}
	return out, nil
}

func (b *binder) bindCase(x *caseExpr) (bexpr, error) {
	out := &caseB{}
	var err error
	if x.operand != nil {
		if out.operand, err = b.bind(x.operand); err != nil {
			return nil, err
		}
	}
	var results []bexpr
	var resultExprs []expr
	for _, w := range x.whens {
		c, err := b.bind(w.cond)
		if err != nil {
			return nil, err
		}
		if out.operand != nil {
			if c, err = matchOperand(out.operand, x.operand, c, w.cond); err != nil {
				return nil, err
			}
		} else if err := needBool(c, "WHEN", w.cond); err != nil {
			return nil, err
		}
		r, err := b.bind(w.result)
		if err != nil {
			return nil, err
		}
		out.whens = append(out.whens, whenB{cond: c})
		results, resultExprs = append(results, r), append(resultExprs, w.result)
	}
	if x.els != nil {
		r, err := b.bind(x.els)
		if err != nil {
			return nil, err
		}
		results, resultExprs = append(results, r), append(resultExprs, x.els)
	}
	if out.t, err = unify(results, resultExprs, "CASE"); err != nil {
		return nil, err
	}
	for i := range out.whens {
		out.whens[i].result = results[i]
	}
	if x.els != nil {
		out.els = results[len(results)-1]
	}
	return out, nil
}

// unify converts the expressions in vs (in place) to one common type:
// literals adapt to the other expressions, the others are widened.
func unify(vs []bexpr, es []expr, what string) (types.DataType, error) {
	t := nullType
	var first expr
	merge := func(v bexpr, e expr) error {
		nt, ok := commonType(t, v.Type())
		if !ok {
			return errf(types.ErrInvalid, "%s has incompatible types %s (%s) and %s (%s)", what, typeName(t), first, v.Type(), e)
		}
		if t.Kind == types.KindInvalid {
			first = e
		}
		t = nt
		return nil
	}
	for i, v := range vs {
		if _, ok := isLit(v); !ok && v.Type().Kind != types.KindInvalid {
			if err := merge(v, es[i]); err != nil {
				return t, err
			}
		}
	}
	for i, v := range vs {
		c, ok := isLit(v)
		if !ok {
			continue
		}
		if t.Kind != types.KindInvalid {
			if cv, err := coerceLiteral(c.lit, t); err == nil {
				vs[i] = &constB{v: cv, t: t, lit: c.lit}
				continue
			}
		}
		if err := merge(v, es[i]); err != nil {
			return t, err
		}
	}
	for i, v := range vs {
		if !v.Type().Equal(t) {
			if c, ok := v.(*constB); ok && c.v == nil {
				vs[i] = &constB{t: t}
				continue
			}
			vs[i] = &castB{x: v, to: t}
		}
	}
	return t, nil
}

// walk calls f on e and its sub-expressions, depth first, until f returns
// false.
func walk(e expr, f func(expr) bool) bool {
	if e == nil {
		return true
	}
	if !f(e) {
		return false
	}
	for _, c := range children(e) {
		if !walk(c, f) {
			return false
		}
	}
	return true
}

func children(e expr) []expr {
	switch x := e.(type) {
	case *unaryExpr:
		return []expr{x.x}
	case *binaryExpr:
		return []expr{x.l, x.r}
	case *inExpr:
		return append([]expr{x.x}, x.list...)
	case *betweenExpr:
		return []expr{x.x, x.lo, x.hi}
	case *isNullExpr:
		return []expr{x.x}
	case *likeExpr:
		return []expr{x.x, x.pattern}
	case *castExpr:
		return []expr{x.x}
	case *funcCall:
		if x.filter == nil && x.order == nil && x.over == nil {
			return x.args
		}
		return append(append([]expr(nil), x.args...), callKids(x)...)
	case *subqueryExpr:
		if x.kind == subIn {
			return []expr{x.x}
		}
	case *caseExpr:
		var out []expr
		if x.operand != nil {
			out = append(out, x.operand)
		}
		for _, w := range x.whens {
			out = append(out, w.cond, w.result)
		}
		if x.els != nil {
			out = append(out, x.els)
		}
		return out
	}
	return nil
}

func containsAggregate(e expr) bool {
	found := false
	walk(e, func(x expr) bool {
		if f, ok := x.(*funcCall); ok && isAggregate(f.name) && f.over == nil {
			found = true
		}
		return !found
	})
	return found
}

// exprKeys matches expressions up to how their columns are written (a, t.a
// and `A` are the same column), for matching GROUP BY expressions,
// aggregates and ORDER BY items with the select list. Each node's hash is
// computed once, so matching every node of an expression costs time
// linear in its size; equal hashes are confirmed structurally.
type exprKeys struct {
	sc     *scope
	hashes map[expr]uint64
}

func newExprKeys(sc *scope) *exprKeys { return &exprKeys{sc: sc, hashes: map[expr]uint64{}} }

// leafKey is the key text of a column reference or literal ("" for other
// nodes).
func (k *exprKeys) leafKey(e expr) string {
	switch x := e.(type) {
	case *columnRef:
		if i, _ := k.sc.find(x.qual, x.name); i >= 0 {
			return "#" + strconv.Itoa(i)
		}
		return "?" + strings.ToLower(x.String())
	case *scopeColRef:
		return "#" + strconv.Itoa(x.idx)
	case *literal:
		return "=" + x.String()
	case *intervalLit:
		return "i" + x.String()
	}
	return ""
}

// head is the kind and operator of an inner node (its children aside).
func head(e expr) string {
	switch x := e.(type) {
	case *unaryExpr:
		return "u" + x.op
	case *binaryExpr:
		return "b" + x.op
	case *inExpr:
		return "in" + ifStr(x.not, "!")
	case *betweenExpr:
		return "btw" + ifStr(x.not, "!")
	case *isNullExpr:
		return "isnull" + ifStr(x.not, "!")
	case *likeExpr:
		return "like" + ifStr(x.not, "!")
	case *castExpr:
		return "cast " + x.typ.String()
	case *funcCall:
		return "f " + x.name + ifStr(x.star, "*") + ifStr(x.distinct, " distinct") + " " + strconv.Itoa(len(x.args)) + callHead(x)
	case *caseExpr:
		return "case" + ifStr(x.operand != nil, "op") + ifStr(x.els != nil, "else")
	case *subqueryExpr:
		return "sub" + x.String()
	}
	return ""
}

func (k *exprKeys) hash(e expr) uint64 {
	if h, ok := k.hashes[e]; ok {
		return h
	}
	f := fnv.New64a()
	var buf [8]byte
	if leaf := k.leafKey(e); leaf != "" {
		f.Write([]byte(leaf))
	} else {
		f.Write([]byte(head(e)))
		for _, c := range children(e) {
			h := k.hash(c)
			for i := range buf {
				buf[i] = byte(h >> (8 * i))
			}
			f.Write(buf[:])
		}
	}
	h := f.Sum64()
	k.hashes[e] = h
	return h
}

// equal reports whether a and b are the same expression up to how their
// columns are written.
func (k *exprKeys) equal(a, b expr) bool {
	if a == b {
		return true
	}
	if k.hash(a) != k.hash(b) {
		return false
	}
	if la, lb := k.leafKey(a), k.leafKey(b); la != "" || lb != "" {
		return la == lb
	}
	if head(a) != head(b) {
		return false
	}
	ca, cb := children(a), children(b)
	if len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if !k.equal(ca[i], cb[i]) {
			return false
		}
	}
	return true
}

// exprIndex maps expressions, up to exprKeys equality, to numbers.
type exprIndex struct {
	keys   *exprKeys
	byHash map[uint64][]exprAt
}

type exprAt struct {
	e expr
	i int
}

func newExprIndex(keys *exprKeys) *exprIndex {
	return &exprIndex{keys: keys, byHash: map[uint64][]exprAt{}}
}

// find returns the number of an expression equal to e.
func (x *exprIndex) find(e expr) (int, bool) {
	for _, c := range x.byHash[x.keys.hash(e)] {
		if x.keys.equal(c.e, e) {
			return c.i, true
		}
	}
	return 0, false
}

// add numbers e with i unless an equal expression is numbered already.
func (x *exprIndex) add(e expr, i int) {
	if _, ok := x.find(e); !ok {
		h := x.keys.hash(e)
		x.byHash[h] = append(x.byHash[h], exprAt{e, i})
	}
}
