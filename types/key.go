package types

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/cespare/xxhash/v2"
)

// Key encoding: an order-preserving, self-delimiting byte encoding of a tuple
// of non-NULL key values. bytes.Compare on two encodings of tuples of the same
// types orders them like Compare applied column by column. The encoding is
// part of the on-storage format (it is stored in data files, in manifests as
// min/max keys, and hashed to choose buckets): never change it without a
// format version bump.
//
//	tag byte (the Kind), then
//	BOOLEAN          1 byte 0/1
//	INT, DATE        4 bytes big-endian, sign bit flipped
//	BIGINT, DECIMAL,
//	TIMESTAMP        8 bytes big-endian, sign bit flipped
//	STRING, BYTES    bytes with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01
//	TIME,
//	TIMESTAMP_LTZ    8 bytes big-endian, sign bit flipped
//	UUID             the 16 bytes
//	DECIMAL, p > 18  tag keyTagDecimal128, then 16 bytes big-endian (high
//	                 64 bits with the sign bit flipped, then the low 64)
//
// ARRAY, MAP and ROW values cannot be key values. The encodings of the
// types of format version 1 never change.

// keyTagDecimal128 is the tag of a 128-bit DECIMAL key value. It is not a
// Kind: DECIMAL keys of precision <= 18 keep the tag DecimalKind and their
// 8 bytes, so the keys of existing tables encode as they always did.
const keyTagDecimal128 = 0x80 | byte(DecimalKind)

// EncodeKey appends the encoding of vals to dst.
func EncodeKey(dst []byte, vals ...Value) ([]byte, error) {
	for _, v := range vals {
		var err error
		if dst, err = encodeKeyValue(dst, v); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// EncodeRowKey encodes the values of r at the given column positions.
func EncodeRowKey(dst []byte, r Row, idx []int) ([]byte, error) {
	for _, i := range idx {
		var err error
		if dst, err = encodeKeyValue(dst, r[i]); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func encodeKeyValue(dst []byte, v Value) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, fmt.Errorf("%w: NULL in primary key", ErrInvalid)
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		return append(dst, byte(Boolean), b), nil
	case int32:
		return binary.BigEndian.AppendUint32(append(dst, byte(Int)), uint32(x)^(1<<31)), nil
	case Date:
		return binary.BigEndian.AppendUint32(append(dst, byte(DateKind)), uint32(x)^(1<<31)), nil
	case int64:
		return binary.BigEndian.AppendUint64(append(dst, byte(BigInt)), uint64(x)^(1<<63)), nil
	case Decimal:
		return binary.BigEndian.AppendUint64(append(dst, byte(DecimalKind)), uint64(x)^(1<<63)), nil
	case Timestamp:
		return binary.BigEndian.AppendUint64(append(dst, byte(TimestampKind)), uint64(x)^(1<<63)), nil
	case string:
		return appendEscaped(append(dst, byte(String)), []byte(x)), nil
	case []byte:
		return appendEscaped(append(dst, byte(Bytes)), x), nil
	case TimeOfDay:
		return binary.BigEndian.AppendUint64(append(dst, byte(TimeKind)), uint64(x)^(1<<63)), nil
	case TimestampLTZ:
		return binary.BigEndian.AppendUint64(append(dst, byte(TimestampLTZKind)), uint64(x)^(1<<63)), nil
	case UUID:
		return append(append(dst, byte(UUIDKind)), x[:]...), nil
	case Decimal128:
		n := x.Num()
		dst = binary.BigEndian.AppendUint64(append(dst, keyTagDecimal128), uint64(n.HighBits())^(1<<63))
		return binary.BigEndian.AppendUint64(dst, n.LowBits()), nil
	case float32, float64:
		return nil, fmt.Errorf("%w: floating-point values cannot be key values", ErrInvalid)
	case List, Map, Struct:
		return nil, fmt.Errorf("%w: ARRAY, MAP and ROW values cannot be key values", ErrInvalid)
	}
	return nil, fmt.Errorf("%w: unsupported key value of Go type %T", ErrInvalid, v)
}

func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		if c == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0, 1)
}

// DecodeKey decodes a key encoding back into values.
func DecodeKey(enc []byte) ([]Value, error) {
	var out []Value
	for len(enc) > 0 {
		rawTag := enc[0]
		tag := Kind(rawTag)
		enc = enc[1:]
		need := func(n int) error {
			if len(enc) < n {
				return fmt.Errorf("%w: truncated key encoding", ErrCorruption)
			}
			return nil
		}
		switch tag {
		case Boolean:
			if err := need(1); err != nil {
				return nil, err
			}
			if enc[0] > 1 {
				return nil, fmt.Errorf("%w: bad BOOLEAN byte %#x in key encoding", ErrCorruption, enc[0])
			}
			out = append(out, enc[0] == 1)
			enc = enc[1:]
		case Int, DateKind:
			if err := need(4); err != nil {
				return nil, err
			}
			u := int32(binary.BigEndian.Uint32(enc) ^ (1 << 31))
			if tag == Int {
				out = append(out, u)
			} else {
				out = append(out, Date(u))
			}
			enc = enc[4:]
		case BigInt, DecimalKind, TimestampKind:
			if err := need(8); err != nil {
				return nil, err
			}
			u := int64(binary.BigEndian.Uint64(enc) ^ (1 << 63))
			switch tag {
			case BigInt:
				out = append(out, u)
			case DecimalKind:
				out = append(out, Decimal(u))
			default:
				out = append(out, Timestamp(u))
			}
			enc = enc[8:]
		case String, Bytes:
			var b []byte
			done := false
		scan:
			for i := 0; i < len(enc); i++ {
				if enc[i] != 0 {
					b = append(b, enc[i])
					continue
				}
				if i+1 >= len(enc) {
					return nil, fmt.Errorf("%w: truncated key string", ErrCorruption)
				}
				switch enc[i+1] {
				case 0xFF:
					b = append(b, 0)
					i++
				case 1:
					enc = enc[i+2:]
					done = true
					break scan
				default:
					return nil, fmt.Errorf("%w: bad escape in key string", ErrCorruption)
				}
			}
			if !done {
				return nil, fmt.Errorf("%w: unterminated key string", ErrCorruption)
			}
			if tag == String {
				out = append(out, string(b))
			} else {
				if b == nil {
					b = []byte{}
				}
				out = append(out, b)
			}
		case TimeKind, TimestampLTZKind:
			if err := need(8); err != nil {
				return nil, err
			}
			u := int64(binary.BigEndian.Uint64(enc) ^ (1 << 63))
			if tag == TimeKind {
				out = append(out, TimeOfDay(u))
			} else {
				out = append(out, TimestampLTZ(u))
			}
			enc = enc[8:]
		case UUIDKind:
			if err := need(16); err != nil {
				return nil, err
			}
			var u UUID
			copy(u[:], enc)
			out = append(out, u)
			enc = enc[16:]
		default:
			if rawTag != keyTagDecimal128 {
				return nil, fmt.Errorf("%w: bad key tag %d", ErrCorruption, rawTag)
			}
			if err := need(16); err != nil {
				return nil, err
			}
			hi := int64(binary.BigEndian.Uint64(enc) ^ (1 << 63))
			out = append(out, Decimal128(decimal128.New(hi, binary.BigEndian.Uint64(enc[8:]))))
			enc = enc[16:]
		}
	}
	return out, nil
}

// Bucket maps an encoded bucket key to a bucket in [0, n). The hash is
// xxHash64 of the canonical key encoding, so the bucket of a key does not
// depend on the Go type that carried it, and its low bits are well mixed (a
// plain FNV-1a modulo a power of two splits small integer keys by parity).
// Part of the storage format.
func Bucket(encodedKey []byte, n int) int {
	if n <= 1 {
		return 0
	}
	return int(xxhash.Sum64(encodedKey) % uint64(n))
}
