package query

import (
	"strconv"

	"github.com/siltdb/silt/types"
)

// unnest() in the select list (DuckDB, Postgres): SELECT id, unnest(a)
// FROM t gives one row per element of a, the other items repeated. It is
// planned as FROM t, UNNEST(a) with the calls replaced by the columns
// UNNEST gives: several calls are zipped (the shorter padded with NULLs,
// as DuckDB and Postgres 10 do), and a row whose arrays are all NULL or
// empty gives no rows. Each call takes one ARRAY; its elements are the
// column as they are (an ARRAY of ROWs gives ROWs). Grouping happens
// before a select list is computed, so unnest() cannot be combined with
// GROUP BY, HAVING, aggregates or window functions: unnest in FROM
// instead.

// unnestQual qualifies the hidden columns of a select list's unnest()
// calls; no query can name it unquoted.
const unnestQual = "unnest()"

// isUnnestCall reports whether e is a call of unnest().
func isUnnestCall(e expr) bool {
	f, ok := e.(*funcCall)
	return ok && f.name == "UNNEST" && f.over == nil
}

// selectUnnests returns the unnest() calls of s's select list and ORDER
// BY (not of its subqueries).
func selectUnnests(s *selectStmt) []*funcCall {
	var out []*funcCall
	visit := func(e expr) {
		walk(e, func(n expr) bool {
			if isUnnestCall(n) {
				out = append(out, n.(*funcCall))
				return false
			}
			return true
		})
	}
	for _, it := range s.items {
		if !it.star {
			visit(it.expr)
		}
	}
	for _, o := range s.orderBy {
		visit(o.expr)
	}
	return out
}

// rewriteSelectUnnest returns s with the unnest() calls of its select
// list moved into FROM, or s itself when it has none. s is not changed.
func rewriteSelectUnnest(s *selectStmt) (*selectStmt, error) {
	calls := selectUnnests(s)
	if len(calls) == 0 {
		return s, nil
	}
	if len(s.groupBy) > 0 || s.having != nil {
		return nil, errf(types.ErrInvalid, "unnest() in the select list cannot be combined with GROUP BY or HAVING; unnest in FROM instead: FROM t, UNNEST(t.a) AS u(x)")
	}
	for _, it := range s.items {
		if !it.star && (containsAggregate(it.expr) || containsWindow(it.expr)) {
			return nil, errf(types.ErrInvalid, "unnest() in the select list cannot be combined with aggregates or window functions (%s); unnest in FROM instead: FROM t, UNNEST(t.a) AS u(x)", it.expr)
		}
	}
	u := &unnestRef{pos: calls[0].pos, flat: true}
	col := map[string]string{} // call text -> hidden column
	var cols []string
	for _, c := range calls {
		if len(c.args) != 1 || c.distinct || c.star {
			return nil, errf(types.ErrInvalid, "unnest() in the select list takes one ARRAY, got %s; to zip several, call unnest() for each or use FROM … UNNEST(a, b)", c)
		}
		if !walk(c.args[0], func(x expr) bool { return !isUnnestCall(x) }) {
			return nil, errf(types.ErrInvalid, "unnest() cannot be nested in %s; unnest the inner array in FROM first", c)
		}
		key := c.String()
		if _, ok := col[key]; ok {
			continue
		}
		name := strconv.Itoa(len(cols) + 1)
		col[key] = name
		cols = append(cols, name)
		u.args = append(u.args, c.args[0])
	}
	repl := func(e expr) expr {
		return mapExpr(e, func(n expr) (expr, bool) {
			if !isUnnestCall(n) {
				return nil, false
			}
			return &columnRef{pos: n.exprPos(), qual: unnestQual, name: col[n.String()]}, true
		})
	}
	out := *s
	out.items = make([]selectItem, len(s.items))
	for i, it := range s.items {
		if !it.star {
			if it.alias == "" {
				it.alias = it.expr.String()
			}
			it.expr = repl(it.expr)
		}
		out.items[i] = it
	}
	out.orderBy = make([]orderItem, len(s.orderBy))
	for i, o := range s.orderBy {
		o.expr = repl(o.expr)
		out.orderBy[i] = o
	}
	ref := &tableRef{name: tableName{pos: u.pos}, unnest: u, alias: unnestQual, colAliases: cols}
	out.from = ref
	if s.from != nil {
		out.from = &tableRef{name: tableName{pos: u.pos}, join: &joinRef{pos: u.pos, kind: joinCross, comma: true, left: s.from, right: ref}}
	}
	return &out, nil
}

// containsWindow reports whether e calls a window function.
func containsWindow(e expr) bool {
	return !walk(e, func(x expr) bool {
		f, ok := x.(*funcCall)
		return !ok || f.over == nil
	})
}

// mapExpr returns e with each node f replaces (ok) replaced, copying the
// nodes above a replacement and sharing the rest. It does not enter
// subqueries, nor the FILTER, ORDER BY and OVER of calls.
func mapExpr(e expr, f func(expr) (expr, bool)) expr {
	if e == nil {
		return nil
	}
	if r, ok := f(e); ok {
		return r
	}
	m := func(x expr) expr { return mapExpr(x, f) }
	list := func(xs []expr) []expr {
		out := make([]expr, len(xs))
		for i, x := range xs {
			out[i] = m(x)
		}
		return out
	}
	switch x := e.(type) {
	case *unaryExpr:
		c := *x
		c.x = m(x.x)
		return &c
	case *binaryExpr:
		c := *x
		c.l, c.r = m(x.l), m(x.r)
		return &c
	case *inExpr:
		c := *x
		c.x, c.list = m(x.x), list(x.list)
		return &c
	case *betweenExpr:
		c := *x
		c.x, c.lo, c.hi = m(x.x), m(x.lo), m(x.hi)
		return &c
	case *isNullExpr:
		c := *x
		c.x = m(x.x)
		return &c
	case *likeExpr:
		c := *x
		c.x, c.pattern = m(x.x), m(x.pattern)
		return &c
	case *castExpr:
		c := *x
		c.x = m(x.x)
		return &c
	case *funcCall:
		c := *x
		c.args = list(x.args)
		return &c
	case *subqueryExpr:
		if x.kind == subIn {
			c := *x
			c.x = m(x.x)
			return &c
		}
	case *caseExpr:
		c := *x
		c.operand, c.els = m(x.operand), m(x.els)
		c.whens = make([]whenClause, len(x.whens))
		for i, w := range x.whens {
			c.whens[i] = whenClause{cond: m(w.cond), result: m(w.result)}
		}
		return &c
	}
	return e
}
