package query

import (
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// The grammar of table history:
//
//	ALTER TABLE t CREATE TAG [IF NOT EXISTS] name [AS OF VERSION n|'tag' | AS OF TIMESTAMP expr]
//	ALTER TABLE t DROP|DELETE TAG [IF EXISTS] name
//	ALTER TABLE t ROLLBACK TO VERSION n|'tag' | ROLLBACK TO TIMESTAMP expr
//	ALTER TABLE t CREATE BRANCH [IF NOT EXISTS] name [AS OF …]
//	ALTER TABLE t DROP BRANCH [IF EXISTS] name
//	ALTER TABLE t FAST FORWARD TO BRANCH name
//	CALL [sys.]create_tag('db.t', 'name'[, id|'tag']), delete_tag, rollback_to,
//	     create_branch, delete_branch (drop_branch), fast_forward
//	… FROM t FOR BRANCH b   (same as t$branch_b)
//	… FROM table_changes('db.t', from, to)
//
// Tag and branch names are identifiers (lower-cased unless back-quoted) or
// string literals (kept as written).

type historyOp uint8

const (
	opCreateTag historyOp = iota + 1
	opDropTag
	opRollback
	opCreateBranch
	opDropBranch
	opFastForward
)

// historyStmt is one tag, branch or rollback operation on a table (or on
// a branch of it, t$branch_b).
type historyStmt struct {
	pos         position
	op          historyOp
	table       tableName
	name        string      // tag or branch
	ifExists    bool        // DROP … IF EXISTS
	ifNotExists bool        // CREATE … IF NOT EXISTS
	at          *timeTravel // CREATE … AS OF, ROLLBACK TO (version or timestamp)
}

func (s *historyStmt) stmtPos() position { return s.pos }

// tableFunc is a table-valued function in FROM: table_changes(…).
type tableFunc struct {
	pos  position
	name string // lower-case
	args []expr
}

// branchPrefix marks the branch part of a table name: t$branch_dev.
const branchPrefix = "branch_"

// refName reads a tag or branch name.
func (p *parser) refName(what string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == tString, t.kind == tQIdent:
		p.next()
		if t.text == "" {
			return "", syntaxErr(t, "empty %s name", what)
		}
		return t.text, nil
	case isIdentTok(t):
		p.next()
		return strings.ToLower(t.text), nil
	}
	return "", syntaxErr(t, "expected a %s name", what)
}

// isRefNameTok reports whether t can be a tag or branch name.
func isRefNameTok(t token) bool { return t.kind == tString || isIdentTok(t) }

// refNameString prints a tag or branch name so that refName reads it back.
func refNameString(name string) string {
	if name != "" && quoteIdent(name) == name && strings.ToLower(name) == name && !strings.Contains(name, "$") {
		return name
	}
	return quoteString(name)
}

// branchSuffix reads FOR BRANCH b after a table name and folds it into
// the name as t$branch_b.
func (p *parser) branchSuffix(n *tableName) error {
	if !(p.isKw("FOR") && isKwTok(p.peekN(1), "BRANCH")) {
		return nil
	}
	t := p.next()
	p.next()
	b, err := p.refName("branch")
	if err != nil {
		return err
	}
	if strings.Contains(b, "$") {
		return syntaxErr(t, "a branch name cannot contain '$'")
	}
	base, rest, hasRest := strings.Cut(n.table, "$")
	if hasRest && strings.HasPrefix(rest, branchPrefix) {
		return syntaxErr(t, "table %s already names a branch", n.table)
	}
	n.table = base + "$" + branchPrefix + b
	if hasRest {
		n.table += "$" + rest
	}
	return nil
}

// splitTableName splits base[$branch_b][$system].
func splitTableName(name string) (base, branch, system string, err error) {
	parts := strings.Split(name, "$")
	base = parts[0]
	rest := parts[1:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], branchPrefix) {
		branch = strings.TrimPrefix(rest[0], branchPrefix)
		if branch == "" {
			return "", "", "", errf(types.ErrInvalid, "table %q: empty branch name after $%s", name, branchPrefix)
		}
		rest = rest[1:]
	}
	switch len(rest) {
	case 0:
	case 1:
		system = rest[0]
		if system == "" {
			return "", "", "", errf(types.ErrInvalid, "table %q: empty system table name after '$'", name)
		}
	default:
		return "", "", "", errf(types.ErrInvalid, "table %q: expected table[$branch_name][$system_table]", name)
	}
	return base, branch, system, nil
}

// tableNameString prints a table name, with FOR BRANCH when the branch
// name does not survive as part of an identifier.
func tableNameString(n tableName) string {
	base, branch, system, err := splitTableName(n.table)
	if err != nil || branch == "" || refNameString(branch) == branch {
		return plainTableName(n)
	}
	t := base
	if system != "" {
		t += "$" + system
	}
	return plainTableName(tableName{db: n.db, table: t}) + " FOR BRANCH " + quoteString(branch)
}

// historyAction parses a history action after ALTER TABLE t; ok is false
// when the next tokens are a schema change instead.
func (p *parser) historyAction(pos position, table tableName) (statement, bool, error) {
	s := &historyStmt{pos: pos, table: table}
	var what string
	switch {
	case p.isKw("CREATE") && (isKwTok(p.peekN(1), "TAG") || isKwTok(p.peekN(1), "BRANCH")):
		p.next() // CREATE
		s.op, what = opCreateTag, "tag"
		if isKwTok(p.next(), "BRANCH") {
			s.op, what = opCreateBranch, "branch"
		}
		s.ifNotExists = p.acceptKw("IF", "NOT", "EXISTS")
		name, err := p.refName(what)
		if err != nil {
			return nil, true, err
		}
		s.name = name
		if p.isKw("AS") || p.isTimeTravel() {
			if s.at, err = p.historyAt(true); err != nil {
				return nil, true, err
			}
		}
		return s, true, nil
	case (p.isKw("DROP") || p.isKw("DELETE")) && (isKwTok(p.peekN(1), "TAG") || isKwTok(p.peekN(1), "BRANCH")) &&
		(isRefNameTok(p.peekN(2)) || isKwTok(p.peekN(2), "IF") && isKwTok(p.peekN(3), "EXISTS")):
		p.next()
		s.op, what = opDropTag, "tag"
		if isKwTok(p.next(), "BRANCH") {
			s.op, what = opDropBranch, "branch"
		}
		s.ifExists = p.acceptKw("IF", "EXISTS")
		name, err := p.refName(what)
		if err != nil {
			return nil, true, err
		}
		s.name = name
		return s, true, nil
	case p.isKw("ROLLBACK"):
		p.next()
		if err := p.expectKw("TO"); err != nil {
			return nil, true, err
		}
		at, err := p.historyAt(false)
		if err != nil {
			return nil, true, err
		}
		s.op, s.at = opRollback, at
		return s, true, nil
	case p.isKw("FAST") && isKwTok(p.peekN(1), "FORWARD"), p.isKw("FAST_FORWARD"):
		if !p.acceptKw("FAST_FORWARD") {
			p.i += 2
		}
		if err := p.expectKw("TO"); err != nil {
			return nil, true, err
		}
		p.acceptKw("BRANCH")
		name, err := p.refName("branch")
		if err != nil {
			return nil, true, err
		}
		s.op, s.name = opFastForward, name
		return s, true, nil
	}
	return nil, false, nil
}

// historyAt reads the snapshot of CREATE TAG/BRANCH … AS OF and ROLLBACK
// TO: VERSION n|'tag' or TIMESTAMP expr, after an optional AS OF (asOf:
// the AS OF is expected). The classic VERSION AS OF … forms work too.
func (p *parser) historyAt(asOf bool) (*timeTravel, error) {
	if p.isTimeTravel() {
		tt, err := p.timeTravel()
		if err != nil {
			return nil, err
		}
		if tt.currentSchema {
			return nil, syntaxErr(p.peek(), "WITH CURRENT SCHEMA does not apply here")
		}
		return tt, nil
	}
	if asOf {
		if err := p.expectKw("AS", "OF"); err != nil {
			return nil, err
		}
	}
	t := p.peek()
	tt := &timeTravel{pos: t.pos}
	switch {
	case p.acceptKw("VERSION"), p.acceptKw("SNAPSHOT"):
		tt.version = true
		if err := p.parseVersionRef(tt, "VERSION needs a snapshot id or a tag name in quotes"); err != nil {
			return nil, err
		}
	case p.acceptKw("TAG"):
		name, err := p.refName("tag")
		if err != nil {
			return nil, err
		}
		tt.version, tt.tag, tt.isTag = true, name, true
	case p.acceptKw("TIMESTAMP"):
		var err error
		if tt.at, err = p.parseExpr(); err != nil {
			return nil, err
		}
	default:
		return nil, syntaxErr(t, "expected VERSION <snapshot id>, VERSION '<tag>' or TIMESTAMP <time>")
	}
	return tt, nil
}

// historyAtString prints what historyAt reads.
func historyAtString(tt *timeTravel) string {
	switch {
	case tt.version && tt.isTag:
		return "VERSION " + quoteString(tt.tag)
	case tt.version:
		return "VERSION " + strconv.FormatInt(tt.versionID, 10)
	}
	return "TIMESTAMP " + tt.at.String()
}

func (s *historyStmt) String() string {
	out := "ALTER TABLE " + s.table.String() + " "
	switch s.op {
	case opCreateTag, opCreateBranch:
		out += "CREATE " + ifStr(s.op == opCreateTag, "TAG ") + ifStr(s.op == opCreateBranch, "BRANCH ") +
			ifStr(s.ifNotExists, "IF NOT EXISTS ") + refNameString(s.name)
		if s.at != nil {
			out += " AS OF " + historyAtString(s.at)
		}
	case opDropTag, opDropBranch:
		out += "DROP " + ifStr(s.op == opDropTag, "TAG ") + ifStr(s.op == opDropBranch, "BRANCH ") +
			ifStr(s.ifExists, "IF EXISTS ") + refNameString(s.name)
	case opRollback:
		out += "ROLLBACK TO " + historyAtString(s.at)
	case opFastForward:
		out += "FAST FORWARD TO BRANCH " + refNameString(s.name)
	}
	return out
}

// parseCallStmt parses CALL [sys.]procedure(args) for the history procedures.
func (p *parser) parseCallStmt() (statement, error) {
	t := p.next() // CALL
	name, _, err := p.ident("procedure name")
	if err != nil {
		return nil, err
	}
	name = strings.ToLower(name)
	if p.acceptOp(".") {
		if name != "sys" && name != "system" {
			return nil, syntaxErr(p.peek(), "procedures live in sys (CALL sys.create_tag(…))")
		}
		if name, _, err = p.ident("procedure name"); err != nil {
			return nil, err
		}
		name = strings.ToLower(name)
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var args []token
	for !p.isOp(")") {
		a := p.peek()
		if a.kind != tString && a.kind != tInt {
			return nil, syntaxErr(a, "procedure arguments are string or integer constants")
		}
		p.next()
		args = append(args, a)
		if !p.acceptOp(",") {
			break
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	s := &historyStmt{pos: t.pos}
	var wantMin, wantMax int
	switch name {
	case "create_tag":
		s.op, wantMin, wantMax = opCreateTag, 2, 3
	case "delete_tag", "drop_tag":
		s.op, wantMin, wantMax = opDropTag, 2, 2
	case "rollback_to", "rollback":
		s.op, wantMin, wantMax = opRollback, 2, 2
	case "create_branch":
		s.op, wantMin, wantMax = opCreateBranch, 2, 3
	case "delete_branch", "drop_branch":
		s.op, wantMin, wantMax = opDropBranch, 2, 2
	case "fast_forward":
		s.op, wantMin, wantMax = opFastForward, 2, 2
	default:
		return nil, syntaxErr(t, "unknown procedure %s (create_tag, delete_tag, rollback_to, create_branch, delete_branch, fast_forward)", name)
	}
	if len(args) < wantMin || len(args) > wantMax {
		return nil, syntaxErr(t, "%s takes %d to %d arguments, got %d", name, wantMin, wantMax, len(args))
	}
	if args[0].kind != tString {
		return nil, syntaxErr(args[0], "%s: the first argument is the table name as a string ('db.t')", name)
	}
	if s.table, err = parseTableNameString(args[0]); err != nil {
		return nil, err
	}
	snapArg := func(a token) (*timeTravel, error) {
		tt := &timeTravel{pos: a.pos, version: true}
		if a.kind == tInt {
			id, err := strconv.ParseInt(a.text, 10, 64)
			if err != nil {
				return nil, syntaxErr(a, "snapshot id out of range")
			}
			tt.versionID = id
			return tt, nil
		}
		tt.tag, tt.isTag = a.text, true
		return tt, nil
	}
	if s.op == opRollback {
		s.at, err = snapArg(args[1])
		return s, err
	}
	if args[1].kind != tString || args[1].text == "" {
		return nil, syntaxErr(args[1], "%s: the second argument is a name as a string", name)
	}
	s.name = args[1].text
	if len(args) == 3 {
		s.at, err = snapArg(args[2])
	}
	return s, err
}

// parseTableNameString parses 'db.t' given as a string constant.
func parseTableNameString(t token) (tableName, error) {
	toks, err := tokenize(t.text)
	if err != nil {
		return tableName{}, syntaxErr(t, "bad table name %s", quoteString(t.text))
	}
	sub := &parser{toks: toks}
	n, err := sub.tableName()
	if err != nil || sub.peek().kind != tEOF {
		return tableName{}, syntaxErr(t, "bad table name %s (want 'db.table')", quoteString(t.text))
	}
	n.pos = t.pos
	return n, nil
}

// isTableFunc reports whether a table function call starts here.
func (p *parser) isTableFunc() bool {
	return isIdentTok(p.peek()) && p.peek().kind == tIdent && p.peekN(1).kind == tOp && p.peekN(1).text == "("
}

// tableFunc parses name(args) in FROM.
func (p *parser) tableFunc() (*tableFunc, error) {
	t := p.next()
	f := &tableFunc{pos: t.pos, name: strings.ToLower(t.text)}
	p.next() // (
	if !p.isOp(")") {
		args, err := p.exprList()
		if err != nil {
			return nil, err
		}
		f.args = args
	}
	return f, p.expectOp(")")
}

func (n tableName) String() string { return tableNameString(n) }

func (f *tableFunc) String() string { return f.name + "(" + exprList(f.args) + ")" }
