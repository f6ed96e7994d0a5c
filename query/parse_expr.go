package query

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Expression grammar, lowest precedence first:
//
//	OR
//	AND
//	NOT
//	= <> != < <= > >=, IS [NOT] NULL, [NOT] IN, [NOT] BETWEEN, [NOT] LIKE
//	||
//	+ -
//	* / %
//	unary - +
//	primary

// isNiladic reports whether a function is written without parentheses.
func isNiladic(name string) bool { return name == "CURRENT_DATE" || name == "CURRENT_TIMESTAMP" }

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return syntaxErr(p.peek(), "expression nested too deeply (limit %d); simplify it or split the statement", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// term counts one operand or operator of the expression being parsed. It
// fails once the expression exceeds maxTerms, and checks the context now
// and then.
func (p *parser) term() error {
	p.terms++
	if p.terms > maxTerms {
		return errf(types.ErrInvalid, "expression at %s too large: more than %d terms (operands and operators); split the statement into smaller ones",
			p.exprStart, maxTerms)
	}
	if p.terms%checkEvery == 0 && p.ctx != nil {
		return p.ctx.Err()
	}
	return nil
}

func (p *parser) parseExpr() (expr, error) {
	if p.depth == 0 { // a whole expression starts: count its terms afresh
		p.terms, p.exprStart = 0, p.peek().pos
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseOr()
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKw("OR") {
		t := p.next()
		if err := p.term(); err != nil {
			return nil, err
		}
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: "OR", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKw("AND") {
		t := p.next()
		if err := p.term(); err != nil {
			return nil, err
		}
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: "AND", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseNot() (expr, error) {
	if p.isKw("NOT") {
		t := p.next()
		if err := p.term(); err != nil {
			return nil, err
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: t.pos, op: "NOT", x: x}, nil
	}
	return p.parseComparison()
}

func (p *parser) parseComparison() (expr, error) {
	l, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if isComparisonStart(t) {
			if err := p.term(); err != nil {
				return nil, err
			}
		}
		switch {
		case t.kind == tOp && (t.text == "=" || t.text == "<>" || t.text == "!=" ||
			t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
			p.next()
			r, err := p.parseConcat()
			if err != nil {
				return nil, err
			}
			op := t.text
			if op == "!=" {
				op = "<>"
			}
			l = &binaryExpr{pos: t.pos, op: op, l: l, r: r}
		case isKwTok(t, "IS"):
			p.next()
			not := p.acceptKw("NOT")
			if err := p.expectKw("NULL"); err != nil {
				return nil, err
			}
			l = &isNullExpr{pos: t.pos, x: l, not: not}
		case isKwTok(t, "NOT") || isKwTok(t, "IN") || isKwTok(t, "BETWEEN") || isKwTok(t, "LIKE"):
			not := p.acceptKw("NOT")
			k := p.next()
			switch {
			case isKwTok(k, "IN"):
				if p.parenQueryAt(0, 0) {
					sq, err := p.subquery(subIn, t.pos)
					if err != nil {
						return nil, err
					}
					sq.x, sq.not = l, not
					l = sq
					continue
				}
				if err := p.expectOp("("); err != nil {
					return nil, err
				}
				list, err := p.exprList()
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(")"); err != nil {
					return nil, err
				}
				l = &inExpr{pos: t.pos, x: l, list: list, not: not}
			case isKwTok(k, "BETWEEN"):
				lo, err := p.parseConcat()
				if err != nil {
					return nil, err
				}
				if err := p.expectKw("AND"); err != nil {
					return nil, err
				}
				hi, err := p.parseConcat()
				if err != nil {
					return nil, err
				}
				l = &betweenExpr{pos: t.pos, x: l, lo: lo, hi: hi, not: not}
			case isKwTok(k, "LIKE"):
				pat, err := p.parseConcat()
				if err != nil {
					return nil, err
				}
				l = &likeExpr{pos: t.pos, x: l, pattern: pat, not: not}
			default:
				return nil, syntaxErr(k, "expected IN, BETWEEN or LIKE after NOT")
			}
		default:
			return l, nil
		}
	}
}

// isComparisonStart reports whether t starts a comparison, IS, IN,
// BETWEEN or LIKE after an operand.
func isComparisonStart(t token) bool {
	return (t.kind == tOp && (t.text == "=" || t.text == "<>" || t.text == "!=" ||
		t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) ||
		isKwTok(t, "IS") || isKwTok(t, "NOT") || isKwTok(t, "IN") || isKwTok(t, "BETWEEN") || isKwTok(t, "LIKE")
}

func (p *parser) parseConcat() (expr, error) {
	l, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	for p.isOp("||") {
		t := p.next()
		if err := p.term(); err != nil {
			return nil, err
		}
		r, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: "||", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAdditive() (expr, error) {
	l, err := p.parseMultiplicative()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		t := p.next()
		if err := p.term(); err != nil {
			return nil, err
		}
		r, err := p.parseMultiplicative()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: t.text, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseMultiplicative() (expr, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("%") {
		t := p.next()
		if err := p.term(); err != nil {
			return nil, err
		}
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: t.text, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseUnary() (expr, error) {
	t := p.peek()
	if t.kind != tOp || (t.text != "-" && t.text != "+") {
		return p.parsePostfix()
	}
	p.next()
	if n := p.peek(); t.text == "-" && (n.kind == tInt || n.kind == tDec || n.kind == tFloat) {
		// Fold the sign into the literal so that -9223372036854775808 parses.
		p.next()
		if err := p.term(); err != nil {
			return nil, err
		}
		lit, err := numberLiteral(n, "-"+n.text)
		if err != nil {
			return nil, err
		}
		lit.pos = t.pos
		return lit, nil
	}
	if err := p.term(); err != nil {
		return nil, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &unaryExpr{pos: t.pos, op: t.text, x: x}, nil
}

// numberLiteral converts a numeric token (with an optional sign folded into
// text) to a literal: integers are INT when they fit, else BIGINT; decimals
// are DECIMAL(p,s) as written (DOUBLE beyond 38 digits); exponents are DOUBLE.
func numberLiteral(t token, text string) (*literal, error) {
	switch t.kind {
	case tInt:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			// Beyond BIGINT: DECIMAL(p,0) up to 38 digits, as DuckDB.
			digits := strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(text, "-"), "+"), "0")
			if p := len(digits); p <= types.MaxDecimalPrecision {
				t2 := types.TDecimal(p, 0)
				if d, err := types.ParseText(text, t2); err == nil {
					return &literal{pos: t.pos, kind: litDec, val: d, typ: t2, text: text}, nil
				}
			}
			return nil, syntaxErr(t, "integer literal %s out of range for DECIMAL(38,0)", text)
		}
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return &literal{pos: t.pos, kind: litInt, val: int32(n), typ: types.TInt, text: text}, nil
		}
		return &literal{pos: t.pos, kind: litInt, val: n, typ: types.TBigInt, text: text}, nil
	case tDec:
		digits := strings.TrimPrefix(strings.TrimPrefix(text, "-"), "+")
		intPart, frac, _ := strings.Cut(digits, ".")
		all := strings.TrimLeft(intPart+frac, "0")
		prec := max(len(all), len(frac), 1)
		if prec <= types.MaxDecimalPrecision {
			t2 := types.TDecimal(prec, len(frac))
			d, err := types.ParseText(text, t2)
			if err == nil {
				return &literal{pos: t.pos, kind: litDec, val: d, typ: t2, text: text}, nil
			}
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, syntaxErr(t, "number %s out of range for DOUBLE", text)
	}
	return &literal{pos: t.pos, kind: litFloat, val: f, typ: types.TDouble, text: text}, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.peek()
	if !(t.kind == tOp && t.text == "(") {
		if err := p.term(); err != nil {
			return nil, err
		}
	}
	switch t.kind {
	case tInt, tDec, tFloat:
		p.next()
		return numberLiteral(t, t.text)
	case tString:
		p.next()
		return &literal{pos: t.pos, kind: litString, val: t.text, typ: types.TString, text: t.raw}, nil
	case tHex:
		p.next()
		b, err := hex.DecodeString(t.text)
		if err != nil {
			return nil, syntaxErr(t, "bad hex literal (want an even number of hex digits)")
		}
		return &literal{pos: t.pos, kind: litBytes, val: b, typ: types.TBytes, text: t.text}, nil
	case tQIdent:
		return p.columnRef()
	case tOp:
		if t.text == "[" || t.text == "{" {
			return p.parseNestedLiteral(t, "")
		}
		if t.text == "(" {
			if p.parenQueryAt(0, 0) {
				return p.subquery(subScalar, t.pos)
			}
			p.next()
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			return e, p.expectOp(")")
		}
		return nil, syntaxErr(t, "expected an expression")
	case tEOF:
		return nil, syntaxErr(t, "expected an expression")
	}
	// tIdent
	kw := strings.ToUpper(t.text)
	next := p.peekN(1)
	switch {
	case (kw == "ARRAY" && next.kind == tOp && next.text == "[") || (kw == "MAP" && next.kind == tOp && next.text == "{"):
		p.next()
		return p.parseNestedLiteral(next, kw)
	case kw == "NULL":
		p.next()
		return &literal{pos: t.pos, kind: litNull, text: "NULL"}, nil
	case kw == "TRUE" || kw == "FALSE":
		p.next()
		return &literal{pos: t.pos, kind: litBool, val: kw == "TRUE", typ: types.TBoolean, text: kw}, nil
	case (kw == "DATE" || kw == "TIMESTAMP") && next.kind == tString:
		p.next()
		p.next()
		if kw == "DATE" {
			d, err := types.ParseDate(next.text)
			if err != nil {
				return nil, syntaxErr(next, "%s", errText(err))
			}
			return &literal{pos: t.pos, kind: litDate, val: d, typ: types.TDate, text: next.text}, nil
		}
		ts, err := types.ParseTimestamp(next.text)
		if err != nil {
			return nil, syntaxErr(next, "%s", errText(err))
		}
		return &literal{pos: t.pos, kind: litTS, val: ts, typ: types.TTimestamp, text: next.text}, nil
	case next.kind == tString && isTypedLiteralKw(kw), kw == "TIMESTAMP" && p.timestampWithZone():
		return p.parseTypedLiteral()
	case kw == "EXISTS" && next.kind == tOp && next.text == "(" && p.parenQueryAt(1, 0):
		p.next()
		return p.subquery(subExists, t.pos)
	case kw == "CAST":
		return p.parseCast()
	case kw == "CASE":
		return p.parseCase()
	case kw == "INTERVAL" && (next.kind == tString || next.kind == tInt || (next.kind == tOp && next.text == "(")):
		return p.parseInterval()
	case next.kind == tOp && next.text == "(" && isSpecialCall(kw):
		return p.parseSpecialCall()
	case isNiladic(kw) && !(next.kind == tOp && next.text == "("):
		p.next()
		return &funcCall{pos: t.pos, name: kw}, nil
	case next.kind == tOp && next.text == "(" && !isReserved(kw):
		return p.parseCall()
	case isReserved(kw):
		return nil, syntaxErr(t, "expected an expression")
	}
	return p.columnRef()
}

func (p *parser) columnRef() (expr, error) {
	name, pos, err := p.ident("column name")
	if err != nil {
		return nil, err
	}
	c := &columnRef{pos: pos, name: name}
	if p.acceptOp(".") {
		second, _, err := p.ident("column name")
		if err != nil {
			return nil, err
		}
		c.qual, c.name = strings.ToLower(name), second
		// A third part selects a ROW field (parsePostfix).
	}
	return c, nil
}

func (p *parser) parseCast() (expr, error) {
	t := p.next()
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	x, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("AS"); err != nil {
		return nil, err
	}
	dt, err := p.dataType()
	if err != nil {
		return nil, err
	}
	return &castExpr{pos: t.pos, x: x, typ: dt}, p.expectOp(")")
}

func (p *parser) parseCase() (expr, error) {
	t := p.next()
	c := &caseExpr{pos: t.pos}
	var err error
	if !p.isKw("WHEN") {
		if c.operand, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	for p.acceptKw("WHEN") {
		var w whenClause
		if w.cond, err = p.parseExpr(); err != nil {
			return nil, err
		}
		if err := p.expectKw("THEN"); err != nil {
			return nil, err
		}
		if w.result, err = p.parseExpr(); err != nil {
			return nil, err
		}
		c.whens = append(c.whens, w)
	}
	if len(c.whens) == 0 {
		return nil, syntaxErr(p.peek(), "expected WHEN")
	}
	if p.acceptKw("ELSE") {
		if c.els, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	return c, p.expectKw("END")
}

func (p *parser) parseCall() (expr, error) {
	t := p.next()
	p.next() // (
	f := &funcCall{pos: t.pos, name: strings.ToUpper(t.text)}
	if p.acceptOp("*") {
		f.star = true
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return f, p.callSuffix(f)
	}
	if p.acceptOp(")") {
		return f, p.callSuffix(f)
	}
	if p.acceptKw("DISTINCT") {
		f.distinct = true
	} else {
		p.acceptKw("ALL")
	}
	args, err := p.exprList()
	if err != nil {
		return nil, err
	}
	f.args = args
	if p.isKw("ORDER") {
		if f.order, err = p.orderList(); err != nil {
			return nil, err
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return f, p.callSuffix(f)
}
