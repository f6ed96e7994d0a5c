package compaction

import (
	"bytes"
	"context"
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// TestOutputUnpinsBatches: when the decoded batches buffered RowRef
// records keep alive exceed MaxBufferBytes (one surviving row per row
// group), the output writer boxes the buffered records, releasing them.
func TestOutputUnpinsBatches(t *testing.T) {
	ctx := context.Background()
	schema := testSchema()
	var recs []lsm.Record
	for i := range int64(4000) {
		recs = append(recs, record(t, row{id: i, kind: types.Insert, v: "some value to take space"}, i))
	}
	enc, err := lsm.WriteFiles(recs, schema, lsm.WriterOptions{RowGroupRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	fr, err := lsm.OpenFile(ctx, bytes.NewReader(enc[0].Data), int64(len(enc[0].Data)), schema, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{1 << 40, 16 << 10} {
		j := &job{Executor: &Executor{Options: Options{MaxBufferBytes: limit}.EnsureDefaults()}, schema: schema}
		w := &outputWriter{j: j, res: &Result{}, budget: 1 << 40}
		for g := range fr.NumRowGroups() {
			b, err := fr.DecodeBatch(ctx, g, lsm.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.add(ctx, b.RefRecord(0)); err != nil { // the rest "dropped"
				t.Fatal(err)
			}
		}
		refs := 0
		for _, p := range w.pieces {
			for i := range p.Records {
				if lsm.RefOf(&p.Records[i]) != nil {
					refs++
				}
			}
		}
		if limit == 1<<40 && refs != fr.NumRowGroups() {
			t.Fatalf("no limit: %d of %d records are RowRefs", refs, fr.NumRowGroups())
		}
		if limit < 1<<40 && (refs == fr.NumRowGroups() || w.pinnedBytes > limit) {
			t.Fatalf("limit %d: %d of %d records still RowRefs, %d bytes pinned", limit, refs, fr.NumRowGroups(), w.pinnedBytes)
		}
	}
}
