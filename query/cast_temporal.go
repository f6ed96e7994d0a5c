package query

import (
	"github.com/siltdb/silt/types"
)

// Type rules of TIME, TIMESTAMP_LTZ and UUID.
//
// TIMESTAMP_LTZ is an instant; silt shows and converts it in UTC. So
// TIMESTAMP → TIMESTAMP_LTZ reads the wall-clock time as UTC, and
// TIMESTAMP_LTZ → TIMESTAMP gives its UTC wall-clock time: the same
// microseconds either way (DuckDB with TimeZone 'UTC' does the same).
// DATE and TIMESTAMP convert to TIMESTAMP_LTZ implicitly (as DATE does to
// TIMESTAMP), so comparing a TIMESTAMP_LTZ with a TIMESTAMP or DATE
// compares instants. TIMESTAMP_LTZ → TIMESTAMP, → DATE and → TIME, and
// TIMESTAMP → TIME, need a CAST. UUID converts only to and from strings.

func isTemporalKind(k types.Kind) bool {
	return k == types.TimeKind || k == types.TimestampLTZKind || k == types.UUIDKind
}

// isInstantLike is DATE, TIMESTAMP or TIMESTAMP_LTZ.
func isInstantLike(k types.Kind) bool {
	return k == types.DateKind || k == types.TimestampKind || k == types.TimestampLTZKind
}

// microsOf is a DATE, TIMESTAMP or TIMESTAMP_LTZ as microseconds since the
// epoch (UTC).
func microsOf(v types.Value) (int64, bool) {
	switch x := v.(type) {
	case types.Date:
		return int64(x) * 86400 * 1_000_000, true
	case types.Timestamp:
		return int64(x), true
	case types.TimestampLTZ:
		return int64(x), true
	}
	return 0, false
}

// timeOfDayOf is the time of day of microseconds since the epoch.
func timeOfDayOf(us int64) types.TimeOfDay {
	return types.TimeOfDay(us - floorDiv(us, types.MicrosPerDay)*types.MicrosPerDay)
}

// castTemporal is castValue for casts to or from TIME, TIMESTAMP_LTZ and
// UUID other than from strings; handled is false for other casts.
func castTemporal(v types.Value, from, to types.DataType, explicit bool) (out types.Value, handled bool) {
	if !isTemporalKind(from.Kind) && !isTemporalKind(to.Kind) {
		return nil, false
	}
	switch to.Kind {
	case types.TimestampLTZKind:
		if us, ok := microsOf(v); ok {
			return types.TimestampLTZ(us), true
		}
	case types.TimestampKind:
		if x, ok := v.(types.TimestampLTZ); ok && explicit {
			return types.Timestamp(x), true
		}
	case types.DateKind:
		if x, ok := v.(types.TimestampLTZ); ok && explicit {
			return types.Date(floorDiv(int64(x), 86400*1_000_000)), true
		}
	case types.TimeKind:
		if us, ok := microsOf(v); ok && explicit && from.Kind != types.DateKind {
			return timeOfDayOf(us), true
		}
	}
	return nil, true
}

// castableTemporal is castable for pairs with a TIME, TIMESTAMP_LTZ or
// UUID; handled is false for other pairs.
func castableTemporal(from, to types.DataType) (ok, handled bool) {
	if !isTemporalKind(from.Kind) && !isTemporalKind(to.Kind) {
		return false, false
	}
	switch to.Kind {
	case types.TimestampLTZKind, types.TimestampKind, types.DateKind:
		return isInstantLike(from.Kind), true
	case types.TimeKind:
		return from.Kind == types.TimestampKind || from.Kind == types.TimestampLTZKind, true
	}
	return false, true
}

// implicitTemporal: DATE and TIMESTAMP to TIMESTAMP_LTZ.
func implicitTemporal(from, to types.DataType) bool {
	return to.Kind == types.TimestampLTZKind && (from.Kind == types.DateKind || from.Kind == types.TimestampKind)
}

// commonTypeTemporal is commonType for DATE, TIMESTAMP and TIMESTAMP_LTZ
// mixes with a TIMESTAMP_LTZ: TIMESTAMP_LTZ.
func commonTypeTemporal(a, b types.DataType) (types.DataType, bool) {
	if isInstantLike(a.Kind) && isInstantLike(b.Kind) && (a.Kind == types.TimestampLTZKind || b.Kind == types.TimestampLTZKind) {
		return types.TTimestampLTZ, true
	}
	return types.DataType{}, false
}

// comparableTemporal converts DATE and TIMESTAMP values compared with a
// TIMESTAMP_LTZ to TIMESTAMP_LTZ (compareTyped).
func comparableTemporal(a types.Value, ta types.DataType, b types.Value, tb types.DataType) (types.Value, types.Value) {
	if ta.Kind == tb.Kind || (ta.Kind != types.TimestampLTZKind && tb.Kind != types.TimestampLTZKind) {
		return a, b
	}
	if us, ok := microsOf(a); ok {
		a = types.TimestampLTZ(us)
	}
	if us, ok := microsOf(b); ok {
		b = types.TimestampLTZ(us)
	}
	return a, b
}

// typedLiteralType is the type of a typed literal's keyword: TIME,
// TIMESTAMPTZ, TIMESTAMP_LTZ, UUID; false for other words.
func typedLiteralType(kw string) (types.DataType, bool) {
	switch kw {
	case "TIME":
		return types.TTime, true
	case "TIMESTAMPTZ", "TIMESTAMP_LTZ":
		return types.TTimestampLTZ, true
	case "UUID":
		return types.TUUID, true
	}
	return types.DataType{}, false
}

// typedLiteralText is the keyword a typed literal of type t is written
// with (what the parser reads back).
func typedLiteralText(t types.DataType) string {
	switch t.Kind {
	case types.TimestampLTZKind:
		return "TIMESTAMPTZ"
	}
	return t.String()
}

// timeParts are the parts DATE_PART and EXTRACT take from a TIME.
var timeParts = map[string]bool{"hour": true, "minute": true, "second": true, "millisecond": true, "microsecond": true, "epoch": true}

// timePartArg checks the part p taken from x when x is a TIME (read as
// microseconds since midnight, a time on 1970-01-01).
func timePartArg(f *funcCall, x bexpr, p string) error {
	if x.Type().Kind == types.TimeKind && !timeParts[p] {
		return errf(types.ErrInvalid, "%s: a TIME has no %s (use hour, minute, second, millisecond, microsecond or epoch)", f.name, p)
	}
	return nil
}
