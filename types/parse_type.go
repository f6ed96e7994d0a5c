package types

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseType parses a SQL type name: a scalar such as "BIGINT",
// "decimal(10, 2)", "VARCHAR" (alias of STRING), "INTEGER" (alias of INT),
// "TIMESTAMP WITH TIME ZONE" (TIMESTAMP_LTZ), "TIME", "UUID", or a nested
// type in Paimon's, Spark's or DuckDB's spelling: "ARRAY<INT>", "INT[]",
// "LIST<INT>", "MAP<STRING, INT>", "MAP(STRING, INT)", "ROW<a INT, b
// STRING NOT NULL>", "STRUCT<a: INT>", "STRUCT(a INT)". Nested field ids are
// left 0; the schema assigns them (AssignNestedIDs).
func ParseType(s string) (DataType, error) {
	p := &typeParser{src: s, toks: lexType(s)}
	if p.toks == nil {
		return DataType{}, fmt.Errorf("%w: unknown type %q", ErrInvalid, s)
	}
	t, err := p.parse(0)
	if err != nil {
		return DataType{}, err
	}
	if !p.done() {
		return DataType{}, fmt.Errorf("%w: bad type %q: unexpected %q", ErrInvalid, s, p.peek())
	}
	if err := t.Validate(); err != nil {
		return DataType{}, err
	}
	return t, nil
}

// maxTypeDepth bounds nesting so that a hostile type string cannot exhaust
// the stack.
const maxTypeDepth = 32

type typeParser struct {
	src  string
	toks []string
	pos  int
}

func (p *typeParser) done() bool { return p.pos >= len(p.toks) }

func (p *typeParser) peek() string {
	if p.done() {
		return ""
	}
	return p.toks[p.pos]
}

func (p *typeParser) next() string {
	t := p.peek()
	if !p.done() {
		p.pos++
	}
	return t
}

// accept consumes the next token if it equals want (case-insensitive).
func (p *typeParser) accept(want string) bool {
	if strings.EqualFold(p.peek(), want) {
		p.pos++
		return true
	}
	return false
}

// acceptWords consumes a sequence of words if all of them come next.
func (p *typeParser) acceptWords(words ...string) bool {
	if p.pos+len(words) > len(p.toks) {
		return false
	}
	for i, w := range words {
		if !strings.EqualFold(p.toks[p.pos+i], w) {
			return false
		}
	}
	p.pos += len(words)
	return true
}

func (p *typeParser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: bad type %q: %s", ErrInvalid, p.src, fmt.Sprintf(format, args...))
}

func (p *typeParser) expect(want string) error {
	if !p.accept(want) {
		if p.done() {
			return p.errf("missing %q", want)
		}
		return p.errf("want %q, got %q", want, p.peek())
	}
	return nil
}

func (p *typeParser) parse(depth int) (DataType, error) {
	if depth > maxTypeDepth {
		return DataType{}, p.errf("nested deeper than %d levels", maxTypeDepth)
	}
	t, err := p.parseBase(depth)
	if err != nil {
		return DataType{}, err
	}
	for p.peek() == "[" { // INT[] (PostgreSQL, DuckDB)
		p.next()
		if err := p.expect("]"); err != nil {
			return DataType{}, err
		}
		if depth++; depth > maxTypeDepth {
			return DataType{}, p.errf("nested deeper than %d levels", maxTypeDepth)
		}
		t = TArray(t)
	}
	return t, nil
}

func (p *typeParser) parseBase(depth int) (DataType, error) {
	word := strings.ToUpper(p.next())
	if word == "" || !isWordToken(word) {
		return DataType{}, fmt.Errorf("%w: unknown type %q", ErrInvalid, p.src)
	}
	switch word {
	case "ARRAY", "LIST":
		open, closer, err := p.openAngleOrParen()
		if err != nil {
			return DataType{}, err
		}
		_ = open
		elem, err := p.parse(depth + 1)
		if err != nil {
			return DataType{}, err
		}
		notNull := p.nullability()
		if err := p.expect(closer); err != nil {
			return DataType{}, err
		}
		t := TArray(elem)
		t.Fields[0].NotNull = notNull
		return t, nil
	case "MAP":
		_, closer, err := p.openAngleOrParen()
		if err != nil {
			return DataType{}, err
		}
		k, err := p.parse(depth + 1)
		if err != nil {
			return DataType{}, err
		}
		p.nullability() // keys are NOT NULL in any case
		if err := p.expect(","); err != nil {
			return DataType{}, err
		}
		v, err := p.parse(depth + 1)
		if err != nil {
			return DataType{}, err
		}
		notNull := p.nullability()
		if err := p.expect(closer); err != nil {
			return DataType{}, err
		}
		t := TMap(k, v)
		t.Fields[1].NotNull = notNull
		return t, nil
	case "ROW", "STRUCT":
		return p.parseStruct(depth)
	}
	return p.parseScalar(word)
}

// nullability consumes an optional NOT NULL or NULL after a nested
// field's type (String writes ARRAY<INT NOT NULL>) and reports NOT NULL.
func (p *typeParser) nullability() bool {
	if p.acceptWords("NOT", "NULL") {
		return true
	}
	p.accept("NULL")
	return false
}

// openAngleOrParen consumes "<" or "(" and returns it with its closer.
func (p *typeParser) openAngleOrParen() (string, string, error) {
	switch p.next() {
	case "<":
		return "<", ">", nil
	case "(":
		return "(", ")", nil
	}
	return "", "", p.errf("want < or ( after the type name")
}

func (p *typeParser) parseStruct(depth int) (DataType, error) {
	_, closer, err := p.openAngleOrParen()
	if err != nil {
		return DataType{}, err
	}
	var fields []Field
	for {
		name := p.next()
		if name == "" {
			return DataType{}, p.errf("missing ROW field name")
		}
		if strings.HasPrefix(name, `"`) || strings.HasPrefix(name, "`") {
			name = unquoteTypeIdent(name)
		} else if !isWordToken(name) {
			return DataType{}, p.errf("want a ROW field name, got %q", name)
		}
		p.accept(":") // STRUCT<a: INT> (Spark, Hive)
		ft, err := p.parse(depth + 1)
		if err != nil {
			return DataType{}, err
		}
		f := Field{Name: name, Type: ft}
		if p.acceptWords("NOT", "NULL") {
			f.NotNull = true
		} else {
			p.accept("NULL")
		}
		if p.accept("COMMENT") {
			c := p.next()
			if !strings.HasPrefix(c, "'") {
				return DataType{}, p.errf("COMMENT needs a quoted string")
			}
			f.Comment = unquoteTypeIdent(c)
		}
		fields = append(fields, f)
		if p.accept(",") {
			continue
		}
		if err := p.expect(closer); err != nil {
			return DataType{}, err
		}
		return TStruct(fields...), nil
	}
}

// parseScalar parses a scalar type whose first word has been read.
func (p *typeParser) parseScalar(word string) (DataType, error) {
	args, err := p.parseArgs()
	if err != nil {
		return DataType{}, err
	}
	noArgs := func(t DataType) (DataType, error) {
		if args != nil {
			return DataType{}, fmt.Errorf("%w: type %s takes no parameters", ErrInvalid, word)
		}
		return t, nil
	}
	switch word {
	case "BOOLEAN", "BOOL":
		return noArgs(TBoolean)
	case "INT", "INTEGER", "INT32", "INT4":
		return noArgs(TInt)
	case "BIGINT", "LONG", "INT64", "INT8":
		return noArgs(TBigInt)
	case "FLOAT", "REAL", "FLOAT4":
		return noArgs(TFloat)
	case "DOUBLE", "FLOAT8":
		if args == nil && p.accept("PRECISION") {
			if args, err = p.parseArgs(); err != nil {
				return DataType{}, err
			}
			word = "DOUBLE PRECISION"
		}
		return noArgs(TDouble)
	case "DECIMAL", "NUMERIC", "NUMBER":
		t := DataType{Kind: DecimalKind, Precision: 10}
		if args == nil {
			return t, nil
		}
		if len(args) > 2 {
			return DataType{}, p.errf("DECIMAL takes (precision[, scale])")
		}
		if len(args) == 0 {
			args = []string{""}
		}
		var err error
		if t.Precision, err = strconv.Atoi(args[0]); err != nil {
			return DataType{}, fmt.Errorf("%w: bad DECIMAL precision in %q", ErrInvalid, p.src)
		}
		if len(args) == 2 {
			if t.Scale, err = strconv.Atoi(args[1]); err != nil {
				return DataType{}, fmt.Errorf("%w: bad DECIMAL scale in %q", ErrInvalid, p.src)
			}
		}
		return t, nil
	case "STRING", "VARCHAR", "TEXT", "CHAR", "JSON":
		return TString, nil // VARCHAR(n): callers that care look at the text
	case "CHARACTER":
		p.accept("VARYING")
		return TString, nil
	case "BYTES", "BINARY", "VARBINARY", "BLOB", "BYTEA":
		return TBytes, nil
	case "DATE":
		return noArgs(TDate)
	case "TIME":
		p.acceptWords("WITHOUT", "TIME", "ZONE")
		return TTime, nil // TIME(6) accepted; always microseconds
	case "TIMESTAMP", "DATETIME":
		switch {
		case p.acceptWords("WITH", "LOCAL", "TIME", "ZONE"), p.acceptWords("WITH", "TIME", "ZONE"):
			return TTimestampLTZ, nil
		}
		p.acceptWords("WITHOUT", "TIME", "ZONE")
		return TTimestamp, nil // TIMESTAMP(6) accepted; always microseconds
	case "TIMESTAMP_LTZ", "TIMESTAMPTZ", "TIMESTAMP_TZ":
		return TTimestampLTZ, nil
	case "UUID":
		return noArgs(TUUID)
	}
	return DataType{}, fmt.Errorf("%w: unknown type %q", ErrInvalid, p.src)
}

// parseArgs reads "(a, b)" after a scalar type name; nil when absent.
func (p *typeParser) parseArgs() ([]string, error) {
	if p.peek() != "(" {
		return nil, nil
	}
	p.next()
	args := []string{""}
	for {
		a := p.next()
		switch a {
		case "":
			return nil, p.errf("missing )")
		case ")":
			if len(args) == 1 && args[0] == "" && p.toks[p.pos-2] == "(" {
				return []string{}, nil // "INT()"
			}
			return args, nil
		case ",":
			args = append(args, "")
		default:
			args[len(args)-1] += a
		}
	}
}

func isWordToken(t string) bool {
	c := t[0]
	return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// unquoteTypeIdent strips the quotes of "x", `x` or 'x', undoubling inner
// quotes.
func unquoteTypeIdent(t string) string {
	q := t[:1]
	inner := t[1 : len(t)-1]
	return strings.ReplaceAll(inner, q+q, q)
}

// lexType splits a type string into words, numbers, quoted names and
// punctuation; nil for a character that belongs to no token.
func lexType(s string) []string {
	toks := []string{}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("<>(),[]:", c) >= 0:
			toks = append(toks, s[i:i+1])
			i++
		case c == '"' || c == '`' || c == '\'':
			j := i + 1
			for {
				if j >= len(s) {
					return nil
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		case c == '_' || c == '-' || c == '+' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z'):
			j := i + 1
			for j < len(s) && (s[j] == '_' || (s[j] >= '0' && s[j] <= '9') || (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z')) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil
		}
	}
	if len(toks) == 0 {
		return nil
	}
	return toks
}
