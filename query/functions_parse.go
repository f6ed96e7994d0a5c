package query

import (
	"strings"

	"github.com/siltdb/silt/types"
)

// The SQL-standard call syntaxes with keywords between the arguments:
// EXTRACT(field FROM x), SUBSTRING(x FROM a [FOR n]), TRIM([LEADING |
// TRAILING | BOTH] [chars] FROM x), POSITION(a IN b); and LEFT(…) and
// RIGHT(…), whose names are reserved words (LEFT JOIN). Each becomes the
// plain call it means: DATE_PART('field', x), SUBSTRING(x, a, n),
// TRIM/LTRIM/RTRIM(x, chars), STRPOS(b, a).

func isSpecialCall(kw string) bool {
	switch kw {
	case "EXTRACT", "SUBSTRING", "SUBSTR", "TRIM", "POSITION", "LEFT", "RIGHT":
		return true
	}
	return false
}

func (p *parser) parseSpecialCall() (expr, error) {
	t := p.peek()
	kw := strings.ToUpper(t.text)
	switch kw {
	case "LEFT", "RIGHT":
		return p.parseCall()
	case "SUBSTRING", "SUBSTR":
		if p.callHasKeyword("FROM") {
			return p.parseSubstringFrom()
		}
		return p.parseCall()
	case "TRIM":
		if p.callHasKeyword("FROM") || p.callHasKeyword("LEADING") || p.callHasKeyword("TRAILING") || p.callHasKeyword("BOTH") {
			return p.parseTrimFrom()
		}
		return p.parseCall()
	case "EXTRACT":
		p.next()
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		ft := p.next()
		if ft.kind != tIdent && ft.kind != tString && ft.kind != tQIdent {
			return nil, syntaxErr(ft, "expected a field name (YEAR, MONTH, DAY, …) in EXTRACT")
		}
		field := &literal{pos: ft.pos, kind: litString, val: strings.ToLower(ft.text), typ: types.TString, text: quoteString(strings.ToLower(ft.text))}
		if err := p.expectKw("FROM"); err != nil {
			return nil, err
		}
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		return &funcCall{pos: t.pos, name: "DATE_PART", args: []expr{field, x}}, p.expectOp(")")
	case "POSITION":
		if !p.callHasKeyword("IN") {
			return p.parseCall()
		}
		p.next()
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		needle, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		if err := p.expectKw("IN"); err != nil {
			return nil, err
		}
		hay, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		return &funcCall{pos: t.pos, name: "STRPOS", args: []expr{hay, needle}}, p.expectOp(")")
	}
	return p.parseCall()
}

// callHasKeyword reports whether kw appears at the top level of the
// parentheses of the call starting at the next token.
func (p *parser) callHasKeyword(kw string) bool {
	depth := 0
	for i := 1; ; i++ {
		t := p.peekN(i)
		switch {
		case t.kind == tEOF:
			return false
		case t.kind == tOp && t.text == "(":
			depth++
		case t.kind == tOp && t.text == ")":
			depth--
			if depth == 0 {
				return false
			}
		case depth == 1 && isKwTok(t, kw):
			return true
		}
	}
}

func (p *parser) parseSubstringFrom() (expr, error) {
	t := p.next()
	p.next()
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("FROM"); err != nil {
		return nil, err
	}
	from, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	f := &funcCall{pos: t.pos, name: "SUBSTRING", args: []expr{x, from}}
	if p.acceptKw("FOR") {
		n, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		f.args = append(f.args, n)
	}
	return f, p.expectOp(")")
}

func (p *parser) parseTrimFrom() (expr, error) {
	t := p.next()
	p.next()
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	name := "TRIM"
	switch {
	case p.acceptKw("LEADING"):
		name = "LTRIM"
	case p.acceptKw("TRAILING"):
		name = "RTRIM"
	default:
		p.acceptKw("BOTH")
	}
	var chars expr
	if !p.acceptKw("FROM") {
		c, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		chars = c
		if err := p.expectKw("FROM"); err != nil {
			return nil, err
		}
	}
	x, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	f := &funcCall{pos: t.pos, name: name, args: []expr{x}}
	if chars != nil {
		f.args = append(f.args, chars)
	}
	return f, p.expectOp(")")
}
