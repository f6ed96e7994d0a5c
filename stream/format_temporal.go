package stream

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// Debezium's and Kafka Connect's time-of-day, zoned and UUID logical
// types, as the row codec reads them into TIME, TIMESTAMP_LTZ and UUID
// columns (and as add-columns maps them to column types):
//
//	io.debezium.time.Time, org.apache.kafka.connect.data.Time  int32 ms since midnight → TIME
//	io.debezium.time.MicroTime                                 int64 µs since midnight → TIME
//	io.debezium.time.NanoTime                                  int64 ns since midnight → TIME
//	io.debezium.time.ZonedTime                                 "HH:MM:SS[.f](Z|±hh:mm)" → TIME (in UTC)
//	io.debezium.time.ZonedTimestamp                            ISO-8601 with an offset → TIMESTAMP_LTZ
//	io.debezium.data.Uuid                                      "8-4-4-4-12" hex → UUID
//	io.debezium.data.Json                                      JSON text → STRING
//
// A TIMESTAMP_LTZ column also takes the epoch numbers of the timestamp
// logical types (Timestamp ms, MicroTimestamp µs, NanoTimestamp ns, the
// configured timestamp-unit without a schema) and ISO-8601 text; a TIME
// column numbers in the unit its logical type names (the timestamp-unit
// without a schema) and HH:MM:SS[.ffffff] text.
const (
	logicalDbzTime        = "io.debezium.time.Time"
	logicalConnectTime    = "org.apache.kafka.connect.data.Time"
	logicalMicroTime      = "io.debezium.time.MicroTime"
	logicalNanoTime       = "io.debezium.time.NanoTime"
	logicalZonedTime      = "io.debezium.time.ZonedTime"
	logicalZonedTimestamp = "io.debezium.time.ZonedTimestamp"
	logicalUUID           = "io.debezium.data.Uuid"
	logicalJSON           = "io.debezium.data.Json"
)

// connectTypeTemporal is connectType for the logical types above; false
// for other fields.
func connectTypeTemporal(fld connectSchema) (types.DataType, bool) {
	switch fld.Name {
	case logicalDbzTime, logicalConnectTime, logicalMicroTime, logicalNanoTime, logicalZonedTime:
		return types.TTime, true
	case logicalZonedTimestamp:
		return types.TTimestampLTZ, true
	case logicalUUID:
		return types.TUUID, true
	case logicalJSON:
		return types.TString, true
	}
	return types.DataType{}, false
}

// holdsTemporal is holds for TIME, TIMESTAMP_LTZ and UUID columns and
// sources; handled is false for other pairs.
func holdsTemporal(col, src types.DataType) (ok, handled bool) {
	switch col.Kind {
	case types.TimeKind: // numbers in the logical type's unit, text
		return src.Kind == types.Int || src.Kind == types.BigInt || src.Kind == types.String, true
	case types.TimestampLTZKind: // epoch numbers, ISO-8601 text, Connect timestamps
		return src.Kind == types.BigInt || src.Kind == types.String || src.Kind == types.TimestampKind, true
	case types.UUIDKind:
		return src.Kind == types.String, true
	case types.TimestampKind: // zoned timestamps, converted to UTC as before
		return src.Kind == types.TimestampLTZKind, src.Kind == types.TimestampLTZKind
	case types.String: // a UUID's text
		return src.Kind == types.UUIDKind, src.Kind == types.UUIDKind
	case types.Int, types.BigInt: // time-of-day numbers
		return src.Kind == types.TimeKind, src.Kind == types.TimeKind
	}
	return false, false
}

// timeUnitOf is the unit of a JSON number in a TIME column.
func (c *rowCodec) timeUnitOf(h fieldHint) string {
	switch h.logical {
	case logicalDbzTime, logicalConnectTime:
		return "ms"
	case logicalMicroTime:
		return "us"
	case logicalNanoTime:
		return "ns"
	}
	return c.opts.TimestampUnit
}

// fromNumberTemporal is fromNumber for TIME and TIMESTAMP_LTZ columns;
// handled is false for other columns.
func (c *rowCodec) fromNumberTemporal(text string, t types.DataType, h fieldHint) (v types.Value, handled bool, err error) {
	switch t.Kind {
	case types.TimeKind:
		n, perr := strconv.ParseInt(text, 10, 64)
		if perr != nil {
			return nil, true, fmt.Errorf("%w: a TIME number must be an integer, got %q", types.ErrInvalid, text)
		}
		tm, err := scaleTime(n, c.timeUnitOf(h))
		return tm, true, err
	case types.TimestampLTZKind:
		n, perr := strconv.ParseInt(text, 10, 64)
		if perr != nil {
			return nil, true, fmt.Errorf("%w: a TIMESTAMP_LTZ number must be an integer, got %q", types.ErrInvalid, text)
		}
		ts, err := scaleTimestamp(n, c.unitOf(h))
		if err != nil {
			return nil, true, err
		}
		return types.TimestampLTZ(ts.(types.Timestamp)), true, nil
	}
	return nil, false, nil
}

// scaleTime converts a time-of-day number in unit to a TIME: within a day.
func scaleTime(n int64, unit string) (types.Value, error) {
	us := n
	switch unit {
	case "ms":
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return nil, fmt.Errorf("%w: TIME %d ms is outside a day", types.ErrInvalid, n)
		}
		us = n * 1000
	case "ns":
		us = n / 1000 // TIME holds microseconds; a negative n fails below
	}
	if us < 0 || us >= types.MicrosPerDay {
		return nil, fmt.Errorf("%w: TIME %d %s is outside a day (00:00:00 to 23:59:59.999999)", types.ErrInvalid, n, unit)
	}
	return types.TimeOfDay(us), nil
}

// parseTimeText parses a TIME's text: HH:MM[:SS[.fffffffff]], or
// Debezium's ZonedTime with a zone (Z or ±hh:mm), converted to UTC.
func parseTimeText(s string) (types.Value, error) {
	if tm, err := types.ParseTimeOfDay(s); err == nil {
		return tm, nil
	}
	str := strings.TrimSpace(s)
	for _, layout := range []string{"15:04:05.999999999Z07:00", "15:04:05.999999999Z07", "15:04Z07:00"} {
		if tm, err := time.Parse(layout, str); err == nil {
			u := tm.UTC()
			return types.TimeOfDay(int64(u.Hour())*3_600_000_000 + int64(u.Minute())*60_000_000 + int64(u.Second())*1_000_000 + int64(u.Nanosecond()/1000)), nil
		}
	}
	return nil, fmt.Errorf("%w: bad TIME %q (want HH:MM:SS[.ffffff], optionally with a zone Z or ±hh:mm)", types.ErrInvalid, s)
}
