package lsm

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// The temporal and UUID column types in data files:
//
//	TIMESTAMP      INT64 TIMESTAMP(MICROS, isAdjustedToUTC=false)  (a wall-clock time)
//	TIMESTAMP_LTZ  INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true)   (an instant)
//	TIME           INT64 TIME(MICROS, isAdjustedToUTC=false)
//	UUID           FIXED_LEN_BYTE_ARRAY(16) UUID
//
// Files of format version 1 stored TIMESTAMP with isAdjustedToUTC=true,
// the annotation TIMESTAMP_LTZ now has. A column's type never changes
// between TIMESTAMP and TIMESTAMP_LTZ (types.ReadableAs), so a UTC-adjusted
// column read as a TIMESTAMP field is such a file's TIMESTAMP (storedType).

// uuidWidth is the stored width of a UUID.
const uuidWidth = 16

// parquetNodeTemporal is parquetNode for TIMESTAMP, TIMESTAMP_LTZ, TIME and
// UUID; false for other kinds.
func parquetNodeTemporal(t types.DataType) (parquet.Node, bool) {
	switch t.Kind {
	case types.TimestampKind:
		return parquet.TimestampAdjusted(parquet.Microsecond, false), true
	case types.TimestampLTZKind:
		return parquet.TimestampAdjusted(parquet.Microsecond, true), true
	case types.TimeKind:
		return parquet.TimeAdjusted(parquet.Microsecond, false), true
	case types.UUIDKind:
		// PLAIN: random 16-byte values gain nothing from a dictionary.
		return parquet.Encoded(parquet.UUID(), &parquet.Plain), true
	}
	return nil, false
}

// siltTypeTemporal is siltType for the annotations of parquetNodeTemporal
// (a UTC-adjusted timestamp maps to TIMESTAMP_LTZ; see storedType).
func siltTypeTemporal(t parquet.Type, lv format.LogicalTypeValue) (types.DataType, bool) {
	switch x := lv.(type) {
	case *format.TimestampType:
		if _, micros := x.Unit.Value.(*format.MicroSeconds); !micros || t.Kind() != parquet.Int64 {
			return types.DataType{}, false
		}
		if x.IsAdjustedToUTC {
			return types.TTimestampLTZ, true
		}
		return types.TTimestamp, true
	case *format.TimeType:
		if _, micros := x.Unit.Value.(*format.MicroSeconds); micros && t.Kind() == parquet.Int64 {
			return types.TTime, true
		}
	case *format.UUIDType:
		if t.Kind() == parquet.FixedLenByteArray && t.Length() == uuidWidth {
			return types.TUUID, true
		}
	}
	return types.DataType{}, false
}

// storedType is the column type a file column holds when read as a field
// of type want: siltType, except that a UTC-adjusted timestamp read as a
// TIMESTAMP is the TIMESTAMP of a format version 1 file.
func storedType(t parquet.Type, want types.DataType) (types.DataType, error) {
	st, err := siltType(t)
	if err == nil && st.Kind == types.TimestampLTZKind && want.Kind == types.TimestampKind {
		st = types.TTimestamp
	}
	return st, err
}

// recordValueTemporal is recordValue for TIME, TIMESTAMP_LTZ and UUID.
func recordValueTemporal(v types.Value, t types.DataType) (parquet.Value, bool) {
	switch t.Kind {
	case types.TimeKind:
		return parquet.Int64Value(int64(v.(types.TimeOfDay))), true
	case types.TimestampLTZKind:
		return parquet.Int64Value(int64(v.(types.TimestampLTZ))), true
	case types.UUIDKind:
		u := v.(types.UUID)
		return parquet.FixedLenByteArrayValue(u[:]), true
	}
	return parquet.Value{}, false
}

// valueFitsTemporal is valueFits for TIME, TIMESTAMP_LTZ and UUID; a TIME
// must lie within a day.
func valueFitsTemporal(v types.Value, t types.DataType) bool {
	switch t.Kind {
	case types.TimeKind:
		x, ok := v.(types.TimeOfDay)
		return ok && x >= 0 && x < types.MicrosPerDay
	case types.TimestampLTZKind:
		_, ok := v.(types.TimestampLTZ)
		return ok
	case types.UUIDKind:
		_, ok := v.(types.UUID)
		return ok
	}
	return false
}

// arrowParquetTemporal is arrowParquet for time64[us] and
// fixed_size_binary(16) arrays.
func arrowParquetTemporal(a arrow.Array, i int) (parquet.Value, bool) {
	switch x := a.(type) {
	case *array.Time64:
		return parquet.Int64Value(int64(x.Value(i))), true
	case *array.FixedSizeBinary:
		return parquet.FixedLenByteArrayValue(x.Value(i)), true
	}
	return parquet.Value{}, false
}

// checkArrowTemporal checks value i of a TIME column of a change batch:
// within a day.
func checkArrowTemporal(a arrow.Array, i int, t types.DataType) error {
	if x, ok := a.(*array.Time64); ok && t.Kind == types.TimeKind {
		if v := int64(x.Value(i)); v < 0 || v >= types.MicrosPerDay {
			return fmt.Errorf("%w: TIME value %d µs is outside a day", types.ErrInvalid, v)
		}
	}
	return nil
}

// converterTemporal is converter for TIME, TIMESTAMP_LTZ and UUID.
func converterTemporal(to types.DataType) func(parquet.Value) types.Value {
	switch to.Kind {
	case types.TimeKind:
		return func(v parquet.Value) types.Value { return types.TimeOfDay(v.Int64()) }
	case types.TimestampLTZKind:
		return func(v parquet.Value) types.Value { return types.TimestampLTZ(v.Int64()) }
	case types.UUIDKind:
		return func(v parquet.Value) types.Value {
			var u types.UUID
			copy(u[:], v.ByteArray())
			return u
		}
	}
	return nil
}

// valueTemporal is readColumn.value for TIME, TIMESTAMP_LTZ and UUID.
func valueTemporal(to types.DataType, cv *colVals, r int) (types.Value, bool) {
	switch to.Kind {
	case types.TimeKind:
		return types.TimeOfDay(cv.i64[r]), true
	case types.TimestampLTZKind:
		return types.TimestampLTZ(cv.i64[r]), true
	case types.UUIDKind:
		var u types.UUID
		copy(u[:], cv.fixed[r*uuidWidth:])
		return u, true
	}
	return nil, false
}

// errFixedDictionary: silt writes FIXED_LEN_BYTE_ARRAY columns PLAIN.
var errFixedDictionary = errors.New("dictionary-encoded fixed-length byte array column")

// arrowColumnFixed lays a decoded FIXED_LEN_BYTE_ARRAY chunk out as a
// fixed_size_binary column.
func arrowColumnFixed(cv *colVals, n int) ([]byte, bool) {
	if cv.kind != parquet.FixedLenByteArray || cv.width != uuidWidth || len(cv.fixed) != n*uuidWidth {
		return nil, false
	}
	return cv.fixed, true
}
