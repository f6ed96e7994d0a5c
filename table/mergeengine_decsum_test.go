package table

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func decSumSchema(precision int) *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "v", Type: types.TDecimal(precision, 2)},
		},
		PrimaryKeys: []string{"id"}, HighestFieldID: 1,
		Options: map[string]string{OptMergeEngine: EngineAggregation, "fields.v.aggregate-function": "sum",
			OptCompactionTrigger: "3"},
	}
}

// decValue is the DECIMAL(precision, 2) value of the unscaled integer n.
func decValue(n *big.Int, precision int) types.Value {
	if precision > 18 {
		return types.Decimal128(decimal128.FromBigInt(n))
	}
	return types.Decimal(n.Int64())
}

// storageLimit is the largest unscaled value the storage of a
// DECIMAL(p, 2) column holds (lsm.DecimalStorable).
func storageLimit(p int) *big.Int {
	bits := map[int]uint{9: 31, 18: 63, 20: 71, 38: 127}[p]
	return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), bits), big.NewInt(1))
}

// TestDecimalSumOverflow: a DECIMAL sum that outgrows the column's
// precision is kept intact while the column's storage holds it, and one
// that leaves the storage is an error naming the column at flush, read and
// compaction. It used to wrap silently in the storage (INT32 for p <= 9,
// 64 or 128 bits above).
func TestDecimalSumOverflow(t *testing.T) {
	for _, p := range []int{9, 18, 20, 38} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			m := mustEngine(t, decSumSchema(p))
			limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil)
			top := new(big.Int).Sub(limit, big.NewInt(1))
			maxv, one := decValue(top, p), decValue(big.NewInt(1), p)
			// k times the largest value leaves the storage, k-1 times not.
			k := int(new(big.Int).Div(storageLimit(p), top).Int64()) + 1
			sumOf := func(n int, v types.Value) lsm.Record {
				recs := make([]lsm.Record, n)
				for i := range recs {
					recs[i] = mk(int64(i+1), types.Insert, v)
				}
				return m.Merge(recs)
			}
			// One digit more than the precision is kept.
			if got := sumOf(1, maxv); fmt.Sprint(m.Merge([]lsm.Record{got, mk(9, types.Insert, one)}).Row[1]) != fmt.Sprint(decValue(limit, p)) {
				t.Fatalf("max + 1 = %v, want %v kept intact", m.Merge([]lsm.Record{got, mk(9, types.Insert, one)}).Row[1], limit)
			}
			if got := sumOf(k-1, maxv); fmt.Sprint(got.Row[1]) != fmt.Sprint(decValue(new(big.Int).Mul(top, big.NewInt(int64(k-1))), p)) {
				t.Fatalf("%d * max = %v", k-1, got.Row[1])
			}
			over := sumOf(k, maxv)
			if _, failed := over.Row[1].(aggOverflow); !failed {
				t.Fatalf("%d * max = %v, want an overflow", k, over.Row[1])
			}
			// An overflow stays one, whatever follows.
			again := m.Merge([]lsm.Record{over, mk(int64(k+1), types.UpdateBefore, maxv), mk(int64(k+2), types.Insert, one)})
			if _, failed := again.Row[1].(aggOverflow); !failed {
				t.Fatalf("overflow - max + 1 = %v, want an overflow", again.Row[1])
			}

			// Through a table: the flush of the overflowing buffer fails with
			// the column's name and a way out.
			ctx := context.Background()
			tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", decSumSchema(p), Env{})
			if err != nil {
				t.Fatal(err)
			}
			w := tb.NewWriter("w")
			defer w.Close(ctx)
			for range k {
				if err := w.Write(ctx, types.Insert, types.Row{int64(1), maxv}); err != nil {
					t.Fatal(err)
				}
			}
			_, err = w.Commit(ctx, "1")
			if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `column "v": aggregate function sum overflows`) {
				t.Fatalf("commit of an overflowing sum: %v", err)
			}
		})
	}
}
