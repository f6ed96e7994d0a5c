package lsm

import (
	"testing"
	"unsafe"
)

// TestRecordSize: compactions and write buffers hold a Record per row, so
// its small fields share one word: 64 bytes on 64-bit platforms, not 72.
func TestRecordSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit platforms only")
	}
	if n := unsafe.Sizeof(Record{}); n != 64 {
		t.Fatalf("Record is %d bytes, want 64: keep Kind, Merged and Reset together at its end", n)
	}
}
