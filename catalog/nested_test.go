package catalog

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func mustType(t *testing.T, s string) types.DataType {
	t.Helper()
	dt, err := types.ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

// nestedIDsOf lists "name:id" of t's nested fields, depth first.
func nestedIDsOf(t types.DataType) string {
	var parts []string
	var walk func(types.DataType)
	walk = func(t types.DataType) {
		for _, f := range t.Fields {
			parts = append(parts, f.Name+":"+strconv.Itoa(f.ID))
			walk(f.Type)
		}
	}
	walk(t)
	return strings.Join(parts, " ")
}

// TestNestedFieldIDs: CREATE TABLE and ADD COLUMN give every nested field
// an id unique in the table, above the columns'; ADD/RENAME/DROP COLUMN
// r.f evolve a ROW by id; the caller's schema is not modified.
func TestNestedFieldIDs(t *testing.T) {
	ctx := context.Background()
	c := New(objstore.NewMem(), "wh", table.Env{})
	if err := c.CreateDatabase(ctx, "shop", true); err != nil {
		t.Fatal(err)
	}
	in := &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt},
			{Name: "tags", Type: mustType(t, "ARRAY<STRING>")},
			{Name: "r", Type: mustType(t, "ROW<a INT, m MAP<STRING, ARRAY<ROW<x INT>>>>")},
		},
		PrimaryKeys: []string{"id"},
	}
	tb, err := c.CreateTable(ctx, "shop", "t", in, false)
	if err != nil {
		t.Fatal(err)
	}
	s := tb.Schema()
	if got := nestedIDsOf(s.Fields[1].Type) + " | " + nestedIDsOf(s.Fields[2].Type); got != "element:3 | a:4 m:5 key:6 value:7 element:8 x:9" {
		t.Errorf("nested ids after CREATE TABLE: %s", got)
	}
	if s.HighestFieldID != 9 {
		t.Errorf("HighestFieldID %d, want 9", s.HighestFieldID)
	}
	if nestedIDsOf(in.Fields[2].Type) != "a:0 m:0 key:0 value:0 element:0 x:0" {
		t.Errorf("CreateTable changed the caller's schema: %s", nestedIDsOf(in.Fields[2].Type))
	}

	s1, err := c.AlterTable(ctx, "shop", "t", []SchemaChange{
		{Kind: AddColumn, Column: "kv", Type: mustType(t, "MAP<INT, STRING>")},
		{Kind: AddColumn, Column: "r.b", Type: mustType(t, "ARRAY<INT>")},
		{Kind: AddColumn, Column: "r.m.value.element.y", Type: types.TString, Position: ColumnPosition{First: true}},
		{Kind: RenameColumn, Column: "r.a", NewName: "aa"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s1.Fields[2].Type.String(); got != "ROW<aa INT, m MAP<STRING, ARRAY<ROW<y STRING, x INT>>>, b ARRAY<INT>>" {
		t.Errorf("evolved ROW: %s", got)
	}
	if got := nestedIDsOf(s1.Fields[3].Type) + " | " + nestedIDsOf(s1.Fields[2].Type); got != "key:11 value:12 | aa:4 m:5 key:6 value:7 element:8 y:15 x:9 b:13 element:14" {
		t.Errorf("nested ids after ALTER: %s", got)
	}
	if s1.HighestFieldID != 15 {
		t.Errorf("HighestFieldID %d, want 15", s1.HighestFieldID)
	}
	if got := nestedIDsOf(s.Fields[2].Type); got != "a:4 m:5 key:6 value:7 element:8 x:9" {
		t.Errorf("ALTER changed the previous schema version: %s", got)
	}
	if !types.ReadableAs(s.Fields[2].Type, s1.Fields[2].Type) {
		t.Errorf("the evolved ROW does not read the old one")
	}
	s2, err := c.AlterTable(ctx, "shop", "t", []SchemaChange{{Kind: DropColumn, Column: "r.aa"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Fields[2].Type.String(); got != "ROW<m MAP<STRING, ARRAY<ROW<y STRING, x INT>>>, b ARRAY<INT>>" {
		t.Errorf("after DROP COLUMN r.aa: %s", got)
	}

	for _, bad := range []struct {
		ch   SchemaChange
		want string
	}{
		{SchemaChange{Kind: AddColumn, Column: "r.b", Type: types.TInt}, `nested field "r.b" already exists`},
		{SchemaChange{Kind: AddColumn, Column: "tags.x", Type: types.TInt}, `ARRAY<STRING> is not a ROW`},
		{SchemaChange{Kind: AddColumn, Column: "r.nope.x", Type: types.TInt}, `has no field "nope"`},
		{SchemaChange{Kind: AddColumn, Column: "zz.x", Type: types.TInt}, `column "zz" does not exist`},
		{SchemaChange{Kind: AddColumn, Column: "r.c", Type: types.TInt, NotNull: true}, `an added nested field is nullable`},
		{SchemaChange{Kind: DropColumn, Column: "r.m.value.element.x"}, ``},
		{SchemaChange{Kind: UpdateColumnType, Column: "tags", Type: mustType(t, "ARRAY<BIGINT>")}, `nested types evolve field by field`},
	} {
		_, err := c.CheckAlter(ctx, "shop", "t", []SchemaChange{bad.ch})
		if bad.want == "" {
			if err != nil {
				t.Errorf("%s: %v", bad.ch, err)
			}
			continue
		}
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want an ErrInvalid error with %q", bad.ch, err, bad.want)
		}
	}
	if _, err := c.CheckAlter(ctx, "shop", "t", []SchemaChange{{Kind: DropColumn, Column: "r.m.value.element.x"}, {Kind: DropColumn, Column: "r.m.value.element.y"}}); err == nil || !strings.Contains(err.Error(), "last field of its ROW") {
		t.Errorf("dropping a ROW's last field: %v", err)
	}
}

// TestNestedKeyRejected: a nested column cannot be a primary key column.
func TestNestedKeyRejected(t *testing.T) {
	ctx := context.Background()
	c := New(objstore.NewMem(), "wh", table.Env{})
	if err := c.CreateDatabase(ctx, "shop", true); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateTable(ctx, "shop", "t", &types.Schema{
		Fields:      []types.Field{{Name: "id", Type: mustType(t, "ARRAY<INT>")}, {Name: "v", Type: types.TInt}},
		PrimaryKeys: []string{"id"},
	}, false)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `primary key column "id" cannot be ARRAY<INT>`) {
		t.Fatalf("nested key: %v", err)
	}
}

// TestNestedEvolutionReadsOldFiles: rows written before ADD COLUMN r.c
// read NULL for it, through scans, point lookups and a full compaction
// (which rewrites them with the new field).
func TestNestedEvolutionReadsOldFiles(t *testing.T) {
	ctx := context.Background()
	c := New(objstore.NewMem(), "wh", table.Env{})
	if err := c.CreateDatabase(ctx, "shop", true); err != nil {
		t.Fatal(err)
	}
	tb, err := c.CreateTable(ctx, "shop", "t", &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt},
			{Name: "r", Type: mustType(t, "ROW<a INT, l ARRAY<STRING>>")},
			{Name: "m", Type: mustType(t, "MAP<STRING, BIGINT>")},
		},
		PrimaryKeys: []string{"id"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, tb, "1",
		types.Row{int64(1), types.Struct{int32(5), types.List{"x", nil}}, types.Map{{Key: "k", Value: int64(1)}}},
		types.Row{int64(2), nil, types.Map{}})
	mustAlter(t, c, SchemaChange{Kind: AddColumn, Column: "r.c", Type: types.TDouble, Position: ColumnPosition{After: "a"}})
	tb1, err := c.LoadTable(ctx, "shop", "t")
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, tb1, "2", types.Row{int64(3), types.Struct{int32(6), 2.5, types.List{}}, nil})
	want := "id,r,m\n1,{'a': 5, 'c': NULL, 'l': [x, NULL]},{k=1}\n2,NULL,{}\n3,{'a': 6, 'c': 2.5, 'l': []},NULL\n"
	if got := scanText(t, tb1, table.ScanOptions{}); got != want {
		t.Errorf("scan:\n%s\nwant\n%s", got, want)
	}
	row, ok, err := tb1.Get(ctx, 0, int64(1))
	if err != nil || !ok || types.FormatValue(row[1], tb1.Schema().Fields[1].Type) != "{'a': 5, 'c': NULL, 'l': [x, NULL]}" {
		t.Errorf("Get(1) = %v %v %v", row, ok, err)
	}
	if _, err := tb1.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	if got := scanText(t, tb1, table.ScanOptions{}); got != want {
		t.Errorf("scan after compaction:\n%s\nwant\n%s", got, want)
	}
}
