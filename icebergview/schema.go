package icebergview

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/iceberg-go"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// icebergType maps a silt column type to the Iceberg type its Parquet
// column is read as. Every silt type has an exact Iceberg counterpart:
// DECIMAL(p,s) (p <= 18 stored as INT32/INT64, which the Iceberg Parquet
// spec allows; p up to 38 as FIXED_LEN_BYTE_ARRAY of the minimum length,
// what the spec asks for) is decimal(p,s); TIMESTAMP (microseconds, a
// wall-clock time) is timestamp and TIMESTAMP_LTZ (an instant) timestamptz,
// as their Parquet annotations say (isAdjustedToUTC false and true; data
// files written before TIMESTAMP_LTZ existed store TIMESTAMP UTC-adjusted,
// with the same microseconds); TIME is time, UUID uuid, DATE date.
func icebergType(t types.DataType) (iceberg.Type, error) {
	switch t.Kind {
	case types.Boolean:
		return iceberg.PrimitiveTypes.Bool, nil
	case types.Int:
		return iceberg.PrimitiveTypes.Int32, nil
	case types.BigInt:
		return iceberg.PrimitiveTypes.Int64, nil
	case types.Float:
		return iceberg.PrimitiveTypes.Float32, nil
	case types.Double:
		return iceberg.PrimitiveTypes.Float64, nil
	case types.DecimalKind:
		return iceberg.DecimalTypeOf(t.Precision, t.Scale), nil
	case types.String:
		return iceberg.PrimitiveTypes.String, nil
	case types.Bytes:
		return iceberg.PrimitiveTypes.Binary, nil
	case types.DateKind:
		return iceberg.PrimitiveTypes.Date, nil
	case types.TimestampKind:
		return iceberg.PrimitiveTypes.Timestamp, nil
	case types.TimestampLTZKind:
		return iceberg.PrimitiveTypes.TimestampTz, nil
	case types.TimeKind:
		return iceberg.PrimitiveTypes.Time, nil
	case types.UUIDKind:
		return iceberg.PrimitiveTypes.UUID, nil
	case types.ArrayKind, types.MapKind, types.StructKind:
		return nestedIcebergType(t)
	}
	return nil, fmt.Errorf("%w: column type %s has no Iceberg type", types.ErrInvalid, t)
}

// nestedIcebergType maps ARRAY<T> to list (element-id: the element's
// field id, element-required: NOT NULL), MAP<K,V> to map (key-id,
// value-id; keys are NOT NULL in silt as in Iceberg; values optional) and
// ROW to struct, recursively. The ids are silt's nested field ids, the
// Parquet field_id silt writes on the element, key, value and ROW field
// nodes of its data files, where Iceberg readers look for them.
func nestedIcebergType(t types.DataType) (iceberg.Type, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	switch t.Kind {
	case types.ArrayKind:
		e := t.Fields[0]
		et, err := icebergType(e.Type)
		if err != nil {
			return nil, err
		}
		return &iceberg.ListType{ElementID: e.ID, Element: et, ElementRequired: e.NotNull}, nil
	case types.MapKind:
		k, v := t.Fields[0], t.Fields[1]
		kt, err := icebergType(k.Type)
		if err != nil {
			return nil, err
		}
		vt, err := icebergType(v.Type)
		if err != nil {
			return nil, err
		}
		// value-required stays false even for V NOT NULL: Arrow's map type
		// always has nullable items, so iceberg-go (v0.7.0) reads a
		// required map value as nullable items and then fails to assemble
		// them under the schema's non-nullable ones. An optional value
		// claims less than the files hold, never something false.
		return &iceberg.MapType{KeyID: k.ID, KeyType: kt, ValueID: v.ID, ValueType: vt, ValueRequired: false}, nil
	}
	fields := make([]iceberg.NestedField, len(t.Fields))
	for i, f := range t.Fields {
		ft, err := icebergType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		fields[i] = iceberg.NestedField{ID: f.ID, Name: f.Name, Type: ft, Required: f.NotNull, Doc: f.Comment}
	}
	return &iceberg.StructType{FieldList: fields}, nil
}

// checkFieldIDs reports a field id that two fields of s share (at any
// depth) or a nested field without one (id 0): Iceberg resolves every
// field by its id, so each must be unique and, but for the first
// column's 0, positive.
func checkFieldIDs(s *types.Schema) error {
	seen := map[int]string{}
	var walk func(path string, id int, nested bool, t types.DataType) error
	walk = func(path string, id int, nested bool, t types.DataType) error {
		if nested && id <= 0 {
			return fmt.Errorf("%w: nested field %s has no field id (%d): Iceberg needs one on every field", types.ErrInvalid, path, id)
		}
		if other, ok := seen[id]; ok {
			return fmt.Errorf("%w: fields %s and %s share field id %d: Iceberg needs unique ids", types.ErrCorruption, other, path, id)
		}
		seen[id] = path
		for _, f := range t.Fields {
			if err := walk(path+"."+f.Name, f.ID, true, f.Type); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range s.Fields {
		if err := walk(f.Name, f.ID, false, f.Type); err != nil {
			return err
		}
	}
	return nil
}

// icebergSchema converts one silt schema version: the same field ids
// (but field id 0, see iceFieldID), names, types and nullability, the
// primary key as identifier fields. The
// hidden columns (_key, _seq, _kind) are not part of it. Iceberg schema
// ids are assigned by the metadata builder.
func icebergSchema(s *types.Schema) (*iceberg.Schema, error) {
	if err := checkFieldIDs(s); err != nil {
		return nil, fmt.Errorf("schema %d: %w", s.ID, err)
	}
	fields := make([]iceberg.NestedField, 0, len(s.Fields))
	for _, f := range s.Fields {
		typ, err := icebergType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		fields = append(fields, iceberg.NestedField{ID: iceFieldID(f.ID), Name: f.Name, Type: typ, Required: f.NotNull, Doc: f.Comment})
	}
	var ids []int
	for _, i := range s.KeyIndexes() {
		ids = append(ids, iceFieldID(s.Fields[i].ID))
	}
	return iceberg.NewSchemaWithIdentifiers(int(s.ID), ids, fields...), nil
}

// nameMapping is schema.name-mapping.default: every field id of every
// schema version (columns dropped since too, so files of older snapshots
// still resolve), with every name it had (so files written before a
// rename map by their old column name), and under each nested column its
// nested fields the same way: an ARRAY's element ("element"), a MAP's
// key and value ("key", "value"), a ROW's fields by all their names.
// Data files of format version 2 carry a Parquet field id on every
// column and nested field; version 1 files have none for field id 0 nor
// the hidden columns, and readers that need a field id on every column
// fall back to this mapping for them. history is in id order, the current
// version last; the current names come first.
func nameMapping(history []*types.Schema) iceberg.NameMapping {
	root := &mapNode{}
	for i := len(history) - 1; i >= 0; i-- {
		for _, f := range history[i].Fields {
			root.add(f.ID, f.Name, f.Type)
		}
	}
	out := root.mapped(iceFieldID)
	// The hidden columns get ids no schema field has: readers that resolve
	// every file column (iceberg-go) then know them and leave them out.
	for i, n := range []string{"_key", "_seq", "_kind"} {
		id := hiddenFieldID + i
		out = append(out, iceberg.MappedField{FieldID: &id, Names: []string{n}})
	}
	return out
}

// mapNode is one field of the name mapping being built: its names and
// its nested fields by id.
type mapNode struct {
	names []string
	kids  map[int]*mapNode
}

// add records the field id (named name, of type t) and its nested fields
// as children of n.
func (n *mapNode) add(id int, name string, t types.DataType) {
	if n.kids == nil {
		n.kids = map[int]*mapNode{}
	}
	k := n.kids[id]
	if k == nil {
		k = &mapNode{}
		n.kids[id] = k
	}
	if !containsFold(k.names, name) {
		k.names = append(k.names, name)
	}
	for _, f := range t.Fields {
		k.add(f.ID, f.Name, f.Type)
	}
}

// mapped renders n's children in silt id order, their ids mapped by
// iceID (the top level: iceFieldID; nested ids are never 0 and stay).
func (n *mapNode) mapped(iceID func(int) int) []iceberg.MappedField {
	ids := slices.Sorted(maps.Keys(n.kids))
	var out []iceberg.MappedField
	for _, sid := range ids {
		k, id := n.kids[sid], iceID(sid)
		out = append(out, iceberg.MappedField{FieldID: &id, Names: k.names, Fields: k.mapped(sameID)})
	}
	return out
}

func sameID(id int) int { return id }

// iceFieldID is the Iceberg field id of silt field id: the same id, but
// for field id 0, which Iceberg does not accept as a partition source
// (ids must be positive): it becomes field0ID in every schema version,
// partition spec and the name mapping, the Parquet field_id silt's data
// files (format version 2) store for that column. Every other id stays,
// so readers that resolve columns by Parquet field id read them right.
func iceFieldID(id int) int {
	if id == 0 {
		return field0ID
	}
	return id
}

// field0ID is the Iceberg id of silt field id 0 (lsm.ParquetFieldID0): just
// below the hidden columns' ids, far above any id silt assigns (one more
// than the highest ever assigned, per column added).
const field0ID = lsm.ParquetFieldID0

// hiddenFieldID is the first of the three field ids of the hidden columns
// (lsm.ParquetFieldIDHidden, also in the name mapping): below the range
// Iceberg reserves for metadata columns (from 2147483447), far above any
// silt field id.
const hiddenFieldID = lsm.ParquetFieldIDHidden

func containsFold(names []string, n string) bool {
	for _, m := range names {
		if m == n {
			return true
		}
	}
	return false
}

// partitionSpec is the identity partition spec on the partition columns of
// s, named as the columns.
func partitionSpec(s *types.Schema) (iceberg.PartitionSpec, error) {
	var fields []iceberg.PartitionField
	for i, idx := range s.PartitionIndexes() {
		f := s.Fields[idx]
		fields = append(fields, iceberg.PartitionField{SourceIDs: []int{iceFieldID(f.ID)}, FieldID: iceberg.PartitionDataIDStart + i, Name: f.Name, Transform: iceberg.IdentityTransform{}})
	}
	return iceberg.NewPartitionSpec(fields...), nil
}

// partitionValues parses a data file's canonical partition path
// ("col=value/col2=value", values path-escaped, NULL as "NULL") into the
// partition data of spec: partition field id → Iceberg value. Segments are
// matched by position, so a renamed partition column still parses.
func partitionValues(s *types.Schema, path string) (map[int]any, error) {
	idx := s.PartitionIndexes()
	out := make(map[int]any, len(idx))
	if len(idx) == 0 {
		return out, nil
	}
	segs := strings.Split(path, "/")
	if len(segs) != len(idx) {
		return nil, fmt.Errorf("%w: partition path %q has %d segments for %d partition columns", types.ErrCorruption, path, len(segs), len(idx))
	}
	for i, fi := range idx {
		f := s.Fields[fi]
		_, raw, ok := strings.Cut(segs[i], "=")
		if !ok {
			return nil, fmt.Errorf("%w: partition path %q: segment %q has no '='", types.ErrCorruption, path, segs[i])
		}
		txt, err := url.PathUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: partition path %q: %v", types.ErrCorruption, path, err)
		}
		pid := iceberg.PartitionDataIDStart + i
		if txt == "NULL" {
			out[pid] = nil
			continue
		}
		v, err := types.ParseText(txt, f.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: partition path %q: column %q: %v", types.ErrCorruption, path, f.Name, err)
		}
		iv, err := icebergValue(v, f.Type)
		if err != nil {
			return nil, err
		}
		out[pid] = iv
	}
	return out, nil
}

// icebergValue converts a silt value to the Go value iceberg-go expects in
// partition data.
func icebergValue(v types.Value, t types.DataType) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool, int32, int64, float32, float64, string, []byte:
		return x, nil
	case types.Date:
		return iceberg.Date(x), nil
	case types.Timestamp:
		return iceberg.Timestamp(x), nil
	case types.TimestampLTZ:
		return iceberg.Timestamp(x), nil
	case types.TimeOfDay:
		return iceberg.Time(x), nil
	case types.UUID:
		return [16]byte(x), nil
	case types.Decimal:
		return iceberg.Decimal{Val: decimal128.FromI64(int64(x)), Scale: t.Scale}, nil
	case types.Decimal128:
		return iceberg.Decimal{Val: x.Num(), Scale: t.Scale}, nil
	}
	return nil, fmt.Errorf("%w: value %v of type %T has no Iceberg partition value", types.ErrInvalid, v, v)
}

// schemaHistory returns the table's schema versions in id order, the
// current one last. Without a schema loader (Env.Schemas) it is the
// table's schema alone.
func schemaHistory(ctx context.Context, t *table.Table) ([]*types.Schema, error) {
	cur := t.Schema()
	if lt, err := t.AtLatestSchema(ctx); err == nil && lt != nil {
		cur = lt.Schema()
	}
	var out []*types.Schema
	for id := int64(0); id < cur.ID; id++ {
		v, err := t.AtSchema(ctx, id)
		if err != nil {
			continue // no loader, or a version that was never stored
		}
		out = append(out, v.Schema())
	}
	return append(out, cur), nil
}
