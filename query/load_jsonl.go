package query

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/siltdb/silt/types"
)

// JSONL input rules (silt load, COPY … FROM, and what silt's json output
// writes):
//
//   - each line holds exactly one JSON object; lines that are empty or only
//     whitespace are skipped; anything after the object on its line is an
//     error;
//   - keys are column names; a key may appear once per object; a missing
//     key or null is NULL;
//   - values are strings, numbers, booleans or null; BYTES are standard
//     base64 strings; an ARRAY, MAP or ROW column takes a JSON array, an
//     object keyed by the map keys' text (or an array of {"key", "value"}
//     objects), an object keyed by field name (or an array of the fields
//     by position), nested with the same rules for their elements (what
//     silt's json output writes), or a string holding its JSON text;
//   - the text must be UTF-8 and a line may be at most maxLoadRecord bytes.

// LoadJSONL reads newline-delimited JSON objects (the rules above) as rows
// of s and passes each to write; errors name the line.
func LoadJSONL(r io.Reader, s *types.Schema, opts LoadOptions, write func(types.Row) error) error {
	maxLine := opts.maxRecord()
	lr := newLineReader(r, maxLine)
	for {
		line, err := lr.next(maxLine)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := checkUTF8(line); err != nil {
			return fmt.Errorf("line %d: %w", lr.line, err)
		}
		row, err := jsonLineRow(s, line)
		if err != nil {
			return fmt.Errorf("line %d: %w", lr.line, err)
		}
		if row == nil {
			continue // blank line
		}
		if err := write(row); err != nil {
			return fmt.Errorf("line %d: %w", lr.line, err)
		}
	}
}

// jsonLineRow converts one line holding one JSON object to a row of the
// schema; a blank line gives a nil row. Unknown and repeated keys, nested
// values and text after the object are errors.
func jsonLineRow(s *types.Schema, line []byte) (types.Row, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", types.ErrInvalid, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: not a JSON object (each line must hold one {...} object)", types.ErrInvalid)
	}
	row := make(types.Row, len(s.Fields))
	seen := make([]string, len(s.Fields)) // the key that set each column
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: not a JSON object: %v", types.ErrInvalid, err)
		}
		key, _ := kt.(string)
		idx := s.FieldIndex(key)
		if idx < 0 {
			return nil, fmt.Errorf("%w: field %q is not a column of the table", types.ErrInvalid, key)
		}
		switch prev := seen[idx]; {
		case prev == key:
			return nil, fmt.Errorf("%w: key %q appears twice in the object", types.ErrInvalid, key)
		case prev != "":
			return nil, fmt.Errorf("%w: keys %q and %q both name column %q (names are case-insensitive)", types.ErrInvalid, prev, key, s.Fields[idx].Name)
		}
		seen[idx] = key
		v, err := loadJSONField(dec, &s.Fields[idx], s.Fields[idx].Name, 0)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", s.Fields[idx].Name, err)
		}
		row[idx] = v
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("%w: not a JSON object: %v", types.ErrInvalid, err)
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return row, nil
	case err == nil:
		return nil, fmt.Errorf("%w: more than one JSON value on the line (one object per line)", types.ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: text after the JSON object (one object per line): %v", types.ErrInvalid, err)
	}
}

// loadJSONValue converts one JSON scalar token to a value of column f
// (a column or a nested field).
func loadJSONValue(tok json.Token, f types.Field) (types.Value, error) {
	switch x := tok.(type) {
	case nil:
		return nil, nil
	case json.Delim:
		return nil, fmt.Errorf("%w: a JSON array or object cannot be a %s", types.ErrInvalid, f.Type)
	case json.Number:
		switch f.Type.Kind {
		case types.Bytes, types.Boolean, types.DateKind, types.TimestampKind:
			return nil, fmt.Errorf("%w: a JSON number cannot be a %s", types.ErrInvalid, f.Type)
		}
		return types.ParseText(x.String(), f.Type)
	case bool:
		if f.Type.Kind != types.Boolean {
			return nil, fmt.Errorf("%w: a JSON boolean cannot be a %s", types.ErrInvalid, f.Type)
		}
		return x, nil
	case string:
		return loadText(x, f, jsonBytes)
	}
	return nil, fmt.Errorf("%w: unexpected JSON token %v", types.ErrInvalid, tok)
}

// jsonBytes decodes a BYTES string: standard base64 with padding, as
// silt's json output writes BYTES.
func jsonBytes(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: BYTES value %q is not standard base64 (e.g. \"AP8=\" for 0x00ff)", types.ErrInvalid, abbreviate(s))
	}
	return b, nil
}
