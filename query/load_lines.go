package query

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// MaxLoadRecord is the longest JSONL line or CSV record silt load and
// COPY … FROM accept by default (bytes, without the line terminator). A
// line is held in memory while it is parsed; longer lines fail with an
// error naming the line instead of exhausting memory.
const MaxLoadRecord = 256 << 20

// LoadOptions configures LoadCSV and LoadJSONL. The zero value reads
// silt's own csv and json output.
type LoadOptions struct {
	// MaxRecord is the longest line or CSV record in bytes; default
	// MaxLoadRecord.
	MaxRecord int
	// Delimiter separates CSV fields; default ','. It cannot be '"', '\r'
	// or '\n'.
	Delimiter byte
	// NoHeader: the CSV file has no header line; its fields are the
	// table's columns in schema order.
	NoHeader bool
}

func (o LoadOptions) maxRecord() int {
	if o.MaxRecord <= 0 {
		return MaxLoadRecord
	}
	return o.MaxRecord
}

// utf8BOM is the byte order mark some tools put at the start of UTF-8 text.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// lineReader splits its input into lines ("\n"-terminated; a final line
// without a terminator counts) of at most max bytes, numbering them from 1.
// A UTF-8 byte order mark at the very start of the input is skipped.
type lineReader struct {
	r       *bufio.Reader
	max     int
	line    int // number of the line last returned
	buf     []byte
	started bool
}

func newLineReader(r io.Reader, max int) *lineReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &lineReader{r: br, max: max}
}

// errTooLong is wrapped by the error for a line or record over the limit.
var errTooLong = errors.New("too long")

// next returns the next line without its "\n", valid until the next call,
// or io.EOF after the last line. budget is the most bytes the line may have
// (at most max); a longer line is an error naming its number.
func (lr *lineReader) next(budget int) ([]byte, error) {
	if !lr.started {
		lr.started = true
		if b, err := lr.r.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
			_, _ = lr.r.Discard(len(utf8BOM))
		}
	}
	budget = min(budget, lr.max)
	if cap(lr.buf) > 4<<20 {
		lr.buf = nil // do not keep a huge line's buffer for the rest of the file
	}
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		content := len(lr.buf) + len(chunk)
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			content--
		}
		if content > budget {
			return nil, fmt.Errorf("%w: line %d: %w: more than %s (the limit is %s per line or CSV record)",
				types.ErrInvalid, lr.line+1, errTooLong, sizeText(int64(budget)), sizeText(int64(lr.max)))
		}
		lr.buf = append(lr.buf, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(lr.buf) == 0 {
				return nil, io.EOF
			}
		case err != nil:
			return nil, err
		}
		lr.line++
		return bytes.TrimSuffix(lr.buf, []byte("\n")), nil
	}
}

// checkUTF8 returns an error naming the byte offset (1-based) of the first
// invalid UTF-8 sequence in b, or nil.
func checkUTF8[T string | []byte](b T) error {
	if isValidUTF8(b) {
		return nil
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRuneInString(string(b[i:min(i+utf8.UTFMax, len(b))]))
		if r == utf8.RuneError && n == 1 {
			return fmt.Errorf("%w: invalid UTF-8 at byte %d: text must be UTF-8", types.ErrInvalid, i+1)
		}
		i += n
	}
	return nil
}

func isValidUTF8[T string | []byte](b T) bool {
	switch x := any(b).(type) {
	case string:
		return utf8.ValidString(x)
	case []byte:
		return utf8.Valid(x)
	}
	return false
}

// loadText converts the text of a CSV cell or a JSON string to a value of
// column f. BYTES text is decoded by bytes (silt's csv output writes 0x
// followed by hex digits; its json output writes standard base64). Text
// for any other type than STRING must not have surrounding spaces: they
// are an error rather than silently trimmed.
func loadText(s string, f types.Field, bytesText func(string) ([]byte, error)) (types.Value, error) {
	if err := checkUTF8(s); err != nil {
		return nil, err
	}
	switch f.Type.Kind {
	case types.String:
		return s, nil
	case types.Bytes:
		b, err := bytesText(s)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	if t := strings.TrimSpace(s); t != s {
		return nil, fmt.Errorf("%w: %s value %q has surrounding spaces: remove the surrounding spaces", types.ErrInvalid, f.Type, s)
	}
	return types.ParseText(s, f.Type)
}

// sizeText renders a byte count for messages.
func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
