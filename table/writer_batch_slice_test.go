package table

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// TestBatchColumnsAtOffset: the column-at-a-time paths of WriteBatch (a
// single key column's encoding, the DECIMAL range check) agree with the
// row-at-a-time ones (appendKeyValue, decimalFits) on arrays that are
// slices of larger ones, as a sliced record's columns are, with NULLs and
// out-of-range decimals at random rows.
func TestBatchColumnsAtOffset(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	schema := allTypesTableSchema("deduplicate", 1, false)
	as, err := types.ArrowSchema(schema, false)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		var rows []types.Row
		for range 300 {
			rows = append(rows, randAllTypesRow(rng, 1000, types.Insert))
		}
		rec, err := types.BuildRecord(nil, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		lo := rng.IntN(100)
		hi := lo + rng.IntN(len(rows)-lo)
		sl := rec.NewSlice(int64(lo), int64(hi))
		n := hi - lo
		for c, f := range schema.Fields {
			a := sl.Column(c)
			var want []byte
			var wantEnds []int
			var werr error
			for r := range n {
				if want, werr = appendKeyValue(want, a, r); werr != nil {
					break
				}
				wantEnds = append(wantEnds, len(want))
			}
			got, ends, err := appendKeys(nil, nil, sl.Columns(), []int{c}, n)
			if (err != nil) != (werr != nil) {
				t.Fatalf("seed %d round %d column %s rows [%d,%d): appendKeys error %v, per row %v", seed, round, f.Name, lo, hi, err, werr)
			}
			if err == nil && (!bytes.Equal(got, want) || len(ends) != len(wantEnds)) {
				t.Fatalf("seed %d round %d column %s rows [%d,%d): keys %x, per row %x", seed, round, f.Name, lo, hi, got, want)
			}
			for i := range ends {
				if ends[i] != wantEnds[i] {
					t.Fatalf("seed %d round %d column %s row %d: key ends at %d, want %d", seed, round, f.Name, i, ends[i], wantEnds[i])
				}
			}
			if d, ok := a.(*array.Decimal128); ok {
				for _, ty := range []types.DataType{f.Type, types.TDecimal(2, 0), types.TDecimal(4, 1), types.TDecimal(30, 2), types.TDecimal(3, 0)} {
					wantBad := n
					for r := range n {
						if d.IsValid(r) && !decimalFits(d, r, ty) {
							wantBad = r
							break
						}
					}
					if got := firstDecimalMisfit(d, ty, n); got != wantBad {
						t.Fatalf("seed %d round %d column %s as %s rows [%d,%d): first misfit %d, want %d", seed, round, f.Name, ty, lo, hi, got, wantBad)
					}
				}
			}
		}
		sl.Release()
		rec.Release()
	}
	// The edges of DECIMAL(4, 1), DECIMAL(18, 1) and of the 64-bit
	// range, each after fitting values (alone or after a NULL), behind an
	// offset.
	edges := []decimal128.Num{decimal128.FromI64(10_000), decimal128.FromI64(-10_000), decimal128.FromI64(1e18), decimal128.FromI64(-1e18),
		decimal128.FromI64(1e18 - 1), decimal128.FromI64(-1e18 + 1), decimal128.New(1, 5), decimal128.New(5, ^uint64(0)), decimal128.New(-1, 1<<63), decimal128.New(0, 1<<63)}
	for _, e := range edges {
		for _, null := range []bool{false, true} {
			b := array.NewDecimal128Builder(memory.DefaultAllocator, &arrow.Decimal128Type{Precision: 18, Scale: 1})
			b.AppendValues([]decimal128.Num{decimal128.FromI64(12345), decimal128.FromI64(9_999), decimal128.FromI64(-9_999), decimal128.FromI64(0)}, nil)
			if null {
				b.AppendNull()
			}
			b.Append(e)
			b.Append(decimal128.FromI64(1))
			full := b.NewDecimal128Array()
			d := array.NewSlice(full, 1, int64(full.Len())).(*array.Decimal128)
			for _, ty := range []types.DataType{types.TDecimal(18, 1), types.TDecimal(4, 1)} {
				want := d.Len()
				for r := range d.Len() {
					if d.IsValid(r) && !decimalFits(d, r, ty) {
						want = r
						break
					}
				}
				if got := firstDecimalMisfit(d, ty, d.Len()); got != want {
					t.Fatalf("edge %v (after a NULL: %v) as %s: first misfit %d, want %d", e, null, ty, got, want)
				}
			}
			d.Release()
			full.Release()
			b.Release()
		}
	}
}

// TestSameValueFormatsAlike: WriteBatch reuses the partition path of the
// row before when sameValue says a partition column holds the same value
// in both rows, so sameValue must never say so of two values that format
// differently (here of every column type, at an offset, with runs of
// repeated rows, NULLs, -0 and 0, and, with sameValue's answers counted,
// it must say so of repeated values of the types it compares).
func TestSameValueFormatsAlike(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 11))
	schema := allTypesTableSchema("deduplicate", 1, false)
	as, err := types.ArrowSchema(schema, false)
	if err != nil {
		t.Fatal(err)
	}
	var rows []types.Row
	for i := range 600 {
		r := randAllTypesRow(rng, 20, types.Insert)
		if i > 0 && rng.IntN(2) == 0 {
			r = append(types.Row(nil), rows[i-1]...)
			c := rng.IntN(len(r)) // one column differs, or none
			r[c] = randAllTypesRow(rng, 20, types.Insert)[c]
		}
		rows = append(rows, r)
	}
	rec, err := types.BuildRecord(nil, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	sl := rec.NewSlice(7, int64(len(rows)))
	defer sl.Release()
	same := map[string]int{}
	for c, f := range schema.Fields {
		a := sl.Column(c)
		for j := 1; j < a.Len(); j++ {
			vi, vj := types.ValueAt(a, j-1), types.ValueAt(a, j)
			fi, fj := types.FormatValue(vi, f.Type), types.FormatValue(vj, f.Type)
			if sameValue(a, j-1, j) {
				same[f.Name]++
				if fi != fj || (vi == nil) != (vj == nil) {
					t.Fatalf("seed %d column %s rows %d and %d: sameValue, but they format as %q and %q", seed, f.Name, j-1, j, fi, fj)
				}
			}
		}
	}
	for _, name := range []string{"region", "id", "amount", "note", "price", "flag", "blob", "day", "at", "big", "qty"} {
		if same[name] == 0 {
			t.Errorf("seed %d: sameValue never held for column %s, which repeats in the rows", seed, name)
		}
	}
}
