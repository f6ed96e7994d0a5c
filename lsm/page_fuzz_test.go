package lsm

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// FuzzPageIndex feeds arbitrary offset and column index bytes to the page
// index parser: it returns an error wrapping types.ErrCorruption (or
// errNoPageIndex), or an index that describes the chunk exactly.
func FuzzPageIndex(f *testing.F) {
	data, s, _, _ := pagedFile(f, rand.New(rand.NewPCG(1, 2)))
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		f.Fatal(err)
	}
	md := fr.file.Metadata()
	for i := range md.RowGroups {
		for c := range md.RowGroups[i].Columns {
			cc := &md.RowGroups[i].Columns[c]
			oi, _ := tailBytes(fr.tail, cc.OffsetIndexOffset, int64(cc.OffsetIndexLength), "")
			cx, _ := tailBytes(fr.tail, cc.ColumnIndexOffset, int64(cc.ColumnIndexLength), "")
			f.Add(oi, cx, uint8(i), uint8(c))
		}
	}
	f.Add([]byte{}, []byte{0x19, 0x1c}, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, oi, cx []byte, gi, col uint8) {
		i, c := int(gi)%len(md.RowGroups), int(col)%len(md.RowGroups[0].Columns)
		cc := md.RowGroups[i].Columns[c] // a copy pointing at the fuzzed bytes
		tail := sliceReaderAt{off: 1000, data: append(slices.Clone(oi), cx...)}
		cc.OffsetIndexOffset, cc.OffsetIndexLength = 1000, int32(len(oi))
		cc.ColumnIndexOffset, cc.ColumnIndexLength = 1000+int64(len(oi)), int32(len(cx))
		ci, err := parseChunkIndex(tail, &cc, fr.groups[i].rows, true)
		if err != nil {
			if err != errNoPageIndex && !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error without ErrCorruption: %v", err)
			}
			return
		}
		m := &cc.MetaData
		at := m.DataPageOffset
		for p, l := range ci.pages {
			if l.off != at || l.size <= 0 || l.firstRow >= ci.rows || (p == 0) != (l.firstRow == 0) || p > 0 && l.firstRow <= ci.pages[p-1].firstRow {
				t.Fatalf("page %d accepted at %+v", p, l)
			}
			at += l.size
			if first, end := ci.pageRows(p); end <= first || ci.pageOf(first) != p || ci.pageOf(end-1) != p {
				t.Fatalf("page %d rows [%d,%d) misplaced", p, first, end)
			}
		}
		if start := min(m.DataPageOffset, max(m.DictionaryPageOffset, 1)); at != m.DataPageOffset+m.TotalCompressedSize && at != start+m.TotalCompressedSize {
			t.Fatalf("pages end at %d", at)
		}
		if len(ci.min) != len(ci.pages) || len(ci.max) != len(ci.pages) {
			t.Fatalf("%d bounds for %d pages", len(ci.min), len(ci.pages))
		}
	})
}

// FuzzPageDecode replaces one page of a file with an arbitrary body (and
// header fields), its CRC recomputed when fixCRC is set so the decoder
// behind the CRC check sees it: decoding fails with an error wrapping
// types.ErrCorruption or falls back to the row group, never panics, and
// a page that decodes yields exactly its rows.
func FuzzPageDecode(f *testing.F) {
	data, s, _, _ := pagedFile(f, rand.New(rand.NewPCG(3, 4)))
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		f.Fatal(err)
	}
	cols := len(fr.file.Root().Columns())
	for c := 0; c < cols; c++ {
		ci, err := fr.chunkIndex(0, c, false)
		if err != nil {
			f.Fatal(err)
		}
		raw := data[ci.pages[0].off : ci.pages[0].off+ci.pages[0].size]
		h, body, err := parsePage(raw)
		if err != nil {
			f.Fatal(err)
		}
		v := h.DataPageHeaderV2.V
		f.Add(uint8(c), uint16(0), body, int32(v.NumValues), int32(v.NumNulls), int32(v.DefinitionLevelsByteLength), int32(v.Encoding), h.UncompressedPageSize, true)
	}
	f.Fuzz(func(t *testing.T, col uint8, page uint16, body []byte, values, nulls, defLen, enc, usize int32, fixCRC bool) {
		if len(body) > maxFuzzInput {
			return
		}
		c := int(col) % cols
		ci0, err := fr.chunkIndex(0, c, false)
		if err != nil {
			t.Fatal(err)
		}
		p := int(page) % len(ci0.pages)
		orig := data[ci0.pages[p].off : ci0.pages[p].off+ci0.pages[p].size]
		h, _, err := parsePage(orig)
		if err != nil {
			t.Fatal(err)
		}
		h.CompressedPageSize, h.UncompressedPageSize = int32(len(body)), usize
		v := &h.DataPageHeaderV2.V
		v.NumValues, v.NumRows, v.NumNulls, v.DefinitionLevelsByteLength, v.Encoding = values, values, nulls, defLen, format.Encoding(enc)
		if fixCRC {
			h.CRC = int32(crc32.ChecksumIEEE(body))
		}
		hb, err := thrift.Marshal(new(thrift.CompactProtocol), h)
		if err != nil {
			return
		}
		ci := *ci0
		ci.pages = slices.Clone(ci0.pages)
		ci.pages[p].size = int64(len(hb) + len(body))
		fs := fetched{{off: ci.pages[p].off, data: append(hb, body...)}}
		if ci.dictLen > 0 {
			fs = append(fetched{{off: ci.dictOff, data: data[ci.dictOff : ci.dictOff+ci.dictLen]}}, fs...)
		}
		run, err := fr.decodeRun(fs, 0, c, &ci, p, p, new(pageScratch))
		if err != nil {
			if err != errPageFallback && !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error without ErrCorruption: %v", err)
			}
			return
		}
		if first, end := ci.pageRows(p); run.first != first || int64(run.vals.rows) != end-first {
			t.Fatalf("page %d decoded to rows [%d,+%d), the index says [%d,%d)", p, run.first, run.vals.rows, first, end)
		}
	})
}
