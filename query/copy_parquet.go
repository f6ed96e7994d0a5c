package query

import (
	"fmt"
	"io"
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/siltdb/silt/types"
)

// writeParquet writes r as one Parquet file: one optional column per
// result column, in order, with the logical types other engines (DuckDB,
// Spark) read back as the same SQL types.
func writeParquet(w io.Writer, r *Result) error {
	fields := make([]parquet.Field, len(r.Columns))
	for i, c := range r.Columns {
		n, err := copyParquetNode(c.Type)
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		fields[i] = copyField{Node: parquet.Optional(n), name: c.Name}
	}
	keys := jsonKeys(r.Columns) // unique names: Parquet needs them
	for i := range fields {
		fields[i] = copyField{Node: fields[i].(copyField).Node, name: unquoteKey(keys[i])}
	}
	pw := parquet.NewWriter(w, parquet.NewSchema("silt", copyGroup(fields)), parquet.Compression(&parquet.Zstd))
	row := make(parquet.Row, len(r.Columns))
	for vals, err := range r.All() {
		if err != nil {
			return err
		}
		for j, c := range r.Columns {
			var v types.Value
			if j < len(vals) {
				v = vals[j]
			}
			pv, err := copyParquetValue(v, c.Type)
			if err != nil {
				return fmt.Errorf("column %q: %w", c.Name, err)
			}
			if v == nil {
				row[j] = pv.Level(0, 0, j)
			} else {
				row[j] = pv.Level(0, 1, j)
			}
		}
		if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
			return err
		}
	}
	return pw.Close()
}

// unquoteKey turns a JSON object key ("a") back into the name.
func unquoteKey(k string) string {
	var s string
	if _, err := fmt.Sscanf(k, "%q", &s); err != nil {
		return k
	}
	return s
}

func copyParquetNode(t types.DataType) (parquet.Node, error) {
	switch t.Kind {
	case types.Boolean:
		return parquet.Leaf(parquet.BooleanType), nil
	case types.Int:
		return parquet.Int(32), nil
	case types.BigInt:
		return parquet.Int(64), nil
	case types.Float:
		return parquet.Leaf(parquet.FloatType), nil
	case types.Double:
		return parquet.Leaf(parquet.DoubleType), nil
	case types.DecimalKind:
		if t.Precision <= 9 { // what the Parquet spec asks for
			return parquet.Decimal(t.Scale, t.Precision, parquet.Int32Type), nil
		}
		return parquet.Decimal(t.Scale, t.Precision, parquet.Int64Type), nil
	case types.String:
		return parquet.String(), nil
	case types.Bytes:
		return parquet.Leaf(parquet.ByteArrayType), nil
	case types.DateKind:
		return parquet.Date(), nil
	case types.TimestampKind:
		return parquet.Timestamp(parquet.Microsecond), nil
	}
	return nil, fmt.Errorf("%w: type %s cannot be written to Parquet", types.ErrInvalid, t)
}

func copyParquetValue(v types.Value, t types.DataType) (parquet.Value, error) {
	switch x := v.(type) {
	case nil:
		return parquet.NullValue(), nil
	case bool:
		return parquet.BooleanValue(x), nil
	case int32:
		return parquet.Int32Value(x), nil
	case int64:
		return parquet.Int64Value(x), nil
	case float32:
		return parquet.FloatValue(x), nil
	case float64:
		return parquet.DoubleValue(x), nil
	case types.Decimal:
		if t.Precision <= 9 {
			return parquet.Int32Value(int32(x)), nil
		}
		return parquet.Int64Value(int64(x)), nil
	case string:
		return parquet.ByteArrayValue([]byte(x)), nil
	case []byte:
		return parquet.ByteArrayValue(x), nil
	case types.Date:
		return parquet.Int32Value(int32(x)), nil
	case types.Timestamp:
		return parquet.Int64Value(int64(x)), nil
	}
	return parquet.Value{}, fmt.Errorf("%w: value %v (%T) of type %s", types.ErrInvalid, v, v, t)
}

// copyGroup is a Parquet group whose columns keep their order (a
// parquet.Group sorts them by name).
type copyGroup []parquet.Field

func (g copyGroup) ID() int                     { return 0 }
func (g copyGroup) String() string              { return "group" }
func (g copyGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g copyGroup) Optional() bool              { return false }
func (g copyGroup) Repeated() bool              { return false }
func (g copyGroup) Required() bool              { return true }
func (g copyGroup) Leaf() bool                  { return false }
func (g copyGroup) Fields() []parquet.Field     { return g }
func (g copyGroup) Encoding() encoding.Encoding { return nil }
func (g copyGroup) Compression() compress.Codec { return nil }
func (g copyGroup) GoType() reflect.Type        { return reflect.TypeOf(struct{}{}) }

// copyField is a named column of a copyGroup.
type copyField struct {
	parquet.Node
	name string
}

func (f copyField) Name() string                      { return f.name }
func (f copyField) Value(reflect.Value) reflect.Value { return reflect.Value{} }
