package query

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/siltdb/silt/types"
)

// CSV input rules (silt load, COPY … FROM, and what silt's csv output
// writes):
//
//   - RFC 4180: fields separated by commas (or LoadOptions.Delimiter); a field in double quotes may hold
//     commas, newlines and doubled quotes (""); records end with \n or \r\n;
//   - the first record is the header of column names (unless
//     LoadOptions.NoHeader: then the fields are the columns in order);
//   - an empty unquoted field is NULL, a quoted empty field ("") is the empty
//     string for STRING and NULL for other types;
//   - BYTES are 0x followed by hex digits;
//   - blank lines between records are skipped;
//   - a record may be at most maxLoadRecord bytes long.

// csvField is one field of a CSV record.
type csvField struct {
	text   string
	quoted bool
}

// csvReader reads CSV records from lines.
type csvReader struct {
	lr    *lineReader
	sep   byte
	start int // line number of the first line of the last record
	rec   []csvField
	sb    strings.Builder
}

// read returns the next record (valid until the next call) or io.EOF.
func (c *csvReader) read() ([]csvField, error) {
	var line []byte
	var err error
	for {
		line, err = c.lr.next(c.lr.max)
		if err != nil {
			return nil, err
		}
		if len(line) > 0 && !(len(line) == 1 && line[0] == '\r') {
			break
		}
	}
	c.start = c.lr.line
	c.rec = c.rec[:0]
	used := len(line)
	for {
		// Start of a field at line[0:].
		if len(line) == 0 || line[0] != '"' {
			end := bytes.IndexByte(line, c.sep)
			text := line
			if end >= 0 {
				text = line[:end]
			} else if len(text) > 0 && text[len(text)-1] == '\r' {
				text = text[:len(text)-1] // \r\n line end
			}
			if i := bytes.IndexByte(text, '"'); i >= 0 {
				return nil, fmt.Errorf("%w: line %d: field %d: bare \" in an unquoted field (quote the field and double the quote)", types.ErrInvalid, c.lr.line, len(c.rec)+1)
			}
			c.rec = append(c.rec, csvField{text: string(text)})
			if end < 0 {
				return c.rec, nil
			}
			line = line[end+1:]
			continue
		}
		// Quoted field: may continue over several lines.
		c.sb.Reset()
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			if i < 0 {
				c.sb.Write(line)
				c.sb.WriteByte('\n')
				// The record continues on the next line. Keep a \r that
				// the line ended with: it is part of the quoted text.
				next, err := c.lr.next(c.lr.max - used - 1)
				if errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("%w: line %d: quoted field %d is not closed before the end of the input", types.ErrInvalid, c.start, len(c.rec)+1)
				}
				if errors.Is(err, errTooLong) {
					return nil, fmt.Errorf("%w: line %d: record %w: more than %s", types.ErrInvalid, c.start, errTooLong, sizeText(int64(c.lr.max)))
				}
				if err != nil {
					return nil, err
				}
				used += len(next) + 1
				line = next
				continue
			}
			c.sb.Write(line[:i])
			line = line[i+1:]
			if len(line) > 0 && line[0] == '"' {
				c.sb.WriteByte('"')
				line = line[1:]
				continue
			}
			break
		}
		c.rec = append(c.rec, csvField{text: c.sb.String(), quoted: true})
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return c.rec, nil
		}
		if line[0] != c.sep {
			return nil, fmt.Errorf("%w: line %d: field %d: text after the closing quote (double a quote inside a quoted field)", types.ErrInvalid, c.lr.line, len(c.rec))
		}
		line = line[1:]
		if len(line) == 0 {
			c.rec = append(c.rec, csvField{})
			return c.rec, nil
		}
	}
}

// LoadCSV reads CSV records (the rules above) as rows of s and passes each
// to write; errors name the line.
func LoadCSV(r io.Reader, s *types.Schema, opts LoadOptions, write func(types.Row) error) error {
	sep := opts.Delimiter
	if sep == 0 {
		sep = ','
	}
	if sep == '"' || sep == '\r' || sep == '\n' {
		return fmt.Errorf("%w: %q cannot separate CSV fields", types.ErrInvalid, sep)
	}
	cr := &csvReader{lr: newLineReader(r, opts.maxRecord()), sep: sep}
	var cols []int
	if opts.NoHeader {
		for i := range s.Fields {
			cols = append(cols, i)
		}
	} else {
		header, err := cr.read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("header: %w", err)
		}
		names := make([]string, len(header))
		for i, h := range header {
			if err := checkUTF8(h.text); err != nil {
				return fmt.Errorf("header: %w", err)
			}
			names[i] = h.text
		}
		if cols, err = mapColumns(s, names); err != nil {
			return err
		}
	}
	for {
		rec, err := cr.read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(rec) != len(cols) {
			if opts.NoHeader {
				return fmt.Errorf("%w: line %d: %d fields, the table has %d columns", types.ErrInvalid, cr.start, len(rec), len(cols))
			}
			return fmt.Errorf("%w: line %d: %d fields, header has %d", types.ErrInvalid, cr.start, len(rec), len(cols))
		}
		row := make(types.Row, len(s.Fields))
		for i, cell := range rec {
			f := s.Fields[cols[i]]
			if cell.text == "" && (!cell.quoted || f.Type.Kind != types.String) {
				continue // NULL
			}
			v, err := loadText(cell.text, f, csvBytes)
			if err != nil {
				return fmt.Errorf("line %d, column %q: %w", cr.start, f.Name, err)
			}
			row[cols[i]] = v
		}
		if err := write(row); err != nil {
			return fmt.Errorf("line %d: %w", cr.start, err)
		}
	}
}

// csvBytes decodes a BYTES cell: 0x followed by an even number of hex
// digits, as silt's csv output writes BYTES.
func csvBytes(s string) ([]byte, error) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok {
		h, ok = strings.CutPrefix(s, "0X")
	}
	if !ok {
		return nil, fmt.Errorf("%w: BYTES cell %q: want 0x followed by hex digits, e.g. 0x00ff", types.ErrInvalid, abbreviate(s))
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: BYTES cell %q: want 0x followed by an even number of hex digits", types.ErrInvalid, abbreviate(s))
	}
	return b, nil
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// mapColumns maps the names of a CSV header to schema positions.
func mapColumns(s *types.Schema, header []string) ([]int, error) {
	cols := make([]int, len(header))
	seen := map[int]bool{}
	for i, h := range header {
		idx := s.FieldIndex(strings.TrimSpace(h))
		if idx < 0 {
			return nil, fmt.Errorf("%w: header column %q is not a column of the table", types.ErrInvalid, h)
		}
		if seen[idx] {
			return nil, fmt.Errorf("%w: header column %q appears twice", types.ErrInvalid, h)
		}
		seen[idx] = true
		cols[i] = idx
	}
	return cols, nil
}
