package table

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

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
)

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
		default:
			return nil, fmt.Errorf("%w: lookup index: column %d holds a value of Go type %T", types.ErrInvalid, i, v)
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
		if len(p) == 0 {
			return bad("truncated row")
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
		switch tag {
		case tagNull:
		case tagFalse, tagTrue:
			row[i] = tag == tagTrue
		case tagInt, tagFloat, tagDate:
			b, ok := fixed(4)
			if !ok {
				return bad("truncated value")
			}
			u := binary.BigEndian.Uint32(b)
			switch tag {
			case tagInt:
				row[i] = int32(u)
			case tagFloat:
				row[i] = math.Float32frombits(u)
			default:
				row[i] = types.Date(int32(u))
			}
		case tagBigInt, tagDouble, tagDecimal, tagTimestamp:
			b, ok := fixed(8)
			if !ok {
				return bad("truncated value")
			}
			u := binary.BigEndian.Uint64(b)
			switch tag {
			case tagBigInt:
				row[i] = int64(u)
			case tagDouble:
				row[i] = math.Float64frombits(u)
			case tagDecimal:
				row[i] = types.Decimal(int64(u))
			default:
				row[i] = types.Timestamp(int64(u))
			}
		case tagString, tagBytes:
			l, n := binary.Uvarint(p)
			if n <= 0 || l > uint64(len(p)-n) {
				return bad("bad string length")
			}
			b := p[n : n+int(l)]
			p = p[n+int(l):]
			if tag == tagString {
				row[i] = string(b)
			} else {
				row[i] = append([]byte{}, b...)
			}
		default:
			return bad(fmt.Sprintf("bad value tag %d", tag))
		}
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
