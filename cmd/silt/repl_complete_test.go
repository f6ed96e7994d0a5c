package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/table"
)

// TestCompleteAliasColumns: after "alias." Tab completes the columns of
// the table the line gives that alias (with or without AS), not those of
// a table of that name; words after a table that are keywords are not
// aliases.
func TestCompleteAliasColumns(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "wh")
	env := []string{"SILT_WAREHOUSE=" + wh}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, customer STRING, qty INT); "+
		"CREATE TABLE shop.c (cid BIGINT PRIMARY KEY, cname STRING)")
	st, err := objstore.NewLocal(wh)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(st, "", table.Env{})
	eng := query.NewEngine(query.NewSiltCatalog(cat, "test"), query.EngineOptions{CurrentDB: "shop"})
	ctx := context.Background()
	s := &replSession{eng: eng, cat: cat, names: &nameCache{cat: cat}}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"SELECT o.cu", []string{"o.customer"}},
		{"SELECT x.q FROM shop.orders AS x", []string{"x.qty"}},
		// c is an alias of orders here, not the table c.
		{"SELECT c.c FROM orders c JOIN c AS k ON c.id = k.cid", []string{"c.customer"}},
		{"SELECT k.c FROM orders c JOIN c AS k ON c.id = k.cid", []string{"k.cid", "k.cname"}},
		// LEFT is not an alias: orders. completes orders' columns.
		{"SELECT orders.i FROM orders LEFT JOIN c ON true", []string{"orders.id"}},
	} {
		line := tc.line
		if tc.line == "SELECT o.cu" {
			line = "SELECT o.cu FROM orders o"
		}
		word := tc.line[len("SELECT "):]
		if i := indexSpace(word); i >= 0 {
			word = word[:i]
		}
		var got []string
		for _, c := range s.candidates(ctx, line, word) {
			if len(c) >= len(word) && c[:len(word)] == word {
				got = append(got, c)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q, completing %q: %v, want %v", line, word, got, tc.want)
		}
	}
}

func indexSpace(s string) int {
	for i := range s {
		if s[i] == ' ' {
			return i
		}
	}
	return -1
}
