package icebergview

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/parquet-go/parquet-go"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// arrowValueOf is arrowValue for a value of silt type typ, which may be
// nested: lists, maps and structs (fields matched by name) become List,
// Map and Struct, recursively.
func arrowValueOf(t *testing.T, c arrow.Array, r int, typ types.DataType) types.Value {
	t.Helper()
	if !typ.IsNested() || c.IsNull(r) {
		return arrowValue(t, c, r)
	}
	switch typ.Kind {
	case types.MapKind:
		m, ok := c.(*array.Map)
		if !ok {
			t.Fatalf("%s read as Arrow %s", typ, c.DataType())
		}
		start, end := m.ValueOffsets(r)
		out := types.Map{}
		for j := int(start); j < int(end); j++ {
			out = append(out, types.MapEntry{Key: arrowValueOf(t, m.Keys(), j, typ.Key()), Value: arrowValueOf(t, m.Items(), j, typ.Value())})
		}
		return out
	case types.ArrayKind:
		l, ok := c.(array.ListLike)
		if !ok {
			t.Fatalf("%s read as Arrow %s", typ, c.DataType())
		}
		start, end := l.ValueOffsets(r)
		out := types.List{}
		for j := int(start); j < int(end); j++ {
			out = append(out, arrowValueOf(t, l.ListValues(), j, typ.Elem()))
		}
		return out
	}
	st, ok := c.(*array.Struct)
	if !ok {
		t.Fatalf("%s read as Arrow %s", typ, c.DataType())
	}
	stt := st.DataType().(*arrow.StructType)
	out := make(types.Struct, len(typ.Fields))
	for i, f := range typ.Fields {
		k, ok := stt.FieldIdx(f.Name)
		if !ok {
			t.Fatalf("%s read as Arrow %s: no field %q", typ, c.DataType(), f.Name)
		}
		out[i] = arrowValueOf(t, st.Field(k), r, f.Type)
	}
	if len(typ.Fields) != stt.NumFields() {
		t.Fatalf("%s read as Arrow %s", typ, c.DataType())
	}
	return out
}

// nestedSchema has an ARRAY, a MAP and a ROW column, nested in each
// other, NOT NULL elements and fields among them, and a MAP with NOT NULL
// values (published as optional values: see nestedIcebergType).
func nestedSchema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{Name: "k", Type: types.TInt, NotNull: true},
			{Name: "tags", Type: types.TArray(types.TString)},
			{Name: "attrs", Type: types.TMap(types.TString, types.TArray(types.TBigInt))},
			{Name: "info", Type: types.TStruct(
				types.Field{Name: "a", Type: types.TInt},
				types.Field{Name: "b", Type: types.TStruct(types.Field{Name: "c", Type: types.TString, NotNull: true})},
				types.Field{Name: "ds", Type: types.DataType{Kind: types.ArrayKind, Fields: []types.Field{{Name: types.ElementFieldName, Type: types.TDate, NotNull: true}}}},
			)},
			{Name: "req", Type: types.DataType{Kind: types.MapKind, Fields: []types.Field{{Name: "key", Type: types.TString, NotNull: true}, {Name: "value", Type: types.TInt, NotNull: true}}}},
		},
		PrimaryKeys: []string{"k"},
		Options:     map[string]string{"bucket": "2"},
	}
}

// TestIcebergNestedTypes: ARRAY, MAP and ROW columns map to Iceberg
// list, map and struct with silt's nested field ids, and a nested table
// (updates and deletes hidden by position deletes) reads back with
// iceberg-go as silt returns it.
func TestIcebergNestedTypes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := nestedSchema()
	f := newFixture(t, store, dir, s)
	is, err := icebergSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	tags := s.Fields[1].Type
	if got, want := is.Field(1).Type, iceberg.Type(&iceberg.ListType{ElementID: tags.Fields[0].ID, Element: iceberg.PrimitiveTypes.String}); !got.Equals(want) {
		t.Errorf("tags is %s, want %s", got, want)
	}
	attrs := s.Fields[2].Type
	lt := &iceberg.ListType{ElementID: attrs.Fields[1].Type.Fields[0].ID, Element: iceberg.PrimitiveTypes.Int64}
	if got, want := is.Field(2).Type, iceberg.Type(&iceberg.MapType{KeyID: attrs.Fields[0].ID, KeyType: iceberg.PrimitiveTypes.String, ValueID: attrs.Fields[1].ID, ValueType: lt}); !got.Equals(want) {
		t.Errorf("attrs is %s, want %s", got, want)
	}
	info := s.Fields[3].Type
	if got := is.Field(3).Type.(*iceberg.StructType); len(got.FieldList) != 3 || got.FieldList[1].ID != info.Fields[1].ID ||
		!got.FieldList[1].Type.(*iceberg.StructType).FieldList[0].Required || !got.FieldList[2].Type.(*iceberg.ListType).ElementRequired {
		t.Errorf("info is %s", got)
	}
	row := func(k int) types.Row {
		r := types.Row{int32(k), types.List{"x", nil, "y"}, types.Map{{Key: "m", Value: types.List{int64(k), nil}}, {Key: "n", Value: nil}},
			types.Struct{int32(k * 2), types.Struct{"c"}, types.List{types.Date(k)}}, types.Map{{Key: "q", Value: int32(k)}}}
		switch k % 4 {
		case 1:
			r[1], r[2], r[3], r[4] = nil, nil, nil, nil
		case 2:
			r[1], r[2], r[3] = types.List{}, types.Map{}, types.Struct{nil, nil, nil}
		}
		return r
	}
	for round := range 3 {
		w := f.tbl.NewWriter("test")
		for k := range 12 {
			kind := types.Insert
			if round > 0 && k%5 == round {
				kind = types.Delete
			}
			if err := w.Write(ctx, kind, row(k+round)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx, "c"+strconv.Itoa(round)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.tbl.Compact(ctx, table.CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	f.checkNoErrors(t)
	it := f.iceTable(t, ctx)
	for _, snap := range it.Metadata().Snapshots() {
		want := siltRows(t, ctx, f.tbl, snap.SnapshotID, "")
		got := iceRows(t, ctx, it, snap.SnapshotID, f.tbl.Schema())
		if d := diffRows(want, got); d != "" {
			t.Fatalf("snapshot %d: %s", snap.SnapshotID, d)
		}
		if len(want) == 0 {
			t.Fatalf("snapshot %d: no rows", snap.SnapshotID)
		}
	}
}

// TestNameMappingNested: the name mapping lists the nested fields of every
// column under it by id, an ARRAY's element as "element", a MAP's key and
// value as "key" and "value", a ROW's fields with every name they had,
// dropped ones too.
func TestNameMappingNested(t *testing.T) {
	v0 := nestedSchema()
	v0.Fields = v0.Fields[:4] // k, tags, attrs, info
	for i := range v0.Fields {
		v0.Fields[i].ID = i
	}
	v0.HighestFieldID = len(v0.Fields) - 1
	for i := range v0.Fields {
		types.AssignNestedIDs(&v0.Fields[i].Type, func() int { v0.HighestFieldID++; return v0.HighestFieldID })
	}
	v1 := *v0
	v1.ID = 1
	v1.Fields = slices.Clone(v0.Fields)
	info := types.CloneType(v1.Fields[3].Type)
	info.Fields[0].Name = "a2"                                                             // rename info.a
	info.Fields = slices.Delete(info.Fields, 1, 2)                                         // drop info.b
	info.Fields = append(info.Fields, types.Field{ID: 99, Name: "z", Type: types.TBigInt}) // add info.z
	v1.Fields[3].Type = info
	got, err := json.Marshal(nameMapping([]*types.Schema{v0, &v1}))
	if err != nil {
		t.Fatal(err)
	}
	// Ids: k 2147482999, tags 1, attrs 2, info 3; tags.element 4;
	// attrs.key 5, attrs.value 6, its element 7; info.a 8, info.b 9,
	// info.b.c 10, info.ds 11, its element 12.
	want := `[{"names":["k"],"field-id":2147482999},{"names":["tags"],"field-id":1,"fields":[{"names":["element"],"field-id":4}]},` +
		`{"names":["attrs"],"field-id":2,"fields":[{"names":["key"],"field-id":5},{"names":["value"],"field-id":6,"fields":[{"names":["element"],"field-id":7}]}]},` +
		`{"names":["info"],"field-id":3,"fields":[{"names":["a2","a"],"field-id":8},{"names":["b"],"field-id":9,"fields":[{"names":["c"],"field-id":10}]},{"names":["ds"],"field-id":11,"fields":[{"names":["element"],"field-id":12}]},{"names":["z"],"field-id":99}]},` +
		`{"names":["_key"],"field-id":2147483000},{"names":["_seq"],"field-id":2147483001},{"names":["_kind"],"field-id":2147483002}]`
	if string(got) != want {
		t.Fatalf("name mapping\n%s\nwant\n%s", got, want)
	}
}

// TestNestedParquetFieldIDs: in a data file silt writes, the Parquet
// field_id of every nested node is where Iceberg readers look for the
// published ids: an ARRAY's on the element of the 3-level LIST
// (c.list.element), a MAP's on key and value (c.key_value.key/value), a
// ROW's on each field, at every depth.
func TestNestedParquetFieldIDs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := nestedSchema()
	f := newFixture(t, store, dir, s)
	w := f.tbl.NewWriter("test")
	if err := w.Write(ctx, types.Insert, types.Row{int32(1), types.List{"a"}, nil, nil, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := f.tbl.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := f.tbl.Meta().Files(ctx, snap)
	if err != nil || len(files) == 0 {
		t.Fatalf("files %v %v", files, err)
	}
	data, _, err := store.Get(ctx, testRoot+files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	is, err := icebergSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	var walk func(path string, n parquet.Node, typ iceberg.Type)
	child := func(path string, n parquet.Node, name string, id int, typ iceberg.Type) {
		for _, c := range n.Fields() {
			if c.Name() == name {
				if c.ID() != id {
					t.Errorf("%s.%s: Parquet field_id %d, the view's id %d", path, name, c.ID(), id)
				}
				checked++
				walk(path+"."+name, c, typ)
				return
			}
		}
		t.Errorf("%s: no Parquet field %q", path, name)
	}
	walk = func(path string, n parquet.Node, typ iceberg.Type) {
		switch it := typ.(type) {
		case *iceberg.ListType:
			if lt := n.Type().LogicalType(); lt == nil || lt.String() != "LIST" || len(n.Fields()) != 1 || n.Fields()[0].Name() != "list" {
				t.Fatalf("%s: not a 3-level LIST", path)
			}
			child(path+".list", n.Fields()[0], "element", it.ElementID, it.Element)
		case *iceberg.MapType:
			if lt := n.Type().LogicalType(); lt == nil || lt.String() != "MAP" || len(n.Fields()) != 1 || n.Fields()[0].Name() != "key_value" {
				t.Fatalf("%s: not a MAP of key_value", path)
			}
			child(path+".key_value", n.Fields()[0], "key", it.KeyID, it.KeyType)
			child(path+".key_value", n.Fields()[0], "value", it.ValueID, it.ValueType)
		case *iceberg.StructType:
			for _, fl := range it.FieldList {
				child(path, n, fl.Name, fl.ID, fl.Type)
			}
		}
	}
	for _, fl := range is.Fields() {
		child("", pf.Root(), fl.Name, fl.ID, fl.Type)
	}
	if checked < 15 {
		t.Fatalf("checked %d field ids", checked)
	}
}

// TestCheckFieldIDs: a schema whose nested fields share an id with
// another field, or lack one, is refused with both fields named, never
// published with colliding ids.
func TestCheckFieldIDs(t *testing.T) {
	s := nestedSchema()
	for i := range s.Fields {
		s.Fields[i].ID = i
	}
	s.HighestFieldID = len(s.Fields) - 1
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	if err := checkFieldIDs(s); err != nil {
		t.Fatal(err)
	}
	dup := *s
	dup.Fields = slices.Clone(s.Fields)
	dup.Fields[3].Type = types.CloneType(s.Fields[3].Type)
	dup.Fields[3].Type.Fields[1].Type.Fields[0].ID = 2 // info.b.c takes attrs' id
	if _, err := icebergSchema(&dup); err == nil || !strings.Contains(err.Error(), "attrs and info.b.c share field id 2") {
		t.Fatalf("duplicate id: %v", err)
	}
	dup.Fields[3].Type.Fields[1].Type.Fields[0].ID = 0
	if _, err := icebergSchema(&dup); err == nil || !strings.Contains(err.Error(), "nested field info.b.c has no field id") {
		t.Fatalf("missing id: %v", err)
	}
}
