package lsm

import (
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Decoding a page from the body the page check already decompressed
// (decodeChecked) needs a parquet.DataPageHeaderV2 whose IsCompressed is
// false. parquet-go builds that type only from the pages it reads itself:
// it is a struct holding one *format.DataPageHeaderV2 and has no exported
// constructor. dataPageHeaderV2 makes one from a header of ours by that
// layout; foldPages is true only when a probe at start-up reads back
// through it what was put in (and the sizes agree), so a parquet-go that
// changes the type turns the folding off instead of misreading headers.
// TestFoldPagesEnabled fails when that happens, to say the speed-up is
// lost.

func dataPageHeaderV2(h *format.DataPageHeaderV2) parquet.DataPageHeaderV2 {
	return *(*parquet.DataPageHeaderV2)(unsafe.Pointer(&h))
}

var foldPages = func() bool {
	if unsafe.Sizeof(parquet.DataPageHeaderV2{}) != unsafe.Sizeof((*format.DataPageHeaderV2)(nil)) {
		return false
	}
	probe := &format.DataPageHeaderV2{NumValues: 7, NumNulls: 3, NumRows: 7, DefinitionLevelsByteLength: 5, Encoding: format.DeltaByteArray}
	probe.IsCompressed.Valid = true
	h := dataPageHeaderV2(probe)
	return h.NumValues() == 7 && h.NumNulls() == 3 && h.NumRows() == 7 && h.DefinitionLevelsByteLength() == 5 &&
		h.Encoding() == format.DeltaByteArray && !h.IsCompressed()
}()
