package table

import (
	"context"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestLookupRecordTombstoneKindAfterDrop: the index keeps a partial-update
// key's -D that a full compaction drops from the files; a later -U then
// merges into -D in the index (-D,-U) but stays -U in the files (lone -U).
// Both mean "no row"; LookupRecord reports the same kind on both paths.
func TestLookupRecordTombstoneKindAfterDrop(t *testing.T) {
	ctx := context.Background()
	schema := modelSchema(EnginePartialUpdate, 1, false)
	schema.Options[OptWriteOnly] = "true"
	store := objstore.NewMem()
	reg := NewLookupIndexes()
	defer reg.Close()
	tb := indexedTable(t, store, schema, t.TempDir(), reg)
	plain, err := Open("db.t", store, "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	row := types.Row{"eu", int32(1), int64(5), "n", nil}
	partition, bucket, key, _ := tb.pointKey(map[int]types.Value{0: "eu", 1: int32(1)})
	w := tb.NewWriter("w")
	lookup := func(step string) (idx, files string) {
		t.Helper()
		snap, err := tb.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ri, ei, err := tb.LookupRecord(ctx, snap, partition, bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		rf, ef, err := plain.LookupRecord(ctx, snap, partition, bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		if ei && ef && ri.Kind != rf.Kind {
			t.Fatalf("%s: index %v, files %v", step, ri.Kind, rf.Kind)
		}
		return ri.Kind.String(), rf.Kind.String()
	}
	for i, kind := range []types.RowKind{types.Insert, types.Delete} {
		if err := w.Write(ctx, kind, row); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
		lookup("after " + kind.String()) // the index catches up and keeps the -D
	}
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	lookup("after full compaction")
	if err := w.Write(ctx, types.UpdateBefore, row); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	lookup("after -U")
	if st := reg.Stats(); st.IndexLookups == 0 {
		t.Fatalf("the index never answered: %+v", st)
	}
}
