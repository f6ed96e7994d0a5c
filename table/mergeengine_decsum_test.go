package table

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/internal/testkit"
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

// TestDecimalSumOverflowRandom writes random non-negative DECIMAL values
// to a few keys of an aggregation table with sum, committing at random
// points (each commit flushes; inline compaction merges committed files),
// and checks against exact big-integer totals: a commit fails exactly when
// some key's sum of the uncommitted values leaves the storage (the flush
// pre-merges them; the rows are then aborted), and a read of a key fails
// exactly when its committed total does, else it returns the total, intact
// even beyond the precision. A key whose total overflowed is deleted (-D)
// at random later: the delete must get through although the bucket's
// compactions fail meanwhile, and restarts the key. With values of one
// sign every partial sum is at most the total, so the outcome does not
// depend on how flushes and compactions grouped the values.
func TestDecimalSumOverflowRandom(t *testing.T) {
	for _, seed := range testkit.Seeds(t, 12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			rng := rand.New(rand.NewPCG(seed, 5))
			p := []int{9, 18, 20, 38}[rng.IntN(4)]
			storage := storageLimit(p)
			top := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil), big.NewInt(1))
			// Values up to storage/8 (within the precision): overflows come
			// after a handful of rows.
			step := new(big.Int).Div(storage, big.NewInt(8))
			if step.Cmp(top) > 0 {
				step = top
			}
			ctx := context.Background()
			tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", decSumSchema(p), Env{})
			if err != nil {
				t.Fatal(err)
			}
			w := tb.NewWriter("w")
			defer w.Close(ctx)
			const keys = 4
			committed := make([]*big.Int, keys)
			buffered := make([]*big.Int, keys)
			deleted := make([]bool, keys) // a -D is buffered
			for k := range keys {
				committed[k], buffered[k] = new(big.Int), new(big.Int)
			}
			for op := 0; op < 80; op++ {
				k := rng.IntN(keys)
				switch x := rng.IntN(8); {
				case x == 0 && committed[k].Cmp(storage) > 0 && buffered[k].Sign() == 0:
					if err := w.Write(ctx, types.Delete, types.Row{int64(k), nil}); err != nil {
						t.Fatalf("op %d: -D of overflowed key %d: %v", op, k, err)
					}
					deleted[k] = true
					continue
				case x < 6:
					v := randBelow(rng, new(big.Int).Add(step, big.NewInt(1)))
					if err := w.Write(ctx, types.Insert, types.Row{int64(k), decValue(v, p)}); err != nil {
						t.Fatalf("op %d: write to key %d: %v", op, k, err)
					}
					buffered[k].Add(buffered[k], v)
					continue
				}
				wantFail := false
				for k := range keys {
					wantFail = wantFail || buffered[k].Cmp(storage) > 0
				}
				_, err := w.Commit(ctx, fmt.Sprint(op))
				if wantFail != (err != nil) {
					t.Fatalf("op %d: commit error %v, want failure %v (buffered %v)", op, err, wantFail, buffered)
				}
				if err != nil {
					if !strings.Contains(err.Error(), "aggregate function sum overflows") {
						t.Fatalf("op %d: commit failed otherwise: %v", op, err)
					}
					if err := w.Abort(ctx); err != nil {
						t.Fatal(err)
					}
				} else {
					for k := range keys {
						if deleted[k] {
							committed[k].SetInt64(0)
						}
						committed[k].Add(committed[k], buffered[k])
					}
				}
				for k := range keys {
					buffered[k].SetInt64(0)
					deleted[k] = false
				}
				for k := range keys {
					row, ok, err := tb.Get(ctx, 0, int64(k))
					switch {
					case committed[k].Cmp(storage) > 0:
						if err == nil || !strings.Contains(err.Error(), "overflows") {
							t.Fatalf("op %d key %d: total %v overflows, read gave %v %v %v", op, k, committed[k], row, ok, err)
						}
					case err != nil:
						t.Fatalf("op %d key %d: %v", op, k, err)
					case !ok:
						if committed[k].Sign() != 0 {
							t.Fatalf("op %d key %d: absent, want %v", op, k, committed[k])
						}
					case fmt.Sprint(row[1]) != fmt.Sprint(decValue(committed[k], p)):
						t.Fatalf("op %d key %d: read %v, want %v", op, k, row[1], committed[k])
					}
				}
			}
		})
	}
}

// randBelow is a random integer in [0, n) for n < 2^128.
func randBelow(rng *rand.Rand, n *big.Int) *big.Int {
	x := new(big.Int).SetUint64(rng.Uint64())
	x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(rng.Uint64()))
	return x.Mod(x, n)
}
