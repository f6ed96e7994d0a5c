package compaction

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
)

// An Executor keeps the decode buffers of up to maxScratch runs between
// rewrites, and none grown past maxScratchBytes.
func TestExecutorKeepsBoundedScratch(t *testing.T) {
	ctx := context.Background()
	st := objstore.NewMem()
	root := "wh/db.db/t/"
	put := func(name string, n, width, pageBytes int, seq int64) manifest.DataFile {
		var recs []lsm.Record
		for id := range n {
			recs = append(recs, record(t, row{id: int64(id), v: fmt.Sprintf("%d-%s", id, strings.Repeat("x", width))}, seq+int64(id)))
		}
		enc, err := lsm.WriteFiles(recs, testSchema(), lsm.WriterOptions{PageBytes: pageBytes})
		if err != nil {
			t.Fatal(err)
		}
		f := enc[0]
		path := DataFilePath("", 0, name)
		if _, err := st.Put(ctx, root+path, f.Data); err != nil {
			t.Fatal(err)
		}
		return manifest.DataFile{Path: path, Level: 0, RowCount: f.RowCount, Size: int64(len(f.Data)),
			MinKey: f.MinKey, MaxKey: f.MaxKey, MinSeq: f.MinSeq, MaxSeq: f.MaxSeq, SchemaID: 3}
	}
	n := 0
	ex := &Executor{Store: st, Root: root, Schema: testSchema(), Merger: pickLast{},
		Now: time.Now, NewID: func() string { n++; return fmt.Sprintf("out-%d", n) }}
	execute := func(files ...manifest.DataFile) {
		var runs []Run
		for _, f := range files {
			runs = append(runs, Run{Level: 0, Files: []manifest.DataFile{f}})
		}
		res, err := ex.Execute(ctx, Plan{Inputs: runs, OutputLevel: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := ex.Discard(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	var small []manifest.DataFile
	for i := range maxScratch + 3 {
		small = append(small, put(fmt.Sprintf("small-%d", i), 500, 10, 0, int64(i)*1000))
	}
	execute(small...)
	if len(ex.scratch) != maxScratch {
		t.Fatalf("%d decode buffers kept after merging %d runs, want %d", len(ex.scratch), len(small), maxScratch)
	}
	kept := ex.scratch[0]
	execute(small[:2]...)
	if len(ex.scratch) != maxScratch || !slices.Contains(ex.scratch, kept) {
		t.Fatal("a rewrite did not reuse and return the kept decode buffers")
	}
	// Pages of about 8 MiB grow the buffers past maxScratchBytes.
	big := put("big", 20_000, 400, 16<<20, 1_000_000)
	ex.scratch = nil
	execute(big, small[0])
	for _, s := range ex.scratch {
		if s.MemBytes() > maxScratchBytes {
			t.Fatalf("kept decode buffers of %d bytes, more than %d", s.MemBytes(), maxScratchBytes)
		}
	}
	if len(ex.scratch) != 1 {
		t.Fatalf("%d decode buffers kept, want 1 (the big file's dropped)", len(ex.scratch))
	}
}
