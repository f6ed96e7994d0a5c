package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// temporalJSON returns a JSON value for the TIME ("tm"), TIMESTAMP_LTZ
// ("tz") or UUID ("u") column of fuzzSchema: with bad, a malformed or
// boundary one now and then.
func temporalJSON(r *rand.Rand, col string, bad bool) string {
	pick := func(options ...string) string { return options[r.IntN(len(options))] }
	switch col {
	case "tm":
		good := []string{fmt.Sprint(r.Int64N(86_400_000)), fmt.Sprint(r.Int64N(86_400_000_000)), `"12:34:56"`, `"00:00:00.000001"`, `"23:59:59.999999"`, `"10:15:30Z"`, `"10:15:30.5+02:00"`, "0"}
		if !bad || r.IntN(3) > 0 {
			return pick(good...)
		}
		return pick("-1", "86400000000000", "86400000", "1.5", `"24:00:00"`, `"12:60:00"`, `"noon"`, `"12:00:00.1234567891"`, "9223372036854775807", `"1:2:3"`)
	case "tz":
		good := []string{fmt.Sprint(r.Int64N(1 << 50)), `"2026-01-02T03:04:05Z"`, `"2026-01-02T03:04:05.123456+05:30"`, `"2026-01-02 03:04:05"`, "-1", `"1969-12-31T23:59:59.999999Z"`}
		if !bad || r.IntN(3) > 0 {
			return pick(good...)
		}
		return pick("1.5", `"2026-13-02T00:00:00Z"`, `"yesterday"`, "9223372036854775807", "-9223372036854775808", `"2026-01-02T03:04:05+25:00"`)
	}
	var u [16]byte
	for i := range u {
		u[i] = byte(r.Uint32())
	}
	good := []string{`"` + types.UUID(u).String() + `"`, `"` + strings.ToUpper(types.UUID(u).String()) + `"`, `"00000000-0000-0000-0000-000000000000"`}
	if !bad || r.IntN(3) > 0 {
		return pick(good...)
	}
	return pick(`"not-a-uuid"`, `"0000000-0000-0000-0000-000000000000"`, "1", `""`, `"g0000000-0000-0000-0000-000000000000"`)
}

// connectField is a Debezium envelope with one "after" field of a Connect
// type and logical name besides the key, and its payload value.
func connectField(typ, name, value string) string {
	return `{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","optional":true,"fields":[` +
		`{"field":"id","type":"int64"},{"field":"v","type":"` + typ + `","optional":true,"name":"` + name + `"}]}]},` +
		`"payload":{"op":"c","after":{"id":1,"v":` + value + `}}}`
}

// TestDebeziumTemporalTypes: each logical type of Debezium and Kafka
// Connect decodes into TIME, TIMESTAMP_LTZ, UUID and STRING columns to the
// value it denotes (worked out by hand below), through the row decoder
// and the batch decoder alike; a malformed value is a record error
// (ReasonWrongType, the DLQ's reason) naming the column and the problem.
func TestDebeziumTemporalTypes(t *testing.T) {
	const day = 86_400_000_000
	for _, tc := range []struct {
		col            types.DataType
		typ, name, val string
		want           types.Value // nil: rejected
		err            string
	}{
		{types.TTime, "int64", "io.debezium.time.MicroTime", "45296789012", types.TimeOfDay(45296789012), ""},
		{types.TTime, "int64", "io.debezium.time.NanoTime", "45296789012345", types.TimeOfDay(45296789012), ""},
		{types.TTime, "int32", "io.debezium.time.Time", "45296789", types.TimeOfDay(45296789000), ""},
		{types.TTime, "int32", "org.apache.kafka.connect.data.Time", "0", types.TimeOfDay(0), ""},
		{types.TTime, "int64", "io.debezium.time.MicroTime", fmt.Sprint(day - 1), types.TimeOfDay(day - 1), ""},
		{types.TTime, "int64", "io.debezium.time.MicroTime", fmt.Sprint(int64(day)), nil, "outside a day"},
		{types.TTime, "int64", "io.debezium.time.MicroTime", "-1", nil, "outside a day"},
		{types.TTime, "int64", "io.debezium.time.MicroTime", "1.5", nil, "must be an integer"},
		{types.TTime, "string", "io.debezium.time.ZonedTime", `"10:15:30.5+02:00"`, types.TimeOfDay((8*3600+15*60+30)*1_000_000 + 500_000), ""},
		{types.TTime, "string", "io.debezium.time.ZonedTime", `"23:30:00-01:00"`, types.TimeOfDay((30 * 60) * 1_000_000), ""},
		{types.TTime, "string", "", `"12:34:56.000007"`, types.TimeOfDay((12*3600+34*60+56)*1_000_000 + 7), ""},
		{types.TTime, "string", "", `"25:00:00"`, nil, "bad TIME"},
		{types.TTimestampLTZ, "string", "io.debezium.time.ZonedTimestamp", `"2024-01-31T12:00:00.123456+02:00"`, types.TimestampLTZ(1706695200123456), ""},
		{types.TTimestampLTZ, "string", "io.debezium.time.ZonedTimestamp", `"1970-01-01T00:00:00Z"`, types.TimestampLTZ(0), ""},
		{types.TTimestampLTZ, "string", "io.debezium.time.ZonedTimestamp", `"not a time"`, nil, "bad TIMESTAMP_LTZ"},
		{types.TTimestampLTZ, "int64", "org.apache.kafka.connect.data.Timestamp", "1706702400123", types.TimestampLTZ(1706702400123000), ""},
		{types.TTimestampLTZ, "int64", "io.debezium.time.MicroTimestamp", "-1", types.TimestampLTZ(-1), ""},
		{types.TTimestampLTZ, "int64", "io.debezium.time.NanoTimestamp", "-1", types.TimestampLTZ(-1), ""},
		{types.TTimestamp, "string", "io.debezium.time.ZonedTimestamp", `"2024-01-31T12:00:00+02:00"`, types.Timestamp(1706695200000000), ""},
		{types.TUUID, "string", "io.debezium.data.Uuid", `"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"`,
			types.UUID{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}, ""},
		{types.TUUID, "string", "io.debezium.data.Uuid", `"a0eebc99-9c0b-4ef8-bb6d"`, nil, "bad UUID"},
		{types.TUUID, "string", "io.debezium.data.Uuid", `12`, nil, "cannot be a UUID"},
		{types.TString, "string", "io.debezium.data.Json", `"{\"a\":[1,2]}"`, `{"a":[1,2]}`, ""},
		{types.TString, "string", "io.debezium.data.Uuid", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", ""},
	} {
		s := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true}, {ID: 1, Name: "v", Type: tc.col}},
			PrimaryKeys: []string{"id"}, HighestFieldID: 1}
		value := []byte(connectField(tc.typ, tc.name, tc.val))
		f := mustFormat(t, "debezium-json", s, FormatOptions{})
		rows, err := f.Decode(nil, nil, value)
		what := fmt.Sprintf("%s %s %s into %s", tc.typ, tc.name, tc.val, tc.col)
		b, berr := newChangeBuilder(s)
		if berr != nil {
			t.Fatal(berr)
		}
		n, bdErr := decodeBatch(f, b, nil, value, true)
		if tc.want == nil {
			var re *RecordError
			if !errors.As(err, &re) || re.Reason != ReasonWrongType || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), `"v"`) {
				t.Errorf("%s: got %v, want a %s record error naming column v and %q", what, err, ReasonWrongType, tc.err)
			}
			if bdErr == nil || bdErr.Error() != err.Error() || b.Len() != 0 {
				t.Errorf("%s: the batch decoder gives %d rows, %v; the row decoder %v", what, n, bdErr, err)
			}
			b.Release()
			continue
		}
		if err != nil || len(rows) != 1 || !types.Equal(rows[0].Row[1], tc.want) {
			t.Errorf("%s: got %s %v, want %v", what, fmtChanges(rows), err, tc.want)
		}
		if bdErr != nil || n != 1 {
			t.Errorf("%s: the batch decoder gives %d rows, %v", what, n, bdErr)
		} else {
			rec := b.NewRecord()
			if got := types.ValueAt(rec.Column(1), 0); !types.Equal(got, tc.want) {
				t.Errorf("%s: the batch holds %v (%T), want %v", what, got, got, tc.want)
			}
			rec.Release()
		}
		b.Release()
	}
}

// TestSchemalessTemporalUnits: without a schema envelope, numbers in TIME
// and TIMESTAMP_LTZ columns are in the configured timestamp unit.
func TestSchemalessTemporalUnits(t *testing.T) {
	s := fuzzSchema()
	for unit, want := range map[string][2]types.Value{
		"ms": {types.TimeOfDay(1_000_000), types.TimestampLTZ(1_000_000)},
		"us": {types.TimeOfDay(1000), types.TimestampLTZ(1000)},
		"ns": {types.TimeOfDay(1), types.TimestampLTZ(1)},
	} {
		f := mustFormat(t, "json", s, FormatOptions{TimestampUnit: unit})
		rows, err := f.Decode(nil, nil, []byte(`{"id":1,"name":"a","tm":1000,"tz":1000}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]types.Value{rows[0].Row[10], rows[0].Row[11]}; got != want {
			t.Errorf("unit %s: got %v, want %v", unit, got, want)
		}
	}
}

// TestEvolveTemporalColumns: add-columns gives new fields of the
// time-of-day, zoned, UUID and JSON logical types the column types they
// denote.
func TestEvolveTemporalColumns(t *testing.T) {
	for name, want := range map[string]types.DataType{
		"io.debezium.time.MicroTime": types.TTime, "io.debezium.time.NanoTime": types.TTime, "io.debezium.time.Time": types.TTime,
		"org.apache.kafka.connect.data.Time": types.TTime, "io.debezium.time.ZonedTime": types.TTime,
		"io.debezium.time.ZonedTimestamp": types.TTimestampLTZ, "io.debezium.data.Uuid": types.TUUID, "io.debezium.data.Json": types.TString,
		"org.apache.kafka.connect.data.Timestamp": types.TTimestamp, "io.debezium.time.MicroTimestamp": types.TTimestamp,
	} {
		got, err := connectType(connectSchema{Type: "string", Name: name})
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %s", name, got, err, want)
		}
	}
	// Existing columns keep taking what they took, and the new types what
	// the codec converts.
	for _, c := range []struct {
		col, src types.DataType
		ok       bool
	}{
		{types.TTimestamp, types.TTimestampLTZ, true}, // a ZonedTimestamp into an old TIMESTAMP column
		{types.TTimestampLTZ, types.TTimestamp, true},
		{types.TTimestampLTZ, types.TBigInt, true},
		{types.TTime, types.TBigInt, true},
		{types.TTime, types.TTimestamp, false},
		{types.TUUID, types.TString, true},
		{types.TString, types.TUUID, true},
		{types.TUUID, types.TBytes, false},
		{types.TBigInt, types.TTime, true},
		{types.TDate, types.TTimestampLTZ, false},
	} {
		if got := holds(c.col, c.src); got != c.ok {
			t.Errorf("holds(%s, %s) = %v, want %v", c.col, c.src, got, c.ok)
		}
	}
}

// FuzzDebeziumTemporalValue: any JSON value with any of the new logical
// types decodes into a TIME, TIMESTAMP_LTZ or UUID column to a value the
// table accepts, or fails with ErrInvalid; never a panic. An accepted
// value's text form parses back to it (timestamps of years 0..9999).
func FuzzDebeziumTemporalValue(f *testing.F) {
	for _, v := range []string{`"10:15:30.5+02:00"`, `45296789012`, `"2024-01-31T12:00:00.123456+02:00"`, `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`, `-1`, `"24:00:00"`, `1e3`} {
		for logical := range 8 {
			f.Add([]byte(v), uint8(logical))
		}
	}
	names := []string{"", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "io.debezium.time.Time", "io.debezium.time.ZonedTime",
		"io.debezium.time.ZonedTimestamp", "org.apache.kafka.connect.data.Timestamp", "io.debezium.data.Uuid"}
	c := newRowCodec(fuzzSchema(), FormatOptions{TimestampUnit: "ms"})
	f.Fuzz(func(t *testing.T, raw []byte, logical uint8) {
		if !json.Valid(raw) || len(raw) > 1024 {
			return
		}
		h := fieldHint{logical: names[int(logical)%len(names)]}
		for _, typ := range []types.DataType{types.TTime, types.TTimestampLTZ, types.TUUID} {
			v, err := c.value(raw, typ, h)
			if err != nil {
				if !errors.Is(err, types.ErrInvalid) {
					t.Fatalf("%s %q: error without ErrInvalid: %v", typ, raw, err)
				}
				continue
			}
			if v == nil {
				continue
			}
			if err := types.CheckValue(v, typ); err != nil {
				t.Fatalf("%s %q: decoded %v (%T) the table refuses: %v", typ, raw, v, v, err)
			}
			if x, ok := v.(types.TimestampLTZ); ok && (x.Time().Year() < 0 || x.Time().Year() > 9999) {
				continue // epoch numbers reach beyond the years the text form has, as for TIMESTAMP
			}
			back, err := types.ParseText(types.FormatValue(v, typ), typ)
			if err != nil || !types.Equal(back, v) {
				t.Fatalf("%s %q: %v prints as %q, which parses to %v, %v", typ, raw, v, types.FormatValue(v, typ), back, err)
			}
		}
	})
}
