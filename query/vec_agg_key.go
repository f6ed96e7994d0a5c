package query

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// GROUP BY keys on batches: grouper maps the key values of each row to a
// dense group id, numbering groups in order of first appearance (the row
// engine's output order). Keys are equal exactly when the row engine's
// appendValueKey encodings are: NULLs are equal, -0 equals 0, NaNs are
// equal. A single integer, date or timestamp key uses a map keyed by its
// int64, a single string key a map keyed by the string; anything else the
// row engine's byte encoding, built from the arrays without boxing.

type grouper struct {
	nkeys int
	// keys are the boxed key values of each group (from its first row).
	keys  [][]types.Value
	ints  map[int64]int32
	nums  map[decimal128.Num]int32
	strs  map[string]int32
	bytes map[string]int32
	null  int32 // the group of a NULL single key; -1 until seen
	buf   []byte
}

func newGrouper(nkeys int) *grouper {
	return &grouper{nkeys: nkeys, ints: map[int64]int32{}, nums: map[decimal128.Num]int32{}, strs: map[string]int32{}, bytes: map[string]int32{}, null: -1}
}

// newGroup adds the group of row i of keys and returns its id.
func (g *grouper) newGroup(keys []arrow.Array, i int) int32 {
	row := make([]types.Value, len(keys))
	for c, k := range keys {
		row[c] = types.ValueAt(k, i)
	}
	g.keys = append(g.keys, row)
	return int32(len(g.keys) - 1)
}

// assign returns the group id of each of the n rows of keys (in gids,
// reused when large enough), adding new groups as they first appear.
func (g *grouper) assign(keys []arrow.Array, n int, gids []int32) []int32 {
	if cap(gids) < n {
		gids = make([]int32, n)
	}
	gids = gids[:n]
	if len(keys) == 1 {
		k := keys[0]
		switch x := k.(type) {
		case *array.Int32:
			g.assignInts(k, n, gids, func(i int) int64 { return int64(x.Value(i)) })
			return gids
		case *array.Int64:
			g.assignInts(k, n, gids, func(i int) int64 { return x.Value(i) })
			return gids
		case *array.Date32:
			g.assignInts(k, n, gids, func(i int) int64 { return int64(x.Value(i)) })
			return gids
		case *array.Timestamp:
			g.assignInts(k, n, gids, func(i int) int64 { return int64(x.Value(i)) })
			return gids
		case *array.Decimal128:
			if !isDecimal128Array(x) {
				g.assignInts(k, n, gids, func(i int) int64 { return int64(x.Value(i).LowBits()) })
				return gids
			}
			g.assignNums(x, n, gids)
			return gids
		case *array.String:
			for i := 0; i < n; i++ {
				if x.IsNull(i) {
					gids[i] = g.nullGroup(keys, i)
					continue
				}
				id, ok := g.strs[x.Value(i)]
				if !ok {
					id = g.newGroup(keys, i)
					g.strs[strings.Clone(x.Value(i))] = id
				}
				gids[i] = id
			}
			return gids
		}
	}
	for i := 0; i < n; i++ {
		g.buf = g.buf[:0]
		for _, k := range keys {
			g.buf = appendArrayKey(g.buf, k, i)
		}
		id, ok := g.bytes[string(g.buf)]
		if !ok {
			id = g.newGroup(keys, i)
			g.bytes[string(g.buf)] = id
		}
		gids[i] = id
	}
	return gids
}

func (g *grouper) nullGroup(keys []arrow.Array, i int) int32 {
	if g.null < 0 {
		g.null = g.newGroup(keys, i)
	}
	return g.null
}

func (g *grouper) assignInts(k arrow.Array, n int, gids []int32, val func(int) int64) {
	keys := []arrow.Array{k}
	nulls := k.NullN() > 0
	for i := 0; i < n; i++ {
		if nulls && k.IsNull(i) {
			gids[i] = g.nullGroup(keys, i)
			continue
		}
		v := val(i)
		id, ok := g.ints[v]
		if !ok {
			id = g.newGroup(keys, i)
			g.ints[v] = id
		}
		gids[i] = id
	}
}

// assignNums is assignInts for a DECIMAL key of more than 18 digits.
func (g *grouper) assignNums(k *array.Decimal128, n int, gids []int32) {
	keys := []arrow.Array{k}
	nulls := k.NullN() > 0
	vals := k.Values()
	for i := 0; i < n; i++ {
		if nulls && k.IsNull(i) {
			gids[i] = g.nullGroup(keys, i)
			continue
		}
		id, ok := g.nums[vals[i]]
		if !ok {
			id = g.newGroup(keys, i)
			g.nums[vals[i]] = id
		}
		gids[i] = id
	}
}

// appendArrayKey appends appendValueKey's encoding of row i of a, without
// boxing the value.
func appendArrayKey(dst []byte, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return append(dst, 0)
	}
	switch x := a.(type) {
	case *array.Boolean:
		if x.Value(i) {
			return append(dst, 1, 1)
		}
		return append(dst, 1, 0)
	case *array.Int32:
		return binary.BigEndian.AppendUint32(append(dst, 2), uint32(x.Value(i)))
	case *array.Int64:
		return binary.BigEndian.AppendUint64(append(dst, 3), uint64(x.Value(i)))
	case *array.Float32:
		v := x.Value(i)
		if v == 0 {
			v = 0
		} else if v != v {
			v = float32(math.NaN())
		}
		return binary.BigEndian.AppendUint32(append(dst, 4), math.Float32bits(v))
	case *array.Float64:
		v := x.Value(i)
		if v == 0 {
			v = 0
		} else if v != v {
			v = math.NaN()
		}
		return binary.BigEndian.AppendUint64(append(dst, 5), math.Float64bits(v))
	case *array.Decimal128:
		if isDecimal128Array(x) {
			return appendDecimal128Key(append(dst, 12), x.Value(i))
		}
		return binary.BigEndian.AppendUint64(append(dst, 6), x.Value(i).LowBits())
	case *array.String:
		v := x.Value(i)
		return append(binary.AppendUvarint(append(dst, 7), uint64(len(v))), v...)
	case *array.Binary:
		v := x.Value(i)
		return append(binary.AppendUvarint(append(dst, 8), uint64(len(v))), v...)
	case *array.Date32:
		return binary.BigEndian.AppendUint32(append(dst, 9), uint32(x.Value(i)))
	case *array.Timestamp:
		return binary.BigEndian.AppendUint64(append(dst, 10), uint64(x.Value(i)))
	}
	return appendValueKey(dst, types.ValueAt(a, i))
}
