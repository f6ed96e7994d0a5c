package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/siltdb/silt/types"
)

// Object kinds: the first word of every envelope, so an object put in the
// wrong place (or read as the wrong thing) is detected.
const (
	KindSnapshot     = "snapshot"
	KindManifestList = "manifest-list"
	KindManifest     = "manifest"
	KindSchema       = "schema"
	KindTag          = "tag"
	KindBranch       = "branch"
	KindLease        = "lease"
)

// Envelope of every persisted metadata object (format version 1; manifests
// are version 2, with the same envelope, see ManifestFormatVersion):
//
//	silt <kind> v<version> crc32c=<8 lowercase hex> len=<body bytes>\n
//	<body: JSON, exactly len bytes>\n
//
// The header is ASCII and canonical: a decoder re-renders it from the
// parsed fields and requires the same bytes, so any change to the header
// (not only to the body) is detected. The CRC32C (Castagnoli) covers the
// body; the length catches truncation and trailing garbage. The whole
// object stays readable with cat/jq (tail -n +2).
const envelopeMagic = "silt"

// maxHeaderLen bounds the header scan; real headers are < 80 bytes.
const maxHeaderLen = 256

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeObject encodes v as JSON inside a versioned, checksummed envelope
// of the given kind.
func EncodeObject(kind string, v any) ([]byte, error) {
	if err := validKind(kind); err != nil {
		return nil, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s: %v", types.ErrInvalid, kind, err)
	}
	hdr := header(kind, kindVersion(kind), crc32.Checksum(body, castagnoli), len(body))
	out := make([]byte, 0, len(hdr)+len(body)+1)
	out = append(out, hdr...)
	out = append(out, body...)
	return append(out, '\n'), nil
}

// DecodeObject checks the envelope of data (kind, version, length,
// checksum) and decodes its JSON body into v. A damaged object returns an
// error wrapping types.ErrCorruption, an object written by a newer format
// version one wrapping types.ErrInvalid; both name the kind and the
// problem. v is only written when the envelope is intact.
func DecodeObject(kind string, data []byte, v any) error {
	_, body, err := openEnvelope(kind, data)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: checksum matches but body is not valid: %v", types.ErrCorruption, kind, err)
	}
	return nil
}

// kindVersion is the format version written into objects of kind, and the
// newest one read.
func kindVersion(kind string) int {
	if kind == KindManifest {
		return ManifestFormatVersion
	}
	return FormatVersion
}

func header(kind string, version int, sum uint32, n int) []byte {
	return fmt.Appendf(nil, "%s %s v%d crc32c=%08x len=%d\n", envelopeMagic, kind, version, sum, n)
}

func validKind(kind string) error {
	if kind == "" {
		return fmt.Errorf("%w: empty object kind", types.ErrInvalid)
	}
	for i := 0; i < len(kind); i++ {
		c := kind[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("%w: object kind %q: only a-z, 0-9 and '-' allowed", types.ErrInvalid, kind)
		}
	}
	return nil
}

// openEnvelope verifies data and returns its format version and body.
func openEnvelope(kind string, data []byte) (int, []byte, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", types.ErrCorruption, kind, fmt.Sprintf(format, args...))
	}
	if len(data) == 0 {
		return 0, nil, corrupt("empty object")
	}
	nl := bytes.IndexByte(data[:min(len(data), maxHeaderLen)], '\n')
	if nl < 0 {
		return 0, nil, corrupt("truncated or missing header (no newline in the first %d bytes)", min(len(data), maxHeaderLen))
	}
	hdr := data[:nl+1]
	fields := bytes.Split(hdr[:nl], []byte{' '})
	if len(fields) != 5 || string(fields[0]) != envelopeMagic {
		return 0, nil, corrupt("bad header %q: not a silt metadata object", hdr[:nl])
	}
	if got := string(fields[1]); got != kind {
		return 0, nil, corrupt("object is a %q, expected a %q", got, kind)
	}
	version, ok := parseField(fields[2], "v")
	if !ok || version < 1 {
		return 0, nil, corrupt("bad format version field %q", fields[2])
	}
	if v := kindVersion(kind); version > v {
		return 0, nil, fmt.Errorf("%w: %s: format version %d is newer than this build supports (<= %d)", types.ErrInvalid, kind, version, v)
	}
	if !bytes.HasPrefix(fields[3], []byte("crc32c=")) || len(fields[3]) != len("crc32c=")+8 {
		return 0, nil, corrupt("bad checksum field %q", fields[3])
	}
	sum, err := strconv.ParseUint(string(fields[3][len("crc32c="):]), 16, 32)
	if err != nil {
		return 0, nil, corrupt("bad checksum field %q", fields[3])
	}
	n, ok := parseField(fields[4], "len=")
	if !ok {
		return 0, nil, corrupt("bad length field %q", fields[4])
	}
	if !bytes.Equal(hdr, header(kind, version, uint32(sum), n)) {
		return 0, nil, corrupt("non-canonical header %q", hdr[:nl])
	}
	rest := data[nl+1:]
	switch {
	case len(rest) < n+1:
		return 0, nil, corrupt("truncated: body has %d of %d bytes", max(len(rest)-1, 0), n)
	case len(rest) > n+1:
		return 0, nil, corrupt("%d bytes of trailing garbage after the body", len(rest)-n-1)
	case rest[n] != '\n':
		return 0, nil, corrupt("body not terminated by a newline")
	}
	body := rest[:n]
	if got := crc32.Checksum(body, castagnoli); got != uint32(sum) {
		return 0, nil, corrupt("checksum mismatch: stored %08x, computed %08x", sum, got)
	}
	return version, body, nil
}

// parseField parses prefix followed by a canonical non-negative decimal.
func parseField(f []byte, prefix string) (int, bool) {
	if !bytes.HasPrefix(f, []byte(prefix)) {
		return 0, false
	}
	v, err := strconv.Atoi(string(f[len(prefix):]))
	if err != nil || v < 0 || v > 1<<40 {
		return 0, false
	}
	return v, true
}
