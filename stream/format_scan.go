package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// jsonScan walks one JSON document without building values: the formats
// use it to find an object's members as byte ranges of the record, in one
// pass and without a map per object. It validates the syntax as
// encoding/json does (the same documents are accepted; invalid UTF-8 is
// rejected before scanning, as parseObject does; nesting is bounded), so a record is
// judged exactly as it was when every object was unmarshalled into a map.
type jsonScan struct {
	data  []byte
	pos   int
	depth int
	ended bool // member consumed the closing brace of the object it read
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// errJSONSyntax is the scanner's own description of a syntax error; the
// formats report encoding/json's wording instead (see syntaxError).
type errJSONSyntax struct{ pos int }

func (e errJSONSyntax) Error() string { return fmt.Sprintf("invalid JSON at byte %d", e.pos) }

func (s *jsonScan) fail() error { return errJSONSyntax{s.pos} }

func (s *jsonScan) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// key reads the next member's key and colon, leaving s at its value: the
// caller then skips the value (value) or walks into it, and calls after.
// Before the first member first is true. It returns the key (between its
// quotes), whether it has escapes, and ok=false after the closing brace.
func (s *jsonScan) key(first bool) (key []byte, esc bool, ok bool, err error) {
	if s.ended {
		s.ended = false
		return nil, false, false, nil
	}
	s.ws()
	if s.pos >= len(s.data) {
		return nil, false, false, s.fail()
	}
	switch s.data[s.pos] {
	case '}':
		if !first {
			return nil, false, false, s.fail() // a trailing comma
		}
		s.pos++
		s.depth--
		return nil, false, false, nil
	case '"':
	default:
		return nil, false, false, s.fail()
	}
	kstart := s.pos
	if esc, err = s.str(); err != nil {
		return nil, false, false, err
	}
	key = s.data[kstart+1 : s.pos-1]
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return nil, false, false, s.fail()
	}
	s.pos++
	s.ws()
	return key, esc, true, nil
}

// after reads what follows a member's value: a comma, or the closing brace
// (then the next key call reports the end).
func (s *jsonScan) after() error {
	s.ws()
	if s.pos >= len(s.data) {
		return s.fail()
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
	case '}':
		s.pos++
		s.depth--
		s.ended = true
	default:
		return s.fail()
	}
	return nil
}

// member reads a whole member: key, value (validated and skipped) and
// what follows; val is the value's bytes.
func (s *jsonScan) member(first bool) (key []byte, esc bool, val []byte, ok bool, err error) {
	if key, esc, ok, err = s.key(first); !ok || err != nil {
		return nil, false, nil, ok, err
	}
	vstart := s.pos
	if err = s.value(); err != nil {
		return nil, false, nil, false, err
	}
	val = s.data[vstart:s.pos]
	if err = s.after(); err != nil {
		return nil, false, nil, false, err
	}
	return key, esc, val, true, nil
}

// next is member after the first member.
func (s *jsonScan) next() (key []byte, esc bool, val []byte, ok bool, err error) {
	return s.member(false)
}

// end checks that nothing but white space follows the document.
func (s *jsonScan) end() error {
	if s.ws(); s.pos != len(s.data) {
		return s.fail()
	}
	return nil
}

// open enters the object at s.pos.
func (s *jsonScan) open() error {
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return s.fail()
	}
	return s.enter()
}

func (s *jsonScan) enter() error {
	s.depth++
	if s.depth > maxJSONDepth {
		return s.fail()
	}
	s.pos++
	return nil
}

// value skips one value, validating it.
func (s *jsonScan) value() error {
	if s.pos >= len(s.data) {
		return s.fail()
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		_, err := s.str()
		return err
	case c == '{':
		if err := s.enter(); err != nil {
			return err
		}
		_, _, _, ok, err := s.member(true)
		for ok && err == nil {
			_, _, _, ok, err = s.next()
		}
		return err
	case c == '[':
		return s.array()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return s.fail()
}

func (s *jsonScan) array() error {
	if err := s.enter(); err != nil {
		return err
	}
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if err := s.value(); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.fail()
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return nil
		default:
			return s.fail()
		}
	}
}

func (s *jsonScan) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.fail()
	}
	s.pos += len(lit)
	return nil
}

// str skips the string at s.pos; esc says it holds escapes.
func (s *jsonScan) str() (esc bool, err error) {
	d := s.data
	i := s.pos + 1
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				s.pos = i
				return false, s.fail()
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					s.pos = i
					return false, s.fail()
				}
				i += 6
			default:
				s.pos = i
				return false, s.fail()
			}
		case c < 0x20:
			s.pos = i
			return false, s.fail()
		default:
			i++
		}
	}
	s.pos = i
	return false, s.fail()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number skips a number with JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) number() error {
	d := s.data
	i := s.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		s.pos = i
		return s.fail()
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			s.pos = i
			return s.fail()
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			s.pos = i
			return s.fail()
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	s.pos = i
	return nil
}

// objectScan checks that data is a JSON object, as parseObject does (same
// size bound, same reasons), and returns a scanner at its start. The walk
// of the object validates it: a caller reports any syntax error the walk
// meets, or trailing bytes after it (end), with syntaxError before it
// judges any value, so that broken syntax anywhere makes the record
// unparseable as it did when encoding/json parsed the whole record first.
func objectScan(what string, data []byte) (jsonScan, error) {
	if len(data) > maxRecordBytes {
		return jsonScan{}, badRecord(ReasonUnparseable, "%s is %d bytes, more than the %d allowed", what, len(data), maxRecordBytes)
	}
	if !utf8.Valid(data) {
		// encoding/json would replace the bad bytes with U+FFFD silently.
		return jsonScan{}, badRecord(ReasonUnparseable, "%s is not valid UTF-8 (JSON text must be UTF-8)", what)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return jsonScan{}, badRecord(ReasonUnparseable, "%s is not a JSON object", what)
	}
	return jsonScan{data: data}, nil
}

// syntaxError reports a document the scanner rejected with encoding/json's
// wording (the error path only, so its cost does not matter).
func syntaxError(what string, data []byte, err error) error {
	var v any
	if jerr := json.Unmarshal(data, &v); jerr != nil {
		err = jerr
	}
	return badRecord(ReasonUnparseable, "%s is not valid JSON: %v", what, err)
}

// innerScan returns a scanner over a value of an already validated
// document (an image or the payload), checking that it is an object.
func innerScan(what string, val []byte) (jsonScan, error) {
	if len(val) == 0 || val[0] != '{' {
		return jsonScan{}, badRecord(ReasonUnparseable, "%s is not a JSON object", what)
	}
	return jsonScan{data: val}, nil
}

// keyIs says whether a member key (raw, between its quotes) is name.
func keyIs(key []byte, esc bool, name string) bool {
	if !esc {
		return string(key) == name
	}
	return unquoteKey(key) == name
}

// unquoteKey decodes an escaped key as encoding/json does.
func unquoteKey(key []byte) string {
	var s string
	q := make([]byte, 0, len(key)+2)
	q = append(append(append(q, '"'), key...), '"')
	if json.Unmarshal(q, &s) != nil {
		return string(key)
	}
	return s
}

// isNullValue says whether a member value (no surrounding space) is null.
func isNullValue(val []byte) bool { return len(val) == 0 || string(val) == "null" }

// column returns the column a member key names (matched without case), or
// -1 and the decoded key ("" when the key needs no decoding: it is the
// name as it stands).
func (c *rowCodec) column(key []byte, esc bool) (int, string) {
	if !esc && len(key) <= 64 {
		var buf [64]byte
		ascii := true
		for i, b := range key {
			if b >= 0x80 {
				ascii = false
				break
			}
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			buf[i] = b
		}
		if ascii {
			if idx, ok := c.names[string(buf[:len(key)])]; ok {
				return idx, ""
			}
			return -1, "" // the caller takes the name from key when it needs it
		}
	}
	name := string(key)
	if esc || !isASCII(key) {
		name = unquoteKey(key)
	}
	if idx, ok := c.names[strings.ToLower(name)]; ok {
		return idx, ""
	}
	return -1, name
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// maxStackColumns is the width up to which rowFrom keeps its per-column
// value ranges on the stack.
const maxStackColumns = 32

// rowFrom converts the members of the object s is at (already validated)
// to a row in schema order, the way row does for a parsed map: a repeated
// key keeps its last value, unknown fields are ignored or rejected, and
// values are converted in column order. hints (by column, may be nil) are
// the envelope's logical types.
func (c *rowCodec) rowFrom(what string, s *jsonScan, hints []fieldHint, add bool) (types.Row, error) {
	n := len(c.schema.Fields)
	var stack [maxStackColumns][]byte
	var raws [][]byte
	if n <= maxStackColumns {
		raws = stack[:n]
	} else {
		raws = make([][]byte, n)
	}
	if err := s.open(); err != nil {
		return nil, syntaxError(what, s.data, err)
	}
	var unknown error // the syntax of the rest is judged first
	key, esc, val, ok, err := s.member(true)
	for ; ok && err == nil; key, esc, val, ok, err = s.next() {
		idx, name := c.column(key, esc)
		if idx < 0 {
			if c.opts.UnknownFields == "reject" && unknown == nil {
				if name == "" {
					name = string(key)
				}
				unknown = schemaRecordError(name, RuleUnknownField, "field %q is not a column of the table", name)
			}
			continue
		}
		raws[idx] = val
	}
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, syntaxError(what, s.data, err)
	}
	if unknown != nil {
		return nil, unknown
	}
	row := make(types.Row, n)
	for idx, raw := range raws {
		if raw == nil {
			continue
		}
		var h fieldHint
		if hints != nil {
			h = hints[idx]
		}
		v, err := c.columnValue(raw, idx, h)
		if err != nil {
			if ReasonOf(err) != "" {
				return nil, err // an unknown nested field (unknown-fields reject)
			}
			return nil, &RecordError{Reason: ReasonWrongType, Err: fmt.Errorf("column %q: %w", c.schema.Fields[idx].Name, err)}
		}
		row[idx] = v
	}
	return row, c.check(row, add)
}

// rowJSON converts a whole record value that must be one JSON object.
func (c *rowCodec) rowJSON(what string, data []byte, add bool) (types.Row, error) {
	s, err := objectScan(what, data)
	if err != nil {
		return nil, err
	}
	return c.rowFrom(what, &s, nil, add)
}
