package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/types"
)

// The REPL's own renderings of a result: the table format fitted to the
// terminal's width, and the expanded display (\x). Both read the whole
// result (alignment needs every row), like the table format does.

// minColumn is the narrowest a fitted column gets: room for two
// characters and the ellipsis.
const minColumn = 3

// cells renders a result's rows as one-line texts.
func cells(r *query.Result) ([][]string, error) {
	var out [][]string
	for row, err := range r.All() {
		if err != nil {
			return nil, err
		}
		line := make([]string, len(r.Columns))
		for j, c := range r.Columns {
			if j < len(row) {
				line[j] = cellText(row[j], c.Type)
			}
		}
		out = append(out, line)
	}
	return out, nil
}

// cellText renders a value on one line: control characters are escaped.
func cellText(v types.Value, t types.DataType) string {
	s := types.FormatValue(v, t)
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
		q := strconv.Quote(s)
		return q[1 : len(q)-1]
	}
	return s
}

// truncate cuts s to at most w runes, marking a cut with "…".
func truncate(s string, w int) string {
	if utf8.RuneCountInString(s) <= w {
		return s
	}
	r := []rune(s)
	return string(r[:max(w-1, 0)]) + "…"
}

// fitWidths narrows the widest columns until a table of the given column
// widths fits in width characters (each column takes its width plus 3:
// " v |"), never below minColumn.
func fitWidths(widths []int, width int) []int {
	w := append([]int(nil), widths...)
	total := func() int {
		t := -1
		for _, x := range w {
			t += x + 3
		}
		return t
	}
	for total() > width {
		widest := 0
		for j := range w {
			if w[j] > w[widest] {
				widest = j
			}
		}
		if w[widest] <= minColumn {
			break // as narrow as it gets: the terminal wraps the rest
		}
		w[widest]--
	}
	return w
}

// writeFitted writes the table format with long values cut ("…") so that
// each line fits in width characters.
func writeFitted(w io.Writer, r *query.Result, width int) error {
	rows, err := cells(r)
	if err != nil {
		return err
	}
	widths := make([]int, len(r.Columns))
	for j, c := range r.Columns {
		widths[j] = utf8.RuneCountInString(c.Name)
		for _, row := range rows {
			widths[j] = max(widths[j], utf8.RuneCountInString(row[j]))
		}
	}
	widths = fitWidths(widths, width)
	cols := slices.Clone(r.Columns)
	for j := range cols {
		cols[j].Name = truncate(cols[j].Name, widths[j])
	}
	for _, row := range rows {
		for j := range row {
			row[j] = truncate(row[j], widths[j])
		}
	}
	return query.WriteAligned(w, cols, rows, widths)
}

func writeRowCount(bw *bufio.Writer, n int) {
	if n == 1 {
		bw.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(bw, "(%d rows)\n", n)
	}
}

// writeExpanded writes each row as a record of "column | value" lines, as
// psql's \x does; width (0: unlimited) cuts long values.
func writeExpanded(w io.Writer, r *query.Result, width int) error {
	rows, err := cells(r)
	if err != nil {
		return err
	}
	nameW := 0
	for _, c := range r.Columns {
		nameW = max(nameW, utf8.RuneCountInString(c.Name))
	}
	bw := bufio.NewWriter(w)
	for i, row := range rows {
		head := fmt.Sprintf("-[ RECORD %d ]", i+1)
		bw.WriteString(head + strings.Repeat("-", max(nameW+3-len(head), 0)) + "\n")
		for j, c := range r.Columns {
			v := row[j]
			if width > 0 {
				v = truncate(v, max(width-nameW-3, minColumn))
			}
			pad := strings.Repeat(" ", nameW-utf8.RuneCountInString(c.Name))
			bw.WriteString(strings.TrimRight(c.Name+pad+" | "+v, " ") + "\n")
		}
	}
	writeRowCount(bw, len(rows))
	return bw.Flush()
}
