package table

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// The randomized model over a schema with TIME, TIMESTAMP_LTZ and UUID
// columns after the model's columns: under aggregation the TIME and
// TIMESTAMP_LTZ columns take the max (types.Compare's order) and the UUID
// the last non-NULL value.

func modelSchemaTemporal(engine string, buckets int, partitioned bool) *types.Schema {
	s := modelSchema(engine, buckets, partitioned)
	s.Fields = append(s.Fields,
		types.Field{ID: 5, Name: "at", Type: types.TTime},
		types.Field{ID: 6, Name: "seen", Type: types.TTimestampLTZ},
		types.Field{ID: 7, Name: "ref", Type: types.TUUID})
	s.HighestFieldID = 7
	if engine == "aggregation" {
		s.Options["fields.at.aggregate-function"] = "max"
		s.Options["fields.seen.aggregate-function"] = "max"
		s.Options["fields.ref.aggregate-function"] = "last_non_null_value"
	}
	return s
}

// randTemporalValues are the values of the columns modelSchemaTemporal
// adds, each NULL now and then.
func randTemporalValues(rng *rand.Rand) types.Row {
	r := make(types.Row, 3)
	if rng.IntN(4) > 0 {
		r[0] = []types.TimeOfDay{0, types.MicrosPerDay - 1, types.TimeOfDay(rng.Int64N(types.MicrosPerDay))}[rng.IntN(3)]
	}
	if rng.IntN(4) > 0 {
		r[1] = types.TimestampLTZ(rng.Int64N(1<<50) - 1<<49)
	}
	if rng.IntN(4) > 0 {
		var u types.UUID
		for i := range u {
			u[i] = byte(rng.IntN(3)) * 0x7f
		}
		r[2] = u
	}
	return r
}

// aggregateTemporal is the aggregation model of the columns
// modelSchemaTemporal adds (n is the new state, r the added row).
func aggregateTemporal(n, r types.Row) {
	for i := 5; i < len(r) && i <= 6; i++ {
		if r[i] != nil && (n[i] == nil || types.Compare(r[i], n[i]) > 0) {
			n[i] = r[i]
		}
	}
	if len(r) > 7 && r[7] != nil {
		n[7] = r[7]
	}
}

// TestRandomizedModelTemporal is TestRandomizedModel with TIME,
// TIMESTAMP_LTZ and UUID columns, over several seeds.
func TestRandomizedModelTemporal(t *testing.T) {
	for _, seed := range append([]uint64{testSeed(t)}, testkit.Seeds(t, 2)...) {
		for _, engine := range []string{"deduplicate", "partial-update", "aggregation", "first-row"} {
			for _, buckets := range []int{1, 3} {
				name := fmt.Sprintf("%d/%s/buckets=%d", seed, engine, buckets)
				t.Run(name, func(t *testing.T) {
					testkit.LogSeed(t, seed)
					rng := rand.New(rand.NewPCG(seed, uint64(len(engine)+buckets)))
					runModel(t, rng, objstore.NewMem(), modelSchemaTemporal(engine, buckets, buckets > 1), 8, 40)
				})
			}
		}
	}
}
