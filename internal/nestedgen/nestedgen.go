// Package nestedgen generates random column types, ARRAY, MAP and ROW
// nested to any depth among them, and random values of them, for the
// randomized round-trip tests of every layer (Arrow, text, data files,
// SQL). It is test support: only test code imports it.
package nestedgen

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/siltdb/silt/types"
)

// Scalars are the element types Type draws from.
var Scalars = []types.DataType{
	types.TBoolean, types.TInt, types.TBigInt, types.TFloat, types.TDouble,
	types.TDecimal(9, 2), types.TDecimal(18, 4), types.TString, types.TBytes,
	types.TDate, types.TTimestamp,
}

// Type returns a random type of at most depth levels of nesting; at depth
// 0 a scalar. Nested field ids are not assigned (see types.AssignNestedIDs).
func Type(r *rand.Rand, depth int) types.DataType { return TypeFrom(r, depth, Scalars) }

// TypeFrom is Type with the given scalar types.
func TypeFrom(r *rand.Rand, depth int, scalars []types.DataType) types.DataType {
	if depth <= 0 || r.IntN(4) == 0 {
		return scalars[r.IntN(len(scalars))]
	}
	switch r.IntN(3) {
	case 0:
		t := types.TArray(TypeFrom(r, depth-1, scalars))
		t.Fields[0].NotNull = r.IntN(4) == 0
		return t
	case 1:
		t := types.TMap(scalars[r.IntN(len(scalars))], TypeFrom(r, depth-1, scalars))
		t.Fields[1].NotNull = r.IntN(4) == 0
		return t
	}
	n := 1 + r.IntN(3)
	fs := make([]types.Field, n)
	for i := range fs {
		fs[i] = types.Field{Name: fmt.Sprintf("f%d", i), Type: TypeFrom(r, depth-1, scalars), NotNull: r.IntN(4) == 0}
	}
	return types.TStruct(fs...)
}

// Value returns a random non-NULL value of t (nested children may be NULL
// where their fields allow it).
func Value(r *rand.Rand, t types.DataType) types.Value {
	child := func(f *types.Field) types.Value {
		if !f.NotNull && r.IntN(5) == 0 {
			return nil
		}
		return Value(r, f.Type)
	}
	switch t.Kind {
	case types.ArrayKind:
		l := make(types.List, r.IntN(4))
		for i := range l {
			l[i] = child(&t.Fields[0])
		}
		return l
	case types.MapKind:
		n := r.IntN(4)
		m := make(types.Map, 0, n)
	keys:
		for range n {
			k := Value(r, t.Key())
			for _, e := range m {
				if types.Compare(e.Key, k) == 0 {
					continue keys
				}
			}
			m = append(m, types.MapEntry{Key: k, Value: child(&t.Fields[1])})
		}
		return m
	case types.StructKind:
		st := make(types.Struct, len(t.Fields))
		for i := range st {
			st[i] = child(&t.Fields[i])
		}
		return st
	case types.Boolean:
		return r.IntN(2) == 0
	case types.Int:
		return int32(r.Uint32())
	case types.BigInt:
		return int64(r.Uint64())
	case types.Float:
		return float32(r.NormFloat64() * 1e3)
	case types.Double:
		if r.IntN(10) == 0 {
			return math.Inf(1)
		}
		return r.NormFloat64() * 1e6
	case types.DecimalKind:
		lim := int64(math.Pow10(t.Precision))
		return types.Decimal(r.Int64N(2*lim-1) - lim + 1)
	case types.String:
		return randString(r)
	case types.Bytes:
		b := make([]byte, r.IntN(5))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	case types.DateKind:
		return types.Date(r.Int32N(40000) - 10000)
	case types.TimestampKind:
		return types.Timestamp(r.Int64N(4e15) - 1e15)
	}
	panic("nestedgen: no values of " + t.String())
}

func randString(r *rand.Rand) string {
	const alphabet = "ab,\"'{}[]: é\\\n"
	rs := []rune(alphabet)
	n := r.IntN(6)
	out := make([]rune, n)
	for i := range out {
		out[i] = rs[r.IntN(len(rs))]
	}
	return string(out)
}
