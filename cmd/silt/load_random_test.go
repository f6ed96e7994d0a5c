package main

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/types"
)

// randomText returns a short valid UTF-8 string, often holding the
// characters CSV and JSON must quote or escape.
func randomText(rng *rand.Rand) string {
	pieces := []string{"", " ", ",", "\"", "\"\"", "\r", "\n", "\r\n", "\t", "\\", "0x", "NULL", "ü", "日本", "🎉", "\uFFFD", "\x00", "\x1f", "a", "Z9", "{", "}", "'"}
	var sb strings.Builder
	for range rng.IntN(6) {
		sb.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return sb.String()
}

func randomValue(rng *rand.Rand, t types.DataType) types.Value {
	if rng.IntN(6) == 0 {
		return nil
	}
	switch t.Kind {
	case types.Boolean:
		return rng.IntN(2) == 0
	case types.Int:
		return []int32{0, -1, math.MinInt32, math.MaxInt32, int32(rng.Uint32())}[rng.IntN(5)]
	case types.BigInt:
		return []int64{0, -1, math.MinInt64, math.MaxInt64, int64(rng.Uint64())}[rng.IntN(5)]
	case types.Float:
		return []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32,
			math.SmallestNonzeroFloat32, math.Float32frombits(rng.Uint32())}[rng.IntN(8)]
	case types.Double:
		return []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64,
			math.SmallestNonzeroFloat64, math.Float64frombits(rng.Uint64())}[rng.IntN(8)]
	case types.DecimalKind:
		if t.Is128() {
			digits := make([]byte, 1+rng.IntN(t.Precision))
			for i := range digits {
				digits[i] = byte('0' + rng.IntN(10))
			}
			n, _ := new(big.Int).SetString(string(digits), 10)
			if rng.IntN(2) == 0 {
				n.Neg(n)
			}
			return types.Decimal128(decimal128.FromBigInt(n))
		}
		limit := int64(math.Pow10(t.Precision))
		return types.Decimal(rng.Int64N(2*limit-1) - (limit - 1))
	case types.String:
		return randomText(rng)
	case types.Bytes:
		b := make([]byte, rng.IntN(8))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	case types.DateKind:
		lo := types.DateOf(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))
		hi := types.DateOf(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
		return lo + types.Date(rng.Int64N(int64(hi-lo)+1))
	case types.TimestampKind:
		lo := types.TimestampOf(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))
		hi := types.TimestampOf(time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC))
		return lo + types.Timestamp(rng.Int64N(int64(hi-lo)+1))
	}
	panic(t.String())
}

// TestLoadRoundTripRandom: random rows of every column type written by
// query.WriteResult as csv and json and parsed back by the load parsers
// are identical to the rows written.
func TestLoadRoundTripRandom(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &types.Schema{}
	cols := make([]query.Column, len(roundTripColumns))
	for i, c := range roundTripColumns {
		s.Fields = append(s.Fields, types.Field{ID: i, Name: c.name, Type: c.typ})
		cols[i] = query.Column{Name: c.name, Type: c.typ}
	}
	s.HighestFieldID = len(s.Fields) - 1
	rows := make([]types.Row, 1+rng.IntN(200))
	for i := range rows {
		rows[i] = make(types.Row, len(cols))
		for j, c := range roundTripColumns {
			rows[i][j] = randomValue(rng, c.typ)
		}
	}
	res := &query.Result{Columns: cols, Rows: rows}
	for _, tc := range []struct {
		format string
		load   func(*bytes.Reader, func(types.Row) error) error
	}{
		{"csv", func(r *bytes.Reader, w func(types.Row) error) error { return loadCSV(r, s, maxLoadRecord, w) }},
		{"json", func(r *bytes.Reader, w func(types.Row) error) error { return loadJSONL(r, s, maxLoadRecord, w) }},
	} {
		var buf bytes.Buffer
		if err := query.WriteResult(&buf, res, tc.format); err != nil {
			t.Fatal(err)
		}
		var got []types.Row
		if err := tc.load(bytes.NewReader(buf.Bytes()), func(r types.Row) error {
			got = append(got, append(types.Row(nil), r...))
			return nil
		}); err != nil {
			t.Fatalf("%s: %v\ninput:\n%s", tc.format, err, buf.String())
		}
		checkRows(t, tc.format+" (seed "+strconv.FormatUint(seed, 10)+")", got, rows)
	}
}
