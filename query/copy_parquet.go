package query

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// writeParquet writes r as one Parquet file: one optional column per
// result column, in order, with the logical types other engines (DuckDB,
// Spark) read back as the same SQL types.
func writeParquet(w io.Writer, r *Result) error {
	nodes := make([]parquet.Node, len(r.Columns))
	for i, c := range r.Columns {
		n, err := copyParquetNode(c.Type)
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		nodes[i] = parquet.Optional(n)
	}
	names := jsonKeys(r.Columns) // unique names: Parquet needs them
	for i := range names {
		names[i] = unquoteKey(names[i])
	}
	pw := parquet.NewWriter(w, lsm.OrderedSchema("silt", names, nodes), parquet.Compression(&parquet.Zstd))
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
		if t.Is128() {
			return lsm.Decimal128Node(t)
		}
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
	case types.TimestampKind: // a wall-clock time: DuckDB reads TIMESTAMP
		return parquet.TimestampAdjusted(parquet.Microsecond, false), nil
	case types.TimestampLTZKind: // an instant: DuckDB reads TIMESTAMP WITH TIME ZONE
		return parquet.TimestampAdjusted(parquet.Microsecond, true), nil
	case types.TimeKind:
		return parquet.TimeAdjusted(parquet.Microsecond, false), nil
	case types.UUIDKind:
		return parquet.UUID(), nil
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
	case types.Decimal128:
		return lsm.Decimal128Value(x, t)
	case string:
		return parquet.ByteArrayValue([]byte(x)), nil
	case []byte:
		return parquet.ByteArrayValue(x), nil
	case types.Date:
		return parquet.Int32Value(int32(x)), nil
	case types.Timestamp:
		return parquet.Int64Value(int64(x)), nil
	case types.TimestampLTZ:
		return parquet.Int64Value(int64(x)), nil
	case types.TimeOfDay:
		return parquet.Int64Value(int64(x)), nil
	case types.UUID:
		return parquet.FixedLenByteArrayValue(x[:]), nil
	}
	return parquet.Value{}, fmt.Errorf("%w: value %v (%T) of type %s", types.ErrInvalid, v, v, t)
}
