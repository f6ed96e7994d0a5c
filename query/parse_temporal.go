package query

import (
	"strings"

	"github.com/siltdb/silt/types"
)

// Typed literals of TIME, TIMESTAMP_LTZ and UUID: TIME '12:00:00',
// TIMESTAMPTZ '2024-01-01 12:00:00+02' (also TIMESTAMP_LTZ '…',
// TIMESTAMP WITH TIME ZONE '…' and TIMESTAMP WITH LOCAL TIME ZONE '…'),
// UUID '…'.

func isTypedLiteralKw(kw string) bool {
	_, ok := typedLiteralType(kw)
	return ok
}

// timestampWithZone reports whether the parser is at TIMESTAMP WITH
// [LOCAL] TIME ZONE '…'.
func (p *parser) timestampWithZone() bool {
	i := 2
	if isKwTok(p.peekN(i), "LOCAL") {
		i++
	}
	return isKwTok(p.peekN(1), "WITH") && isKwTok(p.peekN(i), "TIME") && isKwTok(p.peekN(i+1), "ZONE") && p.peekN(i+2).kind == tString
}

// parseTypedLiteral parses a typed literal (isTypedLiteralKw or
// timestampWithZone holds).
func (p *parser) parseTypedLiteral() (expr, error) {
	t := p.next()
	typ, ok := typedLiteralType(strings.ToUpper(t.text))
	if !ok { // TIMESTAMP WITH [LOCAL] TIME ZONE
		typ = types.TTimestampLTZ
		for p.peek().kind != tString {
			p.next()
		}
	}
	s := p.next()
	v, err := types.ParseText(s.text, typ)
	if err != nil {
		return nil, syntaxErr(s, "%s", errText(err))
	}
	return &literal{pos: t.pos, kind: litTyped, val: v, typ: typ, text: s.text}, nil
}

// timeZoneSuffix reads the WITH [LOCAL] TIME ZONE or WITHOUT TIME ZONE
// after the type name TIMESTAMP or TIME and returns it for
// types.ParseType; "" when there is none.
func (p *parser) timeZoneSuffix(name string) string {
	if !strings.EqualFold(name, "TIMESTAMP") && !strings.EqualFold(name, "TIME") {
		return ""
	}
	for _, words := range [][]string{{"WITH", "LOCAL", "TIME", "ZONE"}, {"WITH", "TIME", "ZONE"}, {"WITHOUT", "TIME", "ZONE"}} {
		if p.acceptKw(words...) {
			return " " + strings.Join(words, " ")
		}
	}
	return ""
}
