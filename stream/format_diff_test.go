package stream

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestDecodersMatchReference: random Debezium, upsert and plain JSON
// records (every column type, NULLs, missing and unknown fields, mixed-case
// and escaped keys, repeated keys, schema envelopes with logical types and
// new fields, broken syntax) decoded by the one-pass decoders and by the
// map-based reference must give identical changes, or both reject with the
// same reason.
func TestDecodersMatchReference(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 24))
	const n = 4000
	accepted := map[string]int{}
	// One decoder pair per format and options for the whole run, so that
	// the envelope caches (and the known-schema skip) are exercised by
	// records that repeat a schema and records that change it.
	type pair struct{ got, ref Format }
	decoders := map[string]pair{}
	var pool []string
	for i := 0; i < n; i++ {
		g := &recGen{rng: rng, clean: rng.IntN(2) == 0, schemas: &pool}
		name, opts, key, value := g.record()
		id := fmt.Sprintf("%s %+v", name, opts)
		d, ok := decoders[id]
		if !ok {
			f, err := NewFormat(name, fuzzSchema(), opts)
			if err != nil {
				t.Fatal(err)
			}
			d = pair{f, refFormat(name, fuzzSchema(), opts)}
			decoders[id] = d
		}
		if compareDecoders(t, d.got, d.ref, name, opts, key, value, true) {
			accepted[name]++
		}
	}
	t.Logf("%d records; accepted by format: %v", n, accepted)
	for _, f := range []string{"debezium-json", "upsert-json", "json"} {
		if accepted[f] == 0 {
			t.Errorf("the generator made no %s record that decodes: the comparison is vacuous", f)
		}
	}
}

// checkAgainstReference decodes one record with fresh decoders (see
// compareDecoders).
func checkAgainstReference(t testing.TB, name string, opts FormatOptions, key, value []byte, sameReason bool) {
	t.Helper()
	f, err := NewFormat(name, fuzzSchema(), opts)
	if err != nil {
		t.Fatal(err)
	}
	compareDecoders(t, f, refFormat(name, fuzzSchema(), opts), name, opts, key, value, sameReason)
}

// compareDecoders decodes one record with the one-pass decoder and the
// reference and fails on any difference; sameReason also compares the
// reasons of rejections. It returns whether the record was accepted.
func compareDecoders(t testing.TB, f, ref Format, name string, opts FormatOptions, key, value []byte, sameReason bool) bool {
	t.Helper()
	got, err := f.Decode(nil, key, value)
	want, werr := ref.Decode(nil, key, value)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("%s %+v key %q value %q:\n new: %v (%v)\n ref: %v (%v)", name, opts, key, value, got, err, want, werr)
	case err == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %+v key %q value %q:\n new: %#v\n ref: %#v", name, opts, key, value, got, want)
		}
	case sameReason && ReasonOf(err) != ReasonOf(werr):
		// The reference walks a map, so a record with several problems may
		// be blamed on any of them: accept a reason it can give.
		for try := 0; try < 64; try++ {
			if _, werr = ref.Decode(nil, key, value); ReasonOf(werr) == ReasonOf(err) {
				return false
			}
		}
		t.Fatalf("%s %+v key %q value %q:\n new rejects: %v\n ref rejects: %v", name, opts, key, value, err, werr)
	}
	return err == nil
}

// recGen makes one random record for fuzzSchema.
type recGen struct {
	rng     *rand.Rand
	clean   bool      // only values that convert, no syntax damage
	schemas *[]string // envelope schemas used so far (reused, as topics do)
}

func (g *recGen) pick(options ...string) string { return options[g.rng.IntN(len(options))] }

func (g *recGen) chance(p float64) bool { return g.rng.Float64() < p }

// jsonValue returns a value for a column: usually one it converts, now and
// then a NULL, a wrong type or a boundary case.
func (g *recGen) jsonValue(col string) string {
	if g.clean {
		return g.cleanValue(col)
	}
	if g.chance(0.08) {
		return "null"
	}
	if g.chance(0.04) {
		return g.pick(`true`, `"x"`, `1.5`, `{}`, `[1]`, `-0`, `1e400`, `"\u00e9\n"`)
	}
	r := g.rng
	switch col {
	case "id":
		return g.pick(fmt.Sprint(r.Int64N(1000)-10), fmt.Sprintf(`"%d"`, r.Int64N(100)), "1e2", "9223372036854775807", "-9223372036854775808", "12.0")
	case "name":
		return g.pick(`"alice"`, `"b\"o\\b"`, `"\u00e9t\u00e9"`, `"日本"`, `""`, `"a\/b\tc"`, `"\ud83d\ude00"`)
	case "i":
		return g.pick(fmt.Sprint(r.Int32()), "2147483648", `"42"`, "-1")
	case "f", "d":
		return g.pick("1.5", "3.4e38", "1e308", `"2.25"`, "-0.0", "1E-7", "0")
	case "amount":
		return g.pick(`"12.34"`, "12.34", "1.005", `"AQ=="`, `"-99999999.99"`, "1e2", `"abc"`, "123456789012")
	case "b":
		return g.pick(`"AAE="`, `""`, `"!!"`, `"aGVsbG8="`)
	case "day":
		return g.pick(fmt.Sprint(r.IntN(40000)-20000), `"2026-01-02"`, `"2026-13-02"`, "1.5")
	case "ts":
		return g.pick(fmt.Sprint(r.Int64N(1<<50)), `"2026-01-02T03:04:05Z"`, `"2026-01-02 03:04:05.123456"`, "-1", "9223372036854775807")
	case "ok":
		return g.pick("true", "false", `"true"`, "1")
	case "tm", "tz", "u":
		return temporalJSON(g.rng, col, true)
	}
	return g.pick(`"v"`, "1", "null", `{"a":[1,2,{"b":null}]}`)
}

// cleanValue returns a value that converts to the column's type.
func (g *recGen) cleanValue(col string) string {
	r := g.rng
	switch col {
	case "id":
		return fmt.Sprint(r.Int64N(1000) - 10)
	case "name":
		return g.pick(`"alice"`, `"b\"o\\b"`, `"\u00e9t\u00e9"`, `"日本"`, `""`)
	case "i":
		return fmt.Sprint(r.Int32())
	case "f", "d":
		return g.pick("1.5", "-0.0", "1E-7", "0", "12345.678")
	case "amount":
		return g.pick(`"12.34"`, "12.34", `"-99999999.99"`, "1e2", "0.5")
	case "b":
		return g.pick(`"AAE="`, `""`, `"aGVsbG8="`)
	case "day":
		return g.pick(fmt.Sprint(r.IntN(40000)-20000), `"2026-01-02"`)
	case "ts":
		return g.pick(fmt.Sprint(r.Int64N(1<<50)), `"2026-01-02T03:04:05Z"`)
	case "ok":
		return g.pick("true", "false")
	case "tm", "tz", "u":
		return temporalJSON(g.rng, col, false)
	}
	return g.pick(`"v"`, "1", "null", `{"a":[1,2,{"b":null}]}`)
}

// keyText renders a member name: as is, in upper case, with an escape.
func (g *recGen) keyText(name string) string {
	switch {
	case g.chance(0.05):
		return strings.ToUpper(name)
	case g.chance(0.05):
		return fmt.Sprintf(`\u%04x`, name[0]) + name[1:]
	}
	return name
}

var genColumns = []string{"id", "name", "i", "f", "d", "amount", "b", "day", "ts", "ok", "tm", "tz", "u"}

// image renders a row object: each column present with some chance, an
// unknown field or a repeated key now and then.
func (g *recGen) image() string {
	var parts []string
	// One spelling per column and record: the reference keeps keys that
	// differ in case apart and picks one at random, so only exact repeats
	// (after unescaping) have a defined meaning.
	keys := map[string]string{}
	for _, c := range genColumns {
		keys[c] = g.keyText(c)
		p := 0.75
		if c == "id" || c == "name" {
			p = 0.95
		}
		if g.chance(p) {
			parts = append(parts, fmt.Sprintf(`"%s":%s`, keys[c], g.jsonValue(c)))
		}
	}
	if g.chance(0.05) {
		parts = append(parts, `"extra":`+g.jsonValue("extra"))
	}
	if g.chance(0.05) && len(parts) > 0 {
		parts = append(parts, parts[g.rng.IntN(len(parts))]) // a repeated key
	}
	if g.chance(0.05) && len(parts) > 1 {
		c := genColumns[g.rng.IntN(len(genColumns))]
		key := keys[c]
		if key != strings.ToUpper(c) && g.chance(0.5) {
			key = fmt.Sprintf(`\u%04x`, c[0]) + c[1:] // the same key, escaped
		}
		parts = append(parts, fmt.Sprintf(`"%s":%s`, key, g.jsonValue(c))) // a repeated column, last wins
	}
	g.rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	sep := g.pick(",", ", ", " ,\n\t")
	return "{" + strings.Join(parts, sep) + "}"
}

// connectSchemaJSON renders a Debezium envelope schema for the images,
// with logical types and, now and then, a field the table lacks or a
// missing key field.
func (g *recGen) connectSchemaJSON() string {
	if g.schemas != nil && len(*g.schemas) > 0 && g.chance(0.7) {
		return (*g.schemas)[g.rng.IntN(len(*g.schemas))]
	}
	var fields []map[string]any
	for _, c := range genColumns {
		if c == "id" && g.chance(0.03) {
			continue
		}
		f := map[string]any{"field": c, "optional": c != "id"}
		switch c {
		case "id":
			f["type"] = "int64"
		case "i":
			f["type"] = "int32"
		case "f":
			f["type"] = "float"
		case "d":
			f["type"] = "double"
		case "amount":
			if g.chance(0.5) {
				f["type"], f["name"], f["parameters"] = "bytes", "org.apache.kafka.connect.data.Decimal", map[string]string{"scale": g.pick("2", "0", "3")}
			} else {
				f["type"] = "string"
			}
		case "b":
			f["type"] = "bytes"
		case "day":
			f["type"], f["name"] = "int32", "io.debezium.time.Date"
		case "ts":
			f["type"] = "int64"
			f["name"] = g.pick("io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp", "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp")
		case "ok":
			f["type"] = "boolean"
		case "tm":
			f["type"], f["name"] = g.pick("int64", "int32"), g.pick("io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "io.debezium.time.Time", "org.apache.kafka.connect.data.Time")
		case "tz":
			if g.chance(0.5) {
				f["type"], f["name"] = "string", "io.debezium.time.ZonedTimestamp"
			} else {
				f["type"], f["name"] = "int64", g.pick("io.debezium.time.MicroTimestamp", "org.apache.kafka.connect.data.Timestamp")
			}
		case "u":
			f["type"], f["name"] = "string", "io.debezium.data.Uuid"
		default:
			f["type"] = "string"
		}
		fields = append(fields, f)
	}
	if g.chance(0.05) {
		fields = append(fields, map[string]any{"field": "added", "type": g.pick("string", "int64", "array"), "optional": true})
	}
	img := map[string]any{"type": "struct", "name": "srv.db.t.Value", "optional": true, "fields": fields}
	schema := map[string]any{"type": "struct", "name": "srv.db.t.Envelope", "fields": []any{
		map[string]any{"field": "before", "type": "struct", "optional": true, "fields": fields, "name": img["name"]},
		map[string]any{"field": "after", "type": "struct", "optional": true, "fields": fields, "name": img["name"]},
		map[string]any{"field": "op", "type": "string"},
	}}
	out, _ := json.Marshal(schema)
	if g.schemas != nil && len(*g.schemas) < 6 {
		*g.schemas = append(*g.schemas, string(out))
	}
	return string(out)
}

// debezium renders a Debezium event, with or without the envelope.
func (g *recGen) debezium() string {
	op := g.pick(`"c"`, `"r"`, `"u"`, `"u"`, `"d"`, `"t"`, `"x"`, `null`, `1`, `"\u0063"`)
	var parts []string
	if !g.chance(0.03) {
		parts = append(parts, `"op":`+op)
	}
	for _, img := range []string{"before", "after"} {
		switch {
		case g.chance(0.1):
		case g.chance(0.15):
			parts = append(parts, fmt.Sprintf(`"%s":null`, img))
		case g.chance(0.03):
			parts = append(parts, fmt.Sprintf(`"%s":%s`, img, g.pick(`"x"`, `[1]`, `3`)))
		default:
			parts = append(parts, fmt.Sprintf(`"%s":%s`, img, g.image()))
		}
	}
	parts = append(parts, `"source":{"version":"2.7.0.Final","connector":"postgresql","name":"srv","ts_ms":1767225600000,"snapshot":"false","db":"db","schema":"public","table":"t","lsn":123,"xmin":null}`, `"ts_ms":1767225600123`, `"transaction":null`)
	g.rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	payload := "{" + strings.Join(parts, ",") + "}"
	switch {
	case g.chance(0.4):
		return payload
	case g.chance(0.1):
		return `{"schema":null,"payload":` + payload + `}`
	case g.chance(0.03):
		return `{"schema":` + g.connectSchemaJSON() + `,"payload":null}`
	case g.chance(0.03):
		return `{"schema":` + g.connectSchemaJSON() + `,"payload":"p"}`
	}
	return `{"schema":` + g.connectSchemaJSON() + `,"payload":` + payload + `}`
}

// corrupt breaks the syntax now and then: a byte removed, inserted or the
// record cut short.
func (g *recGen) corrupt(s string) string {
	if s == "" || g.clean || !g.chance(0.08) {
		return s
	}
	i := g.rng.IntN(len(s))
	switch g.rng.IntN(4) {
	case 0:
		return s[:i] + s[i+1:]
	case 1:
		return s[:i] + g.pick("{", "}", "[", "]", ",", ":", `"`, `\`, "0", "-", "\x01", " ", "\xff") + s[i:]
	case 2:
		return s[:i]
	}
	return s + g.pick(",", "}", " x", "\n", " {}")
}

// record returns a format, its options and a record for it.
func (g *recGen) record() (string, FormatOptions, []byte, []byte) {
	var opts FormatOptions
	if g.chance(0.2) {
		opts.UnknownFields = "reject"
	}
	if g.chance(0.2) {
		opts.TimestampUnit = g.pick("us", "ns")
	}
	switch g.rng.IntN(4) {
	case 0:
		return "json", opts, nil, []byte(g.corrupt(g.image()))
	case 1:
		key := g.pick(`{"id":`+g.jsonValue("id")+`}`, g.jsonValue("id"), `{"schema":{},"payload":{"id":7}}`, ``, `{"ID":3,"extra":1}`)
		var value []byte
		if !g.chance(0.15) {
			value = []byte(g.corrupt(g.image()))
		}
		return "upsert-json", opts, []byte(g.corrupt(key)), value
	}
	if g.chance(0.3) {
		opts.SchemaEvolution = EvolutionAddColumns
	}
	if g.chance(0.02) {
		return "debezium-json", opts, nil, nil
	}
	return "debezium-json", opts, nil, []byte(g.corrupt(g.debezium()))
}

// TestDecodersMatchReferenceEdges: hand-picked corners the generator does
// not reach: nesting at encoding/json's depth limit, invalid UTF-8 in
// keys and values, Unicode space around the record, repeated and escaped
// envelope members, a known schema followed by damage.
func TestDecodersMatchReferenceEdges(t *testing.T) {
	nest := func(depth int) string {
		return `{"op":"c","after":{"id":1,"name":"a"},"x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
	}
	schema := `{"type":"struct","fields":[{"field":"after","fields":[{"field":"amount","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}]}]}`
	env := func(payload string) string { return `{"schema":` + schema + `,"payload":` + payload + `}` }
	values := []string{
		nest(9998), nest(9999), nest(10000),
		"{\"op\":\"c\",\"after\":{\"id\":1,\"name\":\"a\xffb\"}}",
		"{\"op\":\"c\",\"after\":{\"id\":1,\"name\":\"a\",\"n\xffme\":1}}",
		"\u00a0{\"op\":\"c\",\"after\":{\"id\":1,\"name\":\"a\"}}\u0085",
		`{"op":"c","op":"d","before":{"id":2},"after":{"id":1,"name":"a"}}`,
		`{"\u006fp":"c","after":{"id":1,"name":"a"}}`,
		`{"payload":{"op":"c","after":{"id":1,"name":"a"}},"payload":{"op":"d","before":{"id":2}}}`,
		`{"payload":{"op":"c","after":{"id":1,"name":"a"}},"payload":null}`,
		`{"payload":"x","payload":{"op":"c","after":{"id":1,"name":"a"}}}`,
		`{"payload":{"op":"c","after":{"id":1,"name":"a"}},"op":null}`,
		env(`{"op":"c","after":{"id":1,"name":"a","amount":"AQ=="}}`),
		env(`{"op":"c","after":{"id":1,"name":"a","amount":"AQ=="}}`) + "x",
		`{"schema":` + schema + `x,"payload":{"op":"c","after":{"id":1,"name":"a"}}}`,
		`{"schema":` + schema + `,"schema":null,"payload":{"op":"c","after":{"id":1,"name":"a","amount":"1.5"}}}`,
		`{"schema":` + schema[:len(schema)-1] + `,"payload":{"op":"c","after":{"id":1,"name":"a"}}}`,
		`{"op":"c","after":{"id":1,"name":"a"},}`, `{"op":"c","after":{"id":1,"name":"a",}}`, `{"op":"c","after":{"id":1,"name":"a"}}}`,
		`{"op":"u","before":{"ID":1},"after":{"id":1,"name":"a","Name":"b"}}`,
	}
	for _, opts := range []FormatOptions{{}, {UnknownFields: "reject"}, {SchemaEvolution: EvolutionAddColumns}} {
		f, err := NewFormat("debezium-json", fuzzSchema(), opts)
		if err != nil {
			t.Fatal(err)
		}
		ref := refFormat("debezium-json", fuzzSchema(), opts)
		for _, v := range values {
			// Twice: the second decode meets the schema it cached.
			for range 2 {
				if strings.Contains(v, `"Name"`) {
					// "name" and "Name": the reference picks either; both
					// must accept.
					if _, err := f.Decode(nil, nil, []byte(v)); err != nil {
						t.Errorf("%q: %v", v, err)
					}
					continue
				}
				compareDecoders(t, f, ref, "debezium-json", opts, nil, []byte(v), true)
			}
		}
		for _, v := range values[3:8] {
			if opts.SchemaEvolution != "" {
				break // json and upsert-json refuse add-columns
			}
			for _, name := range []string{"json", "upsert-json"} {
				checkAgainstReference(t, name, opts, []byte(`{"id":1}`), []byte(v), true)
			}
		}
	}
}
