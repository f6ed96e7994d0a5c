package stream

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// batchCase is one record for a format and its options.
type batchCase struct {
	name       string
	opts       FormatOptions
	key, value []byte
}

// batchPair is the decoders one batchCase is judged by: the batch
// decoder under test (its fast path, then Decode for what it leaves), the
// format's row decoder and the map-based reference.
type batchPair struct {
	f, ref Format
	b      *changeBuilder
}

// batchDiff decodes records with the batch decoder into one builder and
// checks each against the row decoder (same rows, or the same error, word
// for word) and the reference (same rows, or a rejection for the same
// reason); a rejected record must leave the builder as it was. Every few
// records the batch is built and its rows compared with those expected.
type batchDiff struct {
	t     testing.TB
	pairs map[string]*batchPair
	want  map[string][]Change // rows expected in each pair's builder
	fast  map[string]int      // records the fast path took, by format
	slow  map[string]int      // records accepted through Decode

	// anyReason: a rejection need not name the reference's reason (the
	// fuzz targets, like the others of this package: on arbitrary input
	// the map-based reference may blame any of several problems).
	anyReason bool
}

func newBatchDiff(t testing.TB) *batchDiff {
	return &batchDiff{t: t, pairs: map[string]*batchPair{}, want: map[string][]Change{}, fast: map[string]int{}, slow: map[string]int{}}
}

func (d *batchDiff) pair(name string, opts FormatOptions) (string, *batchPair) {
	id := fmt.Sprintf("%s %+v", name, opts)
	p, ok := d.pairs[id]
	if !ok {
		f, err := NewFormat(name, fuzzSchema(), opts)
		if err != nil {
			d.t.Fatal(err)
		}
		b, err := newChangeBuilder(fuzzSchema())
		if err != nil {
			d.t.Fatal(err)
		}
		p = &batchPair{f: f, ref: refFormat(name, fuzzSchema(), opts), b: b}
		d.pairs[id] = p
	}
	return id, p
}

func (d *batchDiff) check(c batchCase) {
	t := d.t
	t.Helper()
	id, p := d.pair(c.name, c.opts)
	before := p.b.Len()
	n, err := decodeBatch(p.f, p.b, c.key, c.value, true)
	rows, rerr := p.f.Decode(nil, c.key, c.value)
	if rerr == nil {
		rerr = validateChanges(fuzzSchema(), rows)
	}
	refRows, referr := p.ref.Decode(nil, c.key, c.value)
	what := fmt.Sprintf("%s %+v key %q value %q", c.name, c.opts, c.key, c.value)
	switch {
	case (err == nil) != (rerr == nil):
		t.Fatalf("%s:\n batch: %d rows, %v\n row decoder: %v, %v", what, n, err, fmtChanges(rows), rerr)
	case err != nil && !sameError(p.f, c, err, rerr):
		t.Fatalf("%s:\n batch rejects: %v\n row decoder rejects: %v", what, err, rerr)
	case (err == nil) != (referr == nil):
		t.Fatalf("%s:\n batch: %d rows, %v\n reference: %v, %v", what, n, err, fmtChanges(refRows), referr)
	case err != nil && !d.anyReason && ReasonOf(err) != ReasonOf(referr):
		same := false
		for try := 0; try < 64 && !same; try++ { // the reference walks a map
			_, referr = p.ref.Decode(nil, c.key, c.value)
			same = ReasonOf(err) == ReasonOf(referr)
		}
		if !same {
			t.Fatalf("%s:\n batch rejects: %v\n reference rejects: %v", what, err, referr)
		}
	}
	if err != nil {
		if p.b.Len() != before {
			t.Fatalf("%s: rejected (%v) but the builder went from %d to %d rows", what, err, before, p.b.Len())
		}
		return
	}
	if !reflect.DeepEqual(rows, refRows) {
		t.Fatalf("%s:\n row decoder: %s\n reference: %s", what, fmtChanges(rows), fmtChanges(refRows))
	}
	if n != len(rows) || p.b.Len() != before+n {
		t.Fatalf("%s: batch appended %d rows (builder %d → %d), want %d", what, n, before, p.b.Len(), len(rows))
	}
	// Which path took it: the fast path alone, on a scratch builder.
	sb, _ := newChangeBuilder(fuzzSchema())
	if _, ok := p.f.(batchDecoder).decodeFast(sb, c.key, c.value); ok {
		d.fast[c.name]++
	} else {
		d.slow[c.name]++
	}
	sb.Release()
	d.want[id] = append(d.want[id], rows...)
	if p.b.Len() >= 64 {
		d.flush(id)
	}
}

// sameError says whether the row decoder rejects c with err's message
// (upsert-json reads its key through a map: a key with several problems
// may be blamed on any of them, so a few tries are allowed).
func sameError(f Format, c batchCase, err, rerr error) bool {
	for try := 0; try < 64; try++ {
		if err.Error() == rerr.Error() {
			return true
		}
		if _, rerr = f.Decode(nil, c.key, c.value); rerr == nil {
			return false
		}
	}
	return false
}

// flush builds pair id's batch and compares its rows with the expected.
func (d *batchDiff) flush(id string) {
	t := d.t
	t.Helper()
	p := d.pairs[id]
	rec := p.b.NewRecord()
	defer rec.Release()
	got := types.RecordRows(rec)
	want := d.want[id]
	d.want[id] = nil
	if len(got) != len(want) {
		t.Fatalf("%s: batch of %d rows, want %d", id, len(got), len(want))
	}
	n := len(fuzzSchema().Fields)
	for i, row := range got {
		kind := row[n].(types.RowKind)
		if kind != want[i].Kind || !reflect.DeepEqual(types.Row(row[:n]), normRow(want[i].Row)) {
			t.Fatalf("%s: batch row %d is %s %v, want %s %v", id, i, kind, row[:n], want[i].Kind, want[i].Row)
		}
	}
}

// normRow is a row as it reads back from a batch: an empty BYTES value
// is an empty, non-nil slice.
func normRow(r types.Row) types.Row {
	out := make(types.Row, len(r))
	for i, v := range r {
		if b, ok := v.([]byte); ok {
			v = append([]byte{}, b...)
		}
		out[i] = v
	}
	return out
}

func (d *batchDiff) finish() {
	for id := range d.pairs {
		d.flush(id)
		d.pairs[id].b.Release()
	}
}

// edgeGen makes records aimed at the fast path's conversions: integer,
// float and decimal boundaries, Connect decimals of every width and
// scale, timestamps at the limits of each unit, escapes, bare and
// object keys, every Debezium op.
type edgeGen struct{ rng *rand.Rand }

func (g *edgeGen) pick(options ...string) string { return options[g.rng.IntN(len(options))] }

func (g *edgeGen) chance(p float64) bool { return g.rng.Float64() < p }

// connectDecimalBytes is Kafka Connect's Decimal of an unscaled value, in
// nbytes of big-endian two's complement (sign-extended), base64.
func connectDecimalBytes(v int64, nbytes int) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(v))
	for len(b) > nbytes && ((b[0] == 0 && b[1]&0x80 == 0) || (b[0] == 0xff && b[1]&0x80 != 0)) {
		b = b[1:]
	}
	for len(b) < nbytes {
		pad := byte(0)
		if v < 0 {
			pad = 0xff
		}
		b = append([]byte{pad}, b...)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (g *edgeGen) value(col string) string {
	r := g.rng
	if g.chance(0.06) {
		return "null"
	}
	switch col {
	case "id":
		return g.pick(fmt.Sprint(r.Int64N(50)), fmt.Sprint(r.Int64()), fmt.Sprint(-r.Int64()), "9223372036854775807", "-9223372036854775808",
			`"007"`, `"+5"`, `"-"`, `"-9223372036854775808"`, `"9223372036854775808"`, `" 5"`,
			"9223372036854775808", "-9223372036854775809", "-0", "0", "1.0", "1e2", `"5"`, "12345678901234567890", "99999999999999999999")
	case "name":
		return g.pick(`"plain"`, `"with \"esc\""`, `""`, `"é"`, `"\u0000"`, `"日本"`, `"a\/b"`, `" sp "`)
	case "i":
		return g.pick(fmt.Sprint(r.Int32()), "2147483647", "2147483648", "-2147483648", "-2147483649", "1.0", "-0", "1e1", `"7"`,
			`"2147483648"`, `"-2147483648"`, `"0x10"`, `"1_000"`)
	case "f":
		return g.pick("3.4028234663852886e38", "3.5e38", "-3.5e38", "1e-50", "-0.0", "1.5", "1e400", "0.1", fmt.Sprint(r.Float64()), "7", `"1.5"`)
	case "d":
		return g.pick("1.7976931348623157e308", "1e309", "5e-324", "0.1", "-0", fmt.Sprint(r.NormFloat64()*1e10), "12", `"2.5"`)
	case "amount":
		v := r.Int64N(1 << uint(r.IntN(63)))
		if g.chance(0.5) {
			v = -v
		}
		return g.pick(
			fmt.Sprint(v), fmt.Sprintf("%d.%02d", v/100, r.IntN(100)), "12.34", "12.345", "12.340", "99999999.99", "100000000.00",
			"-99999999.99", "0.00", "-0", "-0.0", "1e2", "1.5e1", "12345678901234567890.5", "0.000", "1.", `"12.34"`, `"-0.5"`,
			`"`+connectDecimalBytes(v, 1+r.IntN(10))+`"`, `"AA=="`, `""`, `"////////////"`, `"gAAAAAAAAAA="`, `"f/////////8="`, `"AAE"`,
			`"`+connectDecimalBytes(r.Int64N(1000)*1000, 1+r.IntN(9))+`"`,
			`"`+fmt.Sprintf("%d.%02d", v/100, r.IntN(100))+`"`, `" 1.5"`, `"+1.5"`, `"1."`, `".5"`, `"-"`, `"-.5"`, `"1.5 "`, `"0012.50"`, `"99999999.999"`, `"1e2"`)
	case "b":
		raw := make([]byte, r.IntN(12))
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		return g.pick(`"`+base64.StdEncoding.EncodeToString(raw)+`"`, `"AAE"`, `"A==="`, `"AA\nE="`, `""`, `"AAE=\r"`)
	case "day":
		return g.pick(fmt.Sprint(r.IntN(40000)-20000), "2147483647", "2147483648", "-2147483649", "0", `"2026-01-02"`, "1.0",
			fmt.Sprintf(`"%04d-%02d-%02d"`, r.IntN(10000), r.IntN(14), r.IntN(33)), `"2024-02-29"`, `"2100-02-29"`, `"2000-02-29"`, `"2026-02-29"`,
			`"0000-01-01"`, `"9999-12-31"`, `"2026-04-31"`, `" 2026-01-02"`, `"2026-1-02"`, `"2026-01-02T00:00:00Z"`)
	case "ts":
		return g.pick(fmt.Sprint(r.Int64N(1<<52)), "9223372036854775", "9223372036854776", "-9223372036854776", "-9223372036854775",
			"-1", "-1001", "1001", "-1000", `"2026-01-02T03:04:05Z"`, "1.5", "9223372036854775807", "-9223372036854775808")
	case "ok":
		return g.pick("true", "false", "1", `"true"`, "null", `"false"`, `"TRUE"`, `"t"`, `"0"`, `"yes"`)
	case "tm", "tz", "u":
		return temporalJSON(g.rng, col, true)
	}
	return `"x"`
}

// image renders a row object with each column present with some chance:
// one or two columns hold edge values, the others plain ones.
func (g *edgeGen) image(withID bool) string {
	var parts []string
	edge := map[string]bool{genColumns[g.rng.IntN(len(genColumns))]: true, genColumns[g.rng.IntN(len(genColumns))]: true}
	plain := recGen{rng: g.rng, clean: true}
	for _, c := range genColumns {
		if (c == "id" && !withID) || (c != "id" && c != "name" && !g.chance(0.8)) {
			continue
		}
		v := plain.cleanValue(c)
		if edge[c] || g.chance(0.05) {
			v = g.value(c)
		}
		parts = append(parts, fmt.Sprintf(`"%s":%s`, c, v))
	}
	if g.chance(0.05) {
		parts = append(parts, `"extra":1`)
	}
	g.rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return "{" + strings.Join(parts, ",") + "}"
}

// envelope is a Debezium schema naming amount a Connect Decimal of some
// scale and ts a timestamp of some unit.
func (g *edgeGen) envelope() string {
	amount := map[string]any{"field": "amount", "type": "string"}
	if g.chance(0.8) {
		amount = map[string]any{"field": "amount", "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal",
			"parameters": map[string]string{"scale": g.pick("0", "1", "2", "2", "3", "4", "20", "40", "-1"), "connect.decimal.precision": "10"}}
	}
	fields := []any{
		map[string]any{"field": "id", "type": "int64"}, map[string]any{"field": "name", "type": "string"},
		map[string]any{"field": "i", "type": "int32"}, map[string]any{"field": "f", "type": "float"},
		map[string]any{"field": "d", "type": "double"}, amount, map[string]any{"field": "b", "type": "bytes"},
		map[string]any{"field": "day", "type": "int32", "name": "io.debezium.time.Date"},
		map[string]any{"field": "ts", "type": "int64", "name": g.pick("io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp", "io.debezium.time.Timestamp", "plain")},
		map[string]any{"field": "ok", "type": "boolean"},
	}
	s := map[string]any{"type": "struct", "fields": []any{
		map[string]any{"field": "before", "type": "struct", "optional": true, "fields": fields},
		map[string]any{"field": "after", "type": "struct", "optional": true, "fields": fields},
		map[string]any{"field": "op", "type": "string"},
	}}
	out, _ := json.Marshal(s)
	return string(out)
}

func (g *edgeGen) record() batchCase {
	var opts FormatOptions
	if g.chance(0.15) {
		opts.UnknownFields = "reject"
	}
	if g.chance(0.3) {
		opts.TimestampUnit = g.pick("ms", "us", "ns")
	}
	switch g.rng.IntN(4) {
	case 0:
		return batchCase{name: "json", opts: opts, value: []byte(g.image(!g.chance(0.05)))}
	case 1:
		id := g.value("id")
		key := g.pick(`{"id":`+id+`}`, id, ` `+id+` `, `{"id":`+id+`,"name":"k"}`, `{"schema":{},"payload":{"id":`+id+`}}`, `{"id":`+id+`,"id":2}`, ``, `{"ID":`+id+`}`)
		var value []byte
		switch {
		case g.chance(0.15):
		case g.chance(0.5):
			value = []byte(strings.Replace(g.image(true), `"id":`, `"id":`+id+`,"id_was":`, 1))
		default:
			value = []byte(g.image(g.chance(0.5)))
		}
		return batchCase{name: "upsert-json", opts: opts, key: []byte(key), value: value}
	}
	if g.chance(0.03) {
		return batchCase{name: "debezium-json", opts: opts}
	}
	op := g.pick(`"c"`, `"r"`, `"u"`, `"u"`, `"d"`, `"t"`, `null`)
	var parts []string
	parts = append(parts, `"op":`+op)
	for _, img := range []string{"before", "after"} {
		switch {
		case g.chance(0.1):
		case g.chance(0.1):
			parts = append(parts, fmt.Sprintf(`"%s":null`, img))
		default:
			parts = append(parts, fmt.Sprintf(`"%s":%s`, img, g.image(!g.chance(0.05))))
		}
	}
	parts = append(parts, `"source":{"db":"x","lsn":1}`, `"ts_ms":1`)
	g.rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	payload := "{" + strings.Join(parts, ",") + "}"
	v := payload
	switch {
	case g.chance(0.5):
		v = `{"schema":` + g.envelope() + `,"payload":` + payload + `}`
	case g.chance(0.05):
		v = `{"schema":null,"payload":null}`
	}
	return batchCase{name: "debezium-json", opts: opts, value: []byte(v)}
}

// TestBatchDecoderMatchesReference: random records (valid and malformed,
// every column type, NULLs, tombstones, every Debezium op, with and
// without the schema envelope; the generator of the one-pass decoder's
// differential test and one aimed at the fast path's conversions)
// decoded into change batches give the rows and kinds the row decoder
// and the map-based reference give, or the same rejection, and a rejected
// record leaves nothing in the batch.
func TestBatchDecoderMatchesReference(t *testing.T) {
	seed := testSeed(t)
	batchDiffRun(t, seed, 3000)
}

// TestBatchDecoderManySeeds runs the differential test over fresh seeds.
func TestBatchDecoderManySeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("many seeds")
	}
	for _, seed := range testkit.Seeds(t, 20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			batchDiffRun(t, seed, 600)
		})
	}
}

func batchDiffRun(t *testing.T, seed uint64, n int) {
	rng := rand.New(rand.NewPCG(seed, 26))
	d := newBatchDiff(t)
	var pool []string
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			g := &recGen{rng: rng, clean: rng.IntN(2) == 0, schemas: &pool}
			name, opts, key, value := g.record()
			d.check(batchCase{name, opts, key, value})
			continue
		}
		d.check((&edgeGen{rng}).record())
	}
	d.finish()
	t.Logf("%d records; fast path took %v, Decode accepted %v", n, d.fast, d.slow)
	if n >= 1000 {
		for _, f := range []string{"debezium-json", "upsert-json", "json"} {
			if d.fast[f] == 0 {
				t.Errorf("the fast path took no %s record: the comparison is vacuous", f)
			}
		}
	}
}

// TestBatchDecoderEdges: hand-picked records around the fast path's
// limits, each against the row decoder and the reference.
func TestBatchDecoderEdges(t *testing.T) {
	env := func(scale string, payload string) string {
		return `{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","fields":[{"field":"amount","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"` +
			scale + `"}},{"field":"ts","type":"int64","name":"io.debezium.time.NanoTimestamp"}]}]},"payload":` + payload + `}`
	}
	d := newBatchDiff(t)
	var cases []batchCase
	for _, amount := range []string{`"AQ=="`, `"/w=="`, `"gA=="`, `"AIA="`, `"f/////////8="`, `"gAAAAAAAAAA="`, `"AAAAAAAAAAAB"`, `"//////////8="`, `"O5rJ/w=="`, `"O5rKAA=="`, `"AA=="`, `""`, `"AAE"`} {
		for _, scale := range []string{"0", "2", "3", "9", "21", "39"} {
			cases = append(cases, batchCase{name: "debezium-json", value: []byte(env(scale, `{"op":"c","after":{"id":1,"name":"a","amount":`+amount+`,"ts":-1001}}`))})
		}
	}
	for _, amount := range []string{"99999999.99", "99999999.999", "99999999.990", "-100000000", "0.001", "-0.00", "0", "00.5", "1234567890123456789", "1e-2", "1E+2"} {
		cases = append(cases, batchCase{name: "json", value: []byte(`{"id":1,"name":"a","amount":` + amount + `}`)})
	}
	for _, key := range []string{`7`, `"7"`, `7.0`, `{"id":7}`, `{"id":7,"name":"x"}`, `{"Id":7}`, `{"id":7,"Id":7}`, "\"\xff\"", `{"schema":null,"payload":{"id":7}}`, `{"payload":{"id":7}}`, `[7]`, `null`} {
		for _, value := range []string{`{"id":7,"name":"a"}`, `{"id":8,"name":"a"}`, `{"name":"a"}`, `{"id":7}`, `{"id":7.0,"name":"a"}`, ``} {
			var v []byte
			if value != "" {
				v = []byte(value)
			}
			cases = append(cases, batchCase{name: "upsert-json", key: []byte(key), value: v})
		}
	}
	cases = append(cases,
		batchCase{name: "debezium-json", value: []byte(`{"op":"u","after":{"id":1,"name":"a"}}`)},
		batchCase{name: "debezium-json", value: []byte(`{"op":"u","before":{"id":1},"after":{"id":1,"name":"a"}}`)},
		batchCase{name: "debezium-json", value: []byte(`{"op":"u","before":{"name":"x"},"after":{"id":1,"name":"a"}}`)},
		batchCase{name: "debezium-json", value: []byte(`{"op":"d","before":{"id":1}}`)},
		batchCase{name: "debezium-json", value: []byte(`{"op":"d","before":null}`)},
		batchCase{name: "debezium-json", value: []byte(`{"op":"r","after":{"id":1,"name":"a","b":"AAE=","ok":true,"f":3.5e38}}`)},
		batchCase{name: "debezium-json", value: []byte(`{"op":"c","after":{"id":1,"name":"a\u00e9","ts":9223372036854775807}}`)},
		batchCase{name: "debezium-json", value: []byte(`{"schema":null,"payload":null}`)},
		batchCase{name: "debezium-json", value: []byte(`  `)},
		batchCase{name: "json", value: []byte(`{"id":1,"name":"a","i":2147483648}`)},
		batchCase{name: "json", value: []byte(`{"id":1,"name":"a","i":"","amount":"","day":"","ok":""}`)},
		batchCase{name: "json", value: []byte(`{"id":"","name":"a"}`)},
		batchCase{name: "upsert-json", key: []byte(`""`), value: []byte(`{"name":"a"}`)},
		batchCase{name: "upsert-json", key: []byte(`{"id":""}`), value: nil},
		batchCase{name: "json", value: []byte(`{"id":1,"name":"a","day":-2147483649}`)},
		batchCase{name: "json", value: []byte(`{"id":-9223372036854775808,"name":"a"}`)},
		batchCase{name: "json", value: []byte(`{"id":1,"name":null}`)},
		batchCase{name: "json", opts: FormatOptions{UnknownFields: "reject"}, value: []byte(`{"id":1,"name":"a","zz":1}`)},
		batchCase{name: "json", opts: FormatOptions{TimestampUnit: "ms"}, value: []byte(`{"id":1,"name":"a","ts":9223372036854776}`)},
		batchCase{name: "json", opts: FormatOptions{TimestampUnit: "ns"}, value: []byte(`{"id":1,"name":"a","ts":-1}`)},
	)
	for _, c := range cases {
		d.check(c)
	}
	d.finish()
}
