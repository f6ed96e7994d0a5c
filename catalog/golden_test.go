package catalog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestGoldenWarehouseV1 reads a table written before schema evolution
// existed (testdata/warehouse-v1), then evolves a copy of it: old files
// read through field ids with the new column's default, the widened type
// and the new name, and time travel still shows the old columns.
func TestGoldenWarehouseV1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "warehouse-v1"))); err != nil {
		t.Fatal(err)
	}
	st, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := New(st, "", table.Env{})
	tb, err := c.LoadTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	snap1 := "dt,id,customer,qty,amount\n2026-01-02,2,c2,20,3.00\n2026-01-02,4,c4,40,6.00\n2026-01-02,6,c6,60,9.00\n2026-01-03,1,c1,10,1.50\n2026-01-03,3,c3,30,4.50\n2026-01-03,5,c5,50,7.50\n"
	if got := scanText(t, tb, table.ScanOptions{SnapshotID: 1}); got != snap1 {
		t.Fatalf("snapshot 1:\n%s\nwant\n%s", got, snap1)
	}
	mustAlter := func(cs ...SchemaChange) {
		t.Helper()
		if _, err := c.AlterTable(ctx, "shop", "orders", cs); err != nil {
			t.Fatal(err)
		}
	}
	mustAlter(SchemaChange{Kind: AddColumn, Column: "status", Type: types.TString, NotNull: true, Default: strp("open"), Position: ColumnPosition{After: "id"}},
		SchemaChange{Kind: UpdateColumnType, Column: "qty", Type: types.TBigInt},
		SchemaChange{Kind: UpdateColumnType, Column: "amount", Type: types.TDecimal(14, 2)},
		SchemaChange{Kind: RenameColumn, Column: "customer", NewName: "buyer"})
	tb, err = c.LoadTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, tb, "3", types.Row{types.Date(20455), int64(7), "new", "c7", int64(1) << 33, types.Decimal(1)})
	latest := "dt,id,status,buyer,qty,amount\n2026-01-02,4,open,c4,40,6.00\n2026-01-02,6,open,c6,60,9.00\n2026-01-02,7,new,c7,8589934592,0.01\n" +
		"2026-01-03,1,open,c1b,NULL,9.99\n2026-01-03,3,open,c3,30,4.50\n2026-01-03,5,open,c5,50,7.50\n"
	if got := scanText(t, tb, table.ScanOptions{}); got != latest {
		t.Errorf("latest:\n%s\nwant\n%s", got, latest)
	}
	if got := scanText(t, tb, table.ScanOptions{SnapshotID: 1, SnapshotSchema: true}); got != snap1 {
		t.Errorf("snapshot 1 with its schema:\n%s\nwant\n%s", got, snap1)
	}
	all, err := c.Schemas(ctx, "shop", "orders")
	if err != nil || len(all) != 2 || all[0].Change != "" || all[1].ID != 1 {
		t.Fatalf("schemas %v %v", all, err)
	}
}
