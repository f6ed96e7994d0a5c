package table

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// The randomized model over a schema with DECIMAL columns of 19 to 38
// digits after the model's columns: under aggregation the first is
// summed, the second takes the max and the third the last non-NULL
// value. Values reach the largest of their precision (beyond int64) and
// are negative as often as positive; the summed column's stay small
// enough that no sum leaves DECIMAL(38).

func modelSchemaDecimal128(engine string, buckets int, partitioned bool) *types.Schema {
	s := modelSchema(engine, buckets, partitioned)
	s.Fields = append(s.Fields,
		types.Field{ID: 5, Name: "total", Type: types.TDecimal(38, 10)},
		types.Field{ID: 6, Name: "peak", Type: types.TDecimal(38, 0)},
		types.Field{ID: 7, Name: "rate", Type: types.TDecimal(20, 18)})
	s.HighestFieldID = 7
	if engine == "aggregation" {
		s.Options["fields.total.aggregate-function"] = "sum"
		s.Options["fields.peak.aggregate-function"] = "max"
		s.Options["fields.rate.aggregate-function"] = "last_non_null_value"
	}
	return s
}

// randDecimal128 is a random unscaled value of at most digits digits,
// often an extreme.
func randDecimal128(rng *rand.Rand, digits int) types.Decimal128 {
	lim := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	var x *big.Int
	switch rng.IntN(4) {
	case 0:
		x = new(big.Int).Sub(lim, big.NewInt(1))
	case 1:
		x = big.NewInt(rng.Int64N(1000))
	default:
		x = new(big.Int).SetUint64(rng.Uint64())
		x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(rng.Uint64()))
		x.Mod(x, lim)
	}
	if rng.IntN(2) == 0 {
		x.Neg(x)
	}
	return types.Decimal128(decimal128.FromBigInt(x))
}

// randDecimal128Values are the values of the columns
// modelSchemaDecimal128 adds, each NULL now and then.
func randDecimal128Values(rng *rand.Rand) types.Row {
	r := make(types.Row, 3)
	if rng.IntN(4) > 0 {
		r[0] = randDecimal128(rng, 34) // at most ~1000 rows per key: sums stay below 10^38
	}
	if rng.IntN(4) > 0 {
		r[1] = randDecimal128(rng, 38)
	}
	if rng.IntN(4) > 0 {
		r[2] = randDecimal128(rng, 20)
	}
	return r
}

// aggregateDecimal128 is the aggregation model of the columns
// modelSchemaDecimal128 adds (n is the new state, r the added row).
func aggregateDecimal128(n, r types.Row) {
	if r[5] != nil {
		if n[5] == nil {
			n[5] = r[5]
		} else {
			n[5] = types.Decimal128(n[5].(types.Decimal128).Num().Add(r[5].(types.Decimal128).Num()))
		}
	}
	if r[6] != nil && (n[6] == nil || types.Compare(r[6], n[6]) > 0) {
		n[6] = r[6]
	}
	if r[7] != nil {
		n[7] = r[7]
	}
}

// modelExtra returns the generator and the aggregation model of the
// columns a schema has after the model's five.
func modelExtra(s *types.Schema) (func(*rand.Rand) types.Row, func(n, r types.Row)) {
	if len(s.Fields) > 5 && s.Fields[5].Type.Kind == types.DecimalKind {
		return randDecimal128Values, aggregateDecimal128
	}
	return randTemporalValues, aggregateTemporal
}

// TestRandomizedModelDecimal128 is TestRandomizedModel with DECIMAL(38)
// and DECIMAL(20) columns, over several seeds.
func TestRandomizedModelDecimal128(t *testing.T) {
	for _, seed := range append([]uint64{testSeed(t)}, testkit.Seeds(t, 2)...) {
		for _, engine := range []string{"deduplicate", "partial-update", "aggregation", "first-row"} {
			for _, buckets := range []int{1, 3} {
				name := fmt.Sprintf("%d/%s/buckets=%d", seed, engine, buckets)
				t.Run(name, func(t *testing.T) {
					testkit.LogSeed(t, seed)
					rng := rand.New(rand.NewPCG(seed, uint64(len(engine)+buckets)))
					runModel(t, rng, objstore.NewMem(), modelSchemaDecimal128(engine, buckets, buckets > 1), 8, 40)
				})
			}
		}
	}
}
