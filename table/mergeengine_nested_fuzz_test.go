package table

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/types"
)

// FuzzAggregateParamOptions: any per-column option of the aggregation
// engine (fields.<col>.aggregate-function, .distinct, .list-agg-delimiter,
// .ignore-retract) on any column is accepted or refused with one ErrInvalid
// line naming the option; an accepted engine merges random rows without
// panicking.
func FuzzAggregateParamOptions(f *testing.F) {
	f.Add("coll", "aggregate-function", "collect", "distinct", "true", uint64(1))
	f.Add("la", "list-agg-delimiter", "", "aggregate-function", "listagg", uint64(2))
	f.Add("pdec", "ignore-retract", "TRUE", "aggregate-function", "product", uint64(3))
	f.Add("mm", "distinct", "yes", "aggregate-function", "merge_map", uint64(4))
	f.Add("id", "ignore-retract", "false", "aggregate-function", "sum", uint64(5))
	f.Fuzz(func(t *testing.T, col, suffix1, v1, suffix2, v2 string, seed uint64) {
		if len(col)+len(suffix1)+len(v1)+len(suffix2)+len(v2) > maxFuzzInput {
			return
		}
		s := aggNestedSchema()
		k1, k2 := "fields."+col+"."+suffix1, "fields."+col+"."+suffix2
		s.Options[k1], s.Options[k2] = v1, v2
		m, err := NewMergeEngine(s)
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), k1) && !strings.Contains(err.Error(), k2) {
				t.Fatalf("%s=%q, %s=%q: %v", k1, v1, k2, v2, err)
			}
			return
		}
		rng := rand.New(rand.NewPCG(seed, 0))
		var recs []lsm.Record
		for i := range 1 + rng.IntN(8) {
			row := randEngineRow(rng, s, 1)
			key, _ := types.EncodeRowKey(nil, row, []int{0})
			recs = append(recs, lsm.Record{Key: key, Seq: int64(i), Kind: randKind(rng), Row: row})
		}
		m.Merge(recs)
	})
}
