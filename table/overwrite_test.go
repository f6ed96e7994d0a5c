package table

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func overwriteSchema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "p", Type: types.TString, NotNull: true},
			{ID: 1, Name: "id", Type: types.TBigInt, NotNull: true},
		},
		PrimaryKeys:    []string{"p", "id"},
		PartitionKeys:  []string{"p"},
		HighestFieldID: 1,
		Options:        map[string]string{OptBucket: "2"},
	}
}

// TestCommitOverwriteRace: a commit that lands between the overwrite
// choosing the files it replaces and publishing makes the overwrite
// choose them again, so the racing commit's rows in a replaced partition
// are replaced too and its rows elsewhere are kept; the overwrite is
// still one OVERWRITE snapshot.
func TestCommitOverwriteRace(t *testing.T) {
	ctx := context.Background()
	tb, err := Open("db.t", objstore.NewMem(), "t/", overwriteSchema(), Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("setup")
	for _, r := range []types.Row{{"a", int64(1)}, {"b", int64(1)}} {
		mustWrite(t, w, types.Insert, r)
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	ow := tb.NewWriter("overwrite")
	mustWrite(t, ow, types.Insert, types.Row{"a", int64(9)})
	raced := 0
	race := func(parent *manifest.Snapshot) error {
		if raced > 0 {
			return nil
		}
		raced++
		rw := tb.NewWriter("racer")
		mustWrite(t, rw, types.Insert, types.Row{"a", int64(5)})
		mustWrite(t, rw, types.Insert, types.Row{"c", int64(5)})
		if _, err := rw.Commit(ctx, "r1"); err != nil {
			return err
		}
		return nil
	}
	snap, err := ow.CommitOverwrite(ctx, CommitRequest{Identifier: "o1", Check: race}, OverwriteScope{Dynamic: true})
	if err != nil {
		t.Fatal(err)
	}
	if raced != 1 || snap.CommitKind != manifest.CommitOverwrite || snap.ID != 3 {
		t.Fatalf("overwrite: raced %d, snapshot %d %s", raced, snap.ID, snap.CommitKind)
	}
	got := latestRowStrings(t, ctx, tb)
	want := []string{
		fmt.Sprintf("%#v", types.Row{"a", int64(9)}),
		fmt.Sprintf("%#v", types.Row{"b", int64(1)}),
		fmt.Sprintf("%#v", types.Row{"c", int64(5)}),
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after the raced overwrite:\n got  %v\n want %v", got, want)
	}
}
