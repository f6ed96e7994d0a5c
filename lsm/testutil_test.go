package lsm

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// testSeed returns the seed of a randomized test and logs how to replay it.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	return testkit.Seed(t)
}

// allTypesSchema has a composite key and a column of every type.
func allTypesSchema() *types.Schema {
	return &types.Schema{
		ID: 7,
		Fields: []types.Field{
			{ID: 0, Name: "region", Type: types.TString, NotNull: true},
			{ID: 1, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 2, Name: "flag", Type: types.TBoolean},
			{ID: 3, Name: "i32", Type: types.TInt},
			{ID: 4, Name: "f32", Type: types.TFloat},
			{ID: 5, Name: "f64", Type: types.TDouble},
			{ID: 6, Name: "price", Type: types.TDecimal(18, 4)},
			{ID: 7, Name: "note", Type: types.TString},
			{ID: 8, Name: "blob", Type: types.TBytes},
			{ID: 9, Name: "day", Type: types.TDate},
			{ID: 10, Name: "at", Type: types.TTimestamp},
			{ID: 11, Name: "qty", Type: types.TInt, NotNull: true},
		},
		PrimaryKeys:    []string{"region", "id"},
		HighestFieldID: 11,
	}
}

// randValue returns a random value of t, often an extreme one.
func randValue(rng *rand.Rand, t types.DataType) types.Value {
	pick := rng.IntN(8)
	switch t.Kind {
	case types.Boolean:
		return rng.IntN(2) == 0
	case types.Int:
		return []int32{math.MinInt32, math.MaxInt32, 0, -1}[pick%4] + int32(pick/4)*rng.Int32()
	case types.BigInt:
		if pick < 3 {
			return []int64{math.MinInt64, math.MaxInt64, 0}[pick]
		}
		return rng.Int64() - rng.Int64()
	case types.Float:
		if pick < 4 {
			return []float32{float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}[pick]
		}
		return rng.Float32()*2e6 - 1e6
	case types.Double:
		if pick < 4 {
			return []float64{math.Inf(1), math.Copysign(0, -1), -math.MaxFloat64, math.SmallestNonzeroFloat64}[pick]
		}
		return rng.NormFloat64() * 1e12
	case types.DecimalKind:
		limit := int64(math.Pow10(t.Precision)) - 1
		if pick < 2 {
			return types.Decimal([]int64{limit, -limit}[pick])
		}
		return types.Decimal(rng.Int64N(2*limit) - limit)
	case types.String:
		return []string{"", "a", "\x00nul", "héllo wörld ✓", string(bytes.Repeat([]byte("x"), 300)), fmt.Sprint(rng.Int())}[pick%6]
	case types.Bytes:
		return [][]byte{{}, {0}, {0xff, 0, 0xfe}, bytes.Repeat([]byte{7}, 100), []byte(fmt.Sprint(rng.Int()))}[pick%5]
	case types.DateKind:
		return []types.Date{math.MinInt32, math.MaxInt32, 0, types.Date(rng.Int32N(40000))}[pick%4]
	case types.TimestampKind:
		return []types.Timestamp{math.MinInt64, math.MaxInt64, 0, types.Timestamp(rng.Int64N(1 << 52))}[pick%4]
	}
	panic("unknown type")
}

// randRecords returns merged records of about n rows, sorted by (Key, Seq),
// with up to three records per key, random kinds and NULLs.
func randRecords(rng *rand.Rand, s *types.Schema, n int) []Record {
	keyIdx := s.KeyIndexes()
	var recs []Record
	for i := 0; i < n; i++ {
		row := make(types.Row, len(s.Fields))
		for c, f := range s.Fields {
			if !f.NotNull && rng.IntN(5) == 0 {
				continue
			}
			row[c] = randValue(rng, f.Type)
		}
		row[keyIdx[0]] = []string{"", "eu", "us", "a\x00b"}[rng.IntN(4)]
		row[keyIdx[1]] = rng.Int64N(int64(n)) - int64(n/2)
		key, err := types.EncodeRowKey(nil, row, keyIdx)
		if err != nil {
			panic(err)
		}
		kind := types.RowKind(rng.IntN(4))
		recs = append(recs, Record{Key: key, Seq: rng.Int64N(1 << 40), Kind: kind, Row: row, Merged: true, Reset: rng.IntN(10) == 0})
	}
	slices.SortFunc(recs, func(a, b Record) int { return compareRecords(&a, &b) })
	return recs
}

// valueEqual compares values exactly: NaN equals NaN and -0 differs from +0.
func valueEqual(a, b types.Value) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y) && (x == nil) == (y == nil)
	}
	return a == nil && b == nil || a != nil && b != nil && types.Compare(a, b) == 0 && fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

func recordsEqual(a, b Record) bool {
	if !bytes.Equal(a.Key, b.Key) || a.Seq != b.Seq || a.Kind != b.Kind || a.Reset != b.Reset || a.Merged != b.Merged || len(a.Row) != len(b.Row) {
		return false
	}
	for i := range a.Row {
		if !valueEqual(a.Row[i], b.Row[i]) {
			return false
		}
	}
	return true
}

func debugRecord(r Record) string {
	return fmt.Sprintf("{key=%x seq=%d %s reset=%t row=%v}", r.Key, r.Seq, r.Kind, r.Reset, r.Row)
}

// lastWins is a deduplicating merger for lsm's own tests: the last record
// wins and a last -U/-D is a tombstone.
type lastWins struct{}

func (lastWins) Merge(recs []Record) Record {
	r := recs[len(recs)-1]
	if !r.Kind.IsAdd() {
		r.Kind = types.Delete
	}
	return r
}

// seqList is a merger that records which records were merged: Row[1] is the
// list of merged Seqs. It is associative, so any grouping of a key's records
// into contiguous runs must give the full, ordered list.
type seqList struct{}

func (seqList) Merge(recs []Record) Record {
	var seqs []int64
	for _, r := range recs {
		if r.Merged {
			seqs = append(seqs, r.Row[1].([]int64)...)
		} else {
			seqs = append(seqs, r.Seq)
		}
	}
	last := recs[len(recs)-1]
	return Record{Key: last.Key, Seq: last.Seq, Kind: last.Kind, Row: types.Row{last.Row[0], seqs}}
}
