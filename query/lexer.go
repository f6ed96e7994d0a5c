package query

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// tokKind is the lexical class of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // bare identifier or keyword
	tQIdent         // `quoted` or "quoted" identifier (never a keyword)
	tInt            // 123
	tDec            // 1.5, .5, 1.
	tFloat          // 1e5, 1.5E-3
	tString         // 'it''s' (text is the unescaped value)
	tHex            // X'0aff' (text is the hex digits)
	tOp             // punctuation and operators; text is the operator
)

// position is a 1-based line and column (in characters) in the input.
type position struct{ line, col int }

func (p position) String() string { return fmt.Sprintf("%d:%d", p.line, p.col) }

type token struct {
	kind tokKind
	text string   // identifier text, unescaped string, number or operator
	raw  string   // the token as written (for error messages)
	pos  position // where the token starts
	off  int      // byte offset where the token starts
}

// SyntaxError is a lexical or grammatical error at a position of the input.
// It wraps types.ErrInvalid.
type SyntaxError struct {
	Line, Col int
	// Near is the offending token as written ("" at end of input).
	Near string
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Near == "" {
		return fmt.Sprintf("%v: syntax error at end of input (%d:%d): %s", types.ErrInvalid, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%v: syntax error at %d:%d near %q: %s", types.ErrInvalid, e.Line, e.Col, e.Near, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return types.ErrInvalid }

// maxNear bounds the token text quoted in an error message.
const maxNear = 24

func syntaxErr(t token, format string, args ...any) *SyntaxError {
	near := t.raw
	if t.kind == tEOF {
		near = ""
	}
	if utf8.RuneCountInString(near) > maxNear {
		near = string([]rune(near)[:maxNear]) + "…"
	}
	return &SyntaxError{Line: t.pos.line, Col: t.pos.col, Near: near, Msg: fmt.Sprintf(format, args...)}
}

// lexer turns SQL text into tokens, skipping whitespace and comments.
type lexer struct {
	src  string
	off  int
	line int
	col  int
}

// tokenize returns all tokens of src, ending with a tEOF token.
func tokenize(src string) ([]token, error) { return tokenizeCtx(context.Background(), src) }

// checkEvery is how many tokens, expression nodes or rows the parser,
// binder and executor handle between two checks of their context, so a
// canceled statement stops within microseconds in any phase.
const checkEvery = 1024

// tokenizeCtx is tokenize that stops with ctx's error when ctx is done.
func tokenizeCtx(ctx context.Context, src string) ([]token, error) {
	lx := &lexer{src: src, line: 1, col: 1}
	var out []token
	for {
		if len(out)%checkEvery == checkEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if t.kind == tEOF {
			return out, nil
		}
	}
}

func (lx *lexer) peekRune(ahead int) rune {
	o := lx.off
	for i := 0; ; i++ {
		if o >= len(lx.src) {
			return -1
		}
		r, n := utf8.DecodeRuneInString(lx.src[o:])
		if i == ahead {
			return r
		}
		o += n
	}
}

func (lx *lexer) advance() rune {
	r, n := utf8.DecodeRuneInString(lx.src[lx.off:])
	lx.off += n
	if r == '\n' {
		lx.line++
		lx.col = 1
	} else {
		lx.col++
	}
	return r
}

func (lx *lexer) here() (position, int) { return position{lx.line, lx.col}, lx.off }

func (lx *lexer) errAt(p position, off int, msg string) error {
	end := off
	for end < len(lx.src) && end-off < 16 && lx.src[end] != '\n' {
		end++
	}
	return syntaxErr(token{kind: tOp, raw: lx.src[off:end], pos: p}, "%s", msg)
}

// skipSpace skips whitespace and comments.
func (lx *lexer) skipSpace() error {
	for lx.off < len(lx.src) {
		r := lx.peekRune(0)
		switch {
		case unicode.IsSpace(r):
			lx.advance()
		case r == '-' && lx.peekRune(1) == '-':
			for lx.off < len(lx.src) && lx.peekRune(0) != '\n' {
				lx.advance()
			}
		case r == '/' && lx.peekRune(1) == '*':
			p, off := lx.here()
			lx.advance()
			lx.advance()
			closed := false
			for lx.off < len(lx.src) {
				if lx.peekRune(0) == '*' && lx.peekRune(1) == '/' {
					lx.advance()
					lx.advance()
					closed = true
					break
				}
				lx.advance()
			}
			if !closed {
				return lx.errAt(p, off, "unterminated /* comment")
			}
		default:
			return nil
		}
	}
	return nil
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func (lx *lexer) next() (token, error) {
	if err := lx.skipSpace(); err != nil {
		return token{}, err
	}
	p, start := lx.here()
	mk := func(k tokKind, text string) token {
		return token{kind: k, text: text, raw: lx.src[start:lx.off], pos: p, off: start}
	}
	if lx.off >= len(lx.src) {
		return token{kind: tEOF, pos: p, off: start}, nil
	}
	r := lx.peekRune(0)
	switch {
	case r == utf8.RuneError:
		return token{}, lx.errAt(p, start, "invalid UTF-8 in input")
	case (r == 'x' || r == 'X') && lx.peekRune(1) == '\'':
		lx.advance()
		s, err := lx.quoted('\'', p, start, "string")
		if err != nil {
			return token{}, err
		}
		return mk(tHex, s), nil
	case isIdentStart(r):
		for lx.off < len(lx.src) && isIdentPart(lx.peekRune(0)) {
			lx.advance()
		}
		return mk(tIdent, lx.src[start:lx.off]), nil
	case isDigit(r) || (r == '.' && isDigit(lx.peekRune(1))):
		return lx.number(p, start)
	case r == '\'':
		s, err := lx.quoted('\'', p, start, "string")
		if err != nil {
			return token{}, err
		}
		return mk(tString, s), nil
	case r == '`' || r == '"':
		s, err := lx.quoted(r, p, start, "quoted identifier")
		if err != nil {
			return token{}, err
		}
		if s == "" {
			return token{}, lx.errAt(p, start, "empty quoted identifier")
		}
		return mk(tQIdent, s), nil
	}
	lx.advance()
	two := ""
	if lx.off < len(lx.src) {
		two = string(r) + string(lx.peekRune(0))
	}
	switch two {
	case "<=", ">=", "<>", "!=", "||":
		lx.advance()
		return mk(tOp, two), nil
	}
	switch r {
	case '+', '-', '*', '/', '%', '=', '<', '>', '(', ')', ',', '.', ';', '[', ']', '{', '}', ':':
		return mk(tOp, string(r)), nil
	}
	return token{}, lx.errAt(p, start, fmt.Sprintf("unexpected character %q", r))
}

// quoted reads a quote-delimited text whose delimiter is escaped by
// doubling it; the opening quote is the current rune.
func (lx *lexer) quoted(q rune, p position, start int, what string) (string, error) {
	lx.advance()
	var sb strings.Builder
	for {
		if lx.off >= len(lx.src) {
			return "", lx.errAt(p, start, "unterminated "+what)
		}
		if r, n := utf8.DecodeRuneInString(lx.src[lx.off:]); r == utf8.RuneError && n == 1 {
			bad, _ := lx.here()
			return "", lx.errAt(bad, lx.off, "invalid UTF-8 in "+what+" (SQL text must be UTF-8; write bytes as X'ff')")
		}
		r := lx.advance()
		if r == q {
			if lx.peekRune(0) == q {
				lx.advance()
				sb.WriteRune(q)
				continue
			}
			return sb.String(), nil
		}
		sb.WriteRune(r)
	}
}

func (lx *lexer) number(p position, start int) (token, error) {
	kind := tInt
	for isDigit(lx.peekRune(0)) {
		lx.advance()
	}
	if lx.peekRune(0) == '.' {
		kind = tDec
		lx.advance()
		for isDigit(lx.peekRune(0)) {
			lx.advance()
		}
	}
	if c := lx.peekRune(0); c == 'e' || c == 'E' {
		n := 1
		if s := lx.peekRune(1); s == '+' || s == '-' {
			n = 2
		}
		if isDigit(lx.peekRune(n)) {
			kind = tFloat
			for i := 0; i < n; i++ {
				lx.advance()
			}
			for isDigit(lx.peekRune(0)) {
				lx.advance()
			}
		}
	}
	if isIdentStart(lx.peekRune(0)) {
		for lx.off < len(lx.src) && isIdentPart(lx.peekRune(0)) {
			lx.advance()
		}
		return token{}, lx.errAt(p, start, "bad number")
	}
	text := lx.src[start:lx.off]
	return token{kind: kind, text: text, raw: text, pos: p, off: start}, nil
}

// SplitStatements splits a script at the semicolons that are outside
// string literals, quoted identifiers and comments. It returns the
// terminated statements (without the ';', trimmed, empty ones dropped) and
// whether the input is complete: nothing but whitespace and comments
// follows the last ';'. A REPL keeps reading while complete is false (also
// inside an unterminated string or comment).
func SplitStatements(sql string) (stmts []string, complete bool) {
	start := 0
	meaningful := false // the current piece has something besides comments
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\'' || c == '`' || c == '"':
			meaningful = true
			j := i + 1
			closed := false
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					closed = true
					break
				}
				j++
			}
			if !closed {
				return stmts, false
			}
			i = j + 1
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return stmts, false // unterminated comment
			}
			i += end + 4
		case c == ';':
			if s := strings.TrimSpace(sql[start:i]); meaningful && s != "" {
				stmts = append(stmts, s)
			}
			start = i + 1
			meaningful = false
			i++
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				meaningful = true
			}
			i++
		}
	}
	return stmts, !meaningful
}
