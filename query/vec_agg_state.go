package query

import (
	"bytes"
	"cmp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/types"
)

// Typed MIN and MAX states. They order values as the row engine's
// minMaxState does (types.Compare: cmp.Compare for numbers, so NaN sorts
// first; byte order for strings and bytes) and keep the first of equal
// values.

// ordAgg is MIN or MAX over a fixed-width type.
type ordAgg[T cmp.Ordered] struct {
	max  bool
	cur  []T
	set  []bool
	vals func(arrow.Array) []T
	box  func(T) types.Value
}

func (s *ordAgg[T]) grow(n int) {
	var zero T
	for len(s.cur) < n {
		s.cur = append(s.cur, zero)
		s.set = append(s.set, false)
	}
}

func (s *ordAgg[T]) update(a arrow.Array, gids []int32, n int) {
	if a == nil || a.NullN() == a.Len() {
		return
	}
	vals := s.vals(a)
	nulls := a.NullN() > 0
	want := -1
	if s.max {
		want = 1
	}
	if gids == nil {
		cur, set := s.cur[0], s.set[0]
		for i, v := range vals {
			if nulls && a.IsNull(i) {
				continue
			}
			if !set || cmp.Compare(v, cur) == want {
				cur, set = v, true
			}
		}
		s.cur[0], s.set[0] = cur, set
		return
	}
	for i, v := range vals {
		if nulls && a.IsNull(i) {
			continue
		}
		g := gids[i]
		if !s.set[g] || cmp.Compare(v, s.cur[g]) == want {
			s.cur[g], s.set[g] = v, true
		}
	}
}

func (s *ordAgg[T]) result(g int) (types.Value, error) {
	if !s.set[g] {
		return nil, nil
	}
	return s.box(s.cur[g]), nil
}

// strAgg is MIN or MAX over STRING: values are compared in the array's
// buffer; only a new winner is copied.
type strAgg struct {
	max bool
	cur []string
	set []bool
}

func (s *strAgg) grow(n int) {
	for len(s.cur) < n {
		s.cur = append(s.cur, "")
		s.set = append(s.set, false)
	}
}

func (s *strAgg) update(a arrow.Array, gids []int32, n int) {
	x, ok := a.(*array.String)
	if !ok || x.NullN() == x.Len() {
		return
	}
	want := -1
	if s.max {
		want = 1
	}
	nulls := x.NullN() > 0
	for i := 0; i < x.Len(); i++ {
		if nulls && x.IsNull(i) {
			continue
		}
		g := 0
		if gids != nil {
			g = int(gids[i])
		}
		if v := x.Value(i); !s.set[g] || strings.Compare(v, s.cur[g]) == want {
			s.cur[g], s.set[g] = strings.Clone(v), true
		}
	}
}

func (s *strAgg) result(g int) (types.Value, error) {
	if !s.set[g] {
		return nil, nil
	}
	return s.cur[g], nil
}

// bytesAgg is MIN or MAX over BYTES.
type bytesAgg struct {
	max bool
	cur [][]byte
	set []bool
}

func (s *bytesAgg) grow(n int) {
	for len(s.cur) < n {
		s.cur = append(s.cur, nil)
		s.set = append(s.set, false)
	}
}

func (s *bytesAgg) update(a arrow.Array, gids []int32, n int) {
	x, ok := a.(*array.Binary)
	if !ok || x.NullN() == x.Len() {
		return
	}
	want := -1
	if s.max {
		want = 1
	}
	nulls := x.NullN() > 0
	for i := 0; i < x.Len(); i++ {
		if nulls && x.IsNull(i) {
			continue
		}
		g := 0
		if gids != nil {
			g = int(gids[i])
		}
		if v := x.Value(i); !s.set[g] || bytes.Compare(v, s.cur[g]) == want {
			s.cur[g], s.set[g] = append([]byte{}, v...), true
		}
	}
}

func (s *bytesAgg) result(g int) (types.Value, error) {
	if !s.set[g] {
		return nil, nil
	}
	return append([]byte{}, s.cur[g]...), nil
}

// int64Values returns the values of an int64 array.
func int64Values(a arrow.Array) []int64 {
	return a.(interface{ Int64Values() []int64 }).Int64Values()
}

// decimalValues returns the unscaled values of a decimal128 array of at
// most 18 digits (the low 64 bits; wider ones have ord128Agg).
func decimalValues(a arrow.Array) []int64 {
	x, ok := a.(*array.Decimal128)
	if !ok {
		return nil
	}
	nums := x.Values()
	out := make([]int64, len(nums))
	for i, v := range nums {
		out[i] = int64(v.LowBits())
	}
	return out
}
