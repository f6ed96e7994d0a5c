package catalog

import (
	"context"
	"fmt"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestCatalogCachesMetadataByDefault: tables of a catalog made without
// Env.Meta read a snapshot's manifests once (the second listing of its
// files makes no GET at all), while table.NewMetaCache(0) turns the cache
// off (the second listing GETs as much as the first).
func TestCatalogCachesMetadataByDefault(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		env    table.Env
		cached bool
	}{
		{"default", table.Env{}, true},
		{"off", table.Env{Meta: table.NewMetaCache(0)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := objstore.NewFault(objstore.NewMem())
			c := New(st, "wh/", tc.env)
			tb, err := c.CreateTable(ctx, DefaultDatabase, "t", testSchema(), true)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				w := tb.NewWriter("w")
				if err := w.Write(ctx, types.Insert, types.Row{int64(i), "x", types.Date(i)}); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Commit(ctx, fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
			}
			snap, err := tb.Latest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			list := func() int {
				before := st.Calls(objstore.OpGet)
				if _, _, err := tb.DataFiles(ctx, snap.ID, 0); err != nil {
					t.Fatal(err)
				}
				return st.Calls(objstore.OpGet) - before
			}
			first, second := list(), list()
			if tc.cached && second != 0 {
				t.Fatalf("with the default cache the second listing made %d GETs (the first %d), want 0", second, first)
			}
			if !tc.cached && (first == 0 || second != first) {
				t.Fatalf("without the cache the listings made %d and %d GETs, want the same number, more than 0", first, second)
			}
		})
	}
}
