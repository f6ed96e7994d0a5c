package lsm

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// Names of the hidden columns that precede the table's columns in every data
// file. Column names starting with '_' are reserved by types.Schema.Validate.
const (
	colKey  = "_key"
	colSeq  = "_seq"
	colKind = "_kind"
	// numHidden is the number of hidden columns (indexes 0..2).
	numHidden = 3
)

// Parquet field ids that are not silt field ids (data-file format version
// 2; version 1 files store neither). ParquetFieldID0 is the field_id of the
// column of silt field id 0 (a Parquet field_id of 0 reads as unset); it is
// also that column's Iceberg field id. The hidden columns _key, _seq and
// _kind have ParquetFieldIDHidden, +1 and +2, the ids the Iceberg name
// mapping gives them. Readers that resolve columns by field id (Iceberg
// engines; DuckDB when the first column has one) then find every column;
// silt itself maps columns through the silt.field.ids metadata. Both lie
// far above any field id silt assigns and below the range Iceberg reserves
// for metadata columns (from 2147483447).
const (
	ParquetFieldID0      = ParquetFieldIDHidden - 1
	ParquetFieldIDHidden = 2147483000
)

// parquetFieldID is the Parquet field_id written for silt field id id.
func parquetFieldID(id int) int {
	if id == 0 {
		return ParquetFieldID0
	}
	return id
}

// kindResetBit is or-ed into the stored _kind value of a Record with Reset.
const kindResetBit = 4

// parquetSchema builds the Parquet schema of a data file: the hidden columns
// then one column per field in schema order, each carrying its field id.
// optional[i] says whether field i is written as an optional column.
func parquetSchema(s *types.Schema, optional []bool) (*parquet.Schema, error) {
	fields := []parquet.Field{
		namedField{Node: parquet.FieldID(parquet.Encoded(parquet.Leaf(parquet.ByteArrayType), &parquet.DeltaByteArray), ParquetFieldIDHidden), name: colKey},
		namedField{Node: parquet.FieldID(parquet.Encoded(parquet.Leaf(parquet.Int64Type), &parquet.DeltaBinaryPacked), ParquetFieldIDHidden+1), name: colSeq},
		namedField{Node: parquet.FieldID(parquet.Encoded(parquet.Leaf(parquet.Int32Type), &parquet.RLEDictionary), ParquetFieldIDHidden+2), name: colKind},
	}
	for i, f := range s.Fields {
		if strings.HasPrefix(f.Name, "_") {
			return nil, fmt.Errorf("%w: column name %q is reserved", types.ErrInvalid, f.Name)
		}
		n, err := parquetNode(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		if optional[i] {
			n = parquet.Optional(n)
		} else {
			n = parquet.Required(n)
		}
		fields = append(fields, namedField{Node: parquet.FieldID(n, parquetFieldID(f.ID)), name: f.Name})
	}
	return parquet.NewSchema("silt", orderedGroup(fields)), nil
}

// parquetNode is the Parquet leaf of a column type, with the logical types
// other engines (DuckDB, Spark) understand.
func parquetNode(t types.DataType) (parquet.Node, error) {
	switch t.Kind {
	case types.Boolean:
		return parquet.Leaf(parquet.BooleanType), nil
	case types.Int:
		return parquet.Leaf(parquet.Int32Type), nil
	case types.BigInt:
		return parquet.Leaf(parquet.Int64Type), nil
	case types.Float:
		return parquet.Leaf(parquet.FloatType), nil
	case types.Double:
		return parquet.Leaf(parquet.DoubleType), nil
	case types.DecimalKind:
		if t.Is128() {
			return decimalNode(t)
		}
		if err := t.Validate(); err != nil {
			return nil, err
		}
		// The Parquet spec wants INT32 for precision <= 9 (parquet-go logs a
		// warning otherwise); readers accept both physical types.
		if t.Precision <= 9 {
			return parquet.Decimal(t.Scale, t.Precision, parquet.Int32Type), nil
		}
		return parquet.Decimal(t.Scale, t.Precision, parquet.Int64Type), nil
	case types.String:
		return parquet.String(), nil
	case types.Bytes:
		return parquet.Leaf(parquet.ByteArrayType), nil
	case types.DateKind:
		return parquet.Date(), nil
	case types.ArrayKind, types.MapKind, types.StructKind:
		return nestedParquetNode(t)
	}
	if n, ok := parquetNodeTemporal(t); ok {
		return n, nil
	}
	return nil, fmt.Errorf("%w: unsupported column type %s", types.ErrInvalid, t)
}

// siltType maps the Parquet type of a file column back to a column type.
func siltType(t parquet.Type) (types.DataType, error) {
	lt := t.LogicalType()
	var lv format.LogicalTypeValue
	if lt != nil {
		lv = lt.Value
	}
	bad := func() (types.DataType, error) {
		return types.DataType{}, fmt.Errorf("%w: unsupported Parquet column type %s", types.ErrCorruption, t)
	}
	switch t.Kind() {
	case parquet.Boolean:
		if lv == nil {
			return types.TBoolean, nil
		}
	case parquet.Int32:
		switch x := lv.(type) {
		case nil:
			return types.TInt, nil
		case *format.DateType:
			return types.TDate, nil
		case *format.IntType:
			if x.BitWidth == 32 && x.IsSigned {
				return types.TInt, nil
			}
		case *format.DecimalType:
			d := types.TDecimal(int(x.Precision), int(x.Scale))
			if d.Precision > 9 || d.Validate() != nil {
				return bad()
			}
			return d, nil
		}
	case parquet.Int64:
		switch x := lv.(type) {
		case nil:
			return types.TBigInt, nil
		case *format.IntType:
			if x.BitWidth == 64 && x.IsSigned {
				return types.TBigInt, nil
			}
		case *format.DecimalType:
			d := types.TDecimal(int(x.Precision), int(x.Scale))
			if d.Is128() || d.Validate() != nil { // wider ones are FIXED_LEN_BYTE_ARRAY
				return bad()
			}
			return d, nil
		}
	}
	if st, ok := siltTypeTemporal(t, lv); ok {
		return st, nil
	}
	switch t.Kind() {
	case parquet.Float:
		if lv == nil {
			return types.TFloat, nil
		}
	case parquet.Double:
		if lv == nil {
			return types.TDouble, nil
		}
	case parquet.FixedLenByteArray:
		if d, ok := siltTypeFLBA(t, lv); ok {
			return d, nil
		}
	case parquet.ByteArray:
		switch lv.(type) {
		case nil:
			return types.TBytes, nil
		case *format.StringType:
			return types.TString, nil
		}
	}
	return bad()
}

// readableAs is types.ReadableAs: the conversions the reader performs.
func readableAs(from, to types.DataType) bool { return types.ReadableAs(from, to) }

// formatFieldIDs renders the field ids of s for the file's key-value
// metadata. A Parquet field_id of 0 is indistinguishable from "unset" in
// parquet-go, so the ids are also stored here, in column order.
func formatFieldIDs(s *types.Schema) string {
	var b strings.Builder
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(f.ID))
	}
	return b.String()
}

func parseFieldIDs(v string, n int) ([]int, error) {
	if n == 0 && v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("%w: field id list has %d entries for %d columns", types.ErrCorruption, len(parts), n)
	}
	ids := make([]int, n)
	for i, p := range parts {
		id, err := strconv.Atoi(p)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%w: bad field id %q", types.ErrCorruption, p)
		}
		ids[i] = id
	}
	return ids, nil
}

// OrderedSchema is a Parquet schema whose columns are nodes, named by
// names, in the given order (a parquet.Group sorts its fields by name).
// names and nodes have the same length.
func OrderedSchema(name string, names []string, nodes []parquet.Node) *parquet.Schema {
	fields := make(orderedGroup, len(nodes))
	for i, n := range nodes {
		fields[i] = namedField{Node: n, name: names[i]}
	}
	return parquet.NewSchema(name, fields)
}

// orderedGroup is a Parquet group whose columns keep the given order
// (parquet.Group sorts its fields by name).
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return "group" }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeOf(struct{}{}) }

// namedField is a column of an orderedGroup.
type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string                      { return f.name }
func (f namedField) Value(reflect.Value) reflect.Value { return reflect.Value{} }
