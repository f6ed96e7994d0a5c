package query

import (
	"strings"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/types"
)

// Parsing of CREATE TABLE and ALTER TABLE: column definitions, types,
// constraints, WITH options and ALTER actions.

// dataType reads a type name such as BIGINT, DECIMAL(10, 2), VARCHAR
// or DOUBLE PRECISION.
func (p *parser) dataType() (types.DataType, error) {
	t := p.peek()
	if t.kind != tIdent {
		return types.DataType{}, syntaxErr(t, "expected a type name")
	}
	p.next()
	text := t.text
	if nested, ok, err := p.nestedTypeText(text); ok || err != nil {
		if err != nil {
			return types.DataType{}, err
		}
		return p.parsedType(t, nested)
	}
	if strings.EqualFold(text, "DOUBLE") && p.acceptKw("PRECISION") {
		text += " PRECISION"
	}
	text += p.timeZoneSuffix(text)
	if p.acceptOp("(") {
		var args []string
		for {
			n := p.peek()
			if n.kind != tInt {
				return types.DataType{}, syntaxErr(n, "expected an integer type parameter")
			}
			p.next()
			args = append(args, n.text)
			if !p.acceptOp(",") {
				break
			}
		}
		if err := p.expectOp(")"); err != nil {
			return types.DataType{}, err
		}
		text += "(" + strings.Join(args, ",") + ")"
	}
	return p.parsedType(t, text+p.arraySuffix())
}

// parsedType parses a type's text gathered from the tokens from t on.
func (p *parser) parsedType(t token, text string) (types.DataType, error) {
	dt, err := types.ParseType(text)
	if err != nil {
		return types.DataType{}, syntaxErr(t, "%s", errText(err))
	}
	return dt, nil
}

func (p *parser) stringLit(what string) (string, error) {
	t := p.peek()
	if t.kind != tString {
		return "", syntaxErr(t, "expected %s", what)
	}
	p.next()
	return t.text, nil
}

func (p *parser) parseCreateTable(pos position) (statement, error) {
	s := &createTableStmt{pos: pos, ifNotExists: p.acceptKw("IF", "NOT", "EXISTS")}
	var err error
	if s.table, err = p.tableName(); err != nil {
		return nil, err
	}
	if !p.isOp("(") { // CREATE TABLE … AS query (ctas.go)
		return p.parseCTAS(s)
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for {
		if p.isKw("PRIMARY") || p.isKw("CONSTRAINT") {
			kt := p.peek()
			if p.acceptKw("CONSTRAINT") {
				if _, _, err := p.ident("constraint name"); err != nil {
					return nil, err
				}
			}
			if err := p.expectKw("PRIMARY", "KEY"); err != nil {
				return nil, err
			}
			if s.primaryKey != nil {
				return nil, syntaxErr(kt, "PRIMARY KEY given twice")
			}
			ids, err := p.identList("column name")
			if err != nil {
				return nil, err
			}
			s.primaryKey, s.pkPos = names(ids), kt.pos
			p.acceptKw("NOT", "ENFORCED")
		} else {
			c, err := p.columnDef()
			if err != nil {
				return nil, err
			}
			s.columns = append(s.columns, c)
		}
		if !p.acceptOp(",") {
			break
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	for {
		switch {
		case p.acceptKw("PARTITIONED", "BY"):
			ids, err := p.identList("column name")
			if err != nil {
				return nil, err
			}
			s.partitionBy = names(ids)
		case p.acceptKw("COMMENT"):
			if s.comment, err = p.stringLit("a comment string"); err != nil {
				return nil, err
			}
			s.hasComment = true
		case p.acceptKw("WITH"):
			if s.options, err = p.tableOptions(); err != nil {
				return nil, err
			}
		default:
			return s, nil
		}
	}
}

// columnPath reads a column name, or the dotted path of a nested ROW field
// (r.f, r.s.f; ALTER TABLE evolves nested fields by path).
func (p *parser) columnPath(what string) (string, position, error) {
	name, pos, err := p.ident(what)
	for err == nil && p.acceptOp(".") {
		var part string
		part, _, err = p.ident("nested field name")
		name += "." + part
	}
	return name, pos, err
}

func (p *parser) columnDef() (columnDef, error) {
	name, pos, err := p.columnPath("column name")
	if err != nil {
		return columnDef{}, err
	}
	c := columnDef{name: name, pos: pos}
	if c.typ, err = p.columnType(name); err != nil {
		return columnDef{}, err
	}
	for {
		switch {
		case p.acceptKw("NOT", "NULL"):
			c.notNull = true
		case p.acceptKw("NULL"):
		case p.acceptKw("PRIMARY", "KEY"):
			c.primaryKey = true
			p.acceptKw("NOT", "ENFORCED")
		case p.acceptKw("COMMENT"):
			if c.comment, err = p.stringLit("a comment string"); err != nil {
				return columnDef{}, err
			}
			c.hasComment = true
		case p.isKw("DEFAULT"):
			if c.def != nil {
				return columnDef{}, syntaxErr(p.peek(), "DEFAULT given twice")
			}
			p.next()
			if c.def, err = p.defaultLiteral(); err != nil {
				return columnDef{}, err
			}
		default:
			return c, nil
		}
	}
}

func (p *parser) tableOptions() ([]tableOption, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var out []tableOption
	for {
		k := p.peek()
		if k.kind != tString && k.kind != tIdent && k.kind != tQIdent {
			return nil, syntaxErr(k, "expected an option name such as 'bucket'")
		}
		p.next()
		key := k.text
		for k.kind == tIdent && p.isOp(".") { // bucket.key style names
			p.next()
			n := p.next()
			if n.kind != tIdent {
				return nil, syntaxErr(n, "expected an option name")
			}
			key += "." + n.text
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v := p.peek()
		switch v.kind {
		case tString, tInt, tDec, tFloat, tIdent:
			p.next()
		default:
			return nil, syntaxErr(v, "expected an option value such as '4'")
		}
		out = append(out, tableOption{key: key, value: v.text})
		if !p.acceptOp(",") {
			break
		}
	}
	return out, p.expectOp(")")
}

// defaultLiteral reads the constant of DEFAULT: a literal, optionally
// negative.
func (p *parser) defaultLiteral() (*literal, error) {
	t := p.peek()
	p.terms, p.exprStart = 0, t.pos // an expression of its own
	e, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	lit, ok := e.(*literal)
	if !ok {
		return nil, syntaxErr(t, "DEFAULT needs a constant such as 0, 'text', DATE '2024-01-01' or NULL")
	}
	return lit, nil
}

func (p *parser) parseAlterTable(pos position) (statement, error) {
	s := &alterTableStmt{pos: pos}
	var err error
	if s.table, err = p.tableName(); err != nil {
		return nil, err
	}
	if h, ok, err := p.historyAction(pos, s.table); ok || err != nil {
		return h, err
	}
	for {
		a, err := p.alterAction()
		if err != nil {
			return nil, err
		}
		s.actions = append(s.actions, a)
		if !p.acceptOp(",") {
			return s, nil
		}
	}
}

func (p *parser) alterAction() (alterAction, error) {
	t := p.peek()
	a := alterAction{pos: t.pos}
	var err error
	switch {
	case p.acceptKw("ADD"):
		if p.isKw("PRIMARY") || p.isKw("CONSTRAINT") {
			return a, syntaxErr(p.peek(), "the primary key cannot change after CREATE TABLE")
		}
		p.acceptKw("COLUMN")
		a.kind = catalog.AddColumn
		a.ifNotExists = p.acceptKw("IF", "NOT", "EXISTS")
		if a.col, err = p.columnDef(); err != nil {
			return a, err
		}
		if a.col.primaryKey {
			return a, syntaxErr(t, "an added column cannot be part of the primary key")
		}
		a.column = a.col.name
		if p.acceptKw("FIRST") {
			a.first = true
		} else if p.acceptKw("AFTER") {
			if a.after, _, err = p.ident("column name"); err != nil {
				return a, err
			}
		}
	case p.acceptKw("RENAME"):
		if p.isKw("TO") {
			return a, syntaxErr(p.peek(), "renaming a table is not supported")
		}
		p.acceptKw("COLUMN")
		a.kind = catalog.RenameColumn
		if a.column, _, err = p.columnPath("column name"); err != nil {
			return a, err
		}
		if err := p.expectKw("TO"); err != nil {
			return a, err
		}
		if a.newName, _, err = p.columnPath("new column name"); err != nil {
			return a, err
		}
	case p.acceptKw("DROP"):
		if p.isKw("PRIMARY") || p.isKw("CONSTRAINT") {
			return a, syntaxErr(p.peek(), "the primary key cannot change after CREATE TABLE")
		}
		p.acceptKw("COLUMN")
		a.kind = catalog.DropColumn
		a.ifExists = p.acceptKw("IF", "EXISTS")
		if a.column, _, err = p.columnPath("column name"); err != nil {
			return a, err
		}
	case p.acceptKw("ALTER"):
		p.acceptKw("COLUMN")
		if a.column, _, err = p.ident("column name"); err != nil {
			return a, err
		}
		switch {
		case p.acceptKw("TYPE") || p.acceptKw("SET", "DATA", "TYPE"):
			a.kind = catalog.UpdateColumnType
			if a.typ, err = p.columnType(a.column); err != nil {
				return a, err
			}
		case p.acceptKw("SET", "NOT", "NULL"):
			a.kind, a.notNull = catalog.UpdateColumnNullability, true
		case p.acceptKw("DROP", "NOT", "NULL"):
			a.kind = catalog.UpdateColumnNullability
		case p.acceptKw("COMMENT"):
			a.kind = catalog.UpdateColumnComment
			if a.comment, err = p.stringLit("a comment string"); err != nil {
				return a, err
			}
		case p.isKw("SET") && isKwTok(p.peekN(1), "DEFAULT"), p.isKw("DROP") && isKwTok(p.peekN(1), "DEFAULT"):
			return a, syntaxErr(p.peek(), "a column's DEFAULT is fixed when the column is added (rows written before it read it)")
		default:
			return a, syntaxErr(p.peek(), "expected TYPE, SET NOT NULL, DROP NOT NULL or COMMENT")
		}
	case p.acceptKw("SET"):
		a.kind = catalog.SetOptions
		if a.options, err = p.tableOptions(); err != nil {
			return a, err
		}
	case p.acceptKw("RESET"):
		a.kind = catalog.ResetOptions
		if err := p.expectOp("("); err != nil {
			return a, err
		}
		for {
			k := p.peek()
			if k.kind != tString {
				return a, syntaxErr(k, "expected an option name such as 'target-file-size'")
			}
			p.next()
			a.keys = append(a.keys, k.text)
			if !p.acceptOp(",") {
				break
			}
		}
		if err := p.expectOp(")"); err != nil {
			return a, err
		}
	default:
		return a, syntaxErr(t, "expected ADD, RENAME, DROP, ALTER, SET or RESET")
	}
	return a, nil
}
