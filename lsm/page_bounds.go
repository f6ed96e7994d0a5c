package lsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// checkBounds checks the decoded rows of pages [a, b] (run) against the
// pages' bounds and null counts in the verified column index: a page read
// alone has no row group checksum, and the bounds tie its values to the
// file the footer describes (a page of another file at the same place, or
// a damaged header field the page CRC does not cover, gives values outside
// them). Byte arrays compare as unsigned bytes (the truncated bounds stay
// valid: the min is a prefix, the max rounded up), numbers by value (NaN
// is never out of bounds; -0 equals 0).
func checkBounds(run *pageRun, ci *chunkIndex, a, b int) error {
	cv := &run.vals
	for p := a; p <= b; p++ {
		pf, pe := ci.pageRows(p)
		lo, hi := int(pf-run.first), int(pe-run.first)
		nulls := 0
		for r := lo; r < hi; r++ {
			if cv.null != nil && cv.null[r] {
				nulls++
				continue
			}
			if ci.min[p] == nil {
				return fmt.Errorf("page %d: a value in a page the column index says is all NULL", p)
			}
			if out, err := outOfBounds(cv, r, ci.min[p], ci.max[p]); err != nil || out {
				if err == nil {
					err = fmt.Errorf("page %d row %d: value outside the page's bounds in the column index", p, pf+int64(r-lo))
				}
				return err
			}
		}
		if ci.nulls != nil && int64(nulls) != ci.nulls[p] {
			return fmt.Errorf("page %d: %d NULLs, the column index says %d", p, nulls, ci.nulls[p])
		}
	}
	return nil
}

// outOfBounds reports whether row r of cv lies outside [lo, hi] (the
// PLAIN encodings of the bounds).
func outOfBounds(cv *colVals, r int, lo, hi []byte) (bool, error) {
	width := map[parquet.Kind]int{parquet.Boolean: 1, parquet.Int32: 4, parquet.Float: 4, parquet.Int64: 8, parquet.Double: 8}[cv.kind]
	if width > 0 && (len(lo) != width || len(hi) != width) {
		return false, fmt.Errorf("%w: column index bounds of %d and %d bytes for %s values", types.ErrCorruption, len(lo), len(hi), cv.kind)
	}
	switch cv.kind {
	case parquet.Boolean:
		v := cv.b[r]
		return !v && lo[0] != 0 || v && hi[0] == 0, nil
	case parquet.Int32:
		v := cv.i32[r]
		return v < int32(binary.LittleEndian.Uint32(lo)) || v > int32(binary.LittleEndian.Uint32(hi)), nil
	case parquet.Int64:
		v := cv.i64[r]
		return v < int64(binary.LittleEndian.Uint64(lo)) || v > int64(binary.LittleEndian.Uint64(hi)), nil
	case parquet.Float:
		v := cv.f32[r]
		return v < math.Float32frombits(binary.LittleEndian.Uint32(lo)) || v > math.Float32frombits(binary.LittleEndian.Uint32(hi)), nil
	case parquet.Double:
		v := cv.f64[r]
		return v < math.Float64frombits(binary.LittleEndian.Uint64(lo)) || v > math.Float64frombits(binary.LittleEndian.Uint64(hi)), nil
	case parquet.ByteArray:
		v := cv.data[cv.offs[r]:cv.offs[r+1]]
		return bytes.Compare(v, lo) < 0 || bytes.Compare(v, hi) > 0, nil
	}
	return false, nil
}
