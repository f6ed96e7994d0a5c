package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/lifecycle"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// coldFiles lists the regular files under dir (lock files aside).
func coldFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".silt-locks" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tieredTable creates db.name with every data file moved to the cold tier.
func tieredTable(t *testing.T, c *Catalog, db, name string) {
	t.Helper()
	ctx := context.Background()
	s := testSchema()
	s.Options[table.OptTierMinLevel] = "0"
	tb, err := c.CreateTable(ctx, db, name, s, false)
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	for i := range 4 {
		if err := w.Write(ctx, types.Insert, types.Row{int64(i), "n", types.Date(20000 + int32(i%2))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, _, err := lifecycle.TierFiles(ctx, tb, false)
	if err != nil || rep.Files == 0 {
		t.Fatalf("tiering %s: %+v %v", name, rep, err)
	}
}

// TestDropTableDeletesColdTier: DROP TABLE deletes the table's objects in
// a local-directory cold tier and leaves other tables' cold files alone;
// a process that cannot open the cold tier drops the table and warns
// that cold copies remain.
func TestDropTableDeletesColdTier(t *testing.T) {
	ctx := context.Background()
	hot, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	coldDir := t.TempDir()
	openStore := func(ctx context.Context, uri string) (objstore.Store, error) {
		if uri != coldDir {
			return nil, errors.New("unexpected cold uri " + uri)
		}
		return objstore.NewLocal(uri)
	}
	c := New(hot, "", table.Env{ColdURI: coldDir, OpenStore: openStore})
	if err := c.CreateDatabase(ctx, "shop", false); err != nil {
		t.Fatal(err)
	}
	tieredTable(t, c, "shop", "orders")
	tieredTable(t, c, "shop", "keep")
	before := coldFiles(t, coldDir)
	var ordersCold, keepCold int
	for _, f := range before {
		switch {
		case strings.HasPrefix(f, "shop.db/orders/"):
			ordersCold++
		case strings.HasPrefix(f, "shop.db/keep/"):
			keepCold++
		}
	}
	if ordersCold == 0 || keepCold == 0 {
		t.Fatalf("cold tier before the drop: %v", before)
	}

	res, err := c.DropTableResult(ctx, "shop", "orders", false)
	if err != nil || res.Warning != "" || res.ColdDeleted != ordersCold {
		t.Fatalf("drop: %+v %v; want %d cold objects deleted, no warning", res, err, ordersCold)
	}
	after := coldFiles(t, coldDir)
	for _, f := range after {
		if strings.HasPrefix(f, "shop.db/orders/") {
			t.Errorf("cold copy of the dropped table remains: %s", f)
		}
	}
	if len(after) != keepCold {
		t.Errorf("cold tier after the drop: %v; want the %d files of shop.keep", after, keepCold)
	}
	if _, err := c.LoadTable(ctx, "shop", "orders"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("dropped table loads: %v", err)
	}
	// The remaining table still reads its cold files.
	kt, err := c.LoadTable(ctx, "shop", "keep")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := kt.Get(ctx, 0, int64(1), types.Date(20001)); err != nil || !ok {
		t.Fatalf("shop.keep after dropping shop.orders: %v %v", ok, err)
	}

	// A catalog whose process knows no cold tier drops the table and warns.
	blind := New(hot, "", table.Env{})
	res, err = blind.DropTableResult(ctx, "shop", "keep", false)
	if err != nil || !strings.Contains(res.Warning, "cold copies under shop.db/keep/ remain") {
		t.Fatalf("drop without the cold tier: %+v %v", res, err)
	}
	if got := coldFiles(t, coldDir); len(got) != keepCold {
		t.Errorf("cold tier changed by a process that cannot see it: %v", got)
	}
	// A cold tier that cannot be opened: dropped, with a warning naming it.
	tieredTable(t, c, "shop", "again")
	broken := New(hot, "", table.Env{ColdURI: coldDir, OpenStore: func(context.Context, string) (objstore.Store, error) {
		return nil, errors.New("no credentials")
	}})
	res, err = broken.DropTableResult(ctx, "shop", "again", false)
	if err != nil || !strings.Contains(res.Warning, "no credentials") || !strings.Contains(res.Warning, "remain") {
		t.Fatalf("drop with a broken cold tier: %+v %v", res, err)
	}
	if _, err := c.LoadTable(ctx, "shop", "again"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("table dropped with a warning still loads: %v", err)
	}
	// A failing delete in the cold tier leaves the table in place; a
	// second drop finishes.
	tieredTable(t, c, "shop", "retry")
	var fault *objstore.Fault
	faulty := New(hot, "", table.Env{ColdURI: coldDir, OpenStore: func(ctx context.Context, uri string) (objstore.Store, error) {
		l, err := objstore.NewLocal(uri)
		if err != nil {
			return nil, err
		}
		fault = objstore.NewFault(l)
		fault.Add(objstore.Rule{Op: objstore.OpDelete, Nth: 2, Err: errors.New("disk on fire")})
		return fault, nil
	}})
	if _, err := faulty.DropTableResult(ctx, "shop", "retry", false); err == nil || !strings.Contains(err.Error(), "drop it again") {
		t.Fatalf("drop with a failing cold delete: %v", err)
	}
	if _, err := c.LoadTable(ctx, "shop", "retry"); err != nil {
		t.Fatalf("table gone after a failed drop: %v", err)
	}
	if err := c.DropTable(ctx, "shop", "retry", false); err != nil {
		t.Fatal(err)
	}
	for _, f := range coldFiles(t, coldDir) {
		if strings.HasPrefix(f, "shop.db/retry/") || strings.HasPrefix(f, "shop.db/orders/") {
			t.Errorf("cold copy remains: %s", f)
		}
	}
}
