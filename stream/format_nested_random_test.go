package stream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// nestedScalars are the element types of the random nested columns.
var nestedScalars = []types.DataType{
	types.TBoolean, types.TInt, types.TBigInt, types.TFloat, types.TDouble, types.TDecimal(9, 2),
	types.TDecimal(18, 4), types.TString, types.TBytes, types.TDate, types.TTimestamp,
}

// connectOf is the Kafka Connect schema of a column type, as Debezium
// writes it (decimals as Connect Decimal, dates as days, timestamps in µs).
func connectOf(t types.DataType) map[string]any {
	m := map[string]any{"optional": true}
	switch t.Kind {
	case types.ArrayKind:
		m["type"], m["items"] = "array", connectOf(t.Elem())
	case types.MapKind:
		m["type"], m["keys"], m["values"] = "map", connectOf(t.Key()), connectOf(t.Value())
	case types.StructKind:
		var fs []any
		for _, f := range t.Fields {
			c := connectOf(f.Type)
			c["field"] = f.Name
			fs = append(fs, c)
		}
		m["type"], m["fields"] = "struct", fs
	case types.Boolean:
		m["type"] = "boolean"
	case types.Int:
		m["type"] = "int32"
	case types.BigInt:
		m["type"] = "int64"
	case types.Float:
		m["type"] = "float"
	case types.Double:
		m["type"] = "double"
	case types.DecimalKind:
		m["type"], m["name"] = "bytes", logicalDecimal
		m["parameters"] = map[string]string{"scale": strconv.Itoa(t.Scale), "connect.decimal.precision": strconv.Itoa(t.Precision)}
	case types.String, types.Bytes:
		m["type"] = strings.ToLower(t.Kind.String())
		if t.Kind == types.Bytes {
			m["type"] = "bytes"
		}
	case types.DateKind:
		m["type"], m["name"] = "int32", "io.debezium.time.Date"
	case types.TimestampKind:
		m["type"], m["name"] = "int64", "io.debezium.time.MicroTimestamp"
	}
	return m
}

// nestedEnc renders values of a type as JSON: with the envelope's
// encodings (Connect Decimal), or schemaless ones (decimal text); maps
// with string keys as objects, others as [key, value] pairs or
// {"key", "value"} objects.
type nestedEnc struct {
	r        *rand.Rand
	envelope bool
}

func (e nestedEnc) enc(v types.Value, t types.DataType) string {
	if v == nil {
		return "null"
	}
	switch t.Kind {
	case types.ArrayKind:
		parts := make([]string, len(v.(types.List)))
		for i, x := range v.(types.List) {
			parts[i] = e.enc(x, t.Elem())
		}
		return "[" + strings.Join(parts, ",") + "]"
	case types.MapKind:
		m := v.(types.Map)
		parts := make([]string, len(m))
		obj := t.Key().Kind == types.String
		pairs := e.r.IntN(2) == 0
		for i, x := range m {
			switch {
			case obj:
				parts[i] = jsonQuote(x.Key.(string)) + ":" + e.enc(x.Value, t.Value())
			case pairs:
				parts[i] = "[" + e.enc(x.Key, t.Key()) + "," + e.enc(x.Value, t.Value()) + "]"
			default:
				parts[i] = `{"value":` + e.enc(x.Value, t.Value()) + `,"key":` + e.enc(x.Key, t.Key()) + "}"
			}
		}
		if obj {
			return "{" + strings.Join(parts, ",") + "}"
		}
		return "[" + strings.Join(parts, ",") + "]"
	case types.StructKind:
		st := v.(types.Struct)
		var parts []string
		for i, f := range t.Fields {
			if st[i] == nil && e.r.IntN(2) == 0 {
				continue // a missing field is NULL
			}
			parts = append(parts, jsonQuote(f.Name)+":"+e.enc(st[i], f.Type))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	switch x := v.(type) {
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case types.Decimal:
		if e.envelope {
			return `"` + connectDecimal2C(int64(x)) + `"`
		}
		return types.FormatValue(x, t)
	case []byte:
		return `"` + base64.StdEncoding.EncodeToString(x) + `"`
	case string:
		return jsonQuote(x)
	case types.Date:
		return strconv.Itoa(int(x))
	case types.Timestamp:
		return strconv.FormatInt(int64(x), 10)
	}
	return fmt.Sprint(v) // booleans, integers
}

// connectDecimal2C encodes an unscaled value as Kafka Connect's Decimal
// does: base64 of the shortest big-endian two's complement.
func connectDecimal2C(n int64) string {
	var b [8]byte
	for i := range b {
		b[7-i] = byte(n >> (8 * i))
	}
	i := 0
	for i < 7 && ((b[i] == 0 && b[i+1]&0x80 == 0) || (b[i] == 0xff && b[i+1]&0x80 != 0)) {
		i++
	}
	return base64.StdEncoding.EncodeToString(b[i:])
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// finite replaces the infinities nestedgen draws (JSON has none).
func finite(v types.Value) types.Value {
	switch x := v.(type) {
	case float64:
		if math.IsInf(x, 0) {
			return 0.5
		}
	case types.List:
		for i := range x {
			x[i] = finite(x[i])
		}
	case types.Map:
		out := x[:0]
		for _, en := range x {
			if f, ok := en.Key.(float64); ok && math.IsInf(f, 0) {
				continue // a key: dropped rather than made a duplicate
			}
			en.Value = finite(en.Value)
			out = append(out, en)
		}
		return out
	case types.Struct:
		for i := range x {
			x[i] = finite(x[i])
		}
	}
	return v
}

// misfit replaces one scalar leaf of the JSON value enc renders (chosen by
// the k-th leaf in order) with an object no scalar column takes, and
// returns the rendering and the leaf's path; ok=false when v has no leaf.
func (e nestedEnc) misfit(v types.Value, t types.DataType, path string, k *int) (string, string, bool) {
	if v == nil {
		return "null", "", false
	}
	if !t.IsNested() {
		if *k == 0 {
			*k = -1
			return `{"zz":1}`, path, true
		}
		*k--
		return e.enc(v, t), "", false
	}
	var parts []string
	var at string
	found := false
	child := func(x types.Value, ct types.DataType, p string) string {
		if found {
			return e.enc(x, ct)
		}
		s, pp, ok := e.misfit(x, ct, p, k)
		if ok {
			found, at = true, pp
		}
		return s
	}
	switch t.Kind {
	case types.ArrayKind:
		for i, x := range v.(types.List) {
			parts = append(parts, child(x, t.Elem(), path+"["+strconv.Itoa(i)+"]"))
		}
		return "[" + strings.Join(parts, ",") + "]", at, found
	case types.MapKind:
		obj := t.Key().Kind == types.String
		for i, x := range v.(types.Map) {
			if obj {
				ks := x.Key.(string)
				parts = append(parts, jsonQuote(ks)+":"+child(x.Value, t.Value(), path+"["+strconv.Quote(ks)+"]"))
			} else {
				parts = append(parts, "["+e.enc(x.Key, t.Key())+","+child(x.Value, t.Value(), path+"["+strconv.Itoa(i)+"].value")+"]")
			}
		}
		if obj {
			return "{" + strings.Join(parts, ",") + "}", at, found
		}
		return "[" + strings.Join(parts, ",") + "]", at, found
	}
	st := v.(types.Struct)
	for i, f := range t.Fields {
		parts = append(parts, jsonQuote(f.Name)+":"+child(st[i], f.Type, path+"."+f.Name))
	}
	return "{" + strings.Join(parts, ",") + "}", at, found
}

// TestSinkNestedRandom runs a sink over a topic of Debezium events (with
// the schema envelope or without) of a table with random ARRAY, MAP and
// ROW columns; creates, updates and deletes of random nested values, and
// now and then a record with one misfit leaf. The table must equal an
// oracle that applies the good events, the DLQ must hold exactly the
// misfits, each with reason wrong-type and the path of its leaf, and the
// row and batch decoders must agree on every record.
func TestSinkNestedRandom(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 31))
	s := &types.Schema{Fields: []types.Field{{Name: "id", Type: types.TBigInt, NotNull: true}}, PrimaryKeys: []string{"id"}}
	for i := range 1 + rng.IntN(3) {
		typ := nestedgen.TypeFrom(rng, 3, nestedScalars)
		for !typ.IsNested() {
			typ = nestedgen.TypeFrom(rng, 3, nestedScalars)
		}
		s.Fields = append(s.Fields, types.Field{Name: fmt.Sprintf("c%d", i), Type: typ})
	}
	envelope := rng.IntN(3) > 0
	t.Logf("columns %v, envelope %v", s.Fields[1:], envelope)
	c := newCluster(t, 1, "cdc", "cdc-dlq")
	tb := createTable(t, newCatalog(objstore.NewMem()), "nested", s)
	s = tb.Schema() // with the field ids the catalog assigned
	f, err := NewFormat("debezium-json", s, FormatOptions{TimestampUnit: "us"})
	if err != nil {
		t.Fatal(err)
	}
	e := nestedEnc{r: rng, envelope: envelope}
	var schemaJSON string
	if envelope {
		fs := []any{map[string]any{"field": "id", "type": "int64"}}
		for _, fl := range s.Fields[1:] {
			m := connectOf(fl.Type)
			m["field"] = fl.Name
			fs = append(fs, m)
		}
		img := map[string]any{"type": "struct", "optional": true, "fields": fs}
		sj, _ := json.Marshal(map[string]any{"type": "struct", "fields": []any{mergeField(img, "before"), mergeField(img, "after"), map[string]any{"field": "op", "type": "string"}}})
		schemaJSON = string(sj)
	}
	render := func(k int64, row types.Row, misfitCol int, leaf int) (string, string) {
		parts := []string{`"id":` + strconv.FormatInt(k, 10)}
		var path string
		for i, fl := range s.Fields[1:] {
			v := e.enc(row[i+1], fl.Type)
			if i+1 == misfitCol {
				var ok bool
				if v, path, ok = e.misfit(row[i+1], fl.Type, fl.Name, &leaf); !ok {
					v, path = "5", fl.Name // no leaf: the column itself
				}
			}
			parts = append(parts, jsonQuote(fl.Name)+":"+v)
		}
		return "{" + strings.Join(parts, ",") + "}", path
	}
	event := func(op, before, after string) string {
		p := `{"op":"` + op + `","before":` + before + `,"after":` + after + `}`
		if !envelope {
			return p
		}
		return `{"schema":` + schemaJSON + `,"payload":` + p + `}`
	}
	oracle := map[int64]types.Row{}
	bad := map[int64]string{} // offset → path of the misfit
	var recs []*kgo.Record
	n := 100 + rng.IntN(200)
	for off := int64(0); off < int64(n); off++ {
		k := rng.Int64N(12)
		row := types.Row{k}
		for _, fl := range s.Fields[1:] {
			var v types.Value
			if rng.IntN(6) > 0 {
				v = finite(nestedgen.Value(rng, fl.Type))
			}
			row = append(row, v)
		}
		old, exists := oracle[k]
		var value string
		switch r := rng.IntN(10); {
		case r == 0 && exists:
			before, _ := render(k, old, 0, 0)
			value = event("d", before, "null")
			delete(oracle, k)
		case r == 1:
			col := 1 + rng.IntN(len(s.Fields)-1)
			after, path := render(k, row, col, rng.IntN(4))
			value = event("c", "null", after)
			bad[off] = path
		default:
			after, _ := render(k, row, 0, 0)
			before := "null"
			op := "c"
			if exists {
				op = "u"
				before, _ = render(k, old, 0, 0)
			}
			value = event(op, before, after)
			oracle[k] = row
		}
		recs = append(recs, &kgo.Record{Topic: "cdc", Key: []byte(strconv.FormatInt(k, 10)), Value: []byte(value)})
		// Both decoders agree on every record (decodeBoth fails otherwise).
		if _, err := decodeBoth(t, f, s, nil, []byte(value)); (err != nil) != (bad[off] != "") {
			t.Fatalf("offset %d: decode error %v, misfit at %q: %s", off, err, bad[off], value)
		}
	}
	produceSync(t, producer(t, c), recs...)
	_, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"cdc"}, Group: "g", Member: "m", Format: f,
		DLQTopic: "cdc-dlq", CommitInterval: time.Duration(10+rng.IntN(40)) * time.Millisecond,
		MaxPollRecords: 1 + rng.IntN(300), ClientOpts: fastGroup(), Logf: testLogf(t), Rand: sinkRand(seed),
	})
	waitCaughtUp(t, tb, "g", "cdc", map[int32]int64{0: int64(n)}, 30*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	checkNestedTable(t, tb, oracle)
	got := map[int64]string{}
	for _, r := range consumeAll(t, c, "cdc-dlq") {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		off, _ := strconv.ParseInt(h[HeaderSourceOffset], 10, 64)
		want := bad[off]
		msg := h[HeaderError]
		if h[HeaderReason] != string(ReasonWrongType) || want == "" || strings.Contains(msg, "\n") ||
			(!strings.Contains(msg, "field "+want+": ") && !(strings.Contains(msg, `column "`+want+`"`) && !strings.Contains(want, "."))) {
			t.Errorf("offset %d: DLQ reason %q error %q, want wrong-type naming %q", off, h[HeaderReason], msg, want)
		}
		got[off] = want
	}
	if len(got) != len(bad) {
		t.Errorf("dead-lettered %d records, want the %d misfits", len(got), len(bad))
	}
}

// checkNestedTable compares the table with the oracle, value by value.
func checkNestedTable(t *testing.T, tb *table.Table, oracle map[int64]types.Row) {
	t.Helper()
	ctx := context.Background()
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	seen := map[int64]bool{}
	s := tb.Schema()
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		k := row[0].(int64)
		seen[k] = true
		want, ok := oracle[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("key %d is not in the oracle", k))
			continue
		}
		for i := 1; i < len(row); i++ {
			if !types.Equal(row[i], want[i]) {
				diffs = append(diffs, fmt.Sprintf("key %d column %s: %s, oracle %s", k, s.Fields[i].Name,
					types.FormatJSON(row[i], s.Fields[i].Type), types.FormatJSON(want[i], s.Fields[i].Type)))
			}
		}
	}
	for k := range oracle {
		if !seen[k] {
			diffs = append(diffs, fmt.Sprintf("key %d missing", k))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%d differences from the oracle; first: %v", len(diffs), diffs[:min(len(diffs), 5)])
	}
}

// TestNestedMisfitsDeadLettered: records whose nested values do not fit
// their columns go over the wire to the DLQ with their reason, the path
// of the field in the error (and, for an unknown ROW field with
// unknown-fields reject, in the column header), and the good records are
// in the table.
func TestNestedMisfitsDeadLettered(t *testing.T) {
	c := newCluster(t, 1, "nested", "nested-dlq")
	s := &types.Schema{Fields: []types.Field{{Name: "id", Type: types.TBigInt, NotNull: true},
		{Name: "addr", Type: types.TStruct(types.Field{Name: "zip", Type: types.TInt, NotNull: true}, types.Field{Name: "tags", Type: types.TArray(types.TString)})}},
		PrimaryKeys: []string{"id"}}
	tb := createTable(t, newCatalog(objstore.NewMem()), "nested", s)
	f, err := NewFormat("json", tb.Schema(), FormatOptions{UnknownFields: "reject"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		value                 string
		reason, column, error string // reason "": good
	}{
		{`{"id":0,"addr":{"zip":1,"tags":["a",null]}}`, "", "", ""},
		{`{"id":1,"addr":{"zip":"x"}}`, "wrong-type", "", `column "addr": field addr.zip: `},
		{`{"id":2,"addr":{"zip":1,"tags":[1]}}`, "wrong-type", "", `column "addr": field addr.tags[0]: invalid: a JSON number cannot be a STRING`},
		{`{"id":3,"addr":{"tags":[]}}`, "wrong-type", "", `column "addr": field addr.zip: invalid: NOT NULL field "zip"`},
		{`{"id":4,"addr":{"zip":1,"extra":2}}`, "schema-incompatible", "addr.extra", `field "extra" is not a field of ROW<zip INT NOT NULL, tags ARRAY<STRING>>`},
		{`{"id":5,"addr":[1]}`, "wrong-type", "", `column "addr": invalid: a JSON array of 1 values for the 2 fields`},
		{`{"id":6,"addr":{"zip":2147483648}}`, "wrong-type", "", `column "addr": field addr.zip: `},
		{`{"id":7,"addr":[7,["b"]]}`, "", "", ""},
	}
	var recs []*kgo.Record
	for _, cs := range cases {
		recs = append(recs, &kgo.Record{Topic: "nested", Value: []byte(cs.value)})
	}
	produceSync(t, producer(t, c), recs...)
	_, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"nested"}, Group: "g", Member: "m", Format: f,
		DLQTopic: "nested-dlq", CommitInterval: 20 * time.Millisecond, ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	waitCaughtUp(t, tb, "g", "nested", map[int32]int64{0: int64(len(cases))}, 20*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	checkNestedTable(t, tb, map[int64]types.Row{
		0: {int64(0), types.Struct{int32(1), types.List{"a", nil}}},
		7: {int64(7), types.Struct{int32(7), types.List{"b"}}},
	})
	dlq := consumeAll(t, c, "nested-dlq")
	seen := map[int64]bool{}
	for _, r := range dlq {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		off, _ := strconv.ParseInt(h[HeaderSourceOffset], 10, 64)
		seen[off] = true
		cs := cases[off]
		if h[HeaderReason] != cs.reason || h[HeaderColumn] != cs.column || !strings.Contains(h[HeaderError], cs.error) || strings.Contains(h[HeaderError], "\n") {
			t.Errorf("offset %d (%s): DLQ reason %q column %q error %q; want %q %q and an error with %q", off, cs.value,
				h[HeaderReason], h[HeaderColumn], h[HeaderError], cs.reason, cs.column, cs.error)
		}
	}
	for off, cs := range cases {
		if (cs.reason != "") != seen[int64(off)] {
			t.Errorf("offset %d (%s): dead-lettered %v, want %v", off, cs.value, seen[int64(off)], cs.reason != "")
		}
	}
}

// BenchmarkDecodeBatchNested: Debezium create events with the schema
// envelope of a table with a ROW (of a STRING, an INT, an ARRAY and a
// MAP) and an ARRAY<ROW> column, decoded into change batches as the sink
// does, on one core:
//
//	go test ./stream -run '^$' -bench BenchmarkDecodeBatchNested
func BenchmarkDecodeBatchNested(b *testing.B) {
	s := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true}, {ID: 1, Name: "name", Type: types.TString},
		{ID: 2, Name: "addr", Type: types.TStruct(types.Field{Name: "street", Type: types.TString}, types.Field{Name: "zip", Type: types.TInt},
			types.Field{Name: "tags", Type: types.TArray(types.TString)}, types.Field{Name: "attrs", Type: types.TMap(types.TString, types.TBigInt)})},
		{ID: 3, Name: "items", Type: types.TArray(types.TStruct(types.Field{Name: "sku", Type: types.TBigInt}, types.Field{Name: "qty", Type: types.TInt}))}},
		PrimaryKeys: []string{"id"}, HighestFieldID: 3}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	fs := []any{map[string]any{"field": "id", "type": "int64"}}
	for _, fl := range s.Fields[1:] {
		m := connectOf(fl.Type)
		m["field"] = fl.Name
		fs = append(fs, m)
	}
	img := map[string]any{"type": "struct", "optional": true, "fields": fs}
	sj, _ := json.Marshal(map[string]any{"type": "struct", "fields": []any{mergeField(img, "before"), mergeField(img, "after"), map[string]any{"field": "op", "type": "string"}}})
	rng := rand.New(rand.NewPCG(1, 2))
	e := nestedEnc{r: rng, envelope: true}
	values := make([][]byte, 1024)
	var total int64
	for i := range values {
		parts := []string{`"id":` + strconv.Itoa(i)}
		for _, fl := range s.Fields[1:] {
			parts = append(parts, jsonQuote(fl.Name)+":"+e.enc(finite(nestedgen.Value(rng, fl.Type)), fl.Type))
		}
		values[i] = []byte(`{"schema":` + string(sj) + `,"payload":{"op":"c","before":null,"after":{` + strings.Join(parts, ",") + `}}}`)
		total += int64(len(values[i]))
	}
	f, err := NewFormat("debezium-json", s, FormatOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cb, err := newChangeBuilder(s)
	if err != nil {
		b.Fatal(err)
	}
	defer cb.Release()
	b.SetBytes(total / int64(len(values)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := decodeBatch(f, cb, nil, values[i%len(values)], true); err != nil {
			b.Fatal(err)
		}
		if cb.Len() >= 4096 {
			cb.NewRecord().Release()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
