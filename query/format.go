package query

import (
	"strconv"
	"strings"

	"github.com/siltdb/silt/catalog"
)

// Printing the syntax tree back as canonical SQL. Tests compare parse trees
// through these strings; output column names and error messages use the
// expression forms. Nested compound expressions are parenthesised so that
// the printed form shows how the statement was grouped.

// quoteIdent returns name, back-quoted when it is not a plain identifier or
// is a reserved word.
func quoteIdent(name string) string {
	plain := name != "" && !isReserved(strings.ToUpper(name))
	for i, r := range name {
		if !(isIdentPart(r) && r != '$') || (i == 0 && !isIdentStart(r)) {
			plain = false
			break
		}
	}
	if plain {
		return name
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// quoteString renders s as a SQL string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// plainTableName prints a table name as [db.]table (see tableNameString).
func plainTableName(n tableName) string {
	t := tableIdent(n.table)
	if n.db == "" {
		return t
	}
	return quoteIdent(n.db) + "." + t
}

// tableIdent quotes a table name but keeps a system-table suffix readable.
func tableIdent(t string) string {
	if base, sys, ok := strings.Cut(t, "$"); ok && base != "" && quoteIdent(base) == base && quoteIdent(sys) == sys {
		return t
	}
	return quoteIdent(t)
}

func (s *createDatabaseStmt) String() string {
	return "CREATE DATABASE " + ifStr(s.ifNotExists, "IF NOT EXISTS ") + quoteIdent(s.name)
}

func (s *dropDatabaseStmt) String() string {
	return "DROP DATABASE " + ifStr(s.ifExists, "IF EXISTS ") + quoteIdent(s.name) + ifStr(s.cascade, " CASCADE")
}

func (s *showDatabasesStmt) String() string { return "SHOW DATABASES" }
func (s *useStmt) String() string           { return "USE " + quoteIdent(s.name) }

func (s *showTablesStmt) String() string {
	if s.db == "" {
		return "SHOW TABLES"
	}
	return "SHOW TABLES FROM " + quoteIdent(s.db)
}

func (s *describeStmt) String() string { return "DESCRIBE " + s.table.String() }

func (s *createTableStmt) String() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + ifStr(s.ifNotExists, "IF NOT EXISTS ") + s.table.String() + " (")
	for i, c := range s.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.String())
	}
	if len(s.primaryKey) > 0 {
		b.WriteString(", PRIMARY KEY (" + identList(s.primaryKey) + ")")
	}
	b.WriteString(")")
	if len(s.partitionBy) > 0 {
		b.WriteString(" PARTITIONED BY (" + identList(s.partitionBy) + ")")
	}
	if s.hasComment {
		b.WriteString(" COMMENT " + quoteString(s.comment))
	}
	if len(s.options) > 0 {
		b.WriteString(" WITH " + optionList(s.options))
	}
	return b.String()
}

func (c columnDef) String() string {
	out := quoteIdent(c.name) + " " + c.typ.String() + ifStr(c.notNull, " NOT NULL") + ifStr(c.primaryKey, " PRIMARY KEY")
	if c.def != nil {
		out += " DEFAULT " + c.def.String()
	}
	if c.hasComment {
		out += " COMMENT " + quoteString(c.comment)
	}
	return out
}

func optionList(opts []tableOption) string {
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = quoteString(o.key) + " = " + quoteString(o.value)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (s *alterTableStmt) String() string {
	parts := make([]string, len(s.actions))
	for i, a := range s.actions {
		parts[i] = a.String()
	}
	return "ALTER TABLE " + s.table.String() + " " + strings.Join(parts, ", ")
}

func (a alterAction) String() string {
	col := quoteIdent(a.column)
	switch a.kind {
	case catalog.AddColumn:
		out := "ADD COLUMN " + ifStr(a.ifNotExists, "IF NOT EXISTS ") + a.col.String()
		switch {
		case a.first:
			out += " FIRST"
		case a.after != "":
			out += " AFTER " + quoteIdent(a.after)
		}
		return out
	case catalog.RenameColumn:
		return "RENAME COLUMN " + col + " TO " + quoteIdent(a.newName)
	case catalog.DropColumn:
		return "DROP COLUMN " + ifStr(a.ifExists, "IF EXISTS ") + col
	case catalog.UpdateColumnType:
		return "ALTER COLUMN " + col + " TYPE " + a.typ.String()
	case catalog.UpdateColumnNullability:
		return "ALTER COLUMN " + col + ifStr(a.notNull, " SET NOT NULL") + ifStr(!a.notNull, " DROP NOT NULL")
	case catalog.UpdateColumnComment:
		return "ALTER COLUMN " + col + " COMMENT " + quoteString(a.comment)
	case catalog.SetOptions:
		return "SET " + optionList(a.options)
	case catalog.ResetOptions:
		keys := make([]string, len(a.keys))
		for i, k := range a.keys {
			keys[i] = quoteString(k)
		}
		return "RESET (" + strings.Join(keys, ", ") + ")"
	}
	return "?"
}

func (s *dropTableStmt) String() string {
	return "DROP TABLE " + ifStr(s.ifExists, "IF EXISTS ") + s.table.String()
}

func (s *insertStmt) String() string {
	var b strings.Builder
	if s.overwrite {
		b.WriteString(s.overwriteHead())
	} else {
		b.WriteString("INSERT INTO " + s.table.String())
	}
	if s.columns != nil {
		names := make([]string, len(s.columns))
		for i, c := range s.columns {
			names[i] = c.name
		}
		b.WriteString(" (" + identList(names) + ")")
	}
	if s.query != nil {
		b.WriteString(" " + s.query.String())
		return b.String()
	}
	b.WriteString(" VALUES ")
	for i, row := range s.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + exprList(row) + ")")
	}
	return b.String()
}

func (s *deleteStmt) String() string {
	out := "DELETE FROM " + s.table.String()
	if s.where != nil {
		out += " WHERE " + s.where.String()
	}
	return out
}

func (s *updateStmt) String() string {
	var b strings.Builder
	b.WriteString("UPDATE " + s.table.String() + " SET ")
	for i, a := range s.sets {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(a.col.name) + " = " + a.value.String())
	}
	if s.where != nil {
		b.WriteString(" WHERE " + s.where.String())
	}
	return b.String()
}

func (t *timeTravel) String() string {
	var out string
	switch {
	case t.version && t.isTag:
		out = "VERSION AS OF " + quoteString(t.tag)
	case t.version:
		out = "VERSION AS OF " + strconv.FormatInt(t.versionID, 10)
	default:
		out = "TIMESTAMP AS OF " + t.at.String()
	}
	return out + ifStr(t.currentSchema, " WITH CURRENT SCHEMA")
}

func (s *selectStmt) String() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if s.distinct {
		b.WriteString("DISTINCT ")
	}
	for i, it := range s.items {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case it.star && it.qual != "":
			b.WriteString(quoteIdent(it.qual) + ".*")
		case it.star:
			b.WriteString("*")
		default:
			b.WriteString(it.expr.String())
		}
		if it.alias != "" {
			b.WriteString(" AS " + quoteIdent(it.alias))
		}
	}
	if s.from != nil {
		b.WriteString(" FROM " + s.from.String())
	}
	if s.where != nil {
		b.WriteString(" WHERE " + s.where.String())
	}
	if len(s.groupBy) > 0 {
		b.WriteString(" GROUP BY " + exprList(s.groupBy))
	}
	if s.having != nil {
		b.WriteString(" HAVING " + s.having.String())
	}
	for i, o := range s.orderBy {
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
	if s.limit >= 0 {
		b.WriteString(" LIMIT " + strconv.FormatInt(s.limit, 10))
	}
	if s.offset > 0 {
		b.WriteString(" OFFSET " + strconv.FormatInt(s.offset, 10))
	}
	return b.String()
}

func ifStr(c bool, s string) string {
	if c {
		return s
	}
	return ""
}

func identList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

func exprList(es []expr) string {
	var b strings.Builder
	writeExprList(&b, es)
	return b.String()
}

// Expressions print through one builder (writeExpr), so printing is
// linear in the size of the expression however deeply it nests.

func writeExprList(b *strings.Builder, es []expr) {
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(b, e)
	}
}

// writeSub prints a child expression, parenthesised when it is compound.
func writeSub(b *strings.Builder, e expr) {
	paren := false
	switch x := e.(type) {
	case *binaryExpr, *inExpr, *betweenExpr, *isNullExpr, *likeExpr:
		paren = true
	case *unaryExpr:
		paren = x.op == "NOT"
	case *subqueryExpr:
		paren = x.kind == subIn
	}
	if paren {
		b.WriteString("(")
	}
	writeExpr(b, e)
	if paren {
		b.WriteString(")")
	}
}

// startsWithSign reports whether e prints (as a child, see writeSub)
// starting with '-' or '+'.
func startsWithSign(e expr) bool {
	switch x := e.(type) {
	case *unaryExpr:
		return x.op == "-" || x.op == "+"
	case *literal:
		s := x.String()
		return strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")
	}
	return false
}

// precedence is the level of a binary operator in the grammar
// (parse_expr.go), lowest first.
func precedence(op string) int {
	switch op {
	case "OR":
		return 1
	case "AND":
		return 2
	case "=", "<>", "<", "<=", ">", ">=":
		return 3
	case "||":
		return 4
	case "+", "-":
		return 5
	}
	return 6 // * / %
}

func writeExpr(b *strings.Builder, e expr) {
	switch x := e.(type) {
	case *unaryExpr:
		if x.op == "NOT" {
			b.WriteString("NOT ")
			writeSub(b, x.x)
			return
		}
		b.WriteString(x.op)
		if startsWithSign(x.x) { // "--" would start a comment
			b.WriteString("(")
			writeSub(b, x.x)
			b.WriteString(")")
			return
		}
		writeSub(b, x.x)
	case *binaryExpr:
		// A left operand with an operator of the same precedence needs no
		// parentheses: the parser groups such chains from the left. So a
		// chain prints flat ("a + b - c", "p AND q AND r") and parses back
		// at any length, within the nesting limit.
		if l, ok := x.l.(*binaryExpr); ok && precedence(l.op) == precedence(x.op) {
			writeExpr(b, l)
		} else {
			writeSub(b, x.l)
		}
		b.WriteString(" " + x.op + " ")
		writeSub(b, x.r)
	case *inExpr:
		writeSub(b, x.x)
		b.WriteString(ifStr(x.not, " NOT") + " IN (")
		writeExprList(b, x.list)
		b.WriteString(")")
	case *betweenExpr:
		writeSub(b, x.x)
		b.WriteString(ifStr(x.not, " NOT") + " BETWEEN ")
		writeSub(b, x.lo)
		b.WriteString(" AND ")
		writeSub(b, x.hi)
	case *isNullExpr:
		writeSub(b, x.x)
		b.WriteString(" IS " + ifStr(x.not, "NOT ") + "NULL")
	case *likeExpr:
		writeSub(b, x.x)
		b.WriteString(ifStr(x.not, " NOT") + " LIKE ")
		writeSub(b, x.pattern)
	case *castExpr:
		b.WriteString("CAST(")
		writeExpr(b, x.x)
		b.WriteString(" AS " + x.typ.String() + ")")
	case *funcCall:
		switch {
		case x.star:
			b.WriteString(x.name + "(*)")
		case len(x.args) == 0 && isNiladic(x.name):
			b.WriteString(x.name)
		default:
			b.WriteString(x.name + "(" + ifStr(x.distinct, "DISTINCT "))
			writeExprList(b, x.args)
			if len(x.order) > 0 {
				b.WriteString(" ")
				writeOrderList(b, x.order)
			}
			b.WriteString(")")
		}
		writeCallSuffix(b, x)
	case *caseExpr:
		b.WriteString("CASE")
		if x.operand != nil {
			b.WriteString(" ")
			writeSub(b, x.operand)
		}
		for _, w := range x.whens {
			b.WriteString(" WHEN ")
			writeExpr(b, w.cond)
			b.WriteString(" THEN ")
			writeExpr(b, w.result)
		}
		if x.els != nil {
			b.WriteString(" ELSE ")
			writeExpr(b, x.els)
		}
		b.WriteString(" END")
	default: // leaves: literals and column references
		b.WriteString(e.String())
	}
}

func exprString(e expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func (e *literal) String() string {
	switch e.kind {
	case litNull:
		return "NULL"
	case litBool:
		if e.val.(bool) {
			return "TRUE"
		}
		return "FALSE"
	case litString:
		return quoteString(e.val.(string))
	case litDate:
		return "DATE " + quoteString(e.text)
	case litTS:
		return "TIMESTAMP " + quoteString(e.text)
	case litBytes:
		return "X" + quoteString(e.text)
	case litTyped:
		return typedLiteralText(e.typ) + " " + quoteString(e.text)
	}
	return e.text
}

func (e *columnRef) String() string {
	if e.qual != "" {
		return quoteIdent(e.qual) + "." + quoteIdent(e.name)
	}
	return quoteIdent(e.name)
}

func (e *unaryExpr) String() string   { return exprString(e) }
func (e *binaryExpr) String() string  { return exprString(e) }
func (e *inExpr) String() string      { return exprString(e) }
func (e *betweenExpr) String() string { return exprString(e) }
func (e *isNullExpr) String() string  { return exprString(e) }
func (e *likeExpr) String() string    { return exprString(e) }
func (e *castExpr) String() string    { return exprString(e) }
func (e *funcCall) String() string    { return exprString(e) }
func (e *caseExpr) String() string    { return exprString(e) }
