package query

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// Result output formats:
//
//	table  aligned columns, a header, "(N rows)" footer; NULL prints as NULL
//	csv    RFC 4180 with a header row; NULL is an empty field, the empty
//	       string "" (quoted); BYTES 0x followed by hex digits
//	json   one JSON object per row and line; numbers as numbers, DECIMAL as
//	       a string (exact), DATE "YYYY-MM-DD", TIMESTAMP RFC 3339 (UTC),
//	       BYTES base64, NULL null
//	arrow  an Arrow IPC stream of record batches of up to arrowBatchRows
//	       rows (one, possibly empty, batch for a small result)
//
// csv, json and arrow write a streaming result (ExecStream) as its rows
// arrive; table needs every row for its column widths, so it collects
// them first. An error met mid-stream is returned after the rows before it
// were written (the output is then partial).
//
// A result without columns (DDL, INSERT, …) prints its message; in json as
// {"message": …, "snapshot_id": …}; arrow writes nothing for it.

// Formats returns the names WriteResult accepts.
func Formats() []string { return []string{"table", "csv", "json", "arrow"} }

// WriteResult writes r to w in the named format.
func WriteResult(w io.Writer, r *Result, format string) error {
	switch strings.ToLower(format) {
	case "table", "":
		return writeTable(w, r)
	case "csv":
		return writeCSV(w, r)
	case "json":
		return writeJSON(w, r)
	case "arrow":
		return writeArrow(w, r)
	}
	return errf(types.ErrInvalid, "unknown output format %q (valid: %s)", format, strings.Join(Formats(), ", "))
}

func isMessageOnly(r *Result) bool { return len(r.Columns) == 0 }

// cellText renders a value for the table format on one line.
func cellText(v types.Value, t types.DataType) string {
	s := types.FormatValue(v, t)
	if _, ok := v.(string); ok {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func writeTable(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	if isMessageOnly(r) {
		msg := r.Message
		if r.SnapshotID > 0 {
			msg += fmt.Sprintf(" (snapshot %d)", r.SnapshotID)
		}
		fmt.Fprintln(bw, msg)
		return bw.Flush()
	}
	rows := r.Rows
	if r.stream != nil {
		// Alignment needs every row: the table format collects a
		// streaming result (use csv, json or arrow for large results).
		rows = nil
		for row, err := range r.stream {
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
	}
	cells := make([][]string, len(rows))
	width := make([]int, len(r.Columns))
	for j, c := range r.Columns {
		width[j] = utf8.RuneCountInString(c.Name)
	}
	for i, row := range rows {
		cells[i] = make([]string, len(r.Columns))
		for j, c := range r.Columns {
			var v types.Value
			if j < len(row) {
				v = row[j]
			}
			cells[i][j] = cellText(v, c.Type)
			width[j] = max(width[j], utf8.RuneCountInString(cells[i][j]))
		}
	}
	return WriteAligned(bw, r.Columns, cells, width)
}

// WriteAligned writes cells as the aligned table format: a header of the
// column names, a separator line, one line per row with numbers aligned
// right, and the row count; width[j] is column j's width in runes (at
// least every cell's), and w is flushed when it is a *bufio.Writer.
func WriteAligned(w io.Writer, cols []Column, cells [][]string, width []int) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	line := func(vals []string, right func(j int) bool) {
		var sb strings.Builder
		for j, v := range vals {
			if j > 0 {
				sb.WriteString(" |")
			}
			pad := strings.Repeat(" ", max(width[j]-utf8.RuneCountInString(v), 0))
			if right(j) {
				sb.WriteString(" " + pad + v)
			} else {
				sb.WriteString(" " + v + pad)
			}
		}
		bw.WriteString(strings.TrimRight(sb.String(), " ") + "\n")
	}
	header := make([]string, len(cols))
	for j, c := range cols {
		header[j] = c.Name
	}
	line(header, func(int) bool { return false })
	for j := range cols {
		if j > 0 {
			bw.WriteString("+")
		}
		bw.WriteString(strings.Repeat("-", width[j]+2))
	}
	bw.WriteString("\n")
	for _, row := range cells {
		line(row, func(j int) bool { return isNumeric(cols[j].Type.Kind) })
	}
	if len(cells) == 1 {
		bw.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(bw, "(%d rows)\n", len(cells))
	}
	return bw.Flush()
}

func writeCSV(w io.Writer, r *Result) error {
	if isMessageOnly(r) {
		_, err := fmt.Fprintln(w, r.Message)
		return err
	}
	ew := &errWriter{w: w}
	bw := bufio.NewWriter(ew)
	for j, c := range r.Columns {
		if j > 0 {
			bw.WriteByte(',')
		}
		writeCSVField(bw, c.Name, false)
	}
	bw.WriteByte('\n')
	for row, err := range r.All() {
		if err != nil {
			bw.Flush()
			return err
		}
		if ew.err != nil {
			return ew.err
		}
		for j, c := range r.Columns {
			if j > 0 {
				bw.WriteByte(',')
			}
			if j < len(row) && row[j] != nil {
				// A non-NULL empty string is written "" so that it
				// differs from NULL, an empty unquoted field.
				writeCSVField(bw, csvText(row[j], c.Type), true)
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// writeCSVField writes one RFC 4180 field, quoted when it holds a comma, a
// quote, a line break or leading white space, or when it is empty and
// quoteEmpty is set.
func writeCSVField(bw *bufio.Writer, s string, quoteEmpty bool) {
	if !(s == "" && quoteEmpty) && !strings.ContainsAny(s, ",\"\r\n") && !strings.HasPrefix(s, " ") && !strings.HasPrefix(s, "\t") {
		bw.WriteString(s)
		return
	}
	bw.WriteByte('"')
	bw.WriteString(strings.ReplaceAll(s, `"`, `""`))
	bw.WriteByte('"')
}

func writeJSON(w io.Writer, r *Result) error {
	ew := &errWriter{w: w}
	bw := bufio.NewWriter(ew)
	if isMessageOnly(r) {
		b, _ := json.Marshal(r.Message)
		bw.WriteString(`{"message":` + string(b))
		if r.SnapshotID > 0 {
			bw.WriteString(`,"snapshot_id":` + strconv.FormatInt(r.SnapshotID, 10))
		}
		bw.WriteString("}\n")
		return bw.Flush()
	}
	keys := jsonKeys(r.Columns)
	for row, err := range r.All() {
		if err != nil {
			bw.Flush()
			return err
		}
		if ew.err != nil {
			return ew.err
		}
		bw.WriteString("{")
		for j, c := range r.Columns {
			if j > 0 {
				bw.WriteString(",")
			}
			bw.WriteString(keys[j] + ":")
			var v types.Value
			if j < len(row) {
				v = row[j]
			}
			bw.WriteString(jsonValue(v, c.Type))
		}
		bw.WriteString("}\n")
	}
	return bw.Flush()
}

// jsonKeys returns the quoted object keys, suffixing repeated names
// ("a", "a_2") so that every key is unique.
func jsonKeys(cols []Column) []string {
	used := map[string]bool{}
	out := make([]string, len(cols))
	for j, c := range cols {
		name := c.Name
		for n := 2; used[name]; n++ {
			name = c.Name + "_" + strconv.Itoa(n)
		}
		used[name] = true
		b, _ := json.Marshal(name)
		out[j] = string(b)
	}
	return out
}

func jsonValue(v types.Value, t types.DataType) string {
	str := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float32:
		return jsonFloat(float64(x), 32)
	case float64:
		return jsonFloat(x, 64)
	case types.Decimal:
		return str(types.FormatDecimal(int64(x), t.Scale))
	case types.Decimal128:
		return str(types.FormatDecimal128(x, t.Scale))
	case string:
		return str(x)
	case []byte:
		return str(base64.StdEncoding.EncodeToString(x))
	case types.Date:
		return str(types.FormatValue(x, t))
	case types.Timestamp:
		return str(x.Time().Format(time.RFC3339Nano))
	case types.TimestampLTZ:
		return str(x.Time().Format(time.RFC3339Nano))
	case types.TimeOfDay, types.UUID:
		return str(types.FormatValue(x, t))
	case types.List, types.Map, types.Struct:
		return nestedJSON(v, t)
	}
	return str(fmt.Sprint(v))
}

// jsonFloat writes finite floats as numbers and NaN/±Inf as strings, which
// JSON cannot represent otherwise.
func jsonFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return `"NaN"`
	case math.IsInf(f, 1):
		return `"Infinity"`
	case math.IsInf(f, -1):
		return `"-Infinity"`
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// errWriter remembers the first write error, so that a streaming writer
// stops reading rows once its output is gone (a closed pipe).
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
