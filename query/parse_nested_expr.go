package query

import "github.com/siltdb/silt/types"

// Parsing of nested value syntax (DuckDB's): ARRAY[1, 2] and [1, 2],
// MAP {'k': 1}, {'f': 1, 'g': 'x'} and x[i] (element access). They
// become calls of the nested functions (nested_expr.go), so the rest of
// the engine sees ordinary function calls.

// parseNestedLiteral parses [..] or {..} at t (kw is "ARRAY", "MAP" or
// "" when the bracket starts the literal).
func (p *parser) parseNestedLiteral(t token, kw string) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next() // [ or {
	if t.text == "[" {
		var elems []expr
		for !p.isOp("]") {
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			elems = append(elems, e)
			if !p.acceptOp(",") {
				break
			}
		}
		return &funcCall{pos: t.pos, name: fnListValue, args: elems}, p.expectOp("]")
	}
	var keys, vals []expr
	for !p.isOp("}") {
		k, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(":"); err != nil {
			return nil, err
		}
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		keys, vals = append(keys, k), append(vals, v)
		if !p.acceptOp(",") {
			break
		}
	}
	if err := p.expectOp("}"); err != nil {
		return nil, err
	}
	if kw == "MAP" {
		return &funcCall{pos: t.pos, name: "MAP", args: []expr{
			&funcCall{pos: t.pos, name: fnListValue, args: keys},
			&funcCall{pos: t.pos, name: fnListValue, args: vals}}}, nil
	}
	args := make([]expr, 0, 2*len(keys))
	for i, k := range keys {
		name := k
		if c, ok := k.(*columnRef); ok && c.qual == "" { // {a: 1}
			name = &literal{pos: c.pos, kind: litString, val: c.name, typ: types.TString, text: "'" + c.name + "'"}
		}
		args = append(args, name, vals[i])
	}
	if len(args) == 0 {
		return nil, syntaxErr(t, "a struct literal needs at least one field ({'f': value})")
	}
	return &funcCall{pos: t.pos, name: fnStructPack, args: args}, nil
}

// parsePostfix parses a primary expression followed by element accesses
// x[i].
func (p *parser) parsePostfix() (expr, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for p.isOp("[") || p.isOp(".") {
		t := p.next()
		if t.text == "." { // x.f: a ROW field
			f := p.peek()
			if f.kind != tIdent && f.kind != tQIdent {
				return nil, syntaxErr(f, "expected a field name after '.'")
			}
			p.next()
			x = &funcCall{pos: t.pos, name: fnExtract, args: []expr{x, &literal{pos: f.pos, kind: litString, val: f.text, typ: types.TString, text: "'" + f.text + "'"}}}
			continue
		}
		if err := p.term(); err != nil {
			return nil, err
		}
		idx, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("]"); err != nil {
			return nil, err
		}
		x = &funcCall{pos: t.pos, name: fnExtract, args: []expr{x, idx}}
	}
	return x, nil
}
