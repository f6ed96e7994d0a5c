package query

import (
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Queries beyond one SELECT over one table: WITH, set operations
// (UNION, INTERSECT, EXCEPT), VALUES, and the FROM items that compose
// (joins and derived tables). The grammar, lowest precedence first:
//
//	query    := [WITH name [(cols)] AS (query), …] setexpr
//	setexpr  := setterm {UNION|EXCEPT [ALL|DISTINCT] setterm} [ORDER BY …] [LIMIT n] [OFFSET n]
//	setterm  := operand {INTERSECT [ALL|DISTINCT] operand}
//	operand  := SELECT … | VALUES (…), … | (query)
//	from     := item {, item | [INNER|LEFT|RIGHT|FULL [OUTER]|CROSS] JOIN item [ON expr | USING (cols)]}
//	item     := table [time travel] [[AS] alias] | (query) [AS] alias [(cols)]
//	          | [LATERAL] UNNEST(expr, …) [WITH ORDINALITY] [[AS] alias [(cols)]]
//
// A bare SELECT operand parses its own ORDER BY and LIMIT; on the last
// operand of a set operation they are moved to the whole operation, as the
// standard reads them.

type joinKind uint8

const (
	joinInner joinKind = iota
	joinLeft
	joinRight
	joinFull
	joinCross
)

func (k joinKind) String() string {
	return [...]string{"JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"}[k]
}

// joinRef is left JOIN right [ON on | USING (using)]; comma marks the
// FROM a, b form of a cross join.
type joinRef struct {
	pos         position
	kind        joinKind
	comma       bool
	left, right *tableRef
	on          expr
	using       []identAt
	natural     bool // NATURAL: USING the columns both sides name (join_natural.go)
}

// setOpStmt is l op [ALL] r with the ORDER BY, LIMIT and OFFSET of the
// whole operation.
type setOpStmt struct {
	pos     position
	op      string // UNION, INTERSECT, EXCEPT
	all     bool
	l, r    statement
	orderBy []orderItem
	limit   int64 // -1 = none
	offset  int64
}

// valuesStmt is VALUES (…), (…): a constant relation.
type valuesStmt struct {
	pos  position
	rows [][]expr
}

type cteDef struct {
	pos   position
	name  string
	cols  []string
	query statement
	// refs counts the references inlined (cte.go); plan is the plan
	// they share when there are several, and rows its result once read.
	refs int
	plan *queryPlan
	rows []types.Row
	snap int64
	read bool
}

// withStmt is WITH name AS (query), … body (non-recursive).
type withStmt struct {
	pos  position
	ctes []cteDef
	body statement
}

func (s *setOpStmt) stmtPos() position  { return s.pos }
func (s *valuesStmt) stmtPos() position { return s.pos }
func (s *withStmt) stmtPos() position   { return s.pos }

// isQueryStart reports whether a query starts at token n, after any
// opening parentheses.
func (p *parser) isQueryStart(n int) bool {
	for {
		t := p.peekN(n)
		if t.kind == tOp && t.text == "(" {
			n++
			continue
		}
		return isKwTok(t, "SELECT") || isKwTok(t, "VALUES") || isKwTok(t, "WITH")
	}
}

// isAliasStart reports whether a table alias follows (an identifier that
// is neither a time-travel clause nor a keyword that may follow a table).
func (p *parser) isAliasStart() bool {
	return isIdentTok(p.peek()) && !p.isTimeTravel() && !p.isKw("USING") && !p.isKw("NATURAL") &&
		!p.isKw("WINDOW") && !p.isKw("QUALIFY")
}

// nested parses a parenthesised query, counting it as one level of
// nesting so that hostile input cannot exhaust the stack.
func (p *parser) nested() (statement, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	q, err := p.parseQuery()
	p.leave()
	if err != nil {
		return nil, err
	}
	return q, p.expectOp(")")
}

func (p *parser) parseQuery() (statement, error) {
	if !p.isKw("WITH") {
		return p.parseSetExpr()
	}
	t := p.next()
	if p.isKw("RECURSIVE") {
		return nil, syntaxErr(p.peek(), "WITH RECURSIVE is not supported")
	}
	w := &withStmt{pos: t.pos}
	for {
		name, pos, err := p.ident("common table expression name")
		if err != nil {
			return nil, err
		}
		c := cteDef{pos: pos, name: strings.ToLower(name)}
		for _, o := range w.ctes {
			if o.name == c.name {
				return nil, syntaxErr(p.toks[p.i-1], "common table expression %q is defined twice", name)
			}
		}
		if p.isOp("(") {
			ids, err := p.identList("column name")
			if err != nil {
				return nil, err
			}
			c.cols = names(ids)
		}
		if err := p.expectKw("AS"); err != nil {
			return nil, err
		}
		if c.query, err = p.nested(); err != nil {
			return nil, err
		}
		w.ctes = append(w.ctes, c)
		if !p.acceptOp(",") {
			break
		}
	}
	var err error
	if w.body, err = p.parseSetExpr(); err != nil {
		return nil, err
	}
	return w, nil
}

// setOperand is one operand of a set operation; bare is the operand when
// it is an unparenthesised SELECT (whose ORDER BY and LIMIT may belong to
// the whole operation).
func (p *parser) setOperand() (q statement, bare *selectStmt, err error) {
	switch {
	case p.isKw("SELECT"):
		s, err := p.parseSelect()
		return s, s, err
	case p.isKw("VALUES"):
		v, err := p.parseValues()
		return v, nil, err
	case p.isOp("("):
		q, err := p.nested()
		return q, nil, err
	}
	return nil, nil, syntaxErr(p.peek(), "expected SELECT, VALUES or a parenthesised query")
}

func hasOrderLimit(s *selectStmt) bool {
	return s != nil && (len(s.orderBy) > 0 || s.limit >= 0 || s.offset > 0)
}

func (p *parser) isSetOp(ops ...string) bool {
	for _, op := range ops {
		if p.isKw(op) {
			return true
		}
	}
	return false
}

func (p *parser) parseSetExpr() (statement, error) {
	var last *selectStmt
	term := func() (statement, error) {
		l, bare, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		for p.isSetOp("INTERSECT") {
			if hasOrderLimit(bare) {
				return nil, syntaxErr(p.peek(), "ORDER BY, LIMIT and OFFSET apply to the whole set operation; put them after its last operand, or parenthesise the operand they belong to")
			}
			t := p.next()
			all := p.acceptKw("ALL")
			if !all {
				p.acceptKw("DISTINCT")
			}
			r, rb, err := p.setOperand()
			if err != nil {
				return nil, err
			}
			l, bare = &setOpStmt{pos: t.pos, op: "INTERSECT", all: all, l: l, r: r, limit: -1}, rb
		}
		last = bare
		return l, nil
	}
	l, err := term()
	if err != nil {
		return nil, err
	}
	for p.isSetOp("UNION", "EXCEPT") {
		if hasOrderLimit(last) {
			return nil, syntaxErr(p.peek(), "ORDER BY, LIMIT and OFFSET apply to the whole set operation; put them after its last operand, or parenthesise the operand they belong to")
		}
		t := p.next()
		all := p.acceptKw("ALL")
		if !all {
			p.acceptKw("DISTINCT")
		}
		r, err := term()
		if err != nil {
			return nil, err
		}
		l = &setOpStmt{pos: t.pos, op: strings.ToUpper(t.text), all: all, l: l, r: r, limit: -1}
	}
	if so, ok := l.(*setOpStmt); ok && hasOrderLimit(last) {
		so.orderBy, so.limit, so.offset = last.orderBy, last.limit, last.offset
		last.orderBy, last.limit, last.offset = nil, -1, 0
		return l, nil
	}
	if !p.isKw("ORDER") && !p.isKw("LIMIT") && !p.isKw("OFFSET") {
		return l, nil
	}
	// After a parenthesised last operand (or query): ORDER BY and LIMIT
	// of the whole.
	sel := &selectStmt{pos: l.stmtPos(), items: []selectItem{{pos: l.stmtPos(), star: true}}, limit: -1,
		from: &tableRef{name: tableName{pos: l.stmtPos()}, query: l}}
	if err := p.orderLimit(sel); err != nil {
		return nil, err
	}
	if so, ok := l.(*setOpStmt); ok && !hasSetOrder(so) {
		so.orderBy, so.limit, so.offset = sel.orderBy, sel.limit, sel.offset
		return so, nil
	}
	return sel, nil
}

// orderLimit parses [ORDER BY …] [LIMIT n] [OFFSET n [ROW|ROWS]] into s.
func (p *parser) orderLimit(s *selectStmt) error {
	var err error
	if p.acceptKw("ORDER", "BY") {
		for {
			e, err := p.parseExpr()
			if err != nil {
				return err
			}
			o := orderItem{expr: e}
			if p.acceptKw("DESC") {
				o.desc = true
			} else {
				p.acceptKw("ASC")
			}
			if p.acceptKw("NULLS", "FIRST") {
				o.nulls = 1
			} else if p.acceptKw("NULLS", "LAST") {
				o.nulls = 2
			}
			s.orderBy = append(s.orderBy, o)
			if !p.acceptOp(",") {
				break
			}
		}
	}
	if p.acceptKw("LIMIT") {
		if s.limit, err = p.count("LIMIT"); err != nil {
			return err
		}
	}
	if p.acceptKw("OFFSET") {
		if s.offset, err = p.count("OFFSET"); err != nil {
			return err
		}
		if !p.acceptKw("ROWS") {
			p.acceptKw("ROW")
		}
	}
	return nil
}

func (p *parser) parseValues() (*valuesStmt, error) {
	t := p.next() // VALUES
	v := &valuesStmt{pos: t.pos}
	for {
		open := p.peek()
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		row, err := p.exprList()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		if len(v.rows) > 0 && len(row) != len(v.rows[0]) {
			return nil, syntaxErr(open, "VALUES rows must all have the same number of values (%d, then %d)", len(v.rows[0]), len(row))
		}
		v.rows = append(v.rows, row)
		if !p.acceptOp(",") {
			return v, nil
		}
	}
}

// insertQuery parses the query of INSERT … query; a query that is not a
// plain SELECT is read through SELECT * FROM (query).
func (p *parser) insertQuery() (*selectStmt, error) {
	pos := p.peek().pos
	q, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	if s, ok := q.(*selectStmt); ok {
		return s, nil
	}
	return &selectStmt{pos: pos, items: []selectItem{{pos: pos, star: true}}, limit: -1,
		from: &tableRef{name: tableName{pos: pos}, query: q}}, nil
}

// fromClause parses the items of FROM and the joins between them, left to
// right.
func (p *parser) fromClause() (*tableRef, error) {
	l, err := p.fromItem()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		j := &joinRef{pos: t.pos}
		switch {
		case p.acceptOp(","):
			j.kind, j.comma = joinCross, true
		case p.acceptKw("CROSS"):
			j.kind = joinCross
		case p.acceptKw("JOIN"):
			j.kind = joinInner
		case p.acceptKw("INNER"):
			j.kind = joinInner
		case p.acceptKw("LEFT"):
			j.kind = joinLeft
		case p.acceptKw("RIGHT"):
			j.kind = joinRight
		case p.acceptKw("FULL"):
			j.kind = joinFull
		case p.acceptKw("NATURAL"):
			if j.kind, err = p.naturalKind(); err != nil {
				return nil, err
			}
			j.natural = true
		default:
			return l, nil
		}
		if !j.comma && !j.natural && !isKwTok(t, "JOIN") {
			if j.kind == joinLeft || j.kind == joinRight || j.kind == joinFull {
				p.acceptKw("OUTER")
			}
			if err := p.expectKw("JOIN"); err != nil {
				return nil, err
			}
		}
		if j.right, err = p.fromItem(); err != nil {
			return nil, err
		}
		j.left = l
		if j.kind != joinCross && !j.natural {
			switch {
			case p.acceptKw("ON"):
				if j.on, err = p.parseExpr(); err != nil {
					return nil, err
				}
			case p.acceptKw("USING"):
				if j.using, err = p.identList("column name"); err != nil {
					return nil, err
				}
			default:
				return nil, syntaxErr(p.peek(), "expected ON or USING after %s", j.kind)
			}
		}
		l = &tableRef{name: tableName{pos: t.pos}, join: j}
	}
}

// fromItem parses one table, derived table or UNNEST.
func (p *parser) fromItem() (*tableRef, error) {
	if p.isUnnestStart() {
		return p.unnestItem()
	}
	if !p.isOp("(") {
		return p.tableRef()
	}
	t := p.peek()
	if !p.isQueryStart(1) {
		return nil, syntaxErr(t, "expected a query in parentheses (parenthesised joins are not supported)")
	}
	q, err := p.nested()
	if err != nil {
		return nil, err
	}
	r := &tableRef{name: tableName{pos: t.pos}, query: q}
	if p.acceptKw("AS") || p.isAliasStart() {
		a, _, err := p.ident("alias of the subquery")
		if err != nil {
			return nil, err
		}
		r.alias = strings.ToLower(a)
		if p.isOp("(") {
			ids, err := p.identList("column name")
			if err != nil {
				return nil, err
			}
			r.colAliases = names(ids)
		}
	}
	if p.isTimeTravel() {
		return nil, syntaxErr(p.peek(), "time travel applies to a table, not to a subquery; put it after the table inside")
	}
	return r, nil
}

// String prints a FROM item.
func (r *tableRef) String() string {
	var b strings.Builder
	switch {
	case r.join != nil:
		j := r.join
		b.WriteString(j.left.String())
		if j.comma {
			b.WriteString(", ")
		} else {
			b.WriteString(" " + ifStr(j.natural, "NATURAL ") + j.kind.String() + " ")
		}
		b.WriteString(j.right.String())
		if j.on != nil {
			b.WriteString(" ON " + j.on.String())
		}
		if len(j.using) > 0 {
			b.WriteString(" USING (" + identList(names(j.using)) + ")")
		}
		return b.String()
	case r.query != nil:
		b.WriteString("(" + r.query.String() + ")")
	case r.fn != nil:
		b.WriteString(r.fn.String())
	case r.unnest != nil:
		b.WriteString(r.unnest.String())
	default:
		b.WriteString(r.name.String())
	}
	if r.alias != "" {
		b.WriteString(" AS " + quoteIdent(r.alias))
		if len(r.colAliases) > 0 {
			b.WriteString(" (" + identList(r.colAliases) + ")")
		}
	}
	if r.asOf != nil {
		b.WriteString(" " + r.asOf.String())
	}
	return b.String()
}

func (s *setOpStmt) String() string {
	var b strings.Builder
	operand := func(q statement) {
		paren := false
		switch x := q.(type) {
		case *setOpStmt, *withStmt:
			paren = true
		case *selectStmt:
			paren = hasOrderLimit(x)
		}
		if paren {
			b.WriteString("(" + q.String() + ")")
		} else {
			b.WriteString(q.String())
		}
	}
	operand(s.l)
	b.WriteString(" " + s.op + ifStr(s.all, " ALL") + " ")
	operand(s.r)
	writeOrderLimit(&b, s.orderBy, s.limit, s.offset)
	return b.String()
}

// writeOrderLimit prints ORDER BY, LIMIT and OFFSET.
func writeOrderLimit(b *strings.Builder, orderBy []orderItem, limit, offset int64) {
	for i, o := range orderBy {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(o.expr.String() + ifStr(o.desc, " DESC"))
		switch o.nulls {
		case 1:
			b.WriteString(" NULLS FIRST")
		case 2:
			b.WriteString(" NULLS LAST")
		}
	}
	if limit >= 0 {
		b.WriteString(" LIMIT " + strconv.FormatInt(limit, 10))
	}
	if offset > 0 {
		b.WriteString(" OFFSET " + strconv.FormatInt(offset, 10))
	}
}

func (s *valuesStmt) String() string {
	var b strings.Builder
	b.WriteString("VALUES ")
	for i, row := range s.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + exprList(row) + ")")
	}
	return b.String()
}

func (s *withStmt) String() string {
	var b strings.Builder
	b.WriteString("WITH ")
	for i, c := range s.ctes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.name))
		if len(c.cols) > 0 {
			b.WriteString(" (" + identList(c.cols) + ")")
		}
		b.WriteString(" AS (" + c.query.String() + ")")
	}
	b.WriteString(" " + s.body.String())
	return b.String()
}
