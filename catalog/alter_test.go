package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// evoTable creates shop.t (id BIGINT key, name STRING, qty INT) with the
// given options.
func evoTable(t *testing.T, st objstore.Store, opts map[string]string) (*Catalog, *table.Table) {
	t.Helper()
	ctx := context.Background()
	c := New(st, "wh", table.Env{})
	if err := c.CreateDatabase(ctx, "shop", true); err != nil {
		t.Fatal(err)
	}
	tb, err := c.CreateTable(ctx, "shop", "t", &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt},
			{Name: "name", Type: types.TString},
			{Name: "qty", Type: types.TInt},
		},
		PrimaryKeys: []string{"id"},
		Options:     opts,
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return c, tb
}

func mustAlter(t *testing.T, c *Catalog, changes ...SchemaChange) *types.Schema {
	t.Helper()
	s, err := c.AlterTable(context.Background(), "shop", "t", changes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeRows(t *testing.T, tb *table.Table, ident string, rows ...types.Row) {
	t.Helper()
	ctx := context.Background()
	w := tb.NewWriter("w-" + ident)
	for _, r := range rows {
		if err := w.Write(ctx, types.Insert, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, ident); err != nil {
		t.Fatal(err)
	}
}

func scanText(t *testing.T, tb *table.Table, o table.ScanOptions) string {
	t.Helper()
	ctx := context.Background()
	sc, err := tb.NewScan(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var names []string
	for _, f := range sc.Schema().Fields {
		names = append(names, f.Name)
	}
	b.WriteString(strings.Join(names, ",") + "\n")
	for row, err := range sc.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		for i, v := range row {
			vals = append(vals, types.FormatValue(v, sc.Schema().Fields[i].Type))
		}
		b.WriteString(strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

// TestAlterTableReadsOldFiles: every kind of change, with data written
// before and after, read at the latest schema and at each snapshot's own.
func TestAlterTableReadsOldFiles(t *testing.T) {
	ctx := context.Background()
	c, tb := evoTable(t, objstore.NewMem(), map[string]string{"schema.compatibility": "none"})
	writeRows(t, tb, "1", types.Row{int64(1), "a", int32(10)}, types.Row{int64(2), nil, int32(20)})

	s1 := mustAlter(t, c,
		SchemaChange{Kind: AddColumn, Column: "note", Type: types.TString, NotNull: true, Default: strp("none")},
		SchemaChange{Kind: AddColumn, Column: "flag", Type: types.TBoolean, Position: ColumnPosition{After: "id"}},
		SchemaChange{Kind: UpdateColumnType, Column: "qty", Type: types.TBigInt},
		SchemaChange{Kind: RenameColumn, Column: "name", NewName: "title"})
	if s1.ID != 1 || s1.Change != "ADD COLUMN note STRING NOT NULL DEFAULT 'none', ADD COLUMN flag BOOLEAN AFTER id, ALTER COLUMN qty TYPE BIGINT, RENAME COLUMN name TO title" {
		t.Fatalf("schema %d change %q", s1.ID, s1.Change)
	}
	tb1, err := c.LoadTable(ctx, "shop", "t")
	if err != nil {
		t.Fatal(err)
	}
	if tb1.Schema().ID != 1 {
		t.Fatalf("loaded schema %d", tb1.Schema().ID)
	}
	writeRows(t, tb1, "2", types.Row{int64(3), true, "c", int64(1) << 40, "n3"})
	mustAlter(t, c, SchemaChange{Kind: DropColumn, Column: "title"})
	tb2, _ := c.LoadTable(ctx, "shop", "t")
	writeRows(t, tb2, "3", types.Row{int64(1), false, int64(11), "n1"})

	latest := "id,flag,qty,note\n1,false,11,n1\n2,NULL,20,none\n3,true,1099511627776,n3\n"
	if got := scanText(t, tb2, table.ScanOptions{}); got != latest {
		t.Errorf("latest:\n%s\nwant\n%s", got, latest)
	}
	for _, c := range []struct {
		snap int64
		want string
	}{
		{1, "id,name,qty\n1,a,10\n2,NULL,20\n"},
		{2, "id,flag,title,qty,note\n1,NULL,a,10,none\n2,NULL,NULL,20,none\n3,true,c,1099511627776,n3\n"},
		{3, latest},
	} {
		if got := scanText(t, tb2, table.ScanOptions{SnapshotID: c.snap, SnapshotSchema: true}); got != c.want {
			t.Errorf("snapshot %d with its schema:\n%s\nwant\n%s", c.snap, got, c.want)
		}
	}
	// Projected onto the current schema, snapshot 1 shows the new columns'
	// defaults.
	if got, want := scanText(t, tb2, table.ScanOptions{SnapshotID: 1}), "id,flag,qty,note\n1,NULL,10,none\n2,NULL,20,none\n"; got != want {
		t.Errorf("snapshot 1 with the current schema:\n%s\nwant\n%s", got, want)
	}
	// Point lookups of old files get the default too.
	row, ok, err := tb2.Get(ctx, 0, int64(2))
	if err != nil || !ok || fmt.Sprint(row) != "[2 <nil> 20 none]" {
		t.Errorf("Get(2) = %v %v %v", row, ok, err)
	}
	all, err := c.Schemas(ctx, "shop", "t")
	if err != nil || len(all) != 3 || all[0].Change != "CREATE TABLE" || all[2].Change != "DROP COLUMN title" {
		t.Fatalf("schemas: %v %v", all, err)
	}
	// A table opened on schema 0 finds the newest version and any other.
	if v, err := tb.AtLatestSchema(ctx); err != nil || v.Schema().ID != 2 {
		t.Fatalf("AtLatestSchema: %v %v", v, err)
	}
	if v, err := tb.AtSchema(ctx, 1); err != nil || v.Schema().Change != s1.Change {
		t.Fatalf("AtSchema(1): %v %v", v, err)
	}
	if _, err := tb.AtSchema(ctx, 9); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("AtSchema(9): %v", err)
	}
}

// TestAlterTableRejects: a rejected ALTER writes nothing; a no-op ALTER
// writes nothing; CheckAlter writes nothing.
func TestAlterTableRejects(t *testing.T) {
	ctx := context.Background()
	c, _ := evoTable(t, objstore.NewMem(), nil)
	_, err := c.AlterTable(ctx, "shop", "t", []SchemaChange{{Kind: AddColumn, Column: "n", Type: types.TInt, NotNull: true}})
	want := `alter table shop.t: schema.compatibility=backward: rule "NOT NULL column without a DEFAULT" violated by column "n": readers of schema 1 cannot read data written with schema 0: that data has no value for the column (give it a DEFAULT or make it nullable)`
	if err == nil || err.Error() != want || !errors.Is(err, ErrIncompatible) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	s, err := c.CheckAlter(ctx, "shop", "t", []SchemaChange{{Kind: AddColumn, Column: "n", Type: types.TInt}})
	if err != nil || s.ID != 1 {
		t.Fatalf("CheckAlter: %v %v", s, err)
	}
	s, err = c.AlterTable(ctx, "shop", "t", []SchemaChange{{Kind: AddColumn, Column: "name", Type: types.TInt, IfNotExists: true}})
	if err != nil || s.ID != 0 {
		t.Fatalf("no-op: %v %v", s, err)
	}
	if all, _ := c.Schemas(ctx, "shop", "t"); len(all) != 1 {
		t.Fatalf("%d schema versions after rejected/dry-run/no-op ALTERs", len(all))
	}
	if _, err := c.AlterTable(ctx, "shop", "nope", []SchemaChange{{Kind: DropColumn, Column: "x"}}); !errors.Is(err, types.ErrNotFound) {
		t.Errorf("unknown table: %v", err)
	}
	if _, err := c.AlterTable(ctx, "shop", "../t", []SchemaChange{{Kind: DropColumn, Column: "x"}}); !errors.Is(err, types.ErrInvalid) {
		t.Errorf("bad table name: %v", err)
	}
}

// TestAlterTableConcurrent: concurrent ALTERs each publish their own
// version (losers re-validate and retry); two adding the same column: one
// wins and the other fails clearly.
func TestAlterTableConcurrent(t *testing.T) {
	ctx := context.Background()
	c, _ := evoTable(t, objstore.NewMem(), nil)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.AlterTable(ctx, "shop", "t", []SchemaChange{{Kind: AddColumn, Column: fmt.Sprintf("c%d", i), Type: types.TInt}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("ALTER %d: %v", i, err)
		}
	}
	all, err := c.Schemas(ctx, "shop", "t")
	if err != nil || len(all) != n+1 {
		t.Fatalf("%d versions, %v", len(all), err)
	}
	last := all[n]
	if len(last.Fields) != 3+n || last.HighestFieldID != 2+n {
		t.Fatalf("latest has %d fields, highest id %d", len(last.Fields), last.HighestFieldID)
	}
	for i, s := range all {
		if s.ID != int64(i) {
			t.Fatalf("version %d has id %d", i, s.ID)
		}
	}

	// Two processes (their clocks differ, so their schema files do too)
	// add the same column.
	errs = make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		proc := New(c.Store(), "wh", table.Env{Now: func() time.Time { return time.UnixMilli(int64(1000 + i)) }})
		go func() {
			defer wg.Done()
			_, errs[i] = proc.AlterTable(ctx, "shop", "t", []SchemaChange{{Kind: AddColumn, Column: "dup", Type: types.TInt}})
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if err.Error() != `alter table shop.t: invalid: column "dup" already exists` {
				t.Errorf("loser: %v", err)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d of 2 duplicate ALTERs failed, want 1", failed)
	}
}

// TestAlterTableAmbiguousPut: a schema put that applied but reported an
// error (or a lost race against itself) counts as published once.
func TestAlterTableAmbiguousPut(t *testing.T) {
	ctx := context.Background()
	f := objstore.NewFault(objstore.NewMem())
	c, _ := evoTable(t, f, nil)
	f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "schema-1", Nth: 1, ApplyThenFail: true})
	s, err := c.AlterTable(ctx, "shop", "t", []SchemaChange{{Kind: AddColumn, Column: "n", Type: types.TInt}})
	if err != nil || s.ID != 1 {
		t.Fatalf("ambiguous put: %v %v", s, err)
	}
	f.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "schema-2", Nth: 1, Err: errors.New("boom")})
	if _, err := c.AlterTable(ctx, "shop", "t", []SchemaChange{{Kind: AddColumn, Column: "m", Type: types.TInt}}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failed put: %v", err)
	}
	if all, _ := c.Schemas(ctx, "shop", "t"); len(all) != 2 {
		t.Fatalf("%d versions", len(all))
	}
}

// TestWriterOnOldSchema: a writer opened before an ALTER keeps committing
// while readers of the latest schema can read its data; otherwise its
// commit is rejected (and nothing is published), except in mode none.
func TestWriterOnOldSchema(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		mode    string
		change  SchemaChange
		wantErr string
	}{
		{"backward", SchemaChange{Kind: AddColumn, Column: "note", Type: types.TString}, ""},
		{"backward", SchemaChange{Kind: UpdateColumnType, Column: "qty", Type: types.TBigInt}, ""},
		{"forward", SchemaChange{Kind: AddColumn, Column: "note", Type: types.TString, NotNull: true}, `table shop.t: writer on schema 0: conflict: the table is at schema 1; reopen the table to write with it: schema.compatibility=forward: rule "NOT NULL column without a DEFAULT" violated by column "note": readers of schema 1 cannot read data written with schema 0: that data has no value for the column (give it a DEFAULT or make it nullable)`},
		{"forward", SchemaChange{Kind: UpdateColumnNullability, Column: "name", NotNull: true}, `table shop.t: writer on schema 0: conflict: the table is at schema 1; reopen the table to write with it: schema.compatibility=forward: rule "nullable data in a NOT NULL column" violated by column "name": readers of schema 1 cannot read data written with schema 0: the column is nullable there, so it may hold NULLs`},
		{"none", SchemaChange{Kind: UpdateColumnNullability, Column: "name", NotNull: true}, ""},
	} {
		t.Run(c.mode+"/"+c.change.String(), func(t *testing.T) {
			cat, old := evoTable(t, objstore.NewMem(), map[string]string{"schema.compatibility": c.mode})
			w := old.NewWriter("old")
			if err := w.Write(ctx, types.Insert, types.Row{int64(1), nil, int32(5)}); err != nil {
				t.Fatal(err)
			}
			mustAlter(t, cat, c.change)
			_, err := w.Commit(ctx, "1")
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != c.wantErr || !errors.Is(err, ErrIncompatible) || !errors.Is(err, types.ErrConflict) {
				t.Fatalf("got  %v\nwant %s", err, c.wantErr)
			}
			if snap, _ := old.Latest(ctx); snap != nil {
				t.Fatalf("rejected commit published snapshot %d", snap.ID)
			}
			if err := w.Abort(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWidensMatchesReader: Widens (the ALTER rule) agrees with what lsm's
// reader converts: a file written with type a is readable as type b
// exactly when a == b or Widens(a, b), and the value survives.
func TestWidensMatchesReader(t *testing.T) {
	ctx := context.Background()
	typesList := []types.DataType{types.TBoolean, types.TInt, types.TBigInt, types.TFloat, types.TDouble,
		types.TDecimal(5, 2), types.TDecimal(9, 2), types.TDecimal(9, 3), types.TString, types.TBytes, types.TDate, types.TTimestamp}
	sample := map[types.Kind]types.Value{types.Boolean: true, types.Int: int32(-7), types.BigInt: int64(-7), types.Float: float32(1.5),
		types.Double: 1.5, types.DecimalKind: types.Decimal(-12345), types.String: "s", types.Bytes: []byte{1}, types.DateKind: types.Date(3), types.TimestampKind: types.Timestamp(4)}
	schemaOf := func(dt types.DataType) *types.Schema {
		return &types.Schema{Fields: []types.Field{{ID: 0, Name: "k", Type: types.TBigInt, NotNull: true}, {ID: 1, Name: "v", Type: dt}},
			PrimaryKeys: []string{"k"}, HighestFieldID: 1}
	}
	for _, a := range typesList {
		key, _ := types.EncodeRowKey(nil, types.Row{int64(1)}, []int{0})
		files, err := lsm.WriteFiles([]lsm.Record{{Key: key, Merged: true, Row: types.Row{int64(1), sample[a.Kind]}}}, schemaOf(a), lsm.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range typesList {
			fr, err := lsm.OpenFile(ctx, bytes.NewReader(files[0].Data), int64(len(files[0].Data)), schemaOf(b), 0)
			if readable := err == nil; readable != readableAs(a, b) {
				t.Errorf("%s read as %s: reader says %v (%v), Widens says %v", a, b, readable, err, readableAs(a, b))
				continue
			}
			if err != nil {
				continue
			}
			for rec, err := range fr.All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				want, _ := types.Coerce(sample[a.Kind], b)
				if !types.Equal(rec.Row[1], want) {
					t.Errorf("%s read as %s: %v, want %v", a, b, rec.Row[1], want)
				}
			}
		}
	}
}

// TestAlterTableRunsAfterChange: a new schema version runs Env.AfterChange
// with the table opened on it (the Iceberg view takes the new current
// schema without waiting for a commit); a no-op ALTER and a dry run do
// not.
func TestAlterTableRunsAfterChange(t *testing.T) {
	ctx := context.Background()
	st := objstore.NewMem()
	var seen []string
	c := New(st, "wh", table.Env{AfterChange: func(_ context.Context, tb *table.Table) {
		seen = append(seen, fmt.Sprintf("%s@%d:%d", tb.Name(), tb.Schema().ID, len(tb.Schema().Fields)))
	}})
	if err := c.CreateDatabase(ctx, "shop", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTable(ctx, "shop", "t", &types.Schema{
		Fields:      []types.Field{{Name: "id", Type: types.TBigInt}, {Name: "v", Type: types.TString}},
		PrimaryKeys: []string{"id"},
	}, false); err != nil {
		t.Fatal(err)
	}
	seen = nil
	add := []SchemaChange{{Kind: AddColumn, Column: "n", Type: types.TInt, IfNotExists: true}}
	if _, err := c.CheckAlter(ctx, "shop", "t", add); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Fatalf("a dry run ran AfterChange: %v", seen)
	}
	s := mustAlter(t, c, add...)
	if want := fmt.Sprintf("shop.t@%d:3", s.ID); len(seen) != 1 || seen[0] != want {
		t.Fatalf("AfterChange calls %v, want [%s]", seen, want)
	}
	mustAlter(t, c, add...) // no-op: the column exists
	if len(seen) != 1 {
		t.Fatalf("a no-op ALTER ran AfterChange: %v", seen)
	}
}
