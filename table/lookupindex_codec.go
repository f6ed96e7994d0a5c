package table

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// The lookup index's Pebble layout (format version lookupIndexVersion):
//
//	"m"                                      meta: the snapshot the content is current at
//	"r" uvarint(len(p)) p uvarint(bucket) k  the merged record of key k in (partition p, bucket)
//
// k is the types key encoding of the primary key, so one bucket's records
// sort in key order under their (partition, bucket) prefix. A record value
// is
//
//	version byte, kind byte, flags byte (1 Reset, 2 Merged), seq varint,
//	uvarint column count, then per column a tag byte and its payload:
//	0 NULL, 1 false, 2 true, 3 INT (4 bytes), 4 BIGINT (8), 5 FLOAT (4),
//	6 DOUBLE (8), 7 DECIMAL (8), 8 STRING and 9 BYTES (uvarint length,
//	bytes), 10 DATE (4), 11 TIMESTAMP (8); fixed widths big-endian.
//
// The index is a cache that is rebuilt from the table whenever anything
// about it is off, so there is no upgrade path: a value or meta of another
// version is treated as corruption and the index is rebuilt.
const lookupIndexVersion = 1

var metaKey = []byte("m")

const recordPrefix = 'r'

const (
	flagReset  = 1
	flagMerged = 2
)

const (
	tagNull = iota
	tagFalse
	tagTrue
	tagInt
	tagBigInt
	tagFloat
	tagDouble
	tagDecimal
	tagString
	tagBytes
	tagDate
	tagTimestamp
	// Tags of the column types added after the index's first version;
	// an older build reads them as a damaged index and rebuilds it.
	tagDecimal128
	tagTime
	tagTimestampLTZ
	tagUUID
	tagList   // uvarint count, then the elements
	tagMap    // uvarint count, then key and value of each entry
	tagStruct // uvarint count, then the fields
)

// maxValueDepth bounds the nesting of a decoded value.
const maxValueDepth = 64

// bucketPrefix is the Pebble key prefix of one (partition, bucket).
func bucketPrefix(dst []byte, partition string, bucket int) []byte {
	dst = append(dst, recordPrefix)
	dst = binary.AppendUvarint(dst, uint64(len(partition)))
	dst = append(dst, partition...)
	return binary.AppendUvarint(dst, uint64(bucket))
}

// recordKey is the Pebble key of one primary key in one (partition, bucket).
func recordKey(dst []byte, partition string, bucket int, key []byte) []byte {
	return append(bucketPrefix(dst, partition, bucket), key...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// encodeRecord appends the value encoding of r (its key is in the Pebble
// key, not here).
func encodeRecord(dst []byte, r *lsm.Record) ([]byte, error) {
	var flags byte
	if r.Reset {
		flags |= flagReset
	}
	if r.Merged {
		flags |= flagMerged
	}
	dst = append(dst, lookupIndexVersion, byte(r.Kind), flags)
	dst = binary.AppendVarint(dst, r.Seq)
	dst = binary.AppendUvarint(dst, uint64(len(r.Row)))
	for i, v := range r.Row {
		var err error
		if dst, err = encodeValue(dst, v); err != nil {
			return nil, fmt.Errorf("%w: lookup index: column %d holds a value of Go type %T", types.ErrInvalid, i, v)
		}
	}
	return dst, nil
}

// encodeValue appends the tagged encoding of one value.
func encodeValue(dst []byte, v types.Value) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		dst = append(dst, tagNull)
	case bool:
		if x {
			dst = append(dst, tagTrue)
		} else {
			dst = append(dst, tagFalse)
		}
	case int32:
		dst = binary.BigEndian.AppendUint32(append(dst, tagInt), uint32(x))
	case int64:
		dst = binary.BigEndian.AppendUint64(append(dst, tagBigInt), uint64(x))
	case float32:
		dst = binary.BigEndian.AppendUint32(append(dst, tagFloat), math.Float32bits(x))
	case float64:
		dst = binary.BigEndian.AppendUint64(append(dst, tagDouble), math.Float64bits(x))
	case types.Decimal:
		dst = binary.BigEndian.AppendUint64(append(dst, tagDecimal), uint64(x))
	case string:
		dst = append(binary.AppendUvarint(append(dst, tagString), uint64(len(x))), x...)
	case []byte:
		dst = append(binary.AppendUvarint(append(dst, tagBytes), uint64(len(x))), x...)
	case types.Date:
		dst = binary.BigEndian.AppendUint32(append(dst, tagDate), uint32(x))
	case types.Timestamp:
		dst = binary.BigEndian.AppendUint64(append(dst, tagTimestamp), uint64(x))
	case types.Decimal128:
		n := x.Num()
		dst = binary.BigEndian.AppendUint64(append(dst, tagDecimal128), uint64(n.HighBits()))
		dst = binary.BigEndian.AppendUint64(dst, n.LowBits())
	case types.TimeOfDay:
		dst = binary.BigEndian.AppendUint64(append(dst, tagTime), uint64(x))
	case types.TimestampLTZ:
		dst = binary.BigEndian.AppendUint64(append(dst, tagTimestampLTZ), uint64(x))
	case types.UUID:
		dst = append(append(dst, tagUUID), x[:]...)
	case types.List:
		return encodeValues(binary.AppendUvarint(append(dst, tagList), uint64(len(x))), x)
	case types.Struct:
		return encodeValues(binary.AppendUvarint(append(dst, tagStruct), uint64(len(x))), x)
	case types.Map:
		dst = binary.AppendUvarint(append(dst, tagMap), uint64(len(x)))
		for _, e := range x {
			var err error
			if dst, err = encodeValue(dst, e.Key); err != nil {
				return nil, err
			}
			if dst, err = encodeValue(dst, e.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%w: Go type %T", types.ErrInvalid, v)
	}
	return dst, nil
}

func encodeValues(dst []byte, vs []types.Value) ([]byte, error) {
	for _, e := range vs {
		var err error
		if dst, err = encodeValue(dst, e); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// decodeRecord decodes a record value. cols, when >= 0, is the column count
// the index's schema requires. Any malformation wraps types.ErrCorruption.
func decodeRecord(key, val []byte, cols int) (lsm.Record, error) {
	bad := func(what string) (lsm.Record, error) {
		return lsm.Record{}, fmt.Errorf("%w: lookup index record: %s", types.ErrCorruption, what)
	}
	if len(val) < 3 {
		return bad("truncated header")
	}
	if val[0] != lookupIndexVersion {
		return bad(fmt.Sprintf("format version %d, want %d", val[0], lookupIndexVersion))
	}
	kind := types.RowKind(val[1])
	if !kind.Valid() {
		return bad(fmt.Sprintf("bad row kind %d", val[1]))
	}
	flags := val[2]
	if flags&^(flagReset|flagMerged) != 0 {
		return bad(fmt.Sprintf("bad flags %#x", flags))
	}
	p := val[3:]
	seq, n := binary.Varint(p)
	if n <= 0 {
		return bad("bad sequence number")
	}
	p = p[n:]
	count, n := binary.Uvarint(p)
	if n <= 0 || count > uint64(len(p)) { // every column takes at least one byte
		return bad("bad column count")
	}
	p = p[n:]
	if cols >= 0 && count != uint64(cols) {
		return bad(fmt.Sprintf("%d columns, the schema has %d", count, cols))
	}
	row := make(types.Row, count)
	for i := range row {
		v, rest, err := decodeValue(p, 0)
		if err != nil {
			return bad(err.Error())
		}
		row[i], p = v, rest
	}
	if len(p) != 0 {
		return bad(fmt.Sprintf("%d trailing bytes", len(p)))
	}
	return lsm.Record{
		Key:    append([]byte(nil), key...),
		Seq:    seq,
		Kind:   kind,
		Row:    row,
		Merged: flags&flagMerged != 0,
		Reset:  flags&flagReset != 0,
	}, nil
}

// indexMeta is the meta value: which table content the records are.
type indexMeta struct {
	Version int `json:"version"`
	// Schema is the fingerprint of the schema the rows are in (see
	// schemaFingerprint) and SchemaID its id.
	Schema   string `json:"schema"`
	SchemaID int64  `json:"schemaId"`
	// Snapshot is the snapshot the content is current at, in its manifest
	// encoding: it lets a read pinned to it skip the store.
	Snapshot []byte `json:"snapshot"`
}

func encodeMeta(fp string, schemaID int64, s *manifest.Snapshot) ([]byte, error) {
	sb, err := manifest.EncodeSnapshot(s)
	if err != nil {
		return nil, err
	}
	return json.Marshal(indexMeta{Version: lookupIndexVersion, Schema: fp, SchemaID: schemaID, Snapshot: sb})
}

// decodeMeta decodes a meta value; any malformation wraps
// types.ErrCorruption.
func decodeMeta(b []byte) (indexMeta, *manifest.Snapshot, error) {
	var m indexMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return indexMeta{}, nil, fmt.Errorf("%w: lookup index meta: %v", types.ErrCorruption, err)
	}
	if m.Version != lookupIndexVersion {
		return indexMeta{}, nil, fmt.Errorf("%w: lookup index meta: format version %d, want %d", types.ErrCorruption, m.Version, lookupIndexVersion)
	}
	if m.Schema == "" {
		return indexMeta{}, nil, fmt.Errorf("%w: lookup index meta: no schema fingerprint", types.ErrCorruption)
	}
	s, err := manifest.DecodeSnapshot(m.Snapshot)
	if err != nil {
		return indexMeta{}, nil, fmt.Errorf("%w: lookup index meta: %w", types.ErrCorruption, err)
	}
	return m, s, nil
}

// decodeValue decodes one tagged value from p and returns the rest; an
// error describes the malformation (the caller wraps it as corruption).
func decodeValue(p []byte, depth int) (types.Value, []byte, error) {
	if len(p) == 0 {
		return nil, nil, errors.New("truncated row")
	}
	tag := p[0]
	p = p[1:]
	fixed := func(w int) ([]byte, bool) {
		if len(p) < w {
			return nil, false
		}
		b := p[:w]
		p = p[w:]
		return b, true
	}
	truncated := errors.New("truncated value")
	switch tag {
	case tagNull:
		return nil, p, nil
	case tagFalse, tagTrue:
		return tag == tagTrue, p, nil
	case tagInt, tagFloat, tagDate:
		b, ok := fixed(4)
		if !ok {
			return nil, nil, truncated
		}
		u := binary.BigEndian.Uint32(b)
		switch tag {
		case tagInt:
			return int32(u), p, nil
		case tagFloat:
			return math.Float32frombits(u), p, nil
		}
		return types.Date(int32(u)), p, nil
	case tagBigInt, tagDouble, tagDecimal, tagTimestamp, tagTime, tagTimestampLTZ:
		b, ok := fixed(8)
		if !ok {
			return nil, nil, truncated
		}
		u := binary.BigEndian.Uint64(b)
		switch tag {
		case tagBigInt:
			return int64(u), p, nil
		case tagDouble:
			return math.Float64frombits(u), p, nil
		case tagDecimal:
			return types.Decimal(int64(u)), p, nil
		case tagTime:
			return types.TimeOfDay(int64(u)), p, nil
		case tagTimestampLTZ:
			return types.TimestampLTZ(int64(u)), p, nil
		}
		return types.Timestamp(int64(u)), p, nil
	case tagDecimal128, tagUUID:
		b, ok := fixed(16)
		if !ok {
			return nil, nil, truncated
		}
		if tag == tagUUID {
			return types.UUID(b), p, nil
		}
		return types.Decimal128(decimal128.New(int64(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint64(b[8:]))), p, nil
	case tagString, tagBytes:
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return nil, nil, errors.New("bad string length")
		}
		b := p[n : n+int(l)]
		p = p[n+int(l):]
		if tag == tagString {
			return string(b), p, nil
		}
		return append([]byte{}, b...), p, nil
	case tagList, tagStruct, tagMap:
		if depth >= maxValueDepth {
			return nil, nil, errors.New("value nested too deep")
		}
		cnt, n := binary.Uvarint(p)
		if n <= 0 || cnt > uint64(len(p)-n) { // every value takes at least one byte
			return nil, nil, errors.New("bad element count")
		}
		p = p[n:]
		if tag == tagMap {
			m := make(types.Map, cnt)
			for j := range m {
				var err error
				if m[j].Key, p, err = decodeValue(p, depth+1); err != nil {
					return nil, nil, err
				}
				if m[j].Value, p, err = decodeValue(p, depth+1); err != nil {
					return nil, nil, err
				}
			}
			return m, p, nil
		}
		vs := make([]types.Value, cnt)
		for j := range vs {
			var err error
			if vs[j], p, err = decodeValue(p, depth+1); err != nil {
				return nil, nil, err
			}
		}
		if tag == tagList {
			return types.List(vs), p, nil
		}
		return types.Struct(vs), p, nil
	}
	return nil, nil, fmt.Errorf("bad value tag %d", tag)
}
