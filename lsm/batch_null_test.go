package lsm

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// TestNullArraysShareOneSlab: the all-NULL arrays of unread columns equal
// Arrow's own (every row NULL, the type's layout), and those of one length
// share one zeroed allocation instead of one per column.
func TestNullArraysShareOneSlab(t *testing.T) {
	fields := []types.DataType{types.TBoolean, types.TInt, types.TBigInt, types.TFloat, types.TDouble,
		types.TDecimal(12, 2), types.TDecimal(38, 10), types.TString, types.TBytes, types.TDate, types.TTimestamp}
	var nulls nullArrays
	for _, n := range []int{0, 1, 7, 8, 9, 1000, 65536} {
		for _, ft := range fields {
			at, err := types.ArrowType(ft)
			if err != nil {
				t.Fatal(err)
			}
			a := nulls.get(at, n)
			want := array.MakeArrayOfNull(memory.DefaultAllocator, at, n)
			if !arrow.TypeEqual(a.DataType(), at) || a.Len() != n || a.NullN() != n || !array.Equal(a, want) {
				t.Fatalf("%s, %d rows: got %v (%d NULLs), want %v", ft, n, a, a.NullN(), want)
			}
			if b := nulls.get(at, n); b != a {
				t.Fatalf("%s, %d rows: a second array built", ft, n)
			}
			switch v := a.(type) {
			case *array.String:
				if n > 0 && (v.Value(n-1) != "" || len(v.ValueOffsets()) != n+1) {
					t.Fatalf("%s: bad offsets", ft)
				}
			case *array.Binary:
				if n > 0 && (len(v.Value(n-1)) != 0 || len(v.ValueOffsets()) != n+1) {
					t.Fatalf("%s: bad offsets", ft)
				}
			}
			if n == 0 {
				continue
			}
			// Every buffer with bytes is a slice of the slab.
			for _, buf := range a.Data().Buffers() {
				if buf != nil && buf.Len() > 0 && &buf.Bytes()[0] != &nulls.zero[0] {
					t.Fatalf("%s, %d rows: a buffer outside the shared slab", ft, n)
				}
			}
		}
	}
}
