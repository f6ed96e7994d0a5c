package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestCompactFullRewrite: a full compaction leaves a bucket that is one
// sorted run alone; with Rewrite it writes every file again (new files,
// the same rows), which is how older files move to the current data-file
// format, codec and schema. Rewrite without Full is refused.
func TestCompactFullRewrite(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb, err := Open("db.t", store, "wh/db.db/t/", compactSchema(EngineDeduplicate), Env{}) // small files: they would be moved, not rewritten
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 3 {
		commitRandom(t, ctx, tb, rng, 40, fmt.Sprintf("c%d", i))
	}
	files := func() []string {
		t.Helper()
		snap, err := tb.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := tb.Meta().Files(ctx, snap)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.Path)
		}
		slices.Sort(out)
		return out
	}
	rows := func() string {
		t.Helper()
		sc, err := tb.NewScan(ctx, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for r, err := range sc.Rows(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(r))
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	compacted, want := files(), rows()
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	if got := files(); !slices.Equal(got, compacted) {
		t.Fatalf("a second full compaction changed the files: %v -> %v", compacted, got)
	}
	if _, err := tb.Compact(ctx, CompactOptions{Rewrite: true}); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("Rewrite without Full: %v, want ErrInvalid", err)
	}
	rep, err := tb.Compact(ctx, CompactOptions{Full: true, Rewrite: true})
	if err != nil {
		t.Fatal(err)
	}
	rewritten := files()
	for _, f := range rewritten {
		if slices.Contains(compacted, f) {
			t.Errorf("file %s was kept, not rewritten (report %+v)", f, rep)
		}
	}
	if len(rewritten) == 0 {
		t.Fatal("no files after the rewrite")
	}
	if got := rows(); got != want {
		t.Errorf("rows changed by the rewrite:\n%s\nwant\n%s", got, want)
	}
}
