package stream

import (
	"bytes"
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/siltdb/silt/types"
)

// The fast paths of the built-in JSON formats into a changeBuilder. Each
// mirrors its format's Decode step by step, but never reports an error:
// wherever Decode would reject the record, or a value needs a rule the
// fast path does not implement, it gives up (ok=false) and the caller
// decodes the record with Decode. See format_batch.go.

// fastValue converts one JSON value (no surrounding space; the record is
// valid JSON and UTF-8) to column type t the way rowCodec.value does, for
// the common cases; ok=false leaves the value to rowCodec.value.
func (c *rowCodec) fastValue(raw []byte, t types.DataType, h fieldHint, out *cell, buf *[]byte) bool {
	*out = cell{}
	if string(raw) == "null" {
		return true
	}
	switch raw[0] {
	case '"':
		body := raw[1 : len(raw)-1]
		if bytes.IndexByte(body, '\\') >= 0 {
			return false
		}
		switch t.Kind {
		case types.String:
			out.valid, out.b = true, body
			return true
		case types.Bytes:
			start := len(*buf)
			*buf = append(*buf, make([]byte, base64.StdEncoding.DecodedLen(len(body)))...)
			n, err := base64.StdEncoding.Decode((*buf)[start:], body)
			if err != nil {
				*buf = (*buf)[:start]
				return false
			}
			*buf = (*buf)[:start+n]
			out.valid, out.b = true, (*buf)[start:start+n:start+n]
			return true
		case types.DecimalKind:
			if h.logical == "org.apache.kafka.connect.data.Decimal" {
				return fastConnectDecimal(body, h.scale, t, out)
			}
			// decimal.handling.mode=string: types.ParseDecimal of the
			// text, which agrees with fastDecimal on this grammar.
			return plainDecimal(body) && fastDecimal(body, t, out)
		case types.Int, types.BigInt:
			// types.ParseText: strconv.ParseInt of the text.
			n, ok := jsonInt(body)
			if !ok || (t.Kind == types.Int && (n < math.MinInt32 || n > math.MaxInt32)) {
				return false
			}
			out.valid, out.i = true, n
			return true
		case types.DateKind:
			return fastDate(body, out)
		case types.Boolean:
			switch string(body) {
			case "true":
				out.valid, out.i = true, 1
				return true
			case "false":
				out.valid = true
				return true
			}
		}
		return false
	case 't', 'f':
		if t.Kind != types.Boolean {
			return false
		}
		out.valid = true
		if raw[0] == 't' {
			out.i = 1
		}
		return true
	case '{', '[':
		return false
	}
	switch t.Kind {
	case types.Int, types.BigInt, types.DateKind:
		n, ok := jsonInt(raw)
		if !ok || (t.Kind != types.BigInt && (n < math.MinInt32 || n > math.MaxInt32)) {
			return false
		}
		out.valid, out.i = true, n
		return true
	case types.TimestampKind, types.TimestampLTZKind:
		n, ok := jsonInt(raw)
		if !ok {
			return false
		}
		switch c.unitOf(h) {
		case "ms":
			if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
				return false
			}
			n *= 1000
		case "ns":
			q := n / 1000
			if n%1000 < 0 {
				q--
			}
			n = q
		}
		out.valid, out.i = true, n
		return true
	case types.Float, types.Double:
		// The string does not outlive the call when parsing succeeds.
		f, err := strconv.ParseFloat(unsafe.String(&raw[0], len(raw)), 64)
		if err != nil {
			return false
		}
		if t.Kind == types.Float {
			if math.IsInf(float64(float32(f)), 0) && !math.IsInf(f, 0) {
				return false
			}
			f = float64(float32(f))
		}
		out.valid, out.f = true, f
		return true
	case types.DecimalKind:
		return fastDecimal(raw, t, out)
	}
	return false
}

// jsonInt parses a JSON number that is a plain integer (no fraction, no
// exponent) as strconv.ParseInt does; ok=false otherwise or on overflow.
func jsonInt(raw []byte) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	neg := raw[0] == '-'
	d := raw
	if neg {
		d = raw[1:]
	}
	if len(d) == 0 || len(d) > 19 {
		return 0, false
	}
	var u uint64
	for _, ch := range d {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		u = u*10 + uint64(ch-'0')
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	case neg && u <= 1<<63:
		return int64(-u), true // -(1<<63) wraps to MinInt64
	}
	return 0, false
}

// plainDecimal says whether b is -?[0-9]+(\.[0-9]+)?.
func plainDecimal(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	if i == len(b) {
		return true
	}
	if b[i] != '.' || i+1 == len(b) {
		return false
	}
	for _, c := range b[i+1:] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// fastDate parses YYYY-MM-DD as types.ParseDate (time.Parse with layout
// 2006-01-02) does, to days since 1970-01-01.
func fastDate(b []byte, out *cell) bool {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return false
	}
	num := func(d []byte) (int, bool) {
		n := 0
		for _, c := range d {
			if !isDigit(c) {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[:4])
	m, ok2 := num(b[5:7])
	d, ok3 := num(b[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return false
	}
	mdays := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		mdays = 29
	}
	if d > mdays {
		return false
	}
	out.valid, out.i = true, time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix()/86400
	return true
}

// pow10 holds 10^0..10^18.
var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// digitCount is the number of decimal digits of u (1 for 0).
func digitCount(u uint64) int {
	n := 1
	for n < len(pow10) && u >= pow10[n] {
		n++
	}
	if n == len(pow10) && u >= 1e18 {
		n = 19
		if u >= 1e19 {
			n = 20
		}
	}
	return n
}

// fastDecimal converts a plain JSON number (no exponent) to DECIMAL t as
// types.ParseDecimal does, when it fits without question.
func fastDecimal(raw []byte, t types.DataType, out *cell) bool {
	neg := raw[0] == '-'
	d := raw
	if neg {
		d = raw[1:]
	}
	intPart, frac := d, []byte(nil)
	if i := bytes.IndexByte(d, '.'); i >= 0 {
		intPart, frac = d[:i], d[i+1:]
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > t.Scale {
		return false
	}
	var u uint64
	sig := 0 // significant digits so far (leading zeros are not)
	add := func(ch byte) bool {
		if ch < '0' || ch > '9' {
			return false
		}
		if sig == 0 && ch == '0' {
			return true
		}
		sig++
		if sig > 18 || sig > t.Precision {
			return false
		}
		u = u*10 + uint64(ch-'0')
		return true
	}
	for _, ch := range intPart {
		if !add(ch) {
			return false
		}
	}
	for _, ch := range frac {
		if !add(ch) {
			return false
		}
	}
	for i := len(frac); i < t.Scale; i++ {
		if !add('0') {
			return false
		}
	}
	out.valid, out.i = true, int64(u)
	if neg {
		out.i = -out.i
	}
	return true
}

// fastConnectDecimal decodes Kafka Connect's Decimal (base64 of the
// unscaled big-endian two's complement at scale) to DECIMAL t as
// connectDecimal does, for unscaled values of up to 8 bytes.
func fastConnectDecimal(body []byte, scale int, t types.DataType, out *cell) bool {
	if len(body) == 0 || len(body) > 12 || scale < 0 || scale > 38 {
		return false
	}
	var b [9]byte
	n, err := base64.StdEncoding.Decode(b[:], body)
	if err != nil || n == 0 || n > 8 {
		return false
	}
	var v int64
	if b[0]&0x80 != 0 {
		v = -1
	}
	for _, x := range b[:n] {
		v = v<<8 | int64(x)
	}
	if v == math.MinInt64 {
		return false
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	switch diff := t.Scale - scale; {
	case diff >= 0:
		if digitCount(u)+diff > 18 {
			return false
		}
		u *= pow10[diff]
	default:
		if -diff >= len(pow10) || u%pow10[-diff] != 0 {
			return false
		}
		u /= pow10[-diff]
	}
	if digitCount(u) > t.Precision {
		return false
	}
	out.valid, out.i = true, int64(u)
	if neg {
		out.i = -out.i
	}
	return true
}

// valueCell converts a Value of column type t to a cell; ok=false when the
// value would fail the table's check (types.CheckValue).
func valueCell(v types.Value, t types.DataType, out *cell) bool {
	*out = cell{}
	if v == nil {
		return true
	}
	if types.CheckValue(v, t) != nil {
		return false
	}
	out.valid = true
	switch x := v.(type) {
	case bool:
		if x {
			out.i = 1
		}
	case int32:
		out.i = int64(x)
	case int64:
		out.i = x
	case float32:
		out.f = float64(x)
	case float64:
		out.f = x
	case types.Decimal:
		out.i = int64(x)
	case string:
		out.b = []byte(x)
	case []byte:
		out.b = x
	case types.Date:
		out.i = int64(x)
	case types.Timestamp:
		out.i = int64(x)
	case types.TimestampLTZ:
		out.i = int64(x)
	case types.TimeOfDay:
		out.i = int64(x)
	case types.UUID:
		out.b = append([]byte(nil), x[:]...)
	case types.List, types.Map, types.Struct:
		out.v = x
	default:
		return false
	}
	return true
}

// cellsFrom is rowFrom into the scratch row cells: the members of the
// object s is at, converted in column order, checked as check does.
func (c *rowCodec) cellsFrom(s *jsonScan, hints []fieldHint, add bool, cells []cell, buf *[]byte, memo *keyMemo) bool {
	n := len(c.schema.Fields)
	var stack [maxStackColumns][]byte
	var raws [][]byte
	if n <= maxStackColumns {
		raws = stack[:n]
	} else {
		raws = make([][]byte, n)
	}
	if s.open() != nil {
		return false
	}
	m := memo.reset(c)
	key, esc, val, ok, err := s.member(true)
	for j := 0; ok && err == nil; key, esc, val, ok, err = s.next() {
		idx := m.column(c, j, key, esc)
		j++
		if idx < 0 {
			if c.opts.UnknownFields == "reject" {
				return false
			}
			continue
		}
		raws[idx] = val
	}
	if err != nil || s.end() != nil {
		return false
	}
	for idx, raw := range raws {
		if raw == nil {
			cells[idx] = cell{}
			continue
		}
		var h fieldHint
		if hints != nil {
			h = hints[idx]
		}
		t := c.schema.Fields[idx].Type
		if !c.fastValue(raw, t, h, &cells[idx], buf) {
			v, err := c.columnValue(raw, idx, h)
			if err != nil || !valueCell(v, t, &cells[idx]) {
				return false
			}
		}
	}
	for _, k := range c.keyIdx {
		if !cells[k].valid {
			return false
		}
	}
	if add {
		for i, f := range c.schema.Fields {
			if f.NotNull && !cells[i].valid {
				return false
			}
		}
	}
	return true
}

// keyMemo remembers the columns of the member keys of the last objects
// by position: the images of a topic's records repeat their keys in the
// same order, so a key is usually found by one comparison instead of
// folding its case and hashing it.
type keyMemo struct {
	c    *rowCodec
	keys []memoKey
}

type memoKey struct {
	key []byte
	idx int
}

// maxMemoKeys bounds the keys remembered per object.
const maxMemoKeys = 64

func (m *keyMemo) reset(c *rowCodec) *keyMemo {
	if m.c != c {
		m.c, m.keys = c, m.keys[:0]
	}
	return m
}

// column is c.column(key, esc) for the j-th member of an object.
func (m *keyMemo) column(c *rowCodec, j int, key []byte, esc bool) int {
	if !esc && j < len(m.keys) && bytes.Equal(m.keys[j].key, key) {
		return m.keys[j].idx
	}
	idx, _ := c.column(key, esc)
	if !esc && j < maxMemoKeys {
		for len(m.keys) <= j {
			m.keys = append(m.keys, memoKey{idx: -1})
		}
		m.keys[j] = memoKey{key: append(m.keys[j].key[:0], key...), idx: idx}
	}
	return idx
}

func (f *appendJSON) codec() *rowCodec   { return f.c }
func (f *upsertJSON) codec() *rowCodec   { return f.c }
func (f *debeziumJSON) codec() *rowCodec { return f.c }

func (f *appendJSON) decodeFast(b *changeBuilder, _, value []byte) (int, bool) {
	if value == nil {
		return 0, false
	}
	s, err := objectScan("the value", value)
	if err != nil {
		return 0, false
	}
	b.reset()
	if !f.c.cellsFrom(&s, nil, true, b.scratch[0], &b.buf, &b.memo) {
		return 0, false
	}
	b.commit(0, types.Insert)
	return 1, true
}

// decodeFast handles upsert-json records whose Kafka key is a JSON object
// of key columns or a bare scalar (an enveloped key goes to Decode).
func (f *upsertJSON) decodeFast(b *changeBuilder, key, value []byte) (int, bool) {
	key = bytes.TrimSpace(key)
	if len(key) == 0 || len(key) > maxRecordBytes {
		return 0, false
	}
	b.reset()
	kc, vc := b.scratch[0], b.scratch[1]
	if key[0] == '{' {
		ks, err := objectScan("the Kafka key", key)
		if err != nil || !f.keyCells(&ks, kc, &b.buf) {
			return 0, false
		}
	} else {
		if len(f.c.keyIdx) != 1 {
			return 0, false
		}
		ks := jsonScan{data: key}
		if !utf8.Valid(key) || ks.value() != nil || ks.end() != nil {
			return 0, false
		}
		for i := range kc {
			kc[i] = cell{}
		}
		k := f.c.keyIdx[0]
		if !f.c.fastValue(key, f.c.schema.Fields[k].Type, fieldHint{}, &kc[k], &b.buf) || !kc[k].valid {
			return 0, false
		}
	}
	if value == nil {
		b.commit(0, types.Delete)
		return 1, true
	}
	vs, err := objectScan("the value", value)
	if err != nil || !f.c.cellsFrom(&vs, nil, false, vc, &b.buf, &b.memo) {
		// cellsFrom also gives up on a value without its key columns,
		// which Decode fills from the Kafka key: Decode handles it.
		return 0, false
	}
	for _, k := range f.c.keyIdx {
		if !sameCell(kc[k], vc[k]) {
			return 0, false
		}
	}
	for i, fl := range f.c.schema.Fields {
		if fl.NotNull && !vc[i].valid {
			return 0, false
		}
	}
	b.commit(1, types.UpdateAfter)
	return 1, true
}

// keyCells is keyRow into cells: the key columns of a key object that is
// not a schema envelope.
func (f *upsertJSON) keyCells(s *jsonScan, cells []cell, buf *[]byte) bool {
	c := f.c
	var raws [maxStackColumns][]byte
	n := len(c.schema.Fields)
	if n > maxStackColumns || s.open() != nil {
		return false
	}
	key, esc, val, ok, err := s.member(true)
	for ; ok && err == nil; key, esc, val, ok, err = s.next() {
		if keyIs(key, esc, "payload") || keyIs(key, esc, "schema") {
			return false // maybe an envelope: Decode unwraps it
		}
		idx, _ := c.column(key, esc)
		if idx < 0 {
			if c.opts.UnknownFields == "reject" {
				return false
			}
			continue
		}
		if c.isKey(idx) {
			if raws[idx] != nil {
				return false // a key column twice: Decode's map keeps either
			}
			raws[idx] = val
		}
	}
	if err != nil || s.end() != nil {
		return false
	}
	for i := range cells[:n] {
		cells[i] = cell{}
	}
	for _, k := range c.keyIdx {
		raw := raws[k]
		if raw == nil || !c.fastValue(raw, c.schema.Fields[k].Type, fieldHint{}, &cells[k], buf) || !cells[k].valid {
			return false
		}
	}
	return true
}

// sameCell says whether two cells hold the same value, bit for bit.
func sameCell(a, b cell) bool {
	return a.valid == b.valid && a.i == b.i && math.Float64bits(a.f) == math.Float64bits(b.f) && bytes.Equal(a.b, b.b)
}

func (f *debeziumJSON) decodeFast(b *changeBuilder, _, value []byte) (int, bool) {
	if value == nil || len(bytes.TrimSpace(value)) == 0 {
		return 0, true // tombstone
	}
	top, err := objectScan("the value", value)
	if err != nil {
		return 0, false
	}
	var m, pm dbzMembers
	m.known = f.last.Load()
	if m.read(&top, &pm) != nil {
		return 0, false
	}
	var hints []fieldHint
	if m.payload != nil && m.op == nil {
		if isNullValue(m.payload) {
			return 0, true // an enveloped tombstone
		}
		if m.payload[0] != '{' {
			return 0, false
		}
		schema, known, schemaKnown := m.schema, m.known, m.schemaKnown
		m = pm
		if schema != nil && !isNullValue(schema) {
			var env *envelope
			var cols []fieldHint
			if schemaKnown {
				env, cols = known.env, known.cols
			} else {
				env, cols = f.envelope(schema)
				if schema[0] == '{' {
					f.last.Store(&knownSchema{bytes.Clone(schema), cachedEnvelope{env, cols}})
				}
			}
			if env.problem != nil || len(env.newCols) > 0 {
				return 0, false
			}
			hints = cols
		}
	}
	op, ok := debeziumOp(m.op)
	if !ok {
		return 0, false
	}
	b.reset()
	// image converts an image into scratch slot; present=false for a
	// missing or null image.
	image := func(raw []byte, slot int, add bool) (present, ok bool) {
		if isNullValue(raw) {
			return false, true
		}
		if raw[0] != '{' {
			return false, false
		}
		is := jsonScan{data: raw}
		return true, f.c.cellsFrom(&is, hints, add, b.scratch[slot], &b.buf, &b.memo)
	}
	switch op {
	case "c", "r":
		if present, ok := image(m.after, 0, true); !present || !ok {
			return 0, false
		}
		b.commit(0, types.Insert)
		return 1, true
	case "u":
		hasBefore, ok := image(m.before, 0, false)
		if !ok {
			return 0, false
		}
		if present, ok := image(m.after, 1, true); !present || !ok {
			return 0, false
		}
		if hasBefore {
			b.commit(0, types.UpdateBefore)
		}
		b.commit(1, types.UpdateAfter)
		if hasBefore {
			return 2, true
		}
		return 1, true
	case "d":
		if present, ok := image(m.before, 0, false); !present || !ok {
			return 0, false
		}
		b.commit(0, types.Delete)
		return 1, true
	}
	return 0, false
}
