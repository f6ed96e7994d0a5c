package catalog

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func testSchema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{Name: "ID", Type: types.TBigInt},
			{Name: "name", Type: types.TString},
			{Name: "day", Type: types.TDate},
		},
		PrimaryKeys:   []string{"id", "day"},
		PartitionKeys: []string{"DAY"},
		Options:       map[string]string{"bucket": "2"},
	}
}

func TestCatalogLocal(t *testing.T) {
	st, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testCatalog(t, st, "")
}

func TestCatalogMem(t *testing.T) { testCatalog(t, objstore.NewMem(), "wh") }

func TestCatalogMinIO(t *testing.T) { testCatalog(t, s3test.NewStore(t), "warehouse/") }

func testCatalog(t *testing.T, st objstore.Store, root string) {
	ctx := context.Background()
	c := New(st, root, table.Env{})

	if err := c.CreateDatabase(ctx, "shop", false); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateDatabase(ctx, "shop", false); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("second CREATE DATABASE: %v, want ErrConflict", err)
	}
	if err := c.CreateDatabase(ctx, "shop", true); err != nil {
		t.Fatalf("IF NOT EXISTS: %v", err)
	}
	for _, bad := range []string{"../x", "a/b", "", "a$b", "x\x00"} {
		if err := c.CreateDatabase(ctx, bad, false); !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("CreateDatabase(%q): %v, want ErrInvalid", bad, err)
		}
		if _, err := c.LoadTable(ctx, "shop", bad); !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("LoadTable(%q): %v, want ErrInvalid", bad, err)
		}
	}

	tb, err := c.CreateTable(ctx, "shop", "orders", testSchema(), false)
	if err != nil {
		t.Fatal(err)
	}
	s := tb.Schema()
	if s.ID != 0 || s.Fields[2].ID != 2 || s.HighestFieldID != 2 {
		t.Fatalf("ids not assigned: %+v", s)
	}
	if !s.Fields[0].NotNull || !s.Fields[2].NotNull || s.Fields[1].NotNull {
		t.Fatalf("key columns must become NOT NULL: %+v", s.Fields)
	}
	if !slices.Equal(s.PrimaryKeys, []string{"ID", "day"}) || !slices.Equal(s.PartitionKeys, []string{"day"}) {
		t.Fatalf("key names not canonical: %v %v", s.PrimaryKeys, s.PartitionKeys)
	}
	if _, err := c.CreateTable(ctx, "shop", "orders", testSchema(), false); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("second CREATE TABLE: %v", err)
	}
	if _, err := c.CreateTable(ctx, "nodb", "orders", testSchema(), false); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("CREATE TABLE in a missing database: %v", err)
	}
	bad := testSchema()
	bad.Options["merge-engine"] = "nope"
	if _, err := c.CreateTable(ctx, "shop", "bad", bad, false); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("bad option: %v", err)
	}
	// Unqualified tables live in the default database, created on use.
	if _, err := c.CreateTable(ctx, DefaultDatabase, "t", testSchema(), false); err != nil {
		t.Fatal(err)
	}

	// Write, reload, read back.
	w := tb.NewWriter("u")
	if err := w.Write(ctx, types.Insert, types.Row{int64(1), "a", types.Date(10)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	tb2, err := c.LoadTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	row, ok, err := tb2.Get(ctx, 0, int64(1), types.Date(10))
	if err != nil || !ok || row[1] != "a" {
		t.Fatalf("Get after reload: %v %v %v", row, ok, err)
	}

	dbs, err := c.ListDatabases(ctx)
	if err != nil || !slices.Equal(dbs, []string{"default", "shop"}) {
		t.Fatalf("ListDatabases = %v, %v", dbs, err)
	}
	tabs, err := c.ListTables(ctx, "shop")
	if err != nil || !slices.Equal(tabs, []string{"orders"}) {
		t.Fatalf("ListTables = %v, %v", tabs, err)
	}
	if err := c.DropDatabase(ctx, "shop", false, false); !errors.Is(err, types.ErrConflict) {
		t.Fatalf("dropping a non-empty database without CASCADE: %v", err)
	}
	if err := c.DropTable(ctx, "shop", "orders", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoadTable(ctx, "shop", "orders"); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("LoadTable after drop: %v", err)
	}
	if err := c.DropTable(ctx, "shop", "orders", false); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("second drop: %v", err)
	}
	if err := c.DropTable(ctx, "shop", "orders", true); err != nil {
		t.Fatalf("IF EXISTS: %v", err)
	}
	if err := c.DropDatabase(ctx, "default", false, true); err != nil {
		t.Fatal(err)
	}
	left, err := st.List(ctx, root+"default.db/")
	if err != nil || len(left) != 0 {
		t.Fatalf("CASCADE left %d objects (%v)", len(left), err)
	}
}

func TestCorruptSchemaFile(t *testing.T) {
	ctx := context.Background()
	st := objstore.NewMem()
	c := New(st, "", table.Env{})
	if _, err := c.CreateTable(ctx, "default", "t", testSchema(), false); err != nil {
		t.Fatal(err)
	}
	data, _, err := st.Get(ctx, "default.db/t/schema/schema-0")
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x20
	if _, err := st.Put(ctx, "default.db/t/schema/schema-0", data); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoadTable(ctx, "default", "t"); !errors.Is(err, types.ErrCorruption) {
		t.Fatalf("LoadTable of a corrupt schema: %v, want ErrCorruption", err)
	}
}
