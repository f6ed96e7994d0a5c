package cache

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/siltdb/silt/types"
)

// The index (Pebble, dir/index) holds one record per cached item.
//
// Keys:
//
//	configKey                                      config: format version, block size
//	'e' uvarint(len tier) tier uvarint(len key) key 'm'               object metadata
//	'e' uvarint(len tier) tier uvarint(len key) key 'b' be64(block)   one aligned block
//
// so that every record of one object is adjacent (one range covers them).
//
// Values (entryVersion 1):
//
//	version byte, kind byte, uvarint access,
//	block: uvarint fileNum, uvarint length, then one 4-byte CRC-32C (little
//	       endian) per chunkSize bytes of the block (the last chunk may be short)
//	meta:  uvarint size, varint modified (Unix ns), uvarint len(etag), etag
//
// A value is valid only if it is consumed exactly. access is the logical
// recency clock: a larger value was used more recently.

const (
	entryVersion = 1

	kindMeta  byte = 'm'
	kindBlock byte = 'b'
	kindWhole byte = 'w' // flights only: a whole-object Get; never stored

	// chunkSize is the checksum granularity within a block: a read of a
	// few bytes reads and verifies one chunk, not the whole block.
	chunkSize = 64 << 10

	entryPrefix byte = 'e'

	// maxBlockLen bounds a decoded block length (a corrupt index record
	// must not make us allocate gigabytes).
	maxBlockLen = 1 << 30
	maxTierLen  = 1 << 10
	maxKeyLen   = 1 << 16
	maxETagLen  = 1 << 10
)

// configKey is outside the 'e' range.
var configKey = []byte("\x00config")

// itemID names one index record: an object's metadata or one of its blocks.
type itemID struct {
	tier, key string
	kind      byte
	block     int64 // kindBlock only
}

// entry is a decoded index value.
type entry struct {
	kind   byte
	access uint64
	// kindBlock
	fileNum uint64
	length  int64
	crcs    []uint32 // one per chunk
	// kindMeta
	size     int64
	modified int64
	etag     string
}

// objectPrefix returns the key prefix shared by every record of one object.
func objectPrefix(tier, key string) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(tier)+len(key)+9)
	b = append(b, entryPrefix)
	b = binary.AppendUvarint(b, uint64(len(tier)))
	b = append(b, tier...)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return b
}

// encodeKey returns the index key of id.
func encodeKey(id itemID) []byte {
	b := append(objectPrefix(id.tier, id.key), id.kind)
	if id.kind == kindBlock {
		b = binary.BigEndian.AppendUint64(b, uint64(id.block))
	}
	return b
}

// decodeKey parses an index key written by encodeKey.
func decodeKey(b []byte) (itemID, error) {
	bad := func(what string) (itemID, error) {
		return itemID{}, fmt.Errorf("%w: cache index key %q: %s", types.ErrCorruption, b, what)
	}
	if len(b) == 0 || b[0] != entryPrefix {
		return bad("bad prefix")
	}
	rest := b[1:]
	tier, rest, ok := readString(rest, maxTierLen)
	if !ok {
		return bad("bad tier")
	}
	key, rest, ok := readString(rest, maxKeyLen)
	if !ok {
		return bad("bad object key")
	}
	if len(rest) == 0 {
		return bad("no kind")
	}
	id := itemID{tier: tier, key: key, kind: rest[0]}
	rest = rest[1:]
	switch id.kind {
	case kindMeta:
		if len(rest) != 0 {
			return bad("trailing bytes")
		}
	case kindBlock:
		if len(rest) != 8 {
			return bad("bad block index")
		}
		n := binary.BigEndian.Uint64(rest)
		if n > math.MaxInt64 {
			return bad("block index out of range")
		}
		id.block = int64(n)
	default:
		return bad("unknown kind")
	}
	return id, nil
}

func readString(b []byte, max uint64) (string, []byte, bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > max || n > uint64(len(b)-w) {
		return "", nil, false
	}
	return string(b[w : w+int(n)]), b[w+int(n):], true
}

// encodeEntry encodes e.
func encodeEntry(e entry) []byte {
	b := make([]byte, 0, 32+len(e.etag))
	b = append(b, entryVersion, e.kind)
	b = binary.AppendUvarint(b, e.access)
	switch e.kind {
	case kindBlock:
		b = binary.AppendUvarint(b, e.fileNum)
		b = binary.AppendUvarint(b, uint64(e.length))
		for _, c := range e.crcs {
			b = binary.LittleEndian.AppendUint32(b, c)
		}
	case kindMeta:
		b = binary.AppendUvarint(b, uint64(e.size))
		b = binary.AppendVarint(b, e.modified)
		b = binary.AppendUvarint(b, uint64(len(e.etag)))
		b = append(b, e.etag...)
	}
	return b
}

// decodeEntry parses a value written by encodeEntry. Any malformed,
// truncated or over-long value is an error wrapping types.ErrCorruption.
func decodeEntry(b []byte) (entry, error) {
	bad := func(what string) (entry, error) {
		return entry{}, fmt.Errorf("%w: cache index entry (%d bytes): %s", types.ErrCorruption, len(b), what)
	}
	if len(b) < 2 {
		return bad("too short")
	}
	if b[0] != entryVersion {
		return bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	e := entry{kind: b[1]}
	rest := b[2:]
	var ok bool
	if e.access, rest, ok = readUvarint(rest); !ok {
		return bad("bad access")
	}
	switch e.kind {
	case kindBlock:
		var n uint64
		if e.fileNum, rest, ok = readUvarint(rest); !ok || e.fileNum == 0 {
			return bad("bad file number")
		}
		if n, rest, ok = readUvarint(rest); !ok || n > maxBlockLen {
			return bad("bad length")
		}
		e.length = int64(n)
		if int64(len(rest)) != 4*numChunks(e.length) {
			return bad("bad checksums")
		}
		e.crcs = make([]uint32, len(rest)/4)
		for i := range e.crcs {
			e.crcs[i] = binary.LittleEndian.Uint32(rest[4*i:])
		}
	case kindMeta:
		var n uint64
		if n, rest, ok = readUvarint(rest); !ok || n > math.MaxInt64 {
			return bad("bad size")
		}
		e.size = int64(n)
		v, w := binary.Varint(rest)
		if w <= 0 {
			return bad("bad modification time")
		}
		e.modified, rest = v, rest[w:]
		if e.etag, rest, ok = readString(rest, maxETagLen); !ok {
			return bad("bad etag")
		}
		if len(rest) != 0 {
			return bad("trailing bytes")
		}
	default:
		return bad(fmt.Sprintf("unknown kind %q", e.kind))
	}
	return e, nil
}

func numChunks(length int64) int64 { return (length + chunkSize - 1) / chunkSize }

func readUvarint(b []byte) (uint64, []byte, bool) {
	v, w := binary.Uvarint(b)
	if w <= 0 {
		return 0, nil, false
	}
	return v, b[w:], true
}

// encodeConfig and decodeConfig store the settings that make existing
// entries meaningful: a block size change invalidates every block.
func encodeConfig(blockSize int64) []byte {
	b := []byte{entryVersion}
	return binary.AppendUvarint(b, uint64(blockSize))
}

func decodeConfig(b []byte) (int64, error) {
	if len(b) < 2 || b[0] != entryVersion {
		return 0, fmt.Errorf("%w: cache index config %x", types.ErrCorruption, b)
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || 1+w != len(b) || n == 0 || n > maxBlockLen {
		return 0, fmt.Errorf("%w: cache index config %x", types.ErrCorruption, b)
	}
	return int64(n), nil
}
