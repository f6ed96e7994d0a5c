package query

import (
	"context"
	"errors"
	"strings"

	"github.com/siltdb/silt/types"
)

// Subqueries in expressions: x [NOT] IN (query), EXISTS (query) and a
// scalar (query). They are uncorrelated: each runs once, before the
// statement around it is bound, and binds as the constants it returned.
// A subquery that refers to a column of the outer query is reported as a
// correlated subquery, which is not supported.

type subqueryKind uint8

const (
	subScalar subqueryKind = iota
	subExists
	subIn
)

type subqueryExpr struct {
	pos   position
	kind  subqueryKind
	x     expr // the operand of IN
	not   bool // NOT IN
	query statement
	// res is what the query returned, set by resolveSubqueries.
	res *Result
}

func (e *subqueryExpr) exprPos() position { return e.pos }

func (e *subqueryExpr) String() string {
	q := "(" + e.query.String() + ")"
	switch e.kind {
	case subExists:
		return "EXISTS " + q
	case subIn:
		var b strings.Builder
		writeSub(&b, e.x)
		return b.String() + ifStr(e.not, " NOT") + " IN " + q
	}
	return q
}

// parenQueryAt reports whether the parenthesis at token n opens a query
// (rather than an expression such as ((SELECT 1) + 1) or a list such as
// ((SELECT 1), 2)).
func (p *parser) parenQueryAt(n, depth int) bool {
	t := p.peekN(n)
	if t.kind != tOp || t.text != "(" || depth > maxDepth {
		return false
	}
	in := p.peekN(n + 1)
	if isKwTok(in, "SELECT") || isKwTok(in, "VALUES") || isKwTok(in, "WITH") {
		return true
	}
	if !p.parenQueryAt(n+1, depth+1) {
		return false
	}
	// (( query ) …: a query when what follows the inner query continues
	// a query or closes the outer parenthesis.
	level := 0
	for k := n + 1; ; k++ {
		u := p.peekN(k)
		switch {
		case u.kind == tEOF:
			return false
		case u.kind == tOp && u.text == "(":
			level++
		case u.kind == tOp && u.text == ")":
			if level--; level == 0 {
				after := p.peekN(k + 1)
				return (after.kind == tOp && after.text == ")") || isKwTok(after, "UNION") || isKwTok(after, "INTERSECT") ||
					isKwTok(after, "EXCEPT") || isKwTok(after, "ORDER") || isKwTok(after, "LIMIT") || isKwTok(after, "OFFSET")
			}
		}
	}
}

// subquery parses (query) as an expression of the given kind.
func (p *parser) subquery(kind subqueryKind, pos position) (*subqueryExpr, error) {
	if err := p.term(); err != nil {
		return nil, err
	}
	q, err := p.nested()
	if err != nil {
		return nil, err
	}
	return &subqueryExpr{pos: pos, kind: kind, query: q}, nil
}

// resolveSubqueries runs the subqueries in es (not those nested in other
// subqueries: they run with theirs) and keeps their results for binding.
// outer is the scope of the statement around them, for recognising a
// correlated subquery.
func (e *Engine) resolveSubqueries(ctx context.Context, outer *scope, es ...expr) error {
	var subs []*subqueryExpr
	for _, x := range es {
		walk(x, func(n expr) bool {
			if s, ok := n.(*subqueryExpr); ok && s.res == nil {
				subs = append(subs, s)
			}
			return true
		})
	}
	for _, s := range subs {
		res, err := e.collectSubquery(ctx, s)
		if err != nil {
			if ref := outerRef(s.query, outer, err); ref != "" {
				return errf(types.ErrInvalid, "correlated subqueries are not supported: the subquery at %s refers to %s of the outer query; rewrite it as a join", s.pos, ref)
			}
			return err
		}
		if len(res.Columns) != 1 && s.kind != subExists {
			return errf(types.ErrInvalid, "the subquery at %s returns %d columns; %s needs exactly one", s.pos, len(res.Columns),
				ifStr(s.kind == subIn, "IN (SELECT …)")+ifStr(s.kind == subScalar, "a scalar subquery"))
		}
		if s.kind == subScalar && len(res.Rows) > 1 {
			return errf(types.ErrInvalid, "the scalar subquery at %s returned %d rows; it must return at most one (add LIMIT 1 or an aggregate)", s.pos, len(res.Rows))
		}
		s.res = res
	}
	return nil
}

// outerRef names a column that query refers to and outer has, when err
// is an unknown column or table, or returns "".
func outerRef(q statement, outer *scope, err error) string {
	if outer == nil || !errors.Is(err, types.ErrInvalid) {
		return ""
	}
	msg := err.Error()
	if !strings.Contains(msg, "unknown column") && !strings.Contains(msg, "unknown table or alias") {
		return ""
	}
	found := ""
	visitQueryExprs(q, func(x expr) {
		walk(x, func(n expr) bool {
			c, ok := n.(*columnRef)
			if !ok || found != "" {
				return found == ""
			}
			named := strings.Contains(msg, `"`+c.name+`"`) || (c.qual != "" && strings.Contains(msg, `"`+c.qual+`"`))
			if i, _ := outer.find(c.qual, c.name); i >= 0 && named {
				found = c.String()
			}
			return found == ""
		})
	})
	return found
}

// visitQueryExprs calls f on the expressions of q's SELECTs (not of its
// nested subqueries).
func visitQueryExprs(q statement, f func(expr)) {
	switch x := q.(type) {
	case *selectStmt:
		for _, e := range selectExprs(x) {
			f(e)
		}
	case *setOpStmt:
		visitQueryExprs(x.l, f)
		visitQueryExprs(x.r, f)
	case *withStmt:
		visitQueryExprs(x.body, f)
	}
}

// selectExprs lists the expressions of a SELECT outside its FROM clause.
func selectExprs(s *selectStmt) []expr {
	var out []expr
	for _, it := range s.items {
		if it.expr != nil {
			out = append(out, it.expr)
		}
	}
	out = append(out, s.where)
	out = append(out, s.groupBy...)
	out = append(out, s.having)
	for _, o := range s.orderBy {
		out = append(out, o.expr)
	}
	return out
}

// bindSubquery binds a resolved subquery as constants.
func (b *binder) bindSubquery(x *subqueryExpr) (bexpr, error) {
	if x.res == nil {
		return nil, errf(types.ErrInvalid, "subqueries are not supported in %s of this statement; only in queries", b.clause)
	}
	res := x.res
	switch x.kind {
	case subExists:
		return &constB{v: len(res.Rows) > 0, t: types.TBoolean}, nil
	case subScalar:
		t := res.Columns[0].Type
		if len(res.Rows) == 0 {
			return &constB{t: t}, nil
		}
		return &constB{v: res.Rows[0][0], t: t}, nil
	}
	v, err := b.bind(x.x)
	if err != nil {
		return nil, err
	}
	t := res.Columns[0].Type
	if len(res.Rows) == 0 { // x IN (empty) is FALSE even for a NULL x
		return &constB{v: x.not, t: types.TBoolean}, nil
	}
	if err := checkComparable(v, x.x, &constB{t: t}, x); err != nil {
		return nil, err
	}
	// Items of x's own type let the executor use a hash set.
	to := t
	if vt := v.Type(); !vt.Equal(t) && implicitOK(t, vt) && vt.Kind != types.KindInvalid {
		to = vt
	}
	vals := make([]types.Value, len(res.Rows))
	for i, row := range res.Rows {
		vals[i] = row[0]
	}
	if !to.Equal(t) {
		cast := make([]types.Value, len(vals))
		for i, item := range vals {
			c, err := castValue(item, t, to, false)
			if err != nil {
				cast, to = nil, t
				break
			}
			cast[i] = c
		}
		if cast != nil {
			vals = cast
		}
	}
	if b.sc.ext != nil && len(vals) >= minInSet && to.Equal(v.Type()) && hashableIn(to) {
		// Over several relations the row engine runs: a hash set keeps a
		// long list from costing its length per row.
		set := &inSetB{x: v, not: x.not, set: make(map[string]struct{}, len(vals))}
		for _, item := range vals {
			if item == nil {
				set.hasNull = true
				continue
			}
			set.set[string(appendValueKey(nil, item))] = struct{}{}
		}
		return set, nil
	}
	out := &inB{x: v, not: x.not, list: make([]bexpr, len(vals))}
	for i, item := range vals {
		out.list[i] = &constB{v: item, t: to}
	}
	return out, nil
}

// hashableIn reports whether equal values of type t have equal keys
// (appendValueKey) and different values different keys.
func hashableIn(t types.DataType) bool {
	switch t.Kind {
	case types.Boolean, types.Int, types.BigInt, types.String, types.Bytes, types.DateKind, types.TimestampKind, types.DecimalKind:
		return true
	}
	return false
}

// inSetB is x [NOT] IN (constants of x's type) by a hash set, with the
// NULL rules of inB.
type inSetB struct {
	x       bexpr
	not     bool
	set     map[string]struct{}
	hasNull bool
}

func (e *inSetB) Type() types.DataType { return types.TBoolean }
func (e *inSetB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	if _, ok := e.set[string(appendValueKey(nil, v))]; ok {
		return !e.not, nil
	}
	if e.hasNull {
		return nil, nil
	}
	return e.not, nil
}

// collectSubquery runs a subquery, recording its plan when the statement
// is being explained.
func (e *Engine) collectSubquery(ctx context.Context, s *subqueryExpr) (*Result, error) {
	run := explainOf(ctx)
	if run == nil {
		return e.collectQuery(ctx, s.query)
	}
	qp, err := e.planQuery(ctx, s.query)
	if err != nil {
		return nil, err
	}
	text := s.String()
	if len(text) > 60 {
		text = text[:57] + "..."
	}
	run.subs = append(run.subs, explainedSub{text: text, qp: qp})
	return e.collectPlanned(ctx, qp)
}
