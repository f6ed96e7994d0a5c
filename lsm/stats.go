package lsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Statistics truncation. parquet-go stores a column chunk's min and max
// whole, so one 10 MB string would put 20 MB more into the footer (and,
// through the page header statistics, 40 MB more into the row group).
// Like parquet-mr and Arrow, silt writes no page header statistics (the
// page index carries the same bounds, truncated to statsTruncateBytes), and
// truncates the min/max of variable-length columns in the footer:
// the min to its first statsTruncateBytes bytes (a prefix is never
// greater), the max to that prefix with its last byte incremented (carrying
// over 0xFF bytes, so it is never smaller). A max made of 0xFF bytes only
// cannot be rounded up; its chunk then keeps no min/max at all, which
// readers treat as "may hold anything".
//
// The _key column is exempt: its statistics are the row group's exact key
// range, which readers, compaction's row-group copies and manifest entries
// rely on. A long key costs its length twice in the footer.
const statsTruncateBytes = 64

// truncateMin returns a value of at most n bytes not greater than v.
func truncateMin(v []byte, n int) []byte {
	if len(v) <= n {
		return v
	}
	for n > 0 && !utf8.RuneStart(v[n]) { // keep strings valid UTF-8
		n--
	}
	return bytes.Clone(v[:n])
}

// truncateMax returns a value of at most n bytes not smaller than v, or
// false if there is none (v starts with n 0xFF bytes).
func truncateMax(v []byte, n int) ([]byte, bool) {
	if len(v) <= n {
		return v, true
	}
	out := bytes.Clone(v[:n])
	for i := n - 1; i >= 0; i-- {
		if out[i] != 0xFF {
			out[i]++
			return out[:i+1], true
		}
	}
	return nil, false
}

// truncateStats truncates the variable-length statistics of md in place
// and reports whether any changed.
func truncateStats(md *format.FileMetaData) bool {
	changed := false
	for g := range md.RowGroups {
		for c := range md.RowGroups[g].Columns {
			cm := &md.RowGroups[g].Columns[c].MetaData
			if c == 0 || cm.Type != format.ByteArray { // c == 0: the exact _key range
				continue
			}
			changed = truncatePair(&cm.Statistics.MinValue, &cm.Statistics.MaxValue) || changed
			changed = truncatePair(&cm.Statistics.Min, &cm.Statistics.Max) || changed
		}
	}
	return changed
}

func truncatePair(lo, hi *[]byte) bool {
	if len(*lo) <= statsTruncateBytes && len(*hi) <= statsTruncateBytes {
		return false
	}
	mx, ok := truncateMax(*hi, statsTruncateBytes)
	if !ok {
		*lo, *hi = nil, nil
		return true
	}
	*lo, *hi = truncateMin(*lo, statsTruncateBytes), mx
	return true
}

// truncateFooterStats rewrites the footer of a complete file (before it is
// sealed) with truncated statistics and, when paths is not nil, with each
// column chunk's path in the schema set to paths[column] (a reused
// parquet writer's footers lose them, see writer_pool.go); data is
// returned unchanged when nothing changes. The file's bytes after the
// footer's start may be overwritten: data must be the caller's to change.
func truncateFooterStats(data []byte, paths [][]string) ([]byte, error) {
	size := int64(len(data))
	footerOff, footerLen, err := footerBounds(data[max(0, size-8):], size)
	if err != nil {
		return nil, err
	}
	md, err := decodeFooter(data[footerOff : footerOff+footerLen])
	if err != nil {
		return nil, fmt.Errorf("truncating statistics: %w", err)
	}
	changed := paths != nil && setColumnPaths(md, paths)
	if !truncateStats(md) && !changed {
		return data, nil
	}
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), md)
	if err != nil {
		return nil, fmt.Errorf("truncating statistics: encoding footer: %w", err)
	}
	// The new footer replaces the old one in place, in data's spare
	// capacity when it is longer (the writer leaves room for it), instead
	// of copying the whole file: the old footer was decoded into md, and
	// footer was encoded from it before data is overwritten.
	out := append(data[:footerOff], footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...), nil
}

// setColumnPaths sets the path in the schema of every column chunk of md
// to paths[column] and reports whether any changed.
func setColumnPaths(md *format.FileMetaData, paths [][]string) bool {
	changed := false
	for g := range md.RowGroups {
		for c := range md.RowGroups[g].Columns {
			cm := &md.RowGroups[g].Columns[c].MetaData
			if c < len(paths) && !slices.Equal(cm.PathInSchema, paths[c]) {
				cm.PathInSchema = paths[c]
				changed = true
			}
		}
	}
	return changed
}
