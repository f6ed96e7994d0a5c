package stream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Op is the kind of one exported change.
type Op byte

// Exported change kinds (Debezium's op letters).
const (
	OpInsert Op = 'c'
	OpUpdate Op = 'u'
	OpDelete Op = 'd'
)

// Event is one change of a key between two snapshots, as the export
// publishes it.
type Event struct {
	Op Op
	// Before is the key's row in the older snapshot (nil for an insert),
	// After in the newer one (nil for a delete).
	Before, After types.Row
	// SnapshotID and TimeMillis describe the newer snapshot.
	SnapshotID int64
	TimeMillis int64
}

// Encoder renders events as Kafka records. Implementations are
// deterministic. The built-in encoders write what the decoders of the same
// name read back.
type Encoder interface {
	// Encode returns the record key and value of ev; a nil value is a
	// tombstone.
	Encode(ev Event) (key, value []byte, err error)
}

// Source names the exported table in Debezium's source block.
type Source struct {
	Database, Table string
}

// EncoderFactory builds an Encoder for a table.
type EncoderFactory func(schema *types.Schema, src Source) Encoder

// Encoders returns the built-in encoders by name (a new map every call).
func Encoders() map[string]EncoderFactory {
	return map[string]EncoderFactory{
		"debezium-json": func(s *types.Schema, src Source) Encoder { return &debeziumEncoder{jsonEncoder{s}, src} },
		"upsert-json":   func(s *types.Schema, _ Source) Encoder { return &upsertEncoder{jsonEncoder{s}} },
	}
}

// NewEncoder builds the built-in encoder called name.
func NewEncoder(name string, schema *types.Schema, src Source) (Encoder, error) {
	f, ok := Encoders()[name]
	if !ok {
		var names []string
		for n := range Encoders() {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w: unknown export format %q (want %s)", types.ErrInvalid, name, strings.Join(names, " or "))
	}
	return f(schema, src), nil
}

// jsonEncoder writes rows as JSON objects in schema order. DECIMAL is a
// string (exact), DATE "YYYY-MM-DD", TIMESTAMP RFC 3339 in UTC with
// microseconds, BYTES base64; non-finite floats are the strings "NaN",
// "Infinity" and "-Infinity".
type jsonEncoder struct{ s *types.Schema }

func (e jsonEncoder) object(b *bytes.Buffer, row types.Row, cols []int) error {
	b.WriteByte('{')
	for n, i := range cols {
		if n > 0 {
			b.WriteByte(',')
		}
		f := e.s.Fields[i]
		name, _ := json.Marshal(f.Name)
		b.Write(name)
		b.WriteByte(':')
		var v types.Value
		if i < len(row) {
			v = row[i]
		}
		if err := encodeJSONValue(b, v, f.Type); err != nil {
			return fmt.Errorf("column %q: %w", f.Name, err)
		}
	}
	b.WriteByte('}')
	return nil
}

func (e jsonEncoder) allCols() []int {
	out := make([]int, len(e.s.Fields))
	for i := range out {
		out[i] = i
	}
	return out
}

func (e jsonEncoder) key(row types.Row) ([]byte, error) {
	var b bytes.Buffer
	if err := e.object(&b, row, e.s.KeyIndexes()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeJSONValue(b *bytes.Buffer, v types.Value, t types.DataType) error {
	if v == nil {
		b.WriteString("null")
		return nil
	}
	if err := types.CheckValue(v, t); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float32:
		writeFloat(b, float64(x), 32)
	case float64:
		writeFloat(b, x, 64)
	case types.Decimal:
		b.WriteByte('"')
		b.WriteString(types.FormatDecimal(int64(x), t.Scale))
		b.WriteByte('"')
	case types.Decimal128:
		b.WriteByte('"')
		b.WriteString(types.FormatDecimal128(x, t.Scale))
		b.WriteByte('"')
	case string:
		s, _ := json.Marshal(x)
		b.Write(s)
	case []byte:
		b.WriteByte('"')
		b.WriteString(base64.StdEncoding.EncodeToString(x))
		b.WriteByte('"')
	case types.Date:
		b.WriteByte('"')
		b.WriteString(x.Time().Format("2006-01-02"))
		b.WriteByte('"')
	case types.Timestamp:
		b.WriteByte('"')
		b.WriteString(x.Time().Format("2006-01-02T15:04:05.999999Z07:00"))
		b.WriteByte('"')
	case types.TimestampLTZ, types.TimeOfDay, types.UUID:
		s, _ := json.Marshal(types.FormatValue(x, t))
		b.Write(s)
	case types.List, types.Map, types.Struct:
		return encodeJSONNested(b, v, t)
	default:
		return fmt.Errorf("%w: cannot encode %T", types.ErrInvalid, v)
	}
	return nil
}

// encodeJSONNested writes an ARRAY as a JSON array, a ROW as an object by
// field name, and a MAP as an object when its keys are STRING, otherwise
// as [key, value] pairs (as Kafka Connect's JSON converter writes maps),
// each element encoded as a column value of its type. The sink reads all
// of these forms back into nested columns.
func encodeJSONNested(b *bytes.Buffer, v types.Value, t types.DataType) error {
	switch x := v.(type) {
	case types.List:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeJSONValue(b, e, t.Fields[0].Type); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case types.Struct:
		b.WriteByte('{')
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			b.Write(k)
			b.WriteByte(':')
			if err := encodeJSONValue(b, x[i], f.Type); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case types.Map:
		kt, vt := t.Fields[0].Type, t.Fields[1].Type
		object := kt.Kind == types.String
		if object {
			b.WriteByte('{')
		} else {
			b.WriteByte('[')
		}
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if !object {
				b.WriteByte('[')
			}
			if err := encodeJSONValue(b, e.Key, kt); err != nil {
				return err
			}
			if object {
				b.WriteByte(':')
			} else {
				b.WriteByte(',')
			}
			if err := encodeJSONValue(b, e.Value, vt); err != nil {
				return err
			}
			if !object {
				b.WriteByte(']')
			}
		}
		if object {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	}
	return nil
}

func writeFloat(b *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		b.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		b.WriteString(`"Infinity"`)
	case math.IsInf(f, -1):
		b.WriteString(`"-Infinity"`)
	default:
		b.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	}
}

// debeziumEncoder writes Debezium change events without the schema
// envelope (Kafka Connect's schemas.enable=false): before, after, op,
// ts_ms and a source block naming the table and snapshot. The key is the
// primary key as a JSON object.
type debeziumEncoder struct {
	jsonEncoder
	src Source
}

func (e *debeziumEncoder) Encode(ev Event) ([]byte, []byte, error) {
	keyRow := ev.After
	if keyRow == nil {
		keyRow = ev.Before
	}
	if keyRow == nil {
		return nil, nil, fmt.Errorf("%w: event without rows", types.ErrInvalid)
	}
	key, err := e.key(keyRow)
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"before":`)
	if err := e.image(&b, ev.Before); err != nil {
		return nil, nil, err
	}
	b.WriteString(`,"after":`)
	if err := e.image(&b, ev.After); err != nil {
		return nil, nil, err
	}
	db, _ := json.Marshal(e.src.Database)
	tb, _ := json.Marshal(e.src.Table)
	fmt.Fprintf(&b, `,"source":{"connector":"silt","db":%s,"table":%s,"snapshot_id":%d,"ts_ms":%d},"op":"%c","ts_ms":%d}`,
		db, tb, ev.SnapshotID, ev.TimeMillis, ev.Op, ev.TimeMillis)
	return key, b.Bytes(), nil
}

func (e *debeziumEncoder) image(b *bytes.Buffer, row types.Row) error {
	if row == nil {
		b.WriteString("null")
		return nil
	}
	return e.object(b, row, e.allCols())
}

// upsertEncoder writes upsert-json: key = primary key object, value = the
// row, and a tombstone (null value) for a delete.
type upsertEncoder struct{ jsonEncoder }

func (e *upsertEncoder) Encode(ev Event) ([]byte, []byte, error) {
	if ev.Op == OpDelete {
		if ev.Before == nil {
			return nil, nil, fmt.Errorf("%w: delete without a before row", types.ErrInvalid)
		}
		key, err := e.key(ev.Before)
		return key, nil, err
	}
	if ev.After == nil {
		return nil, nil, fmt.Errorf("%w: upsert without an after row", types.ErrInvalid)
	}
	key, err := e.key(ev.After)
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	if err := e.object(&b, ev.After, e.allCols()); err != nil {
		return nil, nil, err
	}
	return key, b.Bytes(), nil
}
