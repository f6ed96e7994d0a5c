package query

import "strings"

// Nested column types in SQL: ARRAY<T>, T[], LIST<T>, MAP<K, V>,
// MAP(K, V), ROW<a T, ...>, ROW(a T, ...), STRUCT<a: T>, as
// types.ParseType reads them. The parser gathers the type's tokens
// (balanced brackets) back into text for it.

// nestedTypeText gathers the text of a nested type whose first word,
// base, has been read: base followed by <...>, or by (...) for ROW,
// STRUCT and MAP, and any [] suffixes. ok is false when base does not
// start a nested type.
func (p *parser) nestedTypeText(base string) (string, bool, error) {
	word := strings.ToUpper(base)
	closer := ""
	switch {
	case p.isOp("<") && (word == "ARRAY" || word == "LIST" || word == "MAP" || word == "ROW" || word == "STRUCT"):
		closer = ">"
	case p.isOp("(") && (word == "MAP" || word == "ROW" || word == "STRUCT"):
		closer = ")"
	default:
		return "", false, nil
	}
	var b strings.Builder
	b.WriteString(base)
	depth := 0
	for {
		t := p.peek()
		if t.kind == tEOF {
			return "", true, syntaxErr(t, "unterminated %s type (missing %s)", word, closer)
		}
		p.next()
		b.WriteByte(' ')
		switch t.kind {
		case tQIdent:
			b.WriteString("`" + strings.ReplaceAll(t.text, "`", "``") + "`")
		case tString:
			b.WriteString("'" + strings.ReplaceAll(t.text, "'", "''") + "'")
		default:
			b.WriteString(t.text)
		}
		if t.kind == tOp {
			switch t.text {
			case "<", "(":
				depth++
			case ">", ")":
				depth--
			}
		}
		if depth == 0 {
			break
		}
	}
	return b.String() + p.arraySuffix(), true, nil
}

// arraySuffix reads the [] suffixes of a type (INT[], INT[][]).
func (p *parser) arraySuffix() string {
	s := ""
	for p.isOp("[") && p.peekN(1).kind == tOp && p.peekN(1).text == "]" {
		p.next()
		p.next()
		s += "[]"
	}
	return s
}
