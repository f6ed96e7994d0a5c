package query

import (
	"fmt"
	"io"
	"sync"

	"github.com/siltdb/silt/types"
)

// gen_random_uuid() and its DuckDB name uuid(): a random (version 4)
// UUID, a new one for every row. The bytes come from the engine's random
// source (EngineOptions.Rand), never from a global one, so that tests
// replay with a seeded source.

// lockedReader serializes reads of a random source shared by the
// statements of an engine.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return io.ReadFull(l.r, p)
}

// bindUUIDFunc binds GEN_RANDOM_UUID() and UUID(); ok is false for other
// names.
func (b *binder) bindUUIDFunc(f *funcCall, args []bexpr) (bexpr, bool, error) {
	if f.name != "GEN_RANDOM_UUID" && f.name != "UUID" {
		return nil, false, nil
	}
	if err := argCount(f, args, 0, 0); err != nil {
		return nil, true, err
	}
	if b.rand == nil {
		return nil, true, errf(types.ErrInvalid, "%s is not allowed in %s; generate the UUIDs in the select list or in INSERT … VALUES", f, b.clause)
	}
	rnd := b.rand
	return &funcB{t: types.TUUID, fn: func([]types.Value) (types.Value, error) {
		return newUUIDv4(rnd)
	}}, true, nil
}

// newUUIDv4 reads a version 4 (random) UUID from r.
func newUUIDv4(r io.Reader) (types.UUID, error) {
	var u types.UUID
	if _, err := io.ReadFull(r, u[:]); err != nil {
		return u, fmt.Errorf("reading randomness for a UUID: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u, nil
}
