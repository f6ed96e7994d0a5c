package lsm

import (
	"fmt"
	"math/bits"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// MaxNestedChunkValues is the most values (entries, NULLs included) one
// leaf column chunk of a nested column may hold: a reader holds them all
// while it assembles the row group's values, so a chunk declaring more
// is rejected as corrupt before anything is decoded.
const MaxNestedChunkValues = 1 << 24

// nestedShape is what the page check knows about a leaf of a nested
// column: the bit widths of its levels and its declared value count.
type nestedShape struct {
	repBits, defBits int
	values           int64 // the chunk's declared num_values
}

func newNestedShape(leaf *parquet.Column, values int64) *nestedShape {
	return &nestedShape{repBits: bits.Len(uint(leaf.MaxRepetitionLevel())), defBits: bits.Len(uint(leaf.MaxDefinitionLevel())), values: values}
}

// checkNestedPages is checkPages for a leaf of a nested column (only v2
// data pages, which start at row boundaries): pages hold values adding up
// to the declared num_values and rows adding up to the row count; levels
// are well-formed runs of their bit widths, values as for flat columns.
func checkNestedPages(data []byte, s chunkShape, deep bool) error {
	ns := s.nested
	if ns.values < int64(s.rows) || ns.values > MaxNestedChunkValues {
		return fmt.Errorf("chunk declares %d values for %d rows (at most %d values)", ns.values, s.rows, MaxNestedChunkValues)
	}
	limit := int(ns.values)
	proto := new(thrift.CompactProtocol)
	var values, rows, dictLen int
	var uncompressed int64
	dict := false
	for page, off := 0, 0; off < len(data); page++ {
		h, body, next, err := chunkPage(proto, data, off, page, &uncompressed, s.uncompressed)
		if err != nil {
			return err
		}
		off = next
		usize := int64(h.UncompressedPageSize)
		switch {
		case h.Type == format.DictionaryPage && h.DictionaryPageHeader.Valid:
			n := int(h.DictionaryPageHeader.V.NumValues)
			if dict || values > 0 || n < 0 || n > limit {
				return fmt.Errorf("page %d: dictionary of %d values (a second one, after data, or more than the %d values)", page, n, limit)
			}
			dict, dictLen = true, n
			if deep {
				if _, err := checkDictionary(body, usize, n, s); err != nil {
					return fmt.Errorf("page %d: %v", page, err)
				}
			}
		case h.Type == format.DataPageV2 && h.DataPageHeaderV2.Valid:
			v := &h.DataPageHeaderV2.V
			n, nr := int(v.NumValues), int(v.NumRows)
			if n <= 0 || n > limit-values || nr <= 0 || nr > n || nr > s.rows-rows || v.NumNulls < 0 || v.NumNulls > v.NumValues {
				return fmt.Errorf("page %d declares %d values, %d rows, %d nulls (%d of %d values, %d of %d rows left)", page, n, nr, v.NumNulls, limit-values, limit, s.rows-rows, s.rows)
			}
			values, rows = values+n, rows+nr
			if deep {
				if err := checkNestedDataV2(body, usize, v, dict, dictLen, s); err != nil {
					return fmt.Errorf("page %d: %v", page, err)
				}
			}
		default:
			return fmt.Errorf("page %d: unsupported page type %s in a nested column", page, h.Type)
		}
	}
	if values != limit || rows != s.rows {
		return fmt.Errorf("pages hold %d values and %d rows; the chunk declares %d values, the row group %d rows", values, rows, limit, s.rows)
	}
	return nil
}

func checkNestedDataV2(body []byte, usize int64, v *format.DataPageHeaderV2, dict bool, dictLen int, s chunkShape) error {
	ns := s.nested
	n := int(v.NumValues)
	rl, dl := int(v.RepetitionLevelsByteLength), int(v.DefinitionLevelsByteLength)
	switch {
	case rl < 0 || dl < 0 || rl > len(body)-dl || int64(rl+dl) > usize:
		return fmt.Errorf("levels of %d and %d bytes in a page of %d", rl, dl, len(body))
	case ns.repBits == 0 && rl != 0:
		return fmt.Errorf("repetition levels in a column that does not repeat")
	case ns.defBits == 0 && (dl != 0 || v.NumNulls != 0):
		return fmt.Errorf("definition levels or nulls in a required column")
	}
	if ns.repBits > 0 {
		if err := checkHybrid(body[:rl], ns.repBits, n); err != nil {
			return fmt.Errorf("repetition levels: %v", err)
		}
	}
	if ns.defBits > 0 {
		if err := checkHybrid(body[rl:rl+dl], ns.defBits, n); err != nil {
			return fmt.Errorf("definition levels: %v", err)
		}
	}
	vals := body[rl+dl:]
	var err error
	if !v.IsCompressed.Valid || v.IsCompressed.V {
		if vals, err = decompress(vals, usize-int64(rl+dl), s.codec, s.scratch); err != nil {
			return err
		}
	} else if int64(len(vals)) != usize-int64(rl+dl) {
		return fmt.Errorf("uncompressed values of %d bytes, header says %d", len(vals), usize-int64(rl+dl))
	}
	return checkValues(vals, v.Encoding, n-int(v.NumNulls), dict, dictLen, s)
}
