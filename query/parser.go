package query

import (
	"context"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// isReserved reports whether word (upper-case) cannot be used as a bare
// identifier (back-quote it).
func isReserved(word string) bool {
	switch word {
	case "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "OFFSET",
		"AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE", "LIKE", "BETWEEN", "AS",
		"DISTINCT", "ALL", "CASE", "WHEN", "THEN", "ELSE", "END", "INSERT", "INTO", "VALUES",
		"UPDATE", "SET", "DELETE", "CREATE", "DROP", "TABLE", "UNION", "INTERSECT", "EXCEPT",
		"JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "ON", "CAST", "WITH", "FOR":
		return true
	}
	return false
}

// maxDepth bounds expression nesting (parentheses, NOT, signs, calls,
// CASE and CAST inside one another) so hostile input cannot exhaust the
// stack.
const maxDepth = 200

// maxTerms bounds the size of one expression: its operands (literals,
// columns, function calls) and operators together. It keeps every later
// phase (binding, printing, evaluation) small and its recursion shallow.
const maxTerms = 20000

// parser is a recursive-descent parser over a token slice.
type parser struct {
	// ctx, when set, is checked every checkEvery terms.
	ctx   context.Context
	toks  []token
	i     int
	depth int
	// terms counts the terms of the expression being parsed, which starts
	// at exprStart.
	terms     int
	exprStart position
}

// parsedStatement is one statement of a script with its 1-based index.
type parsedStatement struct {
	index int
	stmt  statement
}

// parseScript parses every statement of sql. On error it also returns the
// 1-based index of the statement that failed. It stops with ctx's error
// when ctx is done.
func parseScript(ctx context.Context, sql string) ([]parsedStatement, int, error) {
	toks, err := tokenizeCtx(ctx, sql)
	if err != nil {
		return nil, statementIndexAt(sql, err), err
	}
	p := &parser{ctx: ctx, toks: toks}
	var out []parsedStatement
	for {
		for p.acceptOp(";") {
		}
		if p.peek().kind == tEOF {
			return out, 0, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, len(out) + 1, err
		}
		s, err := p.parseStatement()
		if err != nil {
			return nil, len(out) + 1, err
		}
		out = append(out, parsedStatement{index: len(out) + 1, stmt: s})
		if !p.acceptOp(";") && p.peek().kind != tEOF {
			return nil, len(out), syntaxErr(p.peek(), "expected ; or end of statement")
		}
	}
}

// statementIndexAt finds which statement a lexical error falls into.
func statementIndexAt(sql string, err error) int {
	se, ok := err.(*SyntaxError)
	if !ok {
		return 1
	}
	line, col := 1, 1
	for off := range sql {
		if line == se.Line && col == se.Col {
			stmts, _ := SplitStatements(sql[:off])
			return len(stmts) + 1
		}
		if sql[off] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	stmts, _ := SplitStatements(sql)
	return len(stmts) + 1
}

func (p *parser) peek() token { return p.peekN(0) }

func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func isKwTok(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

func (p *parser) isKw(kw string) bool { return isKwTok(p.peek(), kw) }

// acceptKw consumes the keyword sequence kws if it is next.
func (p *parser) acceptKw(kws ...string) bool {
	for i, kw := range kws {
		if !isKwTok(p.peekN(i), kw) {
			return false
		}
	}
	p.i += len(kws)
	return true
}

func (p *parser) expectKw(kws ...string) error {
	for _, kw := range kws {
		if !p.acceptKw(kw) {
			return syntaxErr(p.peek(), "expected %s", kw)
		}
	}
	return nil
}

func (p *parser) isOp(op string) bool { t := p.peek(); return t.kind == tOp && t.text == op }

func (p *parser) acceptOp(op string) bool {
	if p.isOp(op) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if !p.acceptOp(op) {
		return syntaxErr(p.peek(), "expected %s", op)
	}
	return nil
}

// ident reads an identifier (bare non-reserved or quoted).
func (p *parser) ident(what string) (string, position, error) {
	t := p.peek()
	switch {
	case t.kind == tQIdent:
		p.next()
		return t.text, t.pos, nil
	case t.kind == tIdent && !isReserved(strings.ToUpper(t.text)):
		p.next()
		return t.text, t.pos, nil
	case t.kind == tIdent:
		return "", t.pos, syntaxErr(t, "expected %s (%s is a reserved word; quote it with backquotes)", what, strings.ToUpper(t.text))
	}
	return "", t.pos, syntaxErr(t, "expected %s", what)
}

// isIdentTok reports whether t can start an identifier.
func isIdentTok(t token) bool {
	return t.kind == tQIdent || (t.kind == tIdent && !isReserved(strings.ToUpper(t.text)))
}

func (p *parser) tableName() (tableName, error) {
	first, pos, err := p.ident("table name")
	if err != nil {
		return tableName{}, err
	}
	n := tableName{table: strings.ToLower(first), pos: pos}
	if p.acceptOp(".") {
		second, _, err := p.ident("table name")
		if err != nil {
			return tableName{}, err
		}
		n.db, n.table = n.table, strings.ToLower(second)
	}
	if p.isOp(".") {
		return tableName{}, syntaxErr(p.peek(), "table names have at most two parts (database.table)")
	}
	if err := p.branchSuffix(&n); err != nil {
		return tableName{}, err
	}
	return n, nil
}

func (p *parser) identList(what string) ([]identAt, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var out []identAt
	for {
		n, pos, err := p.ident(what)
		if err != nil {
			return nil, err
		}
		out = append(out, identAt{n, pos})
		if !p.acceptOp(",") {
			break
		}
	}
	return out, p.expectOp(")")
}

func names(ids []identAt) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.name
	}
	return out
}

func (p *parser) parseStatement() (statement, error) {
	t := p.peek()
	switch {
	case isKwTok(t, "SELECT") || isKwTok(t, "VALUES") || isKwTok(t, "WITH") || (t.kind == tOp && t.text == "("):
		return p.parseQuery()
	case isKwTok(t, "INSERT"):
		return p.parseInsert()
	case isKwTok(t, "UPDATE"):
		return p.parseUpdate()
	case isKwTok(t, "DELETE"):
		return p.parseDelete()
	case isKwTok(t, "CREATE"):
		p.next()
		if p.acceptKw("DATABASE") || p.acceptKw("SCHEMA") {
			s := &createDatabaseStmt{pos: t.pos, ifNotExists: p.acceptKw("IF", "NOT", "EXISTS")}
			var err error
			s.name, _, err = p.ident("database name")
			s.name = strings.ToLower(s.name)
			return s, err
		}
		if p.acceptKw("TABLE") {
			return p.parseCreateTable(t.pos)
		}
		return nil, syntaxErr(p.peek(), "expected DATABASE or TABLE")
	case isKwTok(t, "DROP"):
		p.next()
		if p.acceptKw("DATABASE") || p.acceptKw("SCHEMA") {
			s := &dropDatabaseStmt{pos: t.pos, ifExists: p.acceptKw("IF", "EXISTS")}
			var err error
			if s.name, _, err = p.ident("database name"); err != nil {
				return nil, err
			}
			s.name = strings.ToLower(s.name)
			s.cascade = p.acceptKw("CASCADE")
			if !s.cascade {
				p.acceptKw("RESTRICT")
			}
			return s, nil
		}
		if p.acceptKw("TABLE") {
			s := &dropTableStmt{pos: t.pos, ifExists: p.acceptKw("IF", "EXISTS")}
			var err error
			s.table, err = p.tableName()
			return s, err
		}
		return nil, syntaxErr(p.peek(), "expected DATABASE or TABLE")
	case isKwTok(t, "ALTER"):
		p.next()
		if err := p.expectKw("TABLE"); err != nil {
			return nil, err
		}
		return p.parseAlterTable(t.pos)
	case isKwTok(t, "SHOW"):
		p.next()
		if p.acceptKw("DATABASES") || p.acceptKw("SCHEMAS") {
			return &showDatabasesStmt{pos: t.pos}, nil
		}
		if p.acceptKw("TABLES") {
			s := &showTablesStmt{pos: t.pos}
			if p.acceptKw("FROM") || p.acceptKw("IN") {
				db, _, err := p.ident("database name")
				if err != nil {
					return nil, err
				}
				s.db = strings.ToLower(db)
			}
			return s, nil
		}
		if st, ok, err := p.parseShowTable(t.pos); ok || err != nil {
			return st, err
		}
		return nil, syntaxErr(p.peek(), "expected DATABASES, TABLES, CREATE TABLE or PARTITIONS")
	case isKwTok(t, "CALL"):
		return p.parseCallStmt()
	case isKwTok(t, "TRUNCATE"):
		return p.parseTruncate()
	case isKwTok(t, "EXPLAIN"):
		return p.parseExplain()
	case isKwTok(t, "COPY"):
		return p.parseCopy()
	case isKwTok(t, "USE"):
		p.next()
		name, _, err := p.ident("database name")
		return &useStmt{pos: t.pos, name: strings.ToLower(name)}, err
	case isKwTok(t, "DESCRIBE") || isKwTok(t, "DESC"):
		p.next()
		p.acceptKw("TABLE")
		n, err := p.tableName()
		return &describeStmt{pos: t.pos, table: n}, err
	}
	return nil, syntaxErr(t, "expected a statement (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, SHOW, USE, DESCRIBE)")
}

// errText is an error's message without the leading sentinel text, for
// embedding in a message that names its own kind.
func errText(err error) string {
	s := err.Error()
	for _, k := range []error{types.ErrInvalid, types.ErrNotFound} {
		s = strings.TrimPrefix(s, k.Error()+": ")
	}
	return s
}

func (p *parser) parseInsert() (statement, error) {
	t := p.next()
	s := &insertStmt{pos: t.pos}
	var err error
	if p.isKw("OVERWRITE") {
		if err := p.overwriteTarget(s); err != nil {
			return nil, err
		}
	} else {
		if err := p.expectKw("INTO"); err != nil {
			return nil, syntaxErr(p.peek(), "expected INTO or OVERWRITE")
		}
		if s.table, err = p.tableName(); err != nil {
			return nil, err
		}
	}
	if p.isOp("(") && !isKwTok(p.peekN(1), "SELECT") {
		if s.columns, err = p.identList("column name"); err != nil {
			return nil, err
		}
	}
	if p.isKw("SELECT") || p.isKw("WITH") || (p.isOp("(") && p.isQueryStart(1)) {
		s.query, err = p.insertQuery()
		return s, err
	}
	if err := p.expectKw("VALUES"); err != nil {
		return nil, syntaxErr(p.peek(), "expected VALUES or SELECT")
	}
	for {
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
		s.rows = append(s.rows, row)
		if !p.acceptOp(",") {
			return s, nil
		}
	}
}

func (p *parser) exprList() ([]expr, error) {
	var out []expr
	for {
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !p.acceptOp(",") {
			return out, nil
		}
	}
}

func (p *parser) optWhere() (expr, error) {
	if !p.acceptKw("WHERE") {
		return nil, nil
	}
	return p.parseExpr()
}

func (p *parser) parseDelete() (statement, error) {
	t := p.next()
	if err := p.expectKw("FROM"); err != nil {
		return nil, err
	}
	s := &deleteStmt{pos: t.pos}
	var err error
	if s.table, err = p.tableName(); err != nil {
		return nil, err
	}
	s.where, err = p.optWhere()
	return s, err
}

func (p *parser) parseUpdate() (statement, error) {
	t := p.next()
	s := &updateStmt{pos: t.pos}
	var err error
	if s.table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.expectKw("SET"); err != nil {
		return nil, err
	}
	for {
		name, pos, err := p.ident("column name")
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		s.sets = append(s.sets, assignment{col: identAt{name, pos}, value: v})
		if !p.acceptOp(",") {
			break
		}
	}
	s.where, err = p.optWhere()
	return s, err
}

func (p *parser) parseSelect() (*selectStmt, error) {
	t := p.next() // SELECT
	s := &selectStmt{pos: t.pos, limit: -1}
	if p.acceptKw("DISTINCT") {
		s.distinct = true
	} else {
		p.acceptKw("ALL")
	}
	for {
		it, err := p.selectItem()
		if err != nil {
			return nil, err
		}
		s.items = append(s.items, it)
		if !p.acceptOp(",") {
			break
		}
	}
	var err error
	if p.acceptKw("FROM") {
		if s.from, err = p.fromClause(); err != nil {
			return nil, err
		}
	}
	if s.where, err = p.optWhere(); err != nil {
		return nil, err
	}
	if p.acceptKw("GROUP", "BY") {
		if s.groupBy, err = p.exprList(); err != nil {
			return nil, err
		}
	}
	if p.acceptKw("HAVING") {
		if s.having, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	if p.acceptKw("ORDER", "BY") {
		for {
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
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
			return nil, err
		}
	}
	if p.acceptKw("OFFSET") {
		if s.offset, err = p.count("OFFSET"); err != nil {
			return nil, err
		}
		if !p.acceptKw("ROWS") {
			p.acceptKw("ROW")
		}
	}
	return s, nil
}

// count reads the non-negative integer of LIMIT or OFFSET.
func (p *parser) count(what string) (int64, error) {
	t := p.peek()
	if t.kind != tInt {
		return 0, syntaxErr(t, "%s needs a non-negative integer", what)
	}
	p.next()
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return 0, syntaxErr(t, "%s value out of range", what)
	}
	return n, nil
}

func (p *parser) selectItem() (selectItem, error) {
	t := p.peek()
	if p.acceptOp("*") {
		return selectItem{pos: t.pos, star: true}, nil
	}
	if isIdentTok(t) && p.peekN(1).kind == tOp && p.peekN(1).text == "." &&
		p.peekN(2).kind == tOp && p.peekN(2).text == "*" {
		p.i += 3
		return selectItem{pos: t.pos, star: true, qual: strings.ToLower(t.text)}, nil
	}
	e, err := p.parseExpr()
	if err != nil {
		return selectItem{}, err
	}
	it := selectItem{pos: t.pos, expr: e}
	if p.acceptKw("AS") {
		if it.alias, _, err = p.ident("column alias"); err != nil {
			return selectItem{}, err
		}
	} else if isIdentTok(p.peek()) {
		it.alias, _, _ = p.ident("column alias")
	}
	return it, nil
}

// isTimeTravel reports whether a time-travel clause starts here.
func (p *parser) isTimeTravel() bool {
	return (p.isKw("VERSION") || p.isKw("TIMESTAMP")) && isKwTok(p.peekN(1), "AS") && isKwTok(p.peekN(2), "OF") ||
		p.isKw("FOR") && !isKwTok(p.peekN(1), "BRANCH")
}

func (p *parser) tableRef() (*tableRef, error) {
	if p.isTableFunc() {
		f, err := p.tableFunc()
		if err != nil {
			return nil, err
		}
		r := &tableRef{fn: f, name: tableName{table: f.name, pos: f.pos}}
		if p.acceptKw("AS") {
			a, _, err := p.ident("table alias")
			if err != nil {
				return nil, err
			}
			r.alias = strings.ToLower(a)
		} else if p.isAliasStart() {
			a, _, _ := p.ident("table alias")
			r.alias = strings.ToLower(a)
		}
		if p.isTimeTravel() {
			return nil, syntaxErr(p.peek(), "time travel does not apply to %s(…); pass the snapshots as its arguments", f.name)
		}
		return r, nil
	}
	n, err := p.tableName()
	if err != nil {
		return nil, err
	}
	r := &tableRef{name: n}
	if p.isTimeTravel() {
		if r.asOf, err = p.timeTravel(); err != nil {
			return nil, err
		}
	}
	if p.acceptKw("AS") {
		a, _, err := p.ident("table alias")
		if err != nil {
			return nil, err
		}
		r.alias = strings.ToLower(a)
	} else if p.isAliasStart() {
		a, _, _ := p.ident("table alias")
		r.alias = strings.ToLower(a)
	}
	if r.asOf == nil && p.isTimeTravel() {
		if r.asOf, err = p.timeTravel(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (p *parser) timeTravel() (*timeTravel, error) {
	t := p.next()
	tt := &timeTravel{pos: t.pos}
	if isKwTok(t, "FOR") {
		if !p.acceptKw("SYSTEM_TIME") {
			return nil, syntaxErr(p.peek(), "expected SYSTEM_TIME AS OF")
		}
	} else {
		tt.version = isKwTok(t, "VERSION")
	}
	if err := p.expectKw("AS", "OF"); err != nil {
		return nil, err
	}
	if !tt.version {
		var err error
		if tt.at, err = p.parseExpr(); err != nil {
			return nil, err
		}
		tt.currentSchema = p.acceptKw("WITH", "CURRENT", "SCHEMA")
		return tt, nil
	}
	if err := p.parseVersionRef(tt, "VERSION AS OF needs a snapshot id or a tag name"); err != nil {
		return nil, err
	}
	tt.currentSchema = p.acceptKw("WITH", "CURRENT", "SCHEMA")
	return tt, nil
}

// parseVersionRef reads a snapshot id or a quoted tag name into tt.
func (p *parser) parseVersionRef(tt *timeTravel, want string) error {
	v := p.peek()
	switch v.kind {
	case tInt:
		p.next()
		id, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			return syntaxErr(v, "snapshot id out of range")
		}
		tt.versionID = id
	case tString:
		p.next()
		tt.tag, tt.isTag = v.text, true
	default:
		return syntaxErr(v, "%s", want)
	}
	return nil
}
