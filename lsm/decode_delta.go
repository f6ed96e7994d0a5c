package lsm

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Checking and decoding a DELTA_BYTE_ARRAY page in one pass. The hidden
// _key column (and any NOT NULL STRING or BYTES column) is written with
// DELTA_BYTE_ARRAY: per value a prefix length shared with the previous
// value, a suffix length, then the suffixes. The page check used to decode
// both length arrays to bound the page, and parquet-go then decoded them
// again, built the values in a page buffer, and appendPlain copied them
// out. appendDeltaByteArray decodes the lengths once, makes every check
// checkDeltaByteArray makes (with the same messages; and the suffixes must
// fill the page exactly), and builds the values straight into the column. It is used for required columns only (no
// definition levels); the check then leaves those pages to it
// (chunkShape.ownDelta).

// appendDeltaByteArray appends the n values of a required column's
// DELTA_BYTE_ARRAY page (src: the decompressed values section) to c, which
// must hold at most rows values after it. uncompressed is the chunk's
// declared uncompressed size, which bounds the decoded bytes
// (deltaByteArrayLimit).
func (c *colVals) appendDeltaByteArray(src []byte, n, rows int, uncompressed int64) error {
	return c.appendDeltaByteArrayWith(src, n, rows, uncompressed, nil)
}

// deltaScratch holds a DELTA_BYTE_ARRAY page's prefix and suffix lengths,
// reused from page to page.
type deltaScratch struct {
	prefix, suffix []int32
}

// appendDeltaByteArrayWith is appendDeltaByteArray decoding the lengths
// into ds's buffers (nil: new ones).
func (c *colVals) appendDeltaByteArrayWith(src []byte, n, rows int, uncompressed int64, ds *deltaScratch) error {
	if ds == nil {
		ds = new(deltaScratch)
	}
	limit := deltaByteArrayLimit(uncompressed)
	if n <= 0 {
		return errors.New("page yields no values")
	}
	if c.rows+n > rows {
		return errors.New("more values than rows")
	}
	prefix, src, err := deltaIntsInto(ds.prefix[:0], src, n)
	if err != nil {
		return fmt.Errorf("prefix lengths: %w", err)
	}
	ds.prefix = prefix
	suffix, src, err := deltaIntsInto(ds.suffix[:0], src, n)
	if err != nil {
		return fmt.Errorf("suffix lengths: %w", err)
	}
	ds.suffix = suffix
	if len(prefix) != len(suffix) {
		return fmt.Errorf("%d prefix lengths for %d suffix lengths", len(prefix), len(suffix))
	}
	var prev, suffixes, total int64
	for i := range prefix {
		p, s := int64(prefix[i]), int64(suffix[i])
		if p < 0 || p > prev || s < 0 {
			return fmt.Errorf("value %d: prefix length %d, suffix length %d after a value of %d bytes", i, p, s, prev)
		}
		prev = p + s
		suffixes += s
		total += prev
	}
	if suffixes != int64(len(src)) {
		// Stricter than checkDeltaByteArray: bytes after the last suffix
		// are damage, and parquet-go's vectorised decoder would read the
		// suffixes from the page's end, not from after the lengths.
		return fmt.Errorf("suffixes of %d bytes in %d bytes of page", suffixes, len(src))
	}
	if total > limit {
		return fmt.Errorf("values decode to %d bytes, more than the limit of %d", total, limit)
	}
	if len(prefix) != n {
		return fmt.Errorf("byte array page has %d values for %d rows", len(prefix), n)
	}
	if int64(len(c.data))+total > math.MaxInt32 {
		return fmt.Errorf("column chunk decodes to more than %d bytes", math.MaxInt32)
	}
	if c.rows == 0 && cap(c.data) == 0 {
		// The first page sizes the column for the row group's rows, within
		// what the chunk's declared size allows.
		c.data = make([]byte, 0, min(total*int64(rows)/int64(n), total+4*max(uncompressed, 0)))
	}
	c.data = slices.Grow(c.data, int(total))
	c.offs = slices.Grow(c.offs, n)
	w := len(c.data)
	d := c.data[:w+int(total)]
	start := w // of the previous value
	for i := range prefix {
		p, s := int(prefix[i]), int(suffix[i])
		at := w
		w += copy(d[w:], d[start:start+p])
		w += copy(d[w:], src[:s])
		src = src[s:]
		start = at
		c.offs = append(c.offs, uint32(w))
	}
	c.data = d
	if c.null != nil {
		c.null = append(c.null, make([]bool, n)...)
	}
	c.rows += n
	return nil
}
