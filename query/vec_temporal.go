package query

import (
	"bytes"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// Kernels of TIME, TIMESTAMP_LTZ and UUID. TIME compares as int64
// microseconds; TIMESTAMP_LTZ with TIMESTAMP_LTZ, TIMESTAMP or DATE as
// int64 microseconds since the epoch (compareTyped's rule); UUID with
// UUID as 16 bytes, bytewise.

// domUUID compares 16-byte values bytewise. Its value is apart from the
// other domains' iota so that domains added there never collide with it.
const domUUID cmpDom = 64

// cmpDomainTemporal is cmpDomain for pairs with a TIME, TIMESTAMP_LTZ or
// UUID; handled is false for other pairs.
func cmpDomainTemporal(tl, tr types.DataType) (dom cmpDom, ok, handled bool) {
	if !isTemporalKind(tl.Kind) && !isTemporalKind(tr.Kind) {
		return 0, false, false
	}
	switch {
	case tl.Kind == types.TimeKind && tr.Kind == types.TimeKind:
		return domI64, true, true
	case tl.Kind == types.UUIDKind && tr.Kind == types.UUIDKind:
		return domUUID, true, true
	case isInstantLike(tl.Kind) && isInstantLike(tr.Kind):
		return domI64, true, true
	}
	return 0, false, true
}

// cmpLoopUUID is cmpLoop over 16-byte values.
func cmpLoopUUID(op cmpOp, x, y [][16]byte, am, bm, n int, out []byte) {
	for i := 0; i < n; i++ {
		c := bytes.Compare(x[i&am][:], y[i&bm][:])
		hit := op.holds(c)
		if hit {
			setBit(out, i)
		}
	}
}

// castTemporalK runs the casts to or from TIME, TIMESTAMP_LTZ and UUID:
// TIMESTAMP ↔ TIMESTAMP_LTZ keeps the microseconds in one loop, the
// others go value by value through castValue. handled is false for casts
// without such a type.
func (k *castK) castTemporalK(rn *vrun, a arrow.Array, valid []byte, n int) (arrow.Array, bool) {
	if !isTemporalKind(k.from.Kind) && !isTemporalKind(k.to.Kind) {
		return nil, false
	}
	if k.to.Kind == types.String {
		return nil, false // toVar renders through castValue
	}
	if (k.from.Kind == types.TimestampKind && k.to.Kind == types.TimestampLTZKind) ||
		(k.from.Kind == types.TimestampLTZKind && k.to.Kind == types.TimestampKind && k.e.explicit) {
		z := make([]int64, n)
		copy(z, fixedVals[int64](a))
		return newFixedArray(k.at, z, valid), true
	}
	vals := make([]types.Value, n)
	castLoop(rn, k, a, valid, func(int) bool { return false }, func(i int, v types.Value) { vals[i] = v })
	bld := array.NewBuilder(memory.DefaultAllocator, k.at)
	defer bld.Release()
	for _, v := range vals {
		if v == nil {
			bld.AppendNull()
		} else if err := types.AppendValue(bld, v); err != nil {
			bld.AppendNull() // castValue gives values of k.to only
		}
	}
	return bld.NewArray(), true
}

// appendTemporalKey is appendValueKey for TIME, TIMESTAMP_LTZ and UUID. A
// TIMESTAMP_LTZ has TIMESTAMP's tag: appendArrayKey encodes both from the
// same Arrow array type, and equal microseconds are the same instant.
func appendTemporalKey(dst []byte, v types.Value) ([]byte, bool) {
	switch x := v.(type) {
	case types.TimestampLTZ:
		return binary.BigEndian.AppendUint64(append(dst, 10), uint64(x)), true
	case types.TimeOfDay:
		return binary.BigEndian.AppendUint64(append(dst, 32), uint64(x)), true
	case types.UUID:
		return append(append(dst, 33), x[:]...), true
	}
	return dst, false
}
