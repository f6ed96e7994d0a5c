package icebergview

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/siltdb/silt/lsm"
)

// TestFileLacksFieldIDs: a data file of format version 1 lacks field ids
// (the first column and the hidden ones), one of the current version has
// them all.
func TestFileLacksFieldIDs(t *testing.T) {
	for v, want := range map[int]bool{1: true, lsm.FormatVersion: false} {
		data, err := os.ReadFile(filepath.Join("..", "lsm", "testdata", "format-v"+strconv.Itoa(v)+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := fileLacksFieldIDs(bytes.NewReader(data), int64(len(data)))
		if err != nil || got != want {
			t.Fatalf("format version %d: lacks field ids %v, %v; want %v", v, got, err, want)
		}
	}
}
