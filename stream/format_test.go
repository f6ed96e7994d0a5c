package stream

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/siltdb/silt/types"
)

func mustFormat(t testing.TB, name string, s *types.Schema, o FormatOptions) Format {
	t.Helper()
	f, err := NewFormat(name, s, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func fmtChanges(cs []Change) string {
	out := ""
	for _, c := range cs {
		out += c.Kind.String() + fmt.Sprint(c.Row) + ";"
	}
	return out
}

func TestFormats(t *testing.T) {
	s := accountsSchema()
	for i := range s.Fields {
		s.Fields[i].ID = i
	}
	s.HighestFieldID = len(s.Fields) - 1
	for _, tc := range []struct {
		format     string
		opts       FormatOptions
		key, value string // "<nil>" = null
		want       string
		reason     Reason
	}{
		{"json", FormatOptions{}, "", `{"id":1,"name":"a","amount":12.5,"day":"2026-01-02","ts":1767225600000,"flag":false,"extra":1}`,
			"+I[1 a 1250 20455 1767225600000000 false];", ""},
		{"json", FormatOptions{TimestampUnit: "us"}, "", `{"ID":1,"Name":"a","ts":1767225600000000}`, "+I[1 a <nil> <nil> 1767225600000000 <nil>];", ""},
		{"json", FormatOptions{}, "", `{"id":1,"name":"a","day":20455,"ts":"2026-01-01 00:00:00"}`, "+I[1 a <nil> 20455 1767225600000000 <nil>];", ""},
		{"json", FormatOptions{UnknownFields: "reject"}, "", `{"id":1,"name":"a","extra":1}`, "", ReasonSchema},
		{"json", FormatOptions{}, "", "<nil>", "", ReasonUnparseable},
		{"json", FormatOptions{}, "", `{"id":1.5,"name":"a"}`, "", ReasonWrongType},
		{"json", FormatOptions{}, "", `{"id":1,"name":"a","amount":1e3}`, "+I[1 a 100000 <nil> <nil> <nil>];", ""},
		{"json", FormatOptions{}, "", `{"id":1,"name":"a","amount":12345678.99}`, "+I[1 a 1234567899 <nil> <nil> <nil>];", ""},
		{"json", FormatOptions{}, "", `{"id":1,"name":"a","amount":1234567890.99}`, "", ReasonWrongType},
		{"json", FormatOptions{}, "", `{"id":1,"name":5}`, "", ReasonWrongType},
		{"upsert-json", FormatOptions{}, `{"id":7}`, `{"name":"x"}`, "+U[7 x <nil> <nil> <nil> <nil>];", ""},
		{"upsert-json", FormatOptions{}, `7`, `{"id":7,"name":"x"}`, "+U[7 x <nil> <nil> <nil> <nil>];", ""},
		{"upsert-json", FormatOptions{}, `{"schema":{"type":"struct"},"payload":{"id":7}}`, `<nil>`, "-D[7 <nil> <nil> <nil> <nil> <nil>];", ""},
		{"upsert-json", FormatOptions{}, `7`, `{"id":8,"name":"x"}`, "", ReasonSchema},
		{"upsert-json", FormatOptions{}, ``, `{"id":8,"name":"x"}`, "", ReasonMissingKey},
		{"upsert-json", FormatOptions{}, `{"other":1}`, `<nil>`, "", ReasonMissingKey},
		{"upsert-json", FormatOptions{}, `nope`, `<nil>`, "", ReasonUnparseable},
		{"upsert-json", FormatOptions{}, `{"id":7}`, `{"name":null}`, "", ReasonSchema},
		{"debezium-json", FormatOptions{}, "", "<nil>", "", ""},
		{"debezium-json", FormatOptions{}, "", `{"schema":null,"payload":null}`, "", ""},
		{"debezium-json", FormatOptions{}, "", `{"op":"r","after":{"id":1,"name":"a"}}`, "+I[1 a <nil> <nil> <nil> <nil>];", ""},
		{"debezium-json", FormatOptions{}, "", `{"op":"u","before":{"id":1},"after":{"id":1,"name":"b"}}`, "-U[1 <nil> <nil> <nil> <nil> <nil>];+U[1 b <nil> <nil> <nil> <nil>];", ""},
		{"debezium-json", FormatOptions{}, "", `{"op":"u","before":null,"after":{"id":1,"name":"b"}}`, "+U[1 b <nil> <nil> <nil> <nil>];", ""},
		{"debezium-json", FormatOptions{}, "", `{"op":"d","before":{"id":1,"name":"b"},"after":null}`, "-D[1 b <nil> <nil> <nil> <nil>];", ""},
		{"debezium-json", FormatOptions{}, "", `{"op":"d","before":{"name":"b"},"after":null}`, "", ReasonMissingKey},
		{"debezium-json", FormatOptions{}, "", `{"op":"c","after":{"id":1,"name":"a","day":"2026-13-01"}}`, "", ReasonWrongType},
		{"debezium-json", FormatOptions{}, "", `{"op":"c","after":"x"}`, "", ReasonUnparseable},
		{"debezium-json", FormatOptions{}, "", `{"op":5}`, "", ReasonUnparseable},
		{"debezium-json", FormatOptions{}, "", `{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[` +
			`{"field":"amount","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"3"}},` +
			`{"field":"ts","type":"int64","name":"io.debezium.time.NanoTimestamp"},` +
			`{"field":"day","type":"int32","name":"io.debezium.time.Date"}]}]},` +
			`"payload":{"op":"c","after":{"id":1,"name":"a","amount":"` + connectDecimalB64(-12340, 3) + `","ts":1767225600000001999,"day":1}}}`,
			"+I[1 a -1234 1 1767225600000001 <nil>];", ""},
	} {
		t.Run(tc.format+" "+tc.value, func(t *testing.T) {
			f := mustFormat(t, tc.format, s, tc.opts)
			var key, value []byte
			if tc.key != "" {
				key = []byte(tc.key)
			}
			if tc.value != "<nil>" {
				value = []byte(tc.value)
			}
			got, err := f.Decode(nil, key, value)
			if tc.reason != "" {
				if ReasonOf(err) != tc.reason {
					t.Fatalf("got %v (%s), want reason %s", err, fmtChanges(got), tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := fmtChanges(got); g != tc.want {
				t.Fatalf("got %s\nwant %s", g, tc.want)
			}
		})
	}
}

func connectDecimalB64(unscaled int64, _ int) string {
	b := big.NewInt(unscaled)
	var raw []byte
	if unscaled >= 0 {
		raw = append([]byte{0}, b.Bytes()...)
	} else {
		// two's complement on 8 bytes, then trimmed of redundant 0xff
		u := uint64(unscaled)
		for i := 7; i >= 0; i-- {
			raw = append(raw, byte(u>>(8*i)))
		}
		for len(raw) > 1 && raw[0] == 0xff && raw[1]&0x80 != 0 {
			raw = raw[1:]
		}
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func TestNewFormatErrors(t *testing.T) {
	s := accountsSchema()
	if _, err := NewFormat("avro", s, FormatOptions{}); err == nil {
		t.Fatal("unknown format accepted")
	}
	if _, err := NewFormat("json", s, FormatOptions{UnknownFields: "drop"}); err == nil {
		t.Fatal("bad unknown-fields accepted")
	}
	if _, err := NewFormat("json", s, FormatOptions{TimestampUnit: "weeks"}); err == nil {
		t.Fatal("bad timestamp unit accepted")
	}
}

// TestEncodeDecodeRoundTrip: what the export's encoders write, the sink's
// decoders of the same name read back to the same rows.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "k2", Type: types.TString, NotNull: true},
			{ID: 2, Name: "i", Type: types.TInt},
			{ID: 3, Name: "f", Type: types.TFloat},
			{ID: 4, Name: "d", Type: types.TDouble},
			{ID: 5, Name: "dec", Type: types.TDecimal(18, 4)},
			{ID: 6, Name: "b", Type: types.TBytes},
			{ID: 7, Name: "day", Type: types.TDate},
			{ID: 8, Name: "ts", Type: types.TTimestamp},
			{ID: 9, Name: "ok", Type: types.TBoolean},
		},
		PrimaryKeys:    []string{"id", "k2"},
		HighestFieldID: 9,
	}
	rows := []types.Row{
		{int64(1), "a", int32(-5), float32(0.1), 1e300, types.Decimal(-999999999999999999), []byte{0, 255}, types.Date(-1), types.Timestamp(-1), true},
		{int64(math.MaxInt64), "\"quoted\"\n", nil, float32(math.Inf(1)), math.NaN(), types.Decimal(12345), []byte{}, types.Date(20000), types.Timestamp(1767225600123456), false},
		{int64(math.MinInt64), "ü", int32(math.MaxInt32), nil, math.Inf(-1), nil, nil, nil, nil, nil},
	}
	for _, name := range []string{"debezium-json", "upsert-json"} {
		enc, err := NewEncoder(name, s, Source{"db", "t"})
		if err != nil {
			t.Fatal(err)
		}
		dec := mustFormat(t, name, s, FormatOptions{UnknownFields: "reject"})
		for _, ev := range []Event{
			{Op: OpInsert, After: rows[0]},
			{Op: OpUpdate, Before: rows[0], After: rows[1]},
			{Op: OpInsert, After: rows[2]},
			{Op: OpDelete, Before: rows[1]},
		} {
			k, v, err := enc.Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dec.Decode(nil, k, v)
			if err != nil {
				t.Fatalf("%s: decode %s / %s: %v", name, k, v, err)
			}
			last := got[len(got)-1]
			switch ev.Op {
			case OpDelete:
				if last.Kind != types.Delete || !sameKey(s, last.Row, ev.Before) {
					t.Fatalf("%s: delete decoded as %s", name, fmtChanges(got))
				}
			default:
				if !last.Kind.IsAdd() || !sameRow(last.Row, ev.After) {
					t.Fatalf("%s: %s\ndecoded %s\nwant    %v", name, v, fmtChanges(got), ev.After)
				}
			}
		}
	}
}

func sameKey(s *types.Schema, a, b types.Row) bool {
	for _, k := range s.KeyIndexes() {
		if !types.Equal(a[k], b[k]) {
			return false
		}
	}
	return true
}

func sameRow(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		fa, aok := a[i].(float64)
		fb, bok := b[i].(float64)
		if aok && bok && math.IsNaN(fa) && math.IsNaN(fb) {
			continue
		}
		if !types.Equal(a[i], b[i]) && !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}
